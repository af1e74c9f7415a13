package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
)

// fakeGitHub stands in for GitHub behind fleet.GitHub: issues and their
// comments and labels, pull requests, check runs, deployments, people's
// permissions. It follows GitHub's rules that the fleet relies on (one
// open pull request per head branch of a repository, a pull request's
// labels are its issue's, a reaction repeated is one), and records every
// write in writes.
type fakeGitHub struct {
	mu       sync.Mutex
	bot      string
	issues   map[forge.IssueRef]*forge.Issue
	comments map[int64]*fakeComment
	pulls    []*forge.PullRequest
	runs     []forge.CheckRun
	deploys  []forge.Deployment
	statuses map[int64][]forge.DeploymentStatus // oldest first
	perms    map[string]string
	reacts   map[string]bool
	nextID   int64
	writes   []string
	// failCreatePull fails the next CreatePull calls, as many.
	failCreatePull int
	// head is the commit a branch of the tenants repo is at, as GitHub
	// reads it when a pull request is opened.
	head func(branch string) string
}

type fakeComment struct {
	ref forge.IssueRef
	c   forge.Comment
}

var _ fleet.GitHub = (*fakeGitHub)(nil)

func newFakeGitHub(bot string) *fakeGitHub {
	return &fakeGitHub{bot: bot, issues: map[forge.IssueRef]*forge.Issue{}, comments: map[int64]*fakeComment{},
		statuses: map[int64][]forge.DeploymentStatus{}, perms: map[string]string{}, reacts: map[string]bool{}, nextID: 100}
}

var errBoom = errors.New("GitHub answered 502 Bad Gateway")

func (f *fakeGitHub) id() int64 { f.nextID++; return f.nextID }

func (f *fakeGitHub) wrote(format string, args ...any) {
	f.writes = append(f.writes, fmt.Sprintf(format, args...))
}

// takeWrites returns the writes since the last call.
func (f *fakeGitHub) takeWrites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.writes
	f.writes = nil
	return w
}

// Comments.

func (f *fakeGitHub) GetComment(_ context.Context, repo forge.Repo, id int64) (forge.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.comments[id]
	if !ok || c.ref.Repo != repo {
		return forge.Comment{}, fmt.Errorf("comment %d: %w", id, forge.ErrNotFound)
	}
	return c.c, nil
}

func (f *fakeGitHub) ListComments(_ context.Context, ref forge.IssueRef) ([]forge.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.Comment
	for _, c := range f.comments {
		if c.ref == ref {
			out = append(out, c.c)
		}
	}
	slices.SortFunc(out, func(a, b forge.Comment) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *fakeGitHub) CreateComment(_ context.Context, ref forge.IssueRef, body string) (forge.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.comment(ref, f.bot, body), nil
}

func (f *fakeGitHub) comment(ref forge.IssueRef, author, body string) forge.Comment {
	id := f.id()
	c := forge.Comment{ID: id, Issue: ref.Number, Body: body, Author: author, URL: fmt.Sprintf("https://github.com/%s/issues/%d#issuecomment-%d", ref.Repo, ref.Number, id)}
	f.comments[id] = &fakeComment{ref: ref, c: c}
	if author == f.bot {
		f.wrote("comment on %s", ref)
	}
	return c
}

func (f *fakeGitHub) EditComment(_ context.Context, repo forge.Repo, id int64, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.comments[id]
	if !ok || c.ref.Repo != repo {
		return forge.ErrNotFound
	}
	c.c.Body = body
	f.wrote("edit comment %d", id)
	return nil
}

func (f *fakeGitHub) DeleteComment(_ context.Context, _ forge.Repo, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.comments, id)
	f.wrote("delete comment %d", id)
	return nil
}

func (f *fakeGitHub) React(_ context.Context, _ forge.Repo, id int64, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprintf("%d:%s", id, content)
	if !f.reacts[key] {
		f.reacts[key] = true
		f.wrote("react %s", key)
	}
	return nil
}

// Issues and labels.

func (f *fakeGitHub) GetIssue(_ context.Context, ref forge.IssueRef) (*forge.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[ref]
	if !ok {
		return nil, fmt.Errorf("issue %s: %w", ref, forge.ErrNotFound)
	}
	cp := *is
	cp.Labels = slices.Clone(is.Labels)
	return &cp, nil
}

func (f *fakeGitHub) CreateIssue(_ context.Context, repo forge.Repo, title, body string, labels ...string) (*forge.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issue(repo, f.bot, title, body, labels...)
	f.wrote("open issue %s", is.Ref)
	cp := *is
	return &cp, nil
}

func (f *fakeGitHub) issue(repo forge.Repo, author, title, body string, labels ...string) *forge.Issue {
	ref := forge.IssueRef{Repo: repo, Number: int(f.id())}
	is := &forge.Issue{Ref: ref, Title: title, Body: body, Author: author, Labels: slices.Clone(labels), Open: true,
		URL: fmt.Sprintf("https://github.com/%s/issues/%d", repo, ref.Number)}
	f.issues[ref] = is
	return is
}

func (f *fakeGitHub) ListOpenIssues(_ context.Context, repo forge.Repo, label string) ([]forge.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.Issue
	for ref, is := range f.issues {
		if ref.Repo == repo && is.Open && slices.Contains(is.Labels, label) {
			out = append(out, *is)
		}
	}
	// GitHub lists the newest first.
	slices.SortFunc(out, func(a, b forge.Issue) int { return b.Ref.Number - a.Ref.Number })
	return out, nil
}

func (f *fakeGitHub) CloseIssue(_ context.Context, ref forge.IssueRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if is := f.issues[ref]; is != nil && is.Open {
		is.Open = false
		f.wrote("close issue %s", ref)
	}
	return nil
}

func (f *fakeGitHub) AddLabels(_ context.Context, ref forge.IssueRef, labels ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[ref]
	if !ok {
		return forge.ErrNotFound
	}
	for _, l := range labels {
		if !slices.Contains(is.Labels, l) {
			is.Labels = append(is.Labels, l)
		}
	}
	f.wrote("label %s %s", ref, strings.Join(labels, ","))
	return nil
}

func (f *fakeGitHub) RemoveLabel(_ context.Context, ref forge.IssueRef, label string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if is := f.issues[ref]; is != nil {
		is.Labels = slices.DeleteFunc(is.Labels, func(l string) bool { return l == label })
	}
	f.wrote("unlabel %s %s", ref, label)
	return nil
}

// Pull requests.

func (f *fakeGitHub) ListPulls(_ context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.PullRequest
	for i := len(f.pulls) - 1; i >= 0; i-- { // newest first
		// GitHub's head=owner:branch matches the head repository's owner.
		if p := f.pulls[i]; p.Repo == repo && p.Head == head && p.HeadRepo.Owner == repo.Owner {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (f *fakeGitHub) ListOpenPulls(_ context.Context, repo forge.Repo) ([]forge.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.PullRequest
	for _, p := range f.pulls {
		if p.Repo == repo && p.Open {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (f *fakeGitHub) GetPull(_ context.Context, repo forge.Repo, n int) (*forge.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pull(repo, n); p != nil {
		cp := *p
		return &cp, nil
	}
	return nil, fmt.Errorf("pull request %d: %w", n, forge.ErrNotFound)
}

func (f *fakeGitHub) pull(repo forge.Repo, n int) *forge.PullRequest {
	for _, p := range f.pulls {
		if p.Repo == repo && p.Number == n {
			return p
		}
	}
	return nil
}

// openPull opens a pull request as author from head in headRepo, at sha.
func (f *fakeGitHub) openPull(repo, headRepo forge.Repo, author, head, base, sha, title, body string) *forge.PullRequest {
	is := f.issue(repo, author, title, body)
	p := &forge.PullRequest{Repo: repo, Number: is.Ref.Number, Title: title, Body: body, Head: head, HeadRepo: headRepo, HeadSHA: sha,
		Base: base, Open: true, Author: author, URL: fmt.Sprintf("https://github.com/%s/pull/%d", repo, is.Ref.Number)}
	f.pulls = append(f.pulls, p)
	return p
}

func (f *fakeGitHub) CreatePull(_ context.Context, repo forge.Repo, n forge.NewPullRequest) (*forge.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreatePull > 0 {
		f.failCreatePull--
		return nil, fmt.Errorf("opening pull request for %s: %w", n.Head, errBoom)
	}
	for _, p := range f.pulls {
		if p.Repo == repo && p.Open && p.Head == n.Head && p.HeadRepo == repo {
			return nil, fmt.Errorf("opening pull request for %s: %w", n.Head, forge.ErrAlreadyExists)
		}
	}
	p := f.openPull(repo, repo, f.bot, n.Head, n.Base, f.head(n.Head), n.Title, n.Body)
	f.wrote("open pull %d %s", p.Number, n.Head)
	cp := *p
	return &cp, nil
}

func (f *fakeGitHub) EditPull(_ context.Context, repo forge.Repo, n int, title, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pull(repo, n)
	if p == nil {
		return forge.ErrNotFound
	}
	p.Title, p.Body = title, body
	f.wrote("edit pull %d", n)
	return nil
}

func (f *fakeGitHub) ClosePull(_ context.Context, repo forge.Repo, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pull(repo, n)
	if p == nil {
		return forge.ErrNotFound
	}
	p.Open = false
	f.wrote("close pull %d", n)
	return nil
}

func (f *fakeGitHub) Approvers(context.Context, forge.Repo, int) ([]string, error) {
	return []string{"alice", "mallory"}, nil
}

// People.

func (f *fakeGitHub) Permission(_ context.Context, _ forge.Repo, login string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.perms[login]; ok {
		return p, nil
	}
	return forge.PermissionRead, nil
}

func (f *fakeGitHub) IsTeamMember(context.Context, string, string, string) (bool, error) {
	return false, nil
}

// Check runs.

func (f *fakeGitHub) ListCheckRuns(_ context.Context, _ forge.Repo, sha, name string) ([]forge.CheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.CheckRun
	for i := len(f.runs) - 1; i >= 0; i-- {
		if r := f.runs[i]; r.HeadSHA == sha && r.Name == name {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeGitHub) CreateCheckRun(_ context.Context, _ forge.Repo, run forge.CheckRun) (forge.CheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run.ID, run.App = f.id(), f.bot
	f.runs = append(f.runs, run)
	f.wrote("check run %s", run.HeadSHA)
	return run, nil
}

func (f *fakeGitHub) UpdateCheckRun(_ context.Context, _ forge.Repo, id int64, run forge.CheckRun) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.runs {
		if f.runs[i].ID == id {
			run.ID, run.App = id, f.runs[i].App
			f.runs[i] = run
		}
	}
	f.wrote("update check run %d", id)
	return nil
}

// Deployments.

func (f *fakeGitHub) EnsureDeployment(_ context.Context, _ forge.Repo, env, sha, _, by string) (forge.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.deploys {
		if d.Environment == env && d.SHA == sha && d.Creator == by {
			return d, nil
		}
	}
	return f.deploy(env, sha, by), nil
}

func (f *fakeGitHub) deploy(env, sha, by string) forge.Deployment {
	d := forge.Deployment{ID: f.id(), SHA: sha, Environment: env, Creator: by}
	f.deploys = append(f.deploys, d)
	if by == f.bot {
		f.wrote("deploy %s", env)
	}
	return d
}

func (f *fakeGitHub) LatestDeployment(_ context.Context, _ forge.Repo, env, by string) (*forge.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.deploys) - 1; i >= 0; i-- {
		if d := f.deploys[i]; d.Environment == env && d.Creator == by {
			return &d, nil
		}
	}
	return nil, nil
}

func (f *fakeGitHub) LatestDeploymentStatus(_ context.Context, _ forge.Repo, id int64, by string) (*forge.DeploymentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sts := f.statuses[id]
	for i := len(sts) - 1; i >= 0; i-- { // as GitHub records who posted each
		if sts[i].Creator == by {
			st := sts[i]
			return &st, nil
		}
	}
	return nil, nil
}

func (f *fakeGitHub) CreateDeploymentStatus(_ context.Context, _ forge.Repo, id int64, st forge.DeploymentStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.Creator = f.bot
	f.statuses[id] = append(f.statuses[id], st)
	f.wrote("deployment %d %s", id, st.State)
	return nil
}

// report sets a deployment status as by (the watcher is the bot).
func (f *fakeGitHub) report(id int64, by, state, desc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses[id] = append(f.statuses[id], forge.DeploymentStatus{State: state, Description: desc, Creator: by})
}
