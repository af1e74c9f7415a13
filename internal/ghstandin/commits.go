package ghstandin

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// listPullCommits lists the commits of a pull request, oldest first, as
// GitHub does: each with the GitHub user its author e-mail belongs to
// (author is null for an e-mail no account has). A login's e-mails are
// its no-reply address, <id>+<login>@users.noreply.github.com, and those
// set with SetEmail.
func (s *Server) listPullCommits(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	out := []*github.RepositoryCommit{}
	log, err := git(rp.gitDir, "log", "--reverse", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s", pr.GetBase().GetSHA()+".."+pr.GetHead().GetSHA())
	if err == nil && log != "" {
		for _, line := range strings.Split(log, "\n") {
			f := strings.Split(line, "\x1f")
			if len(f) != 5 {
				continue
			}
			when, _ := time.Parse(time.RFC3339, f[3])
			c := &github.RepositoryCommit{SHA: github.String(f[0]), Commit: &github.Commit{
				Author:  &github.CommitAuthor{Name: github.String(f[1]), Email: github.String(f[2]), Date: &github.Timestamp{Time: when}},
				Message: github.String(f[4]),
			}}
			if login := s.loginOfEmail(f[2]); login != "" {
				c.Author = s.user(login)
			}
			out = append(out, c)
		}
	}
	writePage(w, r, out)
}

// loginOfEmail is the account an e-mail belongs to; "" for none. s.mu held.
func (s *Server) loginOfEmail(email string) string {
	if login, ok := s.emails[strings.ToLower(email)]; ok {
		return login
	}
	if local, ok := strings.CutSuffix(strings.ToLower(email), "@users.noreply.github.com"); ok {
		if _, login, found := strings.Cut(local, "+"); found {
			return login
		}
	}
	return ""
}

// SetEmail adds a verified e-mail to login's account.
func (s *Server) SetEmail(login, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emails == nil {
		s.emails = map[string]string{}
	}
	s.emails[strings.ToLower(email)] = login
}
