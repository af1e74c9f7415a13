package ghstandin

import (
	"net/http"
	"strings"
	"time"
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
	out := []object{}
	log, err := git(rp.gitDir, "log", "--reverse", "--format=%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e", pr.GetBase().GetSHA()+".."+pr.GetHead().GetSHA())
	if err == nil && log != "" {
		for _, rec := range strings.Split(log, "\x1e") {
			f := strings.Split(strings.TrimLeft(rec, "\n"), "\x1f")
			if len(f) != 10 {
				continue
			}
			authored, _ := time.Parse(time.RFC3339, f[5])
			committed, _ := time.Parse(time.RFC3339, f[8])
			out = append(out, s.commitJSON(rp, gitCommit{
				sha: f[0], tree: f[1], parents: strings.Fields(f[2]),
				authorName: f[3], authorEmail: f[4], authorDate: authored,
				committerName: f[6], committerEm: f[7], committerDate: committed,
				message: strings.TrimRight(f[9], "\n"),
			}))
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
