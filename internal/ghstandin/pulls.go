package ghstandin

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"
)

// headSHA reads a branch of the repository's git directory; s.mu held.
func (rp *repo) headSHA(branch string) (string, error) {
	if rp.gitDir == "" {
		return "", errors.New("no git repository")
	}
	return git(rp.gitDir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
}

// refresh updates an open pull request's head from git; s.mu held.
func (rp *repo) refresh(pr *github.PullRequest) {
	if pr.GetState() != "open" || rp.gitDir == "" {
		return
	}
	if sha, err := rp.headSHA(pr.GetHead().GetRef()); err == nil {
		pr.Head.SHA = github.String(sha)
	}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "open"
	}
	head := r.URL.Query().Get("head")
	out := []*github.PullRequest{}
	for _, pr := range rp.pulls {
		if state != "all" && pr.GetState() != state {
			continue
		}
		if head != "" && pr.GetHead().GetLabel() != head {
			continue
		}
		rp.refresh(pr)
		out = append(out, pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() > out[j].GetNumber() })
	writePage(w, r, out)
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title string `json:"title"`
		Body  string `json:"body"`
		Head  string `json:"head"`
		Base  string `json:"base"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	pr, msg := s.openPull(rp, nil, BotLogin, in.Title, in.Body, in.Head, in.Base)
	if pr == nil {
		validationFailed(w, "PullRequest", msg)
		return
	}
	writeJSON(w, http.StatusCreated, pr)
}

// openPull creates a pull request as GitHub validates it; s.mu held. A
// fork, when not nil, is the head repository; its branch is read from rp's
// git, where GitHub keeps a fork pull request's head too.
func (s *Server) openPull(rp, fork *repo, author, title, body, head, base string) (*github.PullRequest, string) {
	head = strings.TrimPrefix(head, rp.owner+":")
	if title == "" {
		return nil, "title is missing"
	}
	label := rp.owner + ":" + head
	for _, pr := range rp.pulls {
		if pr.GetState() == "open" && pr.GetHead().GetLabel() == label && pr.GetBase().GetRef() == base {
			return nil, "A pull request already exists for " + label + "."
		}
	}
	headSHA, err := rp.headSHA(head)
	if err != nil {
		return nil, "head is invalid"
	}
	baseSHA, err := rp.headSHA(base)
	if err != nil {
		return nil, "base is invalid"
	}
	if ahead, err := git(rp.gitDir, "rev-list", "--count", baseSHA+".."+headSHA); err != nil || ahead == "0" {
		return nil, "No commits between " + base + " and " + head
	}
	is := s.newIssue(rp, author, title, body, nil)
	n := is.GetNumber()
	is.PullRequestLinks = &github.PullRequestLinks{HTMLURL: github.String(fmt.Sprintf("%s/%s/%s/pull/%d", s.baseURL, rp.owner, rp.name, n))}
	now := s.stamp()
	pr := &github.PullRequest{
		ID: github.Int64(s.id()), Number: github.Int(n), Title: github.String(title), Body: github.String(body),
		State: github.String("open"), User: s.user(author), CreatedAt: &now, UpdatedAt: &now,
		Merged: github.Bool(false), Mergeable: github.Bool(true),
		HTMLURL: is.PullRequestLinks.HTMLURL,
		Head:    &github.PullRequestBranch{Ref: github.String(head), SHA: github.String(headSHA), Label: github.String(label), Repo: s.repoObj(rp)},
		Base:    &github.PullRequestBranch{Ref: github.String(base), SHA: github.String(baseSHA), Label: github.String(rp.owner + ":" + base), Repo: s.repoObj(rp)},
	}
	if fork != nil {
		pr.Head.Label, pr.Head.Repo = github.String(fork.owner+":"+head), s.repoObj(fork)
	}
	rp.pulls[n] = pr
	s.emit("pull_request", &github.PullRequestEvent{Action: github.String("opened"), Number: github.Int(n), PullRequest: pr, Repo: s.repoObj(rp), Sender: s.user(author)})
	return pr, ""
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	writeJSON(w, http.StatusOK, pr)
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var in issueEdit
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.pullAt(w, r)
	if pr == nil {
		return
	}
	if in.Title != nil {
		pr.Title = in.Title
	}
	if in.Body != nil {
		pr.Body = in.Body
	}
	if in.State != nil && *in.State == "closed" && pr.GetState() == "open" {
		pr.State = in.State
		s.emit("pull_request", &github.PullRequestEvent{Action: github.String("closed"), Number: pr.Number, PullRequest: pr, Repo: s.repoObj(rp), Sender: s.user(BotLogin)})
	}
	writeJSON(w, http.StatusOK, pr)
}

func (s *Server) mergePullREST(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	if who := actor(r); who != BotLogin {
		n := number(r, "number")
		now := s.stamp()
		rp.reviews[n] = append(rp.reviews[n], &github.PullRequestReview{ID: github.Int64(s.id()), User: s.user(who), State: github.String("APPROVED"), SubmittedAt: &now})
	}
	sha, code, msg := s.merge(rp, number(r, "number"), actor(r))
	if code != http.StatusOK {
		writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"})
		return
	}
	writeJSON(w, http.StatusOK, &github.PullRequestMergeResult{SHA: github.String(sha), Merged: github.Bool(true), Message: github.String("Pull Request successfully merged")})
}

// merge merges a pull request with a real merge commit in git; s.mu held.
func (s *Server) merge(rp *repo, n int, by string) (string, int, string) {
	pr := rp.pulls[n]
	if pr == nil {
		return "", http.StatusNotFound, "Not Found"
	}
	if pr.GetState() != "open" {
		return "", http.StatusMethodNotAllowed, "Pull Request is not mergeable"
	}
	base := pr.GetBase().GetRef()
	baseSHA, err := rp.headSHA(base)
	if err != nil {
		return "", http.StatusMethodNotAllowed, "Base branch was modified."
	}
	headSHA, err := rp.headSHA(pr.GetHead().GetRef())
	if err != nil {
		return "", http.StatusMethodNotAllowed, "Head branch was deleted."
	}
	tree, err := git(rp.gitDir, "merge-tree", "--write-tree", baseSHA, headSHA)
	if err != nil {
		return "", http.StatusMethodNotAllowed, "Pull Request is not mergeable"
	}
	tree = strings.SplitN(tree, "\n", 2)[0]
	msg := fmt.Sprintf("Merge pull request #%d from %s\n\n%s", n, pr.GetHead().GetLabel(), pr.GetTitle())
	commit, err := git(rp.gitDir, "commit-tree", tree, "-p", baseSHA, "-p", headSHA, "-m", msg)
	if err != nil {
		return "", http.StatusInternalServerError, err.Error()
	}
	if _, err := git(rp.gitDir, "update-ref", "refs/heads/"+base, commit, baseSHA); err != nil {
		return "", http.StatusConflict, "Base branch was modified. Review and try the merge again."
	}
	now := s.stamp()
	pr.State = github.String("closed")
	pr.Merged = github.Bool(true)
	pr.MergedAt, pr.ClosedAt = &now, &now
	pr.MergeCommitSHA = github.String(commit)
	pr.MergedBy = s.user(by)
	pr.Head.SHA = github.String(headSHA)
	if is := rp.issues[n]; is != nil {
		is.State = github.String("closed")
	}
	s.emit("pull_request", &github.PullRequestEvent{Action: github.String("closed"), Number: pr.Number, PullRequest: pr, Repo: s.repoObj(rp), Sender: s.user(by)})
	return commit, http.StatusOK, ""
}

func (s *Server) listPullFiles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	out := []*github.CommitFile{}
	diff, err := git(rp.gitDir, "diff", "--name-status", pr.GetBase().GetSHA()+"..."+pr.GetHead().GetSHA())
	if err == nil && diff != "" {
		for _, line := range strings.Split(diff, "\n") {
			st, name, _ := strings.Cut(line, "\t")
			status := map[string]string{"A": "added", "M": "modified", "D": "removed"}[st[:1]]
			out = append(out, &github.CommitFile{Filename: github.String(name), Status: github.String(status)})
		}
	}
	writePage(w, r, out)
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	n := number(r, "number")
	if rp.pulls[n] == nil {
		notFound(w)
		return
	}
	out := append([]*github.PullRequestReview{}, rp.reviews[n]...)
	writeJSON(w, http.StatusOK, out)
}
