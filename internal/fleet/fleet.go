// Package fleet runs fleet rollouts on GitHub: the applier of the plans of
// internal/rollout. `purrvision rollout start` opens a tracking issue and
// wave 1's pull request; the service records each wave's merge, follows
// its stores' deployment statuses (which the watcher sets), and opens the
// next wave by itself, or pauses over the failure budget; people steer it
// with commands on the tracking issue.
//
// Like the request flow it is level-triggered: the rollout's state lives
// in the ledger record of its tracking issue (internal/ledger) and in the
// tenants repo's branches. Reconcile re-reads both and makes up the
// difference, so a restart picks up where it was, and a pull request is
// found again (apply.Bot.FindPull: the bot's author and the tenants repo as
// head, as GitHub records them) before one is opened. Its writes to GitHub
// go through internal/apply, which the request flow shares; a write that
// fails is the rollout's last error, shown until it succeeds.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// What a rollout asks of GitHub, by concern: each a few methods, declared
// where they are used (the pull requests, check runs and deployments
// through internal/apply, which the request flow shares).
type (
	// issues are the tracking issues.
	issues interface {
		GetIssue(ctx context.Context, ref forge.IssueRef) (*forge.Issue, error)
		CreateIssue(ctx context.Context, repo forge.Repo, title, body string, labels ...string) (*forge.Issue, error)
		ListOpenIssues(ctx context.Context, repo forge.Repo, label string) ([]forge.Issue, error)
		CloseIssue(ctx context.Context, ref forge.IssueRef) error
	}
	// pullReader reads one pull request, and the open ones.
	pullReader interface {
		GetPull(ctx context.Context, repo forge.Repo, number int) (*forge.PullRequest, error)
		ListOpenPulls(ctx context.Context, repo forge.Repo) ([]forge.PullRequest, error)
	}
	// reactor answers a command it refuses.
	reactor interface {
		React(ctx context.Context, repo forge.Repo, commentID int64, content string) error
	}
	// deploymentReader reads what the watcher reported of a store.
	deploymentReader interface {
		LatestDeployment(ctx context.Context, repo forge.Repo, environment, by string) (*forge.Deployment, error)
		LatestDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, by string) (*forge.DeploymentStatus, error)
	}
)

// GitHub is what a rollout asks of GitHub: the sum of the small
// interfaces above, of internal/apply's and of the ledger's.
type GitHub interface {
	ledger.GitHub
	issues
	pullReader
	reactor
	deploymentReader
	apply.Labeler
	apply.Puller
	apply.PullCloser
	apply.CheckWriter
	apply.Deployer
	apply.MergeReader
	forge.Authorizer
}

// Options are a Roller's dependencies.
type Options struct {
	Config *config.Config
	GitHub GitHub
	Repo   *tenants.Repo
	// Ledger is the service's one ledger, on Repo.
	Ledger *ledger.Ledger
	// Identity is the login the bot acts as, which the service learns
	// from GitHub at start (and the CLI before it acts, app.Identify);
	// when nil, the config's github.botLogin, which must then be set.
	Identity *forge.Identity
	// Now is time.Now when nil; Rand (for rollout IDs) crypto/rand.Reader.
	Now  func() time.Time
	Rand io.Reader
	// Nudge, when set, asks Flux to fetch the tenants repo now; it runs
	// after a wave's or a revert's merge, as after a store's.
	Nudge func(context.Context) error
	// BaseMoved, when set, is told after a wave's or a revert's merge:
	// the base branch moved, and the bot's other open branches are to be
	// brought up to date (the service queues them in the background).
	BaseMoved func(context.Context)
	// BackupCredentials are the backup targets' keys by cluster, for the
	// re-renders of stores whose plan takes backups.
	BackupCredentials map[string]config.BackupCredentials
}

// Roller runs rollouts.
type Roller struct {
	cfg *config.Config
	// backupCreds are the backup targets' keys by cluster.
	backupCreds map[string]config.BackupCredentials
	gh          GitHub
	repo        *tenants.Repo
	ledger      *ledger.Ledger
	requests    forge.Repo
	tenants     forge.Repo
	id          *forge.Identity // the login the bot acts as, read at use
	now         func() time.Time
	rand        io.Reader
	nudge       func(context.Context) error
	moved       func(context.Context)
	// mu serializes rollout work in this process; across processes the
	// ledger's and the branches' compare-and-swap keep it consistent.
	mu sync.Mutex
}

// New checks the options and returns a Roller.
func New(o Options) (*Roller, error) {
	if o.Config == nil || o.GitHub == nil || o.Repo == nil || o.Ledger == nil {
		return nil, errors.New("fleet: config, GitHub client, tenants repo and ledger are required")
	}
	if o.Identity == nil {
		if o.Config.GitHub.BotLogin == "" {
			return nil, errors.New("fleet: the bot's login is not known: learn it from GitHub (app.Identify) or set github.botLogin")
		}
		o.Identity = forge.NewIdentity(o.Config.GitHub.BotLogin)
	}
	requests, tenants, err := o.Config.Repos()
	if err != nil {
		return nil, err
	}
	r := &Roller{cfg: o.Config, backupCreds: o.BackupCredentials, gh: o.GitHub, repo: o.Repo, ledger: o.Ledger, requests: requests, tenants: tenants,
		id: o.Identity, now: o.Now, rand: o.Rand, nudge: o.Nudge, moved: o.BaseMoved}
	if r.now == nil {
		r.now = time.Now
	}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	return r, nil
}

// bot is the login the bot acts as; "" until the service learns it.
func (r *Roller) bot() string { return r.id.Login() }

// app is the one applier of the bot's writes in the tenants repo.
func (r *Roller) app() apply.Bot { return apply.Bot{Login: r.bot(), Tenants: r.tenants} }

// tracking is a rollout's tracking issue, its ledger thread and state.
type tracking struct {
	issue  *forge.Issue
	thread *ledger.Thread
	st     *rollout.State
}

func (tr *tracking) ref() forge.IssueRef { return tr.issue.Ref }

// isTracking reports whether an issue is a rollout's tracking issue: the
// bot opened it (GitHub authenticates the author) with the label.
func (r *Roller) isTracking(is *forge.Issue) bool {
	return is.Author == r.bot() && is.HasLabel(v1alpha1.LabelRollout)
}

// load reads a tracking issue with its state; nil when the issue is not
// a tracking issue or has no rollout recorded.
func (r *Roller) load(ctx context.Context, ref forge.IssueRef, fetch bool) (*tracking, error) {
	is, err := r.gh.GetIssue(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !r.isTracking(is) {
		return nil, nil
	}
	t, err := r.ledger.Thread(ctx, r.gh, r.bot(), ref, fetch)
	if err != nil {
		return nil, err
	}
	st, err := Decode(t.Record)
	if err != nil || st == nil {
		return nil, err
	}
	return &tracking{issue: is, thread: t, st: st}, nil
}

// Decode is the rollout state a ledger record holds: the record of a
// tracking issue; nil for any other record.
func Decode(rec ledger.Record) (*rollout.State, error) {
	if len(rec.Rollout) == 0 {
		return nil, nil
	}
	var st rollout.State
	if err := json.Unmarshal(rec.Rollout, &st); err != nil {
		return nil, fmt.Errorf("reading the rollout state in the ledger: %w", err)
	}
	return &st, nil
}

// save edits the freshest recorded state compare-and-swap; edit returns
// why, or ledger.ErrUnchanged.
func (r *Roller) save(ctx context.Context, tr *tracking, edit func(st *rollout.State) (string, error)) error {
	rec, err := r.ledger.Update(ctx, tr.ref(), func(rec *ledger.Record) (string, error) {
		st, err := Decode(*rec)
		if err != nil {
			return "", err
		}
		if st == nil {
			st = &rollout.State{}
		}
		why, err := edit(st)
		if err != nil {
			return "", err
		}
		data, err := json.Marshal(st)
		if err != nil {
			return "", err
		}
		rec.Rollout = data
		return why, nil
	})
	if err != nil {
		return err
	}
	tr.thread.Record = rec
	st, err := Decode(rec)
	if err != nil {
		return err
	}
	if st != nil {
		tr.st = st
	}
	return nil
}

// table makes the tracking issue's table of waves show the state.
func (r *Roller) table(ctx context.Context, tr *tracking) error {
	_, err := r.ledger.Put(ctx, r.gh, tr.thread, ledger.KindRollout, rollout.Table(tr.st))
	return err
}

// post posts a comment on the tracking issue once for key, even across a
// failed attempt (ledger.Post).
func (r *Roller) post(ctx context.Context, tr *tracking, key, body string) error {
	_, err := r.ledger.Post(ctx, r.gh, tr.thread, key, body, func(*ledger.Record, forge.Comment) string { return "posted its " + key + " comment" })
	return err
}

// Open lists the open tracking issues, oldest first.
func (r *Roller) Open(ctx context.Context) ([]forge.Issue, error) {
	issues, err := r.gh.ListOpenIssues(ctx, r.requests, v1alpha1.LabelRollout)
	if err != nil {
		return nil, fmt.Errorf("listing open rollouts: %w", err)
	}
	var out []forge.Issue
	for i := len(issues) - 1; i >= 0; i-- {
		if r.isTracking(&issues[i]) {
			out = append(out, issues[i])
		}
	}
	return out, nil
}

// Resync hands every open tracking issue to add, so the gate runs on each
// resync tick and a restart picks up where it was.
func (r *Roller) Resync(ctx context.Context, add func(forge.IssueRef)) error {
	open, err := r.Open(ctx)
	if err != nil {
		return err
	}
	for _, is := range open {
		add(is.Ref)
	}
	return nil
}

// Reconcile brings a rollout to where its state and GitHub say it should
// be: a wave opened if missing, a merge recorded, the gate run.
func (r *Roller) Reconcile(ctx context.Context, ref forge.IssueRef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.load(ctx, ref, true)
	if err != nil || tr == nil {
		return err
	}
	err = r.step(ctx, tr)
	if err == nil {
		err = r.catchUpReverts(ctx, tr)
	}
	return r.noteError(ctx, tr, err)
}

// failed is a write of a rollout that failed, saying what it was doing
// ("open the pull request of wave 2"), for the rollout's last error.
type failed struct {
	action string
	err    error
}

func (e *failed) Error() string { return "could not " + e.action + ": " + e.err.Error() }
func (e *failed) Unwrap() error { return e.err }

// noteError records err, the outcome of a step of the rollout, as its
// last error, shown on the tracking issue's table and the status page
// until a step succeeds, which clears it. It returns err, for the queue
// to retry.
func (r *Roller) noteError(ctx context.Context, tr *tracking, err error) error {
	if err == nil && tr.st.LastError == nil {
		return nil
	}
	var f *rollout.Failure
	if err != nil {
		f = &rollout.Failure{Action: "move the rollout on", Message: err.Error(), Time: r.now()}
		var fe *failed
		if errors.As(err, &fe) {
			f.Action, f.Message = fe.action, fe.err.Error()
		}
	}
	if serr := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		switch {
		case f == nil && st.LastError == nil:
			return "", ledger.ErrUnchanged
		case f == nil:
			st.LastError = nil
			return "the last error is cleared", nil
		case st.LastError != nil && st.LastError.Action == f.Action && st.LastError.Message == f.Message:
			return "", ledger.ErrUnchanged // failing the same way since
		}
		st.LastError = f
		return "could not " + f.Action, nil
	}); serr != nil {
		return errors.Join(err, serr)
	}
	if terr := r.table(ctx, tr); terr != nil {
		return errors.Join(err, terr)
	}
	return err
}

// newID is a rollout's ID: the day and six random hex digits.
func (r *Roller) newID() (string, error) {
	var b [3]byte
	if _, err := io.ReadFull(r.rand, b[:]); err != nil {
		return "", fmt.Errorf("making a rollout ID: %w", err)
	}
	return r.now().UTC().Format("20060102") + "-" + hex.EncodeToString(b[:]), nil
}

// plan re-renders the fleet on the base branch as it is now.
func (r *Roller) plan(ctx context.Context) (*rollout.Plan, error) {
	if err := r.repo.Fetch(ctx); err != nil {
		return nil, err
	}
	head, ok, err := r.repo.Head(r.cfg.TenantsRepo.Branch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("planning a rollout: tenantsRepo.branch %q does not exist", r.cfg.TenantsRepo.Branch)
	}
	snap, err := r.repo.Snapshot(head)
	if err != nil {
		return nil, err
	}
	return rollout.PlanFleet(rollout.Input{Config: r.cfg, Tree: snap, Base: head.String(), BackupCredentials: r.backupCreds})
}

// identities are who each of stores is in tree, by name: the issue and
// owner its request copy records. A store the tree does not hold is left
// out.
func (r *Roller) identities(tree renderer.Tree, stores []string) (map[string]rollout.StoreID, error) {
	out := map[string]rollout.StoreID{}
	for _, s := range stores {
		id, ok, err := r.identity(tree, s)
		if err != nil {
			return nil, err
		}
		if ok {
			out[s] = id
		}
	}
	return out, nil
}

// identity is who store is in tree; ok is false when the tree does not
// hold it.
func (r *Roller) identity(tree renderer.Tree, store string) (rollout.StoreID, bool, error) {
	req, _, err := renderer.FindStore(r.cfg, tree, store)
	if err != nil || req == nil {
		return rollout.StoreID{}, false, err
	}
	return rollout.StoreID{Issue: req.Metadata.Annotations[v1alpha1.AnnotationIssue], Owner: req.Spec.Owner}, true, nil
}

// same reports whether store in tree is the store the wave recorded (a
// wave recorded before identities were: any store of the name).
func (r *Roller) same(tree renderer.Tree, w *rollout.WaveState, store string) (bool, error) {
	want, recorded := w.IDs[store]
	if w.IDs == nil {
		return true, nil
	}
	id, ok, err := r.identity(tree, store)
	if err != nil || !ok {
		return false, err
	}
	return recorded && id == want, nil
}

// pending are the stores with an open store pull request of the bot's.
func (r *Roller) pending(ctx context.Context) (map[string]bool, error) {
	prs, err := r.gh.ListOpenPulls(ctx, r.tenants)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, pr := range prs {
		// Only the bot's own: a pull request someone opened from a branch
		// named like a store's holds no store back.
		if s, ok := v1alpha1.StoreOfBranch(pr.Head); ok && pr.Base == r.cfg.TenantsRepo.Branch && r.app().Owns(&pr, "") {
			out[s] = true
		}
	}
	return out, nil
}

// afterMerge follows a merge into the base branch: it says the base
// moved (BaseMoved), and asks Flux to fetch the tenants repo now, so a
// merge reaches the cluster without waiting for the source's interval; a
// failure is only logged (Flux fetches on its interval anyway).
func (r *Roller) afterMerge(ctx context.Context) {
	if r.moved != nil {
		r.moved(ctx)
	}
	if r.nudge == nil {
		return
	}
	if err := r.nudge(ctx); err != nil {
		logctx.From(ctx).Warn("asking Flux to fetch the tenants repo now", "error", err)
	}
}
