package ghstandin

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// Check runs (GitHub's Checks API). Only a GitHub App creates them, and
// GitHub records which: the App of a call made without ActAsHeader is the
// stand-in's bot, BotLogin. AddCheckRun plays another App.

// checkRun is a check run in the stand-in's state.
type checkRun struct {
	id                  int64
	app                 string // the App's slug
	name, headSHA       string
	status, conclusion  string
	detailsURL          *string
	title, summary      *string
	text                *string
	started, completed  github.Timestamp
	suite               int64
	createdBy, editedBy string // who called, as GitHub records the App's bot
}

// botApp is the slug of the stand-in's own App, whose bot is BotLogin.
var botApp = strings.TrimSuffix(BotLogin, "[bot]")

// appIDOf is the ID of an App by its slug: the stand-in's own is appID.
func appIDOf(slug string) int64 {
	if slug == botApp {
		return appID
	}
	return userID("app:"+slug) + 2
}

// checkRunInput is the body of "Create a check run" and "Update a check
// run".
type checkRunInput struct {
	Name        *string `json:"name"`
	HeadSHA     string  `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title   *string `json:"title"`
		Summary *string `json:"summary"`
		Text    *string `json:"text"`
	} `json:"output"`
}

var checkStatuses = map[string]bool{"queued": true, "in_progress": true, "completed": true}

var checkConclusions = map[string]bool{"action_required": true, "cancelled": true, "failure": true, "neutral": true,
	"success": true, "skipped": true, "timed_out": true}

// refuseCheckRun answers GitHub's 422 for what it refuses in a check run's
// body, and says whether it did.
func refuseCheckRun(w http.ResponseWriter, in checkRunInput) bool {
	if in.Status != nil && !checkStatuses[*in.Status] {
		validationFailed(w, "CheckRun", "status", "status is not included in the list")
		return true
	}
	if in.Conclusion != nil && !checkConclusions[*in.Conclusion] {
		validationFailed(w, "CheckRun", "conclusion", "conclusion is not included in the list")
		return true
	}
	if in.Status != nil && *in.Status == "completed" && in.Conclusion == nil {
		validationFailed(w, "CheckRun", "conclusion", "conclusion is required when status is completed")
		return true
	}
	if o := in.Output; o != nil {
		if o.Title == nil || o.Summary == nil {
			validationFailed(w, "CheckRun", "output", "output needs a title and a summary")
			return true
		}
		return tooLong(w, limit{resource: "CheckRun", field: "title", value: *o.Title, max: forge.MaxCheckTitle},
			limit{resource: "CheckRun", field: "summary", value: *o.Summary, max: forge.MaxCheckSummary},
			limit{resource: "CheckRun", field: "text", value: deref(o.Text), max: forge.MaxCheckText})
	}
	return false
}

// applyCheckRun sets what a create or an update says; s.mu held.
func (s *Server) applyCheckRun(cr *checkRun, in checkRunInput) {
	if in.DetailsURL != nil {
		cr.detailsURL = in.DetailsURL
	}
	if in.Status != nil {
		cr.status = *in.Status
	}
	if in.Conclusion != nil {
		// A conclusion completes the run, GitHub's description says.
		cr.conclusion, cr.status = *in.Conclusion, "completed"
		cr.completed = s.stamp()
	}
	if o := in.Output; o != nil {
		cr.title, cr.summary, cr.text = o.Title, o.Summary, o.Text
	}
}

// createCheckRun is "Create a check run": only a GitHub App may.
func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	var in checkRunInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	if actor(r) != BotLogin {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "You must authenticate via a GitHub App.", "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"})
		return
	}
	if in.Name == nil || *in.Name == "" || in.HeadSHA == "" {
		validationFailed(w, "CheckRun", "name", "name and head_sha are required")
		return
	}
	if refuseCheckRun(w, in) {
		return
	}
	sha := in.HeadSHA
	if rp.gitDir != "" {
		full, err := git(rp.gitDir, "rev-parse", "--verify", "--quiet", sha+"^{commit}")
		if err != nil || full != sha {
			validationFailed(w, "CheckRun", "head_sha", "No commit found for SHA: "+sha)
			return
		}
	}
	cr := s.newCheckRun(rp, botApp, *in.Name, sha)
	cr.createdBy = actor(r)
	s.applyCheckRun(cr, in)
	writeJSON(w, http.StatusCreated, s.checkRunJSON(rp, cr))
}

// newCheckRun adds a queued check run of app; s.mu held.
func (s *Server) newCheckRun(rp *repo, app, name, sha string) *checkRun {
	cr := &checkRun{id: s.id(), app: app, name: name, headSHA: sha, status: "queued", started: s.stamp(), suite: userID(app + "@" + sha)}
	rp.checkRuns = append(rp.checkRuns, cr)
	return cr
}

// updateCheckRun is "Update a check run": only the App that created it
// may.
func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	var in checkRunInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("check_run_id"), 10, 64)
	var cr *checkRun
	for _, c := range rp.checkRuns {
		if err == nil && c.id == id {
			cr = c
		}
	}
	if cr == nil {
		notFound(w)
		return
	}
	if actor(r) != BotLogin || cr.app != botApp {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/checks/runs#update-a-check-run"})
		return
	}
	if refuseCheckRun(w, in) {
		return
	}
	if in.Name != nil && *in.Name != "" {
		cr.name = *in.Name
	}
	s.applyCheckRun(cr, in)
	cr.editedBy = actor(r)
	writeJSON(w, http.StatusOK, s.checkRunJSON(rp, cr))
}

// listCheckRuns is "List check runs for a Git reference": a commit's check
// runs, newest first, filtered by check_name and app_id; with filter
// latest (the default) only the newest of each App and name.
func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := q.Get("filter")
	if filter == "" {
		filter = "latest"
	}
	if filter != "latest" && filter != "all" {
		validationFailed(w, "CheckRun", "filter", "filter must be latest or all")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	ref := r.PathValue("ref")
	if rp.gitDir != "" {
		if full, err := git(rp.gitDir, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err == nil {
			ref = full
		}
	}
	var runs []*checkRun
	seen := map[string]bool{}
	for i := len(rp.checkRuns) - 1; i >= 0; i-- {
		cr := rp.checkRuns[i]
		if cr.headSHA != ref || (q.Get("check_name") != "" && cr.name != q.Get("check_name")) ||
			(q.Get("app_id") != "" && q.Get("app_id") != strconv.FormatInt(appIDOf(cr.app), 10)) ||
			(q.Get("status") != "" && cr.status != q.Get("status")) {
			continue
		}
		if key := cr.app + "\x00" + cr.name; filter == "latest" {
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		runs = append(runs, cr)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].id > runs[j].id })
	all := make([]object, len(runs))
	for i, cr := range runs {
		all[i] = s.checkRunJSON(rp, cr)
	}
	page, per := paging(r)
	out, last := paginate(all, page, per)
	linkHeader(w, r, page, last)
	writeJSON(w, http.StatusOK, object{"total_count": len(all), "check_runs": out})
}

// AddCheckRun adds a completed check run of name on sha, as the GitHub App
// app (by its slug) would: another App's check, named as Purrvision's.
func (s *Server) AddCheckRun(fullName, app, name, sha, conclusion, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr := s.newCheckRun(s.repos[fullName], app, name, sha)
	cr.status, cr.conclusion, cr.completed = "completed", conclusion, s.stamp()
	cr.title, cr.summary = &title, &title
	cr.createdBy = app + "[bot]"
}

// CheckRun is a check run as tests read it.
type CheckRun struct {
	ID                   int64
	App, Name, HeadSHA   string
	Status, Conclusion   string
	DetailsURL           string
	Title, Summary, Text string
	Updated              bool // changed after it was created
	CreatedBy            string
	PullRequests         []int
}

// CheckRuns returns the check runs of a commit, oldest first.
func (s *Server) CheckRuns(fullName, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	var out []CheckRun
	for _, cr := range rp.checkRuns {
		if cr.headSHA != sha {
			continue
		}
		c := CheckRun{ID: cr.id, App: cr.app, Name: cr.name, HeadSHA: cr.headSHA, Status: cr.status, Conclusion: cr.conclusion,
			DetailsURL: deref(cr.detailsURL), Title: deref(cr.title), Summary: deref(cr.summary), Text: deref(cr.text),
			Updated: cr.editedBy != "", CreatedBy: cr.createdBy}
		for _, pr := range rp.pullsAt(cr.headSHA) {
			c.PullRequests = append(c.PullRequests, pr.GetNumber())
		}
		out = append(out, c)
	}
	return out
}

// pullsAt are the open pull requests whose head is sha; s.mu held.
func (rp *repo) pullsAt(sha string) []*github.PullRequest {
	var out []*github.PullRequest
	for _, pr := range rp.pulls {
		rp.refresh(pr)
		if pr.GetState() == "open" && pr.GetHead().GetSHA() == sha {
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() < out[j].GetNumber() })
	return out
}

// appJSON is a GitHub App ("integration").
func (s *Server) appJSON(rp *repo, slug string) object {
	return s.appObject(rp.owner, rp.created, slug)
}

// appObject is an App owned by owner, created then.
func (s *Server) appObject(owner string, then github.Timestamp, slug string) object {
	id := appIDOf(slug)
	created := ts(&then)
	return s.finish(ResApp, object{
		"id": id, "slug": slug, "node_id": nodeID("A", id), "client_id": fmt.Sprintf("Iv1.standin%d", id),
		"owner": s.userJSON(owner), "name": slug, "description": nil,
		"external_url": s.baseURL + "/apps/" + slug, "html_url": s.baseURL + "/apps/" + slug,
		"created_at": created, "updated_at": created,
		"permissions": object{"checks": "write", "contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"},
		"events":      []string{"issues", "issue_comment", "pull_request"},
	})
}
