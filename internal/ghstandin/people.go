package ghstandin

import (
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
)

// What people do on GitHub, with the webhooks it sends.

// OpenIssue opens an issue as author.
func (s *Server) OpenIssue(fullName, author, title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	is := s.newIssue(rp, author, title, body, labels)
	s.emit("issues", object{"action": "opened", "issue": s.issueJSON(rp, is), "repository": s.repoJSON(rp), "sender": s.userJSON(author)})
	return is.GetNumber()
}

// EditIssueBody replaces an issue's body as actor.
func (s *Server) EditIssueBody(fullName string, n int, actor, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	s.applyIssueEdit(rp, rp.issues[n], actor, nil, &body, nil)
}

// Comment comments on an issue or pull request as author.
func (s *Server) Comment(fullName string, n int, author, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	return s.addComment(rp, rp.issues[n], author, body).GetID()
}

// OpenPull opens a pull request from an existing branch as author.
func (s *Server) OpenPull(fullName, author, head, base, title, body string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, msg := s.openPull(s.repos[fullName], nil, author, title, body, head, base)
	if pr == nil {
		return 0, fmt.Errorf("opening pull request: %s", msg)
	}
	return pr.GetNumber(), nil
}

// OpenForkPull opens a pull request into fullName from the branch head of
// the fork forkFullName (added with AddRepo), as author. The branch must be
// in fullName's git, where GitHub keeps a fork pull request's head.
func (s *Server) OpenForkPull(fullName, forkFullName, author, head, base, title, body string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, msg := s.openPull(s.repos[fullName], s.repos[forkFullName], author, title, body, head, base)
	if pr == nil {
		return 0, fmt.Errorf("opening pull request: %s", msg)
	}
	return pr.GetNumber(), nil
}

// Approve submits an approving review as reviewer.
func (s *Server) Approve(fullName string, n int, reviewer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	now := s.stamp()
	var commit *string
	if pr := rp.pulls[n]; pr != nil {
		rp.refresh(pr)
		commit = github.String(pr.GetHead().GetSHA())
	}
	rp.reviews[n] = append(rp.reviews[n], &github.PullRequestReview{ID: github.Int64(s.id()), User: s.user(reviewer), State: github.String("APPROVED"),
		CommitID: commit, SubmittedAt: &now})
	s.reviewed(rp, n, reviewer)
}

// Merge merges a pull request as by, with a real merge commit. As on
// GitHub, by needs write access (SetPermission): 403 otherwise.
func (s *Server) Merge(fullName string, n int, by string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, code, msg := s.merge(s.repos[fullName], n, by, "")
	if code != http.StatusOK {
		return "", fmt.Errorf("merging #%d: %d %s", n, code, msg)
	}
	return sha, nil
}

// Snapshot accessors for tests.

// Issue returns a copy of an issue; nil when there is none.
func (s *Server) Issue(fullName string, n int) *github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if rp == nil || rp.issues[n] == nil {
		return nil
	}
	is := *rp.issues[n]
	is.Labels = append([]*github.Label(nil), is.Labels...)
	return &is
}

// Labels returns the label names of an issue.
func (s *Server) Labels(fullName string, n int) []string {
	var out []string
	for _, l := range s.Issue(fullName, n).Labels {
		out = append(out, l.GetName())
	}
	return out
}

// Comments returns the comments of an issue, oldest first.
func (s *Server) Comments(fullName string, n int) []*github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	var out []*github.IssueComment
	for id, c := range rp.comments {
		if rp.commentIssue[id] == n {
			cc := *c
			out = append(out, &cc)
		}
	}
	sortComments(out)
	return out
}

// Pulls returns every pull request of a repository.
func (s *Server) Pulls(fullName string) []*github.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*github.PullRequest
	for _, pr := range s.repos[fullName].pulls {
		p := *pr
		// The branches too: an open pull request's head is read from git
		// again on every call, under s.mu.
		h, b := *pr.Head, *pr.Base
		p.Head, p.Base = &h, &b
		out = append(out, &p)
	}
	return out
}

// Statuses returns the statuses of a commit, newest first.
func (s *Server) Statuses(fullName, sha string) []*github.RepoStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.repos[fullName].statuses[sha]
	out := make([]*github.RepoStatus, len(src))
	for i, st := range src {
		out[len(src)-1-i] = st
	}
	return out
}

func sortComments(cs []*github.IssueComment) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].GetID() < cs[j-1].GetID(); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// EditPullBody edits a pull request's body as actor, as anyone with write
// access can.
func (s *Server) EditPullBody(fullName string, n int, actor, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if pr := rp.pulls[n]; pr != nil {
		pr.Body = &body
		rp.issues[n].Body = &body
	}
}
