package ghstandin

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/gitserver"
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
	if sha, err := rp.headSHA(pr.GetHead().GetRef()); err == nil && sha != pr.GetHead().GetSHA() {
		pr.Head.SHA = github.String(sha)
		rp.dismissStale(pr, sha)
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
	var pulls []*github.PullRequest
	for _, pr := range rp.pulls {
		if state != "all" && pr.GetState() != state {
			continue
		}
		if head != "" && pr.GetHead().GetLabel() != head {
			continue
		}
		rp.refresh(pr)
		pulls = append(pulls, pr)
	}
	sort.Slice(pulls, func(i, j int) bool { return pulls[i].GetNumber() > pulls[j].GetNumber() })
	out := []object{}
	for _, pr := range pulls {
		out = append(out, s.pullJSON(rp, pr))
	}
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
	if tooLong(w, titleLimit("PullRequest", in.Title), bodyLimit("PullRequest", in.Body)) {
		return
	}
	pr, msg := s.openPull(rp, nil, actor(r), in.Title, in.Body, in.Head, in.Base)
	if pr == nil {
		validationFailed(w, "PullRequest", "", msg)
		return
	}
	writeJSON(w, http.StatusCreated, s.pullJSON(rp, pr))
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
	s.requestCodeOwners(rp, pr)
	s.emit("pull_request", object{"action": "opened", "number": n, "pull_request": s.pullJSON(rp, pr), "repository": s.repoJSON(rp), "sender": s.userJSON(author)})
	return pr, ""
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(rp, pr))
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
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		validationFailed(w, "PullRequest", "state", "state is not included in the list")
		return
	}
	if tooLong(w, titleLimit("PullRequest", deref(in.Title)), bodyLimit("PullRequest", deref(in.Body))) {
		return
	}
	is := rp.issues[pr.GetNumber()]
	now := s.stamp()
	if in.Title != nil {
		pr.Title, is.Title = in.Title, in.Title
	}
	if in.Body != nil {
		pr.Body, is.Body = in.Body, in.Body
	}
	pr.UpdatedAt, is.UpdatedAt = &now, &now
	if in.State != nil && *in.State == "closed" && pr.GetState() == "open" {
		pr.State, is.State = in.State, in.State
		pr.ClosedAt, is.ClosedAt = &now, &now
		s.emit("pull_request", object{"action": "closed", "number": pr.GetNumber(), "pull_request": s.pullJSON(rp, pr), "repository": s.repoJSON(rp), "sender": s.userJSON(actor(r))})
	}
	writeJSON(w, http.StatusOK, s.pullJSON(rp, pr))
}

// mergePullREST is "Merge a pull request"; with sha, only while the head
// is that commit.
func (s *Server) mergePullREST(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SHA string `json:"sha"`
	}
	if !decodeOptional(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	sha, code, msg := s.merge(rp, number(r, "pull_number"), actor(r), in.SHA)
	if code != http.StatusOK {
		writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"})
		return
	}
	writeJSON(w, http.StatusOK, s.mergeResultJSON(sha))
}

// canPush reports whether login may push to (and merge into) the
// repository, as GitHub decides it: its owner, collaborators with write,
// maintain or admin permission, and the stand-in's App, installed with
// contents: write. s.mu held.
func (rp *repo) canPush(login string) bool {
	if login == BotLogin || login == rp.owner {
		return true
	}
	switch rp.collaborators[login] {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// createReview is "Create a review for a pull request", submitted at once
// with its event (APPROVE, REQUEST_CHANGES or COMMENT), as its caller.
func (s *Server) createReview(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body     string `json:"body"`
		Event    string `json:"event"`
		CommitID string `json:"commit_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	state, ok := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}[in.Event]
	who := actor(r)
	switch {
	case !ok:
		validationFailed(w, "PullRequestReview", "event", "event must be APPROVE, REQUEST_CHANGES or COMMENT")
		return
	case in.Event != "APPROVE" && in.Body == "":
		validationFailed(w, "PullRequestReview", "body", "body is required for "+in.Event)
		return
	case in.Event != "COMMENT" && who == pr.GetUser().GetLogin():
		validationFailed(w, "PullRequestReview", "", "Can not "+strings.ToLower(strings.ReplaceAll(in.Event, "_", " "))+" your own pull request")
		return
	}
	if tooLong(w, bodyLimit("PullRequestReview", in.Body)) {
		return
	}
	commit := in.CommitID
	if commit == "" {
		commit = pr.GetHead().GetSHA()
	}
	now := s.stamp()
	rv := &github.PullRequestReview{ID: github.Int64(s.id()), User: s.user(who), State: github.String(state), Body: github.String(in.Body),
		CommitID: github.String(commit), SubmittedAt: &now}
	n := pr.GetNumber()
	rp.reviews[n] = append(rp.reviews[n], rv)
	s.reviewed(rp, n, who)
	writeJSON(w, http.StatusOK, s.reviewJSON(rp, pr, rv))
}

// merge merges a pull request with a real merge commit in git, when its
// head is want (any head for ""), its base's protection and rulesets
// allow; s.mu held.
func (s *Server) merge(rp *repo, n int, by, want string) (string, int, string) {
	pr := rp.pulls[n]
	if pr == nil {
		return "", http.StatusNotFound, "Not Found"
	}
	if !rp.canPush(by) {
		// GitHub's answer to a merge by someone who may read the (public)
		// repository but not write to it.
		return "", http.StatusForbidden, "Must have push access to repository"
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
	rp.refresh(pr)
	if want != "" && want != headSHA {
		return "", http.StatusConflict, "Head branch was modified. Review and try the merge again."
	}
	if code, msg := s.mergeRefusal(rp, pr, by, baseSHA, headSHA); code != http.StatusOK {
		return "", code, msg
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
	pr.UpdatedAt = &now
	if is := rp.issues[n]; is != nil {
		is.State = github.String("closed")
		is.ClosedAt, is.UpdatedAt = &now, &now
	}
	s.emit("pull_request", object{"action": "closed", "number": n, "pull_request": s.pullJSON(rp, pr), "repository": s.repoJSON(rp), "sender": s.userJSON(by)})
	return commit, http.StatusOK, ""
}

func (s *Server) listPullFiles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	out := []object{}
	head := pr.GetHead().GetSHA()
	diff, err := git(rp.gitDir, "diff", "--no-renames", "--name-status", pr.GetBase().GetSHA()+"..."+head)
	if err == nil && diff != "" {
		counts := map[string][2]int{}
		if numstat, err := git(rp.gitDir, "diff", "--no-renames", "--numstat", pr.GetBase().GetSHA()+"..."+head); err == nil {
			for _, line := range strings.Split(numstat, "\n") {
				if f := strings.SplitN(line, "\t", 3); len(f) == 3 {
					a, _ := strconv.Atoi(f[0])
					d, _ := strconv.Atoi(f[1])
					counts[f[2]] = [2]int{a, d}
				}
			}
		}
		for _, line := range strings.Split(diff, "\n") {
			st, name, _ := strings.Cut(line, "\t")
			status, ok := map[string]string{"A": "added", "M": "modified", "D": "removed", "T": "changed"}[st[:1]]
			if !ok {
				status = "modified"
			}
			sha := ""
			if status != "removed" {
				sha, _ = git(rp.gitDir, "rev-parse", head+":"+name)
			}
			out = append(out, s.fileJSON(rp, head, name, status, sha, counts[name][0], counts[name][1]))
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
	n := number(r, "pull_number")
	pr := rp.pulls[n]
	if pr == nil {
		notFound(w)
		return
	}
	out := []object{}
	for _, rv := range rp.reviews[n] {
		out = append(out, s.reviewJSON(rp, pr, rv))
	}
	writePage(w, r, out)
}

// updateBranch is "Update a pull request branch": it merges the base into
// the head, as a push by the caller to the head branch (its protection and
// rulesets apply), and answers 202. With expected_head_sha, only while the
// head is that commit; 422 when it is not, when the head already has the
// base, or when they conflict; 403 without write access.
func (s *Server) updateBranch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ExpectedHeadSHA string `json:"expected_head_sha"`
	}
	if !decodeOptional(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.livePullAt(w, r)
	if pr == nil {
		return
	}
	by := actor(r)
	refuse := func(code int, msg string) {
		writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/pulls/pulls#update-a-pull-request-branch"})
	}
	if !rp.canPush(by) {
		refuse(http.StatusForbidden, "Must have push access to repository")
		return
	}
	head, base := pr.GetHead().GetRef(), pr.GetBase().GetRef()
	headSHA, errHead := rp.headSHA(head)
	baseSHA, errBase := rp.headSHA(base)
	switch {
	case pr.GetState() != "open":
		refuse(http.StatusUnprocessableEntity, "Pull request is closed.")
		return
	case errHead != nil || errBase != nil:
		refuse(http.StatusUnprocessableEntity, "Head or base branch is missing.")
		return
	case in.ExpectedHeadSHA != "" && in.ExpectedHeadSHA != headSHA:
		refuse(http.StatusUnprocessableEntity, "expected head sha didn’t match current head ref.")
		return
	}
	if _, err := git(rp.gitDir, "merge-base", "--is-ancestor", baseSHA, headSHA); err == nil {
		refuse(http.StatusUnprocessableEntity, "There are no new commits on the base branch.")
		return
	}
	tree, err := git(rp.gitDir, "merge-tree", "--write-tree", headSHA, baseSHA)
	if err != nil {
		refuse(http.StatusUnprocessableEntity, "merge conflict between base and head")
		return
	}
	tree = strings.SplitN(tree, "\n", 2)[0]
	commit, err := git(rp.gitDir, "commit-tree", tree, "-p", headSHA, "-p", baseSHA, "-m", fmt.Sprintf("Merge branch '%s' into %s", base, head))
	if err != nil {
		refuse(http.StatusInternalServerError, err.Error())
		return
	}
	update := gitserver.Update{Ref: "refs/heads/" + head, Old: headSHA, New: commit, FastForward: true}
	if protected, rules := s.pushViolations(rp, by, update); len(protected)+len(rules) > 0 {
		refuse(http.StatusUnprocessableEntity, strings.Join(append(protected, rules...), " "))
		return
	}
	if _, err := git(rp.gitDir, "update-ref", update.Ref, commit, headSHA); err != nil {
		refuse(http.StatusUnprocessableEntity, "expected head sha didn’t match current head ref.")
		return
	}
	rp.refresh(pr)
	writeJSON(w, http.StatusAccepted, s.finish(ResUpdateBranch, object{"message": "Updating pull request branch.", "url": pr.GetHTMLURL()}))
}
