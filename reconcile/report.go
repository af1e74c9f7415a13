package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// Report is one transition of a store.
type Report struct {
	Store string
	Issue forge.IssueRef
	Observation
	// URL is the store's address, shown when it is ready.
	URL string
	// Cluster is the cluster whose watcher saw the transition; "" when the
	// watcher was not told its cluster.
	Cluster string
}

// Reporter tells people about a transition.
type Reporter interface {
	Report(ctx context.Context, r Report) error
}

// ReportGitHub is what GitHubReporter calls.
type ReportGitHub interface {
	GetIssue(ctx context.Context, ref forge.IssueRef) (*forge.Issue, error)
	ledger.GitHub
	AddLabels(ctx context.Context, ref forge.IssueRef, labels ...string) error
	RemoveLabel(ctx context.Context, ref forge.IssueRef, label string) error
	CloseIssue(ctx context.Context, ref forge.IssueRef) error
	LatestDeployment(ctx context.Context, repo forge.Repo, environment, by string) (*forge.Deployment, error)
	EnsureDeployment(ctx context.Context, repo forge.Repo, environment, sha, description, by string) (forge.Deployment, error)
	LatestDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, by string) (*forge.DeploymentStatus, error)
	CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error
}

// GitHubReporter reports on the store's issue and with deployment statuses
// on the tenants repo. Each step reads GitHub first and writes only what
// differs, so a report repeated after a crash posts nothing twice.
type GitHubReporter struct {
	GitHub  ReportGitHub
	Tenants forge.Repo
	// Bot is the login the bot acts as, which the service learns at
	// start: the creator of its deployments and the author of its
	// comments.
	Bot *forge.Identity
	// Ledger names the store issue's status comment (internal/ledger).
	Ledger *ledger.Ledger
	// FetchLedger reads the ledger from the remote before each report: set
	// it where nothing else keeps the clone fresh (serve --webhooks=false),
	// or the store's last merge, recorded by the process that serves the
	// webhooks, would be unknown to the stale check.
	FetchLedger bool
	Now         func() time.Time
	// StatusPage is the status page's address (config statusPage.url):
	// deployment statuses and the progress comment link to the store's row
	// on it. No links when empty.
	StatusPage string
	// DefaultCluster is the config's first cluster: its stores' deployment
	// environment is the one they had before each cluster reported its
	// own (v1alpha1.EnvironmentOn).
	DefaultCluster string
	// Provisioned, when set, observes the seconds from merge to Ready.
	Provisioned prometheus.Observer
	// History, when set, says which commits of the tenants repo hold
	// which: reports about a revision older than the store's last merge are
	// held back (ErrStale), and deployments stay those of the store's own
	// merges. Without it every revision is taken to hold the last merge.
	History History
}

// History answers whether one commit of the tenants repo holds another.
type History interface {
	Contains(ctx context.Context, ancestor, descendant string) (bool, error)
}

// HistoryFunc is a History of a function.
type HistoryFunc func(ctx context.Context, ancestor, descendant string) (bool, error)

// Contains implements History.
func (f HistoryFunc) Contains(ctx context.Context, ancestor, descendant string) (bool, error) {
	return f(ctx, ancestor, descendant)
}

// ErrStale is returned for an observation older than the store's last
// merge: nothing is reported, and the watcher looks again.
var ErrStale = errors.New("stale observation")

// NewProvisioningHistogram registers the merge-to-Ready histogram.
func NewProvisioningHistogram(reg prometheus.Registerer) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "purrvision_provisioning_duration_seconds",
		Help:    "Seconds from the merge of a store's pull request to the store being Ready.",
		Buckets: []float64{5, 10, 20, 30, 60, 120, 300, 600, 1800},
	})
	reg.MustRegister(h)
	return h
}

var deploymentStates = map[v1alpha1.Phase]string{
	v1alpha1.PhaseApplied:        "in_progress",
	v1alpha1.PhaseInstalling:     "in_progress",
	v1alpha1.PhaseReady:          "success",
	v1alpha1.PhaseFailed:         "failure",
	v1alpha1.PhaseDecommissioned: "inactive",
}

// ErrNotItsStore is returned for a report whose issue the bot recorded
// for another store: nothing is reported. A store is its issue, not its
// name; a request copy (merged by hand) that names another store's issue
// does not make that issue its own.
var ErrNotItsStore = errors.New("the issue is another store's")

// ErrBotUnknown is returned for a report made before the bot's login is
// known: nothing is read or written, since nothing could be told for the
// bot's own.
var ErrBotUnknown = errors.New("the bot's login is not known yet (the service learns it from GitHub at start)")

// Report implements Reporter.
func (g *GitHubReporter) Report(ctx context.Context, r Report) error {
	if g.Bot.Login() == "" {
		return ErrBotUnknown
	}
	own, st, err := g.status(ctx, r)
	if err != nil {
		return err
	}
	if st.Store != "" && st.Store != r.Store {
		return fmt.Errorf("%w: reporting store %s to %s, which Purrvision recorded for store %s", ErrNotItsStore, r.Store, r.Issue, st.Store)
	}
	if r.Revision != "" && st.MergeCommit != "" && r.Phase != v1alpha1.PhaseDecommissioned {
		// Flux reports the revision it applied last; right after a merge it
		// can still be one from before it. Such a report would tell the new
		// merge's story with the old commit.
		newer, err := g.contains(ctx, st.MergeCommit, r.Revision)
		if err != nil {
			return err
		}
		if !newer {
			return fmt.Errorf("%w: %s does not hold the store's last merge %s", ErrStale, shortSHA(r.Revision), shortSHA(st.MergeCommit))
		}
	}
	if err := g.deployment(ctx, r); err != nil {
		return err
	}
	if err := g.comment(ctx, r, own); err != nil {
		return err
	}
	if err := g.labels(ctx, r); err != nil {
		return err
	}
	if r.Phase == v1alpha1.PhaseDecommissioned {
		// Final for this issue: a new store needs a new request, and the
		// name is free again now that the Namespace is gone.
		if err := g.Ledger.Release(ctx, r.Store, r.Issue.String()); err != nil {
			return err
		}
		return g.GitHub.CloseIssue(ctx, r.Issue)
	}
	return nil
}

func (g *GitHubReporter) deployment(ctx context.Context, r Report) error {
	state, ok := deploymentStates[r.Phase]
	if !ok {
		return nil
	}
	env := v1alpha1.EnvironmentOn(r.Cluster, g.DefaultCluster, r.Store)
	d, err := g.GitHub.LatestDeployment(ctx, g.Tenants, env, g.Bot.Login())
	if err != nil {
		return err
	}
	stale := false
	if d != nil && r.Revision != "" && d.SHA != r.Revision && r.Phase != v1alpha1.PhaseDecommissioned {
		// The tenants repo moves with every store's merges; the store's
		// deployment is the one of its own last merge, which the applied
		// revision holds. Only a revision that does not hold it (the branch
		// was rewritten) gets a deployment of its own.
		holds, err := g.contains(ctx, d.SHA, r.Revision)
		if err != nil {
			return err
		}
		if !holds {
			// A deployment of a commit Flux has not applied yet (a
			// rollout's wave, merged after the store's own merge) waits
			// for it: an older revision's story is not that deployment's,
			// and a deployment of its own would hide it.
			older, err := g.contains(ctx, r.Revision, d.SHA)
			if err != nil {
				return err
			}
			if older {
				return nil
			}
		}
		stale = !holds
	}
	if d == nil || stale {
		if r.Revision == "" {
			return nil // nothing to deploy against yet
		}
		nd, err := g.GitHub.EnsureDeployment(ctx, g.Tenants, env, r.Revision, "store "+r.Store, g.Bot.Login())
		if err != nil {
			return err
		}
		d = &nd
	}
	latest, err := g.GitHub.LatestDeploymentStatus(ctx, g.Tenants, d.ID, g.Bot.Login())
	if err != nil {
		return err
	}
	desc := r.Phase.Title()
	if r.Message != "" {
		desc = r.Message
	}
	// The cause is at the end of Flux's messages, after the release and
	// chart names.
	desc = forge.KeepEnd(desc, forge.MaxStatusDescription)
	if latest != nil && latest.State == state && latest.Description == desc {
		return nil
	}
	st := forge.DeploymentStatus{State: state, Description: desc, LogURL: g.storePage(r.Store)}
	if r.Phase == v1alpha1.PhaseReady {
		st.EnvironmentURL = r.URL
	}
	return g.GitHub.CreateDeploymentStatus(ctx, g.Tenants, d.ID, st)
}

// storePage is the store's row on the status page; "" without one.
func (g *GitHubReporter) storePage(store string) string {
	if g.StatusPage == "" {
		return ""
	}
	return v1alpha1.StatusPageURL(g.StatusPage, store)
}

// status reads the store's state, as the ledger records it, and the
// thread of its status comment.
func (g *GitHubReporter) status(ctx context.Context, r Report) (*ledger.Thread, storestatus.State, error) {
	if g.Ledger == nil {
		return nil, storestatus.State{}, errors.New("reporting: no ledger to find the status comment by")
	}
	t, err := g.Ledger.Thread(ctx, g.GitHub, g.Bot.Login(), r.Issue, g.FetchLedger)
	if err != nil {
		return nil, storestatus.State{}, err
	}
	if t.Record.Status != nil {
		return t, *t.Record.Status, nil
	}
	return t, storestatus.State{Store: r.Store}, nil
}

// contains reports whether commit descendant holds commit ancestor; true
// without History to ask.
func (g *GitHubReporter) contains(ctx context.Context, ancestor, descendant string) (bool, error) {
	if g.History == nil || ancestor == descendant {
		return true, nil
	}
	return g.History.Contains(ctx, ancestor, descendant)
}

func (g *GitHubReporter) comment(ctx context.Context, r Report, t *ledger.Thread) error {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	at := now()
	readied := false
	err := g.Ledger.EditStatus(ctx, g.GitHub, t, func(st *storestatus.State) bool {
		readied = false
		if st.Store == "" {
			st.Store = r.Store
		}
		if st.URL == "" {
			st.URL = r.URL
		}
		detail := r.Message
		if r.Phase == v1alpha1.PhaseReady {
			detail = r.URL
		}
		if r.Phase == v1alpha1.PhaseInstalling && !r.Applied && !appliedSinceMerge(*st) {
			// helm-controller saw the new HelmRelease before
			// kustomize-controller reported its apply: wait for that report
			// (the watcher reports again when the Kustomization turns
			// Ready), so the timeline reads applied, then installing.
			return false
		}
		changed := false
		if r.Applied && r.Phase != v1alpha1.PhaseApplied && r.Phase != v1alpha1.PhaseDecommissioned && !appliedSinceMerge(*st) {
			// Flux applied the store and the chart started in one step;
			// the timeline still says both.
			changed = st.RecordOn(r.Cluster, v1alpha1.PhaseApplied, shortSHA(r.Revision), at)
		}
		if r.Phase == v1alpha1.PhaseApplied {
			detail = shortSHA(r.Revision)
		}
		if !st.RecordOn(r.Cluster, r.Phase, detail, at) && !changed {
			return false
		}
		readied = r.Phase == v1alpha1.PhaseReady
		return true
	}, func(st storestatus.State) string { return storestatus.Body(st, g.storePage(r.Store)) })
	if err != nil {
		return err
	}
	if readied && g.Provisioned != nil && t.Record.Status != nil {
		if merged, ok := lastMerge(*t.Record.Status); ok {
			g.Provisioned.Observe(at.Sub(merged).Seconds())
		}
	}
	return nil
}

func (g *GitHubReporter) labels(ctx context.Context, r Report) error {
	add := r.Phase.Label()
	issue, err := g.GitHub.GetIssue(ctx, r.Issue)
	if err != nil {
		return err
	}
	if !issue.HasLabel(add) {
		if err := g.GitHub.AddLabels(ctx, r.Issue, add); err != nil {
			return err
		}
	}
	for _, l := range v1alpha1.LifecycleLabels {
		if l != add && issue.HasLabel(l) {
			if err := g.GitHub.RemoveLabel(ctx, r.Issue, l); err != nil {
				return fmt.Errorf("removing label %s: %w", l, err)
			}
		}
	}
	return nil
}

// appliedSinceMerge reports whether the timeline says "applied" after its
// last merge.
func appliedSinceMerge(st storestatus.State) bool {
	for i := len(st.Timeline) - 1; i >= 0; i-- {
		switch st.Timeline[i].Phase {
		case v1alpha1.PhaseApplied:
			return true
		case v1alpha1.PhaseMerged:
			return false
		}
	}
	return false
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// lastMerge is when the timeline last recorded a merge.
func lastMerge(st storestatus.State) (time.Time, bool) {
	for i := len(st.Timeline) - 1; i >= 0; i-- {
		if st.Timeline[i].Phase == v1alpha1.PhaseMerged {
			return st.Timeline[i].At, true
		}
	}
	return time.Time{}, false
}
