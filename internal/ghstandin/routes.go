package ghstandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

// The two routes whose mux patterns overlap.
const (
	routeListComments = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
	routeGetComment   = "GET /repos/{owner}/{repo}/issues/comments/{comment_id}"
)

// route is one operation the stand-in serves.
type route struct {
	// pattern is the method and the path as GitHub's REST description
	// writes them, parameter names included; ghspec's tests hold every
	// pattern to it.
	pattern string
	handler http.HandlerFunc
}

// table is every route the stand-in serves: the one list of them.
func (s *Server) table() []route {
	return []route{
		{"POST /repos/{owner}/{repo}/issues", s.createIssue},
		{"GET /repos/{owner}/{repo}/issues", s.listIssues},
		{"GET /repos/{owner}/{repo}/issues/{issue_number}", s.getIssue},
		{"PATCH /repos/{owner}/{repo}/issues/{issue_number}", s.editIssue},
		{"GET /repos/{owner}/{repo}/issues/comments", s.listRepoComments},
		{routeListComments, s.listComments},
		{routeGetComment, s.getComment},
		{"POST /repos/{owner}/{repo}/issues/{issue_number}/comments", s.createComment},
		{"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", s.editComment},
		{"DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}", s.deleteComment},
		{"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", s.createReaction},
		{"POST /repos/{owner}/{repo}/issues/{issue_number}/labels", s.addLabels},
		{"DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", s.removeLabel},
		{"GET /repos/{owner}/{repo}/pulls", s.listPulls},
		{"POST /repos/{owner}/{repo}/pulls", s.createPull},
		{"GET /repos/{owner}/{repo}/pulls/{pull_number}", s.getPull},
		{"PATCH /repos/{owner}/{repo}/pulls/{pull_number}", s.editPull},
		{"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", s.mergePullREST},
		{"PUT /repos/{owner}/{repo}/pulls/{pull_number}/update-branch", s.updateBranch},
		{"GET /repos/{owner}/{repo}/pulls/{pull_number}/files", s.listPullFiles},
		{"GET /repos/{owner}/{repo}/pulls/{pull_number}/commits", s.listPullCommits},
		{"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", s.listReviews},
		{"POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews", s.createReview},
		{"GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.permission},
		{"GET /orgs/{org}/teams/{team_slug}/memberships/{username}", s.membership},
		{"GET /users/{username}/keys", s.userKeys},
		{"GET /user", s.authenticatedUser},
		{"GET /app", s.authenticatedApp},
		{"POST /user/keys", s.createUserKey},
		{"POST /app/installations/{installation_id}/access_tokens", s.installationToken},
		{"POST /app-manifests/{code}/conversions", s.convertManifest},
		{"POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus},
		{"GET /repos/{owner}/{repo}/commits/{ref}/statuses", s.listStatuses},
		{"GET /repos/{owner}/{repo}/commits/{ref}/status", s.combinedStatus},
		{"POST /repos/{owner}/{repo}/check-runs", s.createCheckRun},
		{"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", s.updateCheckRun},
		{"GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.listCheckRuns},
		{"GET /repos/{owner}/{repo}/deployments", s.listDeployments},
		{"POST /repos/{owner}/{repo}/deployments", s.createDeployment},
		{"GET /repos/{owner}/{repo}/deployments/{deployment_id}", s.getDeployment},
		{"GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", s.listDeploymentStatuses},
		{"POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", s.createDeploymentStatus},
		{"GET /repos/{owner}/{repo}/branches/{branch}/protection", s.getProtection},
		{"PUT /repos/{owner}/{repo}/branches/{branch}/protection", s.updateProtection},
		{"DELETE /repos/{owner}/{repo}/branches/{branch}/protection", s.deleteProtection},
		{"GET /repos/{owner}/{repo}/rulesets", s.listRulesets},
		{"POST /repos/{owner}/{repo}/rulesets", s.createRuleset},
		{"GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", s.getRuleset},
		{"PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}", s.updateRuleset},
		{"DELETE /repos/{owner}/{repo}/rulesets/{ruleset_id}", s.deleteRuleset},
		{"GET /repos/{owner}/{repo}", s.getRepo},
		{"GET /repos/{owner}/{repo}/labels", s.listLabels},
		{"POST /repos/{owner}/{repo}/labels", s.createLabel},
		{"PATCH /repos/{owner}/{repo}/labels/{name}", s.editLabel},
		{"GET /repos/{owner}/{repo}/contents/{path}", s.getContents},
		{"PUT /repos/{owner}/{repo}/contents/{path}", s.putContents},
		{"GET /repos/{owner}/{repo}/git/ref/{ref}", s.getRef},
		{"POST /repos/{owner}/{repo}/git/refs", s.createRef},
	}
}

// Routes lists the routes the stand-in serves, "METHOD /path/{param}" as
// GitHub's REST description writes them.
func Routes() []string {
	var out []string
	for _, rt := range (&Server{}).table() {
		out = append(out, rt.pattern)
	}
	return out
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.table() {
		if rt.pattern == routeListComments || rt.pattern == routeGetComment {
			continue // below
		}
		mux.HandleFunc(muxPattern(rt.pattern), s.api(rt.pattern, rt.handler))
	}
	// "List issue comments" and "Get an issue comment" overlap as mux
	// patterns (issues/comments/comments matches both); one mux pattern
	// serves both, telling them apart as GitHub's router does.
	list, get := s.api(routeListComments, s.listComments), s.api(routeGetComment, s.getComment)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{issue_number}/{sub}", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.PathValue("issue_number") == "comments":
			r.SetPathValue("comment_id", r.PathValue("sub"))
			get(w, r)
		case r.PathValue("sub") == "comments":
			list(w, r)
		default:
			s.api("", func(w http.ResponseWriter, r *http.Request) { notFound(w) })(w, r)
		}
	})
	mux.HandleFunc("/", s.api("", func(w http.ResponseWriter, r *http.Request) { notFound(w) }))
	return mux
}

// muxPattern is a route's pattern for the mux: a file path and a git
// ref span segments.
func muxPattern(p string) string {
	for _, last := range []string{"{path}", "{ref}"} {
		if strings.HasSuffix(p, "/"+last) {
			return strings.TrimSuffix(p, "}") + "...}"
		}
	}
	return p
}

// user is login in the stand-in's state (userJSON is what it sends).
func (s *Server) user(login string) *github.User {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return &github.User{Login: github.String(login), ID: github.Int64(userID(login)), Type: &typ, HTMLURL: github.String(s.baseURL + "/" + login)}
}

// repoObj is a repository in the stand-in's state: a pull request's head
// and base name theirs (repoJSON is what it sends).
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
	is := rp.issues[number(r, "issue_number")]
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
	pr := rp.pulls[number(r, "pull_number")]
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
	id, err := strconv.ParseInt(r.PathValue("comment_id"), 10, 64)
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
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/rest"})
		return false
	}
	return true
}

// decodeOptional is decode for a body that may be left out.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/rest"})
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
		validationFailed(w, "Issue", "title", "title is missing")
		return
	}
	limits := []limit{titleLimit("Issue", in.Title), bodyLimit("Issue", in.Body)}
	for _, l := range in.Labels {
		limits = append(limits, labelLimit(l))
	}
	if tooLong(w, limits...) {
		return
	}
	is := s.newIssue(rp, actor(r), in.Title, in.Body, in.Labels)
	s.emit("issues", object{"action": "opened", "issue": s.issueJSON(rp, is), "repository": s.repoJSON(rp), "sender": s.userJSON(actor(r))})
	writeJSON(w, http.StatusCreated, s.issueJSON(rp, is))
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
	writePage(w, r, s.issuesJSON(rp, out))
}

func (s *Server) issuesJSON(rp *repo, issues []*github.Issue) []object {
	out := []object{}
	for _, is := range issues {
		out = append(out, s.issueJSON(rp, is))
	}
	return out
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
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
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		validationFailed(w, "Issue", "state", "state is not included in the list")
		return
	}
	if tooLong(w, titleLimit("Issue", deref(in.Title)), bodyLimit("Issue", deref(in.Body))) {
		return
	}
	s.applyIssueEdit(rp, is, actor(r), in.Title, in.Body, in.State)
	writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
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
		s.emit("issues", object{"action": "edited", "issue": s.issueJSON(rp, is), "changes": object{}, "repository": s.repoJSON(rp), "sender": s.userJSON(actor)})
	}
	if state != nil && *state != is.GetState() {
		is.State = state
		action := "closed"
		is.ClosedAt = is.UpdatedAt
		if *state == "open" {
			action, is.ClosedAt = "reopened", nil
		}
		s.emit("issues", object{"action": action, "issue": s.issueJSON(rp, is), "repository": s.repoJSON(rp), "sender": s.userJSON(actor)})
	}
}

// listComments is "List issue comments": an issue's comments, oldest
// first, with since (ISO 8601: only comments updated at or after it).
func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			validationFailed(w, "IssueComment", "since", "since must be an ISO 8601 timestamp: YYYY-MM-DDTHH:MM:SSZ")
			return
		}
		since = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	var out []*github.IssueComment
	for id, c := range rp.comments {
		if rp.commentIssue[id] == is.GetNumber() && !c.GetUpdatedAt().Time.Before(since) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetID() < out[j].GetID() })
	writePage(w, r, s.commentsJSON(rp, out))
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
		validationFailed(w, "IssueComment", "sort", "sort must be created or updated, and direction asc or desc")
		return
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			validationFailed(w, "IssueComment", "since", "since must be an ISO 8601 timestamp: YYYY-MM-DDTHH:MM:SSZ")
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
	writePage(w, r, s.commentsJSON(rp, out))
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// issueEdit is the body of PATCH on an issue or a pull request.
type issueEdit struct {
	Title *string `json:"title"`
	Body  *string `json:"body"`
	State *string `json:"state"`
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
		validationFailed(w, "IssueComment", "body", "body is missing")
		return
	}
	if tooLong(w, bodyLimit("IssueComment", in.Body)) {
		return
	}
	c := s.addComment(rp, is, actor(r), in.Body)
	writeJSON(w, http.StatusCreated, s.commentJSON(rp, c))
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
	s.emit("issue_comment", object{"action": "created", "issue": s.issueJSON(rp, is), "comment": s.commentJSON(rp, c), "repository": s.repoJSON(rp), "sender": s.userJSON(author)})
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
	comment := s.commentJSON(rp, c)
	delete(rp.comments, id)
	delete(rp.commentIssue, id)
	is.Comments = github.Int(max(0, is.GetComments()-1))
	s.emit("issue_comment", object{"action": "deleted", "issue": s.issueJSON(rp, is), "comment": comment, "repository": s.repoJSON(rp), "sender": s.userJSON(actor(r))})
	w.WriteHeader(http.StatusNoContent)
}

// getComment is "Get an issue comment": 200, or 404 for a comment that
// is not there.
func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, _, c := s.commentAt(w, r); c != nil {
		writeJSON(w, http.StatusOK, s.commentJSON(rp, c))
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
	if in.Body == "" {
		validationFailed(w, "IssueComment", "body", "body is missing")
		return
	}
	if tooLong(w, bodyLimit("IssueComment", in.Body)) {
		return
	}
	was := c.GetBody()
	c.Body = github.String(in.Body)
	c.UpdatedAt = &github.Timestamp{Time: s.stamp().Time}
	is := rp.issues[rp.commentIssue[id]]
	s.emit("issue_comment", object{"action": "edited", "issue": s.issueJSON(rp, is), "comment": s.commentJSON(rp, c),
		"changes": object{"body": object{"from": was}}, "repository": s.repoJSON(rp), "sender": s.userJSON(actor(r))})
	writeJSON(w, http.StatusOK, s.commentJSON(rp, c))
}

// addLabels takes the body GitHub documents, {"labels": [...]}, or the
// bare array it also accepts.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !decode(w, r, &raw) {
		return
	}
	var names []string
	var in struct {
		Labels []string `json:"labels"`
	}
	if json.Unmarshal(raw, &names) != nil {
		if err := json.Unmarshal(raw, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		names = in.Labels
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	var limits []limit
	for _, n := range names {
		limits = append(limits, labelLimit(n))
	}
	if tooLong(w, limits...) {
		return
	}
	for _, n := range names {
		s.label(rp, is, actor(r), n, true)
	}
	writeJSON(w, http.StatusOK, s.labelsJSON(rp, is.Labels))
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
	s.emit("issues", object{"action": action, "issue": s.issueJSON(rp, is), "label": s.labelJSON(rp, name), "repository": s.repoJSON(rp), "sender": s.userJSON(actor)})
	return true
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, is := s.issueAt(w, r)
	if is == nil {
		return
	}
	if !s.label(rp, is, actor(r), r.PathValue("name"), false) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest/issues/labels"})
		return
	}
	writeJSON(w, http.StatusOK, s.labelsJSON(rp, is.Labels))
}

func (s *Server) userKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []object{}
	for _, k := range s.keys[r.PathValue("username")] {
		out = append(out, s.publicKeyJSON(k))
	}
	writePage(w, r, out)
}

func (s *Server) permission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	login := r.PathValue("username")
	role := rp.collaborators[login]
	if role == "" {
		role = "read" // anyone may read a public repository
	}
	p := role
	switch role {
	case "maintain":
		p = "write" // GitHub reports maintain as write here, and triage as read
	case "triage":
		p = "read"
	}
	writeJSON(w, http.StatusOK, s.permissionJSON(login, p, role))
}

func (s *Server) membership(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, team, login := r.PathValue("org"), r.PathValue("team_slug"), r.PathValue("username")
	if !s.teams[org+"/"+team][login] {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.membershipJSON(org, team, login))
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
		validationFailed(w, "Status", "state", "state is not included in the list")
		return
	}
	if tooLong(w, statusDescriptionLimit("Status", in.GetDescription())) {
		return
	}
	if in.GetContext() == "" {
		in.Context = github.String("default")
	}
	in.ID = github.Int64(s.id())
	in.Creator = s.user(actor(r))
	now := s.stamp()
	in.CreatedAt, in.UpdatedAt = &now, &now
	sha := r.PathValue("sha")
	rp.statuses[sha] = append(rp.statuses[sha], &in)
	writeJSON(w, http.StatusCreated, s.statusJSON(rp, sha, &in))
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	ref := r.PathValue("ref")
	src := rp.statuses[ref]
	out := []object{}
	for i := len(src) - 1; i >= 0; i-- {
		out = append(out, s.statusJSON(rp, ref, src[i]))
	}
	writePage(w, r, out)
}

// combinedStatus is the combined status of a commit.
func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.combinedStatusJSON(rp, r.PathValue("ref")))
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
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	token := "ghs_standin_" + r.PathValue("installation_id")
	s.tokens[token] = true
	writeJSON(w, http.StatusCreated, s.tokenJSON(token, time.Now().Add(time.Hour)))
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
