package apply_test

import (
	"context"
	"slices"

	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
)

var (
	tenants = forge.Repo{Owner: "acme", Name: "tenants"}
	fork    = forge.Repo{Owner: "mallory", Name: "tenants"}
	bot     = apply.Bot{Login: "purrvision[bot]", Tenants: tenants}
	ctx     = context.Background()
)

// pulls stands in for GitHub's pull requests: newest first, as GitHub
// lists them. fail, when set, is returned by the next write, once.
type pulls struct {
	prs    []forge.PullRequest
	writes []string
	fail   error
}

var (
	_ apply.Puller     = (*pulls)(nil)
	_ apply.PullCloser = (*pulls)(nil)
)

func (f *pulls) ListPulls(_ context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error) {
	var out []forge.PullRequest
	for _, pr := range f.prs {
		if pr.Repo == repo && pr.Head == head {
			out = append(out, pr)
		}
	}
	return out, nil
}

func (f *pulls) failing() error {
	err := f.fail
	f.fail = nil
	return err
}

func (f *pulls) CreatePull(_ context.Context, repo forge.Repo, n forge.NewPullRequest) (*forge.PullRequest, error) {
	if err := f.failing(); err != nil {
		return nil, err
	}
	for _, pr := range f.prs {
		if pr.Open && pr.Head == n.Head && pr.HeadRepo == repo {
			return nil, forge.ErrAlreadyExists
		}
	}
	pr := forge.PullRequest{Repo: repo, Number: 100 + len(f.prs), Title: n.Title, Body: n.Body, Head: n.Head, HeadRepo: repo, Base: n.Base,
		Open: true, Author: bot.Login, HeadSHA: "sha-" + n.Head}
	f.prs = append([]forge.PullRequest{pr}, f.prs...)
	f.writes = append(f.writes, "create "+n.Head)
	return &pr, nil
}

func (f *pulls) EditPull(_ context.Context, _ forge.Repo, number int, title, body string) error {
	if err := f.failing(); err != nil {
		return err
	}
	for i := range f.prs {
		if f.prs[i].Number == number {
			f.prs[i].Title, f.prs[i].Body = title, body
		}
	}
	f.writes = append(f.writes, "edit")
	return nil
}

func (f *pulls) ClosePull(_ context.Context, _ forge.Repo, number int) error {
	if err := f.failing(); err != nil {
		return err
	}
	for i := range f.prs {
		if f.prs[i].Number == number {
			f.prs[i].Open = false
		}
	}
	f.writes = append(f.writes, "close")
	return nil
}

// checks stands in for GitHub's check runs.
type checks struct {
	runs   []forge.CheckRun // newest first
	writes []string
	fail   error
}

var _ apply.CheckWriter = (*checks)(nil)

func (f *checks) ListCheckRuns(_ context.Context, _ forge.Repo, sha, name string) ([]forge.CheckRun, error) {
	var out []forge.CheckRun
	for _, r := range f.runs {
		if r.HeadSHA == sha && r.Name == name {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *checks) CreateCheckRun(_ context.Context, _ forge.Repo, run forge.CheckRun) (forge.CheckRun, error) {
	if f.fail != nil {
		return forge.CheckRun{}, f.fail
	}
	run.ID, run.App = int64(len(f.runs)+1), bot.Login
	f.runs = append([]forge.CheckRun{run}, f.runs...)
	f.writes = append(f.writes, "create")
	return run, nil
}

func (f *checks) UpdateCheckRun(_ context.Context, _ forge.Repo, id int64, run forge.CheckRun) error {
	if f.fail != nil {
		return f.fail
	}
	for i := range f.runs {
		if f.runs[i].ID == id {
			if f.runs[i].App != bot.Login {
				return forge.ErrForbidden // GitHub: only the App that made it
			}
			run.ID, run.App = id, f.runs[i].App
			f.runs[i] = run
		}
	}
	f.writes = append(f.writes, "update")
	return nil
}

// deploys stands in for GitHub's deployments.
type deploys struct {
	ds       []forge.Deployment
	statuses map[int64][]forge.DeploymentStatus // newest last
	writes   []string
}

var _ apply.Deployer = (*deploys)(nil)

func (f *deploys) EnsureDeployment(_ context.Context, _ forge.Repo, env, sha, desc, by string) (forge.Deployment, error) {
	for _, d := range f.ds {
		if d.Environment == env && d.SHA == sha && d.Creator == by {
			return d, nil
		}
	}
	d := forge.Deployment{ID: int64(len(f.ds) + 1), SHA: sha, Environment: env, Creator: by}
	f.ds = append(f.ds, d)
	f.writes = append(f.writes, "deploy "+env)
	return d, nil
}

func (f *deploys) LatestDeploymentStatus(_ context.Context, _ forge.Repo, id int64, by string) (*forge.DeploymentStatus, error) {
	sts := f.statuses[id]
	for i := len(sts) - 1; i >= 0; i-- { // as GitHub records who posted each
		if sts[i].Creator == by {
			st := sts[i]
			return &st, nil
		}
	}
	return nil, nil
}

func (f *deploys) CreateDeploymentStatus(_ context.Context, _ forge.Repo, id int64, st forge.DeploymentStatus) error {
	if f.statuses == nil {
		f.statuses = map[int64][]forge.DeploymentStatus{}
	}
	st.Creator = bot.Login
	f.statuses[id] = append(f.statuses[id], st)
	f.writes = append(f.writes, "status "+st.State)
	return nil
}

// labels stands in for an issue's labels.
type labels struct {
	have   []string
	writes []string
}

var _ apply.Labeler = (*labels)(nil)

func (f *labels) AddLabels(_ context.Context, _ forge.IssueRef, ls ...string) error {
	f.have = append(f.have, ls...)
	f.writes = append(f.writes, "add")
	return nil
}

func (f *labels) RemoveLabel(_ context.Context, _ forge.IssueRef, l string) error {
	f.have = slices.DeleteFunc(f.have, func(h string) bool { return h == l })
	f.writes = append(f.writes, "remove "+l)
	return nil
}

// reviews stands in for a pull request's reviews and the repository's
// collaborators.
type reviews struct {
	approvers []string
	perms     map[string]string
}

var _ apply.MergeReader = (*reviews)(nil)

func (f *reviews) Approvers(context.Context, forge.Repo, int) ([]string, error) {
	return f.approvers, nil
}

func (f *reviews) Permission(_ context.Context, _ forge.Repo, login string) (string, error) {
	if p, ok := f.perms[login]; ok {
		return p, nil
	}
	return forge.PermissionNone, nil
}
