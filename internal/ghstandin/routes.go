package ghstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// BotLogin is the account API calls are made as.
const BotLogin = "purrvision[bot]"

// ActAsHeader makes a call act as another user, for tools that drive the
// stand-in as people would (purrvision dev). GitHub has no such header.
const ActAsHeader = "X-Standin-Act-As"

// actor is who makes a call.
func actor(r *http.Request) string {
	if u := r.Header.Get(ActAsHeader); u != "" {
		return u
	}
	return BotLogin
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, s.withFaults(pattern, h))
	}
	handle("POST /repos/{owner}/{repo}/issues", s.createIssue)
	handle("GET /repos/{owner}/{repo}/issues", s.listIssues)
	handle("GET /repos/{owner}/{repo}/issues/{number}", s.getIssue)
	handle("PATCH /repos/{owner}/{repo}/issues/{number}", s.editIssue)
	handle("GET /repos/{owner}/{repo}/issues/comments", s.listRepoComments)
	// "List issue comments" and "Get an issue comment" overlap as
	// patterns (issues/comments/comments matches both); one route serves
	// both, as GitHub's router tells them apart.
	handle("GET /repos/{owner}/{repo}/issues/{number}/{sub}", s.issueSubresource)
	handle("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	handle("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	handle("DELETE /repos/{owner}/{repo}/issues/comments/{id}", s.deleteComment)
	handle("POST /repos/{owner}/{repo}/issues/comments/{id}/reactions", s.createReaction)
	handle("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	handle("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", s.removeLabel)
	handle("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	handle("POST /repos/{owner}/{repo}/pulls", s.createPull)
	handle("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	handle("PATCH /repos/{owner}/{repo}/pulls/{number}", s.editPull)
	handle("PUT /repos/{owner}/{repo}/pulls/{number}/merge", s.mergePullREST)
	handle("GET /repos/{owner}/{repo}/pulls/{number}/files", s.listPullFiles)
	handle("GET /repos/{owner}/{repo}/pulls/{number}/commits", s.listPullCommits)
	handle("GET /repos/{owner}/{repo}/pulls/{number}/reviews", s.listReviews)
	handle("GET /repos/{owner}/{repo}/collaborators/{user}/permission", s.permission)
	handle("GET /orgs/{org}/teams/{team}/memberships/{user}", s.membership)
	handle("GET /users/{user}/keys", s.userKeys)
	handle("POST /user/keys", s.createUserKey)
	handle("POST /app/installations/{id}/access_tokens", s.installationToken)
	handle("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	handle("GET /repos/{owner}/{repo}/commits/{ref}/statuses", s.listStatuses)
	handle("GET /repos/{owner}/{repo}/deployments", s.listDeployments)
	handle("POST /repos/{owner}/{repo}/deployments", s.createDeployment)
	handle("GET /repos/{owner}/{repo}/deployments/{id}/statuses", s.listDeploymentStatuses)
	handle("POST /repos/{owner}/{repo}/deployments/{id}/statuses", s.createDeploymentStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	return mux
}

func (s *Server) user(login string) *github.User {
	id := int64(0)
	for _, c := range login {
		id = id*31 + int64(c)
	}
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return &github.User{Login: github.String(login), ID: github.Int64(id & 0x7fffffff), Type: &typ, HTMLURL: github.String(s.baseURL + "/" + login)}
}

func (s *Server) repoObj(rp *repo) *github.Repository {
	full := rp.owner + "/" + rp.name
	return &github.Repository{
		Name: github.String(rp.name), FullName: github.String(full), Owner: s.user(rp.owner),
		HTMLURL: github.String(s.baseURL + "/" + full), DefaultBranch: github.String(rp.defaultBranch),
	}
}

// lookup finds the repo of a request; s.mu must be held.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *repo {
	rp := s.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if rp == nil {
		notFound(w)
	}
	return rp
}

// issueAt is the issue (or pull request) of the route's {number}; it
// answers 404 and returns nil when the repository or the issue is not there.
// s.mu must be held.
func (s *Server) issueAt(w http.ResponseWriter, r *http.Request) (*repo, *github.Issue) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, nil
	}
	is := rp.issues[number(r, "number")]
	if is == nil {
		notFound(w)
	}
	return rp, is
}

// pullAt is issueAt for the pull request of the route's {number}.
// livePullAt is pullAt with an open pull request's head read from git
// again, as GitHub answers after a push; s.mu held.
func (s *Server) livePullAt(w http.ResponseWriter, r *http.Request) (*repo, *github.PullRequest) {
	rp, pr := s.pullAt(w, r)
	if pr != nil {
		rp.refresh(pr)
	}
	return rp, pr
}

func (s *Server) pullAt(w http.ResponseWriter, r *http.Request) (*repo, *github.PullRequest) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, nil
	}
	pr := rp.pulls[number(r, "number")]
	if pr == nil {
		notFound(w)
	}
	return rp, pr
}

// commentAt is issueAt for the comment of the route's {id}.
func (s *Server) commentAt(w http.ResponseWriter, r *http.Request) (*repo, int64, *github.IssueComment) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, 0, nil
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c := rp.comments[id]
	if err != nil || c == nil {
		notFound(w)
		return nil, 0, nil
	}
	return rp, id, c
}

func number(r *http.Request, key string) int {
	n, err := strconv.Atoi(r.PathValue(key))
	if err != nil {
		return -1
	}
	return n
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return false
	}
	return true
}

func (s *Server) newIssue(rp *repo, author, title, body string, labels []string) *github.Issue {
	n := rp.nextNumber
	rp.nextNumber++
	now := s.stamp()
	is := &github.Issue{
		ID: github.Int64(s.id()), Number: github.Int(n), Title: github.String(title), Body: github.String(body),
		State: github.String("open"), User: s.user(author), CreatedAt: &now, UpdatedAt: &now,
		HTMLURL: github.String(fmt.Sprintf("%s/%s/%s/issues/%d", s.baseURL, rp.owner, rp.name, n)),
		URL:     github.String(fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.baseURL, rp.owner, rp.name, n)),
	}
	for _, l := range labels {
		is.Labels = append(is.Labels, &github.Label{Name: github.String(l)})
	}
	rp.issues[n] = is
	return is
}

func (s *Server) id() int64 { s.nextID++; return s.nextID }

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title  string   `json:"title"`
		Body   string   `json:"body"`
		Labels []string `json:"labels"`
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
	if in.Title == "" {
		validationFailed(w, "Issue", "title is missing")
		return
	}
	is := s.newIssue(rp, actor(r), in.Title, in.Body, in.Labels)
	s.emit("issues", &github.IssuesEvent{Action: github.String("opened"), Issue: is, Repo: s.repoObj(rp), Sender: s.user(actor(r))})
	writeJSON(w, http.StatusCreated, is)
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
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
	var want []string
	if l := r.URL.Query().Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	out := []*github.Issue{}
	for _, is := range rp.issues {
		if state != "all" && is.GetState() != state {
			continue
		}
		ok := true
		for _, l := range want {
			found := false
			for _, have := range is.Labels {
				found = found || have.GetName() == l
			}
			ok = ok && found
		}
		if ok {
			out = append(out, is)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() > out[j].GetNumber() })
	writePage(w, r, out)
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	writeJSON(w, http.StatusOK, is)
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request) {
	var in issueEdit
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	s.applyIssueEdit(rp, is, BotLogin, in.Title, in.Body, in.State)
	writeJSON(w, http.StatusOK, is)
}

// applyIssueEdit changes an issue and emits its events; s.mu must be held.
func (s *Server) applyIssueEdit(rp *repo, is *github.Issue, actor string, title, body, state *string) {
	if title != nil {
		is.Title = title
	}
	if body != nil {
		is.Body = body
	}
	is.UpdatedAt = &github.Timestamp{Time: s.stamp().Time}
	if title != nil || body != nil {
		s.emit("issues", &github.IssuesEvent{Action: github.String("edited"), Issue: is, Repo: s.repoObj(rp), Sender: s.user(actor)})
	}
	if state != nil && *state != is.GetState() {
		is.State = state
		action := "closed"
		if *state == "open" {
			action = "reopened"
		}
		s.emit("issues", &github.IssuesEvent{Action: github.String(action), Issue: is, Repo: s.repoObj(rp), Sender: s.user(actor)})
	}
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	var out []*github.IssueComment
	for id, c := range rp.comments {
		if rp.commentIssue[id] == is.GetNumber() {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	writePage(w, r, out)
}

// listRepoComments is "List issue comments for a repository": every
// comment on the repository's issues and pull requests, with sort
// (created or updated; without it, oldest first), direction (asc or desc,
// by default desc; ignored without sort) and since (ISO 8601: only comments
// updated at or after it).
func (s *Server) listRepoComments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	by, dir := q.Get("sort"), q.Get("direction")
	if by == "" {
		by, dir = "created", "asc"
	}
	if dir == "" {
		dir = "desc"
	}
	if (by != "created" && by != "updated") || (dir != "asc" && dir != "desc") {
		validationFailed(w, "IssueComment", "sort must be created or updated, and direction asc or desc")
		return
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			validationFailed(w, "IssueComment", "since must be an ISO 8601 timestamp: YYYY-MM-DDTHH:MM:SSZ")
			return
		}
		since = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	var out []*github.IssueComment
	for _, c := range rp.comments {
		if !c.GetUpdatedAt().Time.Before(since) {
			out = append(out, c)
		}
	}
	key := func(c *github.IssueComment) time.Time {
		if by == "updated" {
			return c.GetUpdatedAt().Time
		}
		return c.GetCreatedAt().Time
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if !a.Equal(b) {
			return a.Before(b) == (dir == "asc")
		}
		return (out[i].GetID() < out[j].GetID()) == (dir == "asc")
	})
	writePage(w, r, out)
}

// writePage answers with the page of all that the request's page and
// per_page ask for, and GitHub's Link header.
func writePage[T any](w http.ResponseWriter, r *http.Request, all []T) {
	page, per := paging(r)
	out, last := paginate(all, page, per)
	linkHeader(w, r, page, last)
	writeJSON(w, http.StatusOK, out)
}

// issueEdit is the body of PATCH on an issue or a pull request.
type issueEdit struct {
	Title *string `json:"title"`
	Body  *string `json:"body"`
	State *string `json:"state"`
}

func paging(r *http.Request) (page, per int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	per, _ = strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 || per > 100 {
		per = 30
	}
	return page, per
}

func paginate[T any](all []T, page, per int) ([]T, int) {
	last := max(1, (len(all)+per-1)/per)
	start := min((page-1)*per, len(all))
	end := min(start+per, len(all))
	return all[start:end], last
}

// linkHeader sets GitHub's pagination Link header.
func linkHeader(w http.ResponseWriter, r *http.Request, page, last int) {
	if page >= last {
		return
	}
	u := *r.URL
	q := u.Query()
	q.Set("page", strconv.Itoa(page+1))
	u.RawQuery = q.Encode()
	next := "http://" + r.Host + u.String()
	q.Set("page", strconv.Itoa(last))
	u.RawQuery = q.Encode()
	w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, "http://"+r.Host+u.String()))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	if in.Body == "" {
		validationFailed(w, "IssueComment", "body is missing")
		return
	}
	c := s.addComment(rp, is, actor(r), in.Body)
	writeJSON(w, http.StatusCreated, c)
}

// addComment stores a comment and emits its event; s.mu must be held.
func (s *Server) addComment(rp *repo, is *github.Issue, author, body string) *github.IssueComment {
	id := s.id()
	now := s.stamp()
	c := &github.IssueComment{
		ID: github.Int64(id), Body: github.String(body), User: s.user(author), CreatedAt: &now, UpdatedAt: &now,
		HTMLURL:  github.String(fmt.Sprintf("%s#issuecomment-%d", is.GetHTMLURL(), id)),
		IssueURL: is.URL,
	}
	rp.comments[id] = c
	rp.commentIssue[id] = is.GetNumber()
	is.Comments = github.Int(is.GetComments() + 1)
	s.emit("issue_comment", &github.IssueCommentEvent{Action: github.String("created"), Issue: is, Comment: c, Repo: s.repoObj(rp), Sender: s.user(author)})
	return c
}

// deleteComment answers 204, or 404 for a comment that is not there. GitHub
// sends an issue_comment "deleted" event.
func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, id, c := s.commentAt(w, r)
	if c == nil {
		return
	}
	is := rp.issues[rp.commentIssue[id]]
	delete(rp.comments, id)
	delete(rp.commentIssue, id)
	is.Comments = github.Int(max(0, is.GetComments()-1))
	s.emit("issue_comment", &github.IssueCommentEvent{Action: github.String("deleted"), Issue: is, Comment: c, Repo: s.repoObj(rp), Sender: s.user(actor(r))})
	w.WriteHeader(http.StatusNoContent)
}

// issueSubresource serves issues/{number}/comments and issues/comments/{id}.
func (s *Server) issueSubresource(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.PathValue("number") == "comments":
		r.SetPathValue("id", r.PathValue("sub"))
		s.getComment(w, r)
	case r.PathValue("sub") == "comments":
		s.listComments(w, r)
	default:
		notFound(w)
	}
}

// getComment is "Get an issue comment": 200, or 404 for a comment that
// is not there.
func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, c := s.commentAt(w, r); c != nil {
		writeJSON(w, http.StatusOK, c)
	}
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, id, c := s.commentAt(w, r)
	if c == nil {
		return
	}
	c.Body = github.String(in.Body)
	c.UpdatedAt = &github.Timestamp{Time: s.stamp().Time}
	is := rp.issues[rp.commentIssue[id]]
	s.emit("issue_comment", &github.IssueCommentEvent{Action: github.String("edited"), Issue: is, Comment: c, Repo: s.repoObj(rp), Sender: s.user(BotLogin)})
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var names []string
	if !decode(w, r, &names) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	for _, n := range names {
		s.label(rp, is, BotLogin, n, true)
	}
	writeJSON(w, http.StatusOK, is.Labels)
}

// label adds or removes one label and emits the event when it changed;
// s.mu must be held.
func (s *Server) label(rp *repo, is *github.Issue, actor, name string, add bool) bool {
	idx := -1
	for i, l := range is.Labels {
		if l.GetName() == name {
			idx = i
		}
	}
	switch {
	case add && idx < 0:
		is.Labels = append(is.Labels, &github.Label{Name: github.String(name)})
	case !add && idx >= 0:
		is.Labels = append(is.Labels[:idx], is.Labels[idx+1:]...)
	default:
		return false
	}
	action := "labeled"
	if !add {
		action = "unlabeled"
	}
	s.emit("issues", &github.IssuesEvent{Action: github.String(action), Issue: is, Label: &github.Label{Name: github.String(name)}, Repo: s.repoObj(rp), Sender: s.user(actor)})
	return true
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	if !s.label(rp, is, BotLogin, r.PathValue("name"), false) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest/issues/labels"})
		return
	}
	writeJSON(w, http.StatusOK, is.Labels)
}

func (s *Server) userKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*github.Key{}
	for _, k := range s.keys[r.PathValue("user")] {
		out = append(out, &github.Key{ID: k.ID, Key: k.Key})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) permission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	login := r.PathValue("user")
	p := rp.collaborators[login]
	if p == "" {
		p = "read" // anyone may read a public repository
	}
	if p == "maintain" {
		p = "write" // GitHub reports maintain as write here
	}
	writeJSON(w, http.StatusOK, &github.RepositoryPermissionLevel{Permission: github.String(p), User: s.user(login)})
}

func (s *Server) membership(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.teams[r.PathValue("org")+"/"+r.PathValue("team")][r.PathValue("user")] {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, &github.Membership{State: github.String("active"), Role: github.String("member")})
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in github.RepoStatus
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	switch in.GetState() {
	case "pending", "success", "failure", "error":
	default:
		validationFailed(w, "Status", "state is not included in the list")
		return
	}
	in.ID = github.Int64(s.id())
	in.Creator = s.user(actor(r))
	now := s.stamp()
	in.CreatedAt, in.UpdatedAt = &now, &now
	sha := r.PathValue("sha")
	rp.statuses[sha] = append(rp.statuses[sha], &in)
	writeJSON(w, http.StatusCreated, &in)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	out := append([]*github.RepoStatus{}, rp.statuses[r.PathValue("ref")]...)
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() > out[j].GetID() })
	writeJSON(w, http.StatusOK, out)
}

// git runs git in the repository's bare directory.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=GitHub", "GIT_AUTHOR_EMAIL=noreply@github.com",
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// installationToken hands a GitHub App installation a token, for a request
// signed with the App's JWT.
func (s *Server) installationToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.Count(auth, ".") != 2 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	token := "ghs_standin_" + r.PathValue("id")
	s.tokens[token] = true
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
}

// Authorizations returns the Authorization headers API calls carried.
func (s *Server) Authorizations() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.auths))
	for k, v := range s.auths {
		out[k] = v
	}
	return out
}
