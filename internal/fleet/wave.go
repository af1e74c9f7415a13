package fleet

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// openGrace is how long a wave begun by another process, and not pushed
// yet, is left to it before this one takes it over.
const openGrace = 2 * time.Minute

// step is the rollout's reconcile: it opens the wave the state misses,
// looks at the open wave's pull request, runs the gate on a merged wave,
// and opens the next wave or pauses.
func (r *Roller) step(ctx context.Context, tr *tracking) error {
	st := tr.st
	if st.Phase != rollout.Active {
		return r.table(ctx, tr)
	}
	w := st.Last()
	switch {
	case w == nil || w.Closed:
		return r.openNext(ctx, tr, nil)
	case w.Pushed == "" && r.now().Sub(w.Opened) < openGrace:
		// Another process (the CLI's start, another replica) is opening
		// it; left to it, unless it died.
		return r.table(ctx, tr)
	case w.Pushed == "" || w.Pull == 0:
		// Begun and not finished: a crash, or a failure half-way.
		plan, err := r.plan(ctx)
		if err != nil {
			return err
		}
		return r.openWave(ctx, tr, plan, w.Number)
	case w.MergeCommit == "":
		pr, err := r.gh.GetPull(ctx, r.tenants, w.Pull)
		if err != nil {
			return err
		}
		if done, err := r.watchPull(ctx, tr, w.Number, pr); err != nil || done {
			return err
		}
		if pushed, err := r.catchUp(ctx, tr, w.Number); err != nil || pushed {
			return err
		}
		return r.table(ctx, tr)
	case !w.Settled.IsZero():
		return r.openNext(ctx, tr, nil)
	}
	return r.gate(ctx, tr)
}

// watchPull acts on the state of an open wave's pull request: a merge is
// recorded and gated, a close without merge or a push by hand pauses the
// rollout. done says it handled the pull request.
func (r *Roller) watchPull(ctx context.Context, tr *tracking, n int, pr *forge.PullRequest) (bool, error) {
	w := tr.st.Wave(n)
	switch {
	case pr.Merged:
		if err := r.recordMerge(ctx, tr, n, pr); err != nil {
			return true, err
		}
		if tr.st.Phase != rollout.Active {
			return true, r.table(ctx, tr)
		}
		return true, r.gate(ctx, tr)
	case !pr.Open:
		if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
			if w := st.Wave(n); w == nil || w.Closed || w.MergeCommit != "" {
				return "", ledger.ErrUnchanged
			}
			st.Wave(n).Closed = true
			return fmt.Sprintf("wave %d's pull request was closed", n), nil
		}); err != nil {
			return true, err
		}
		return true, r.pause(ctx, tr, fmt.Sprintf("wave %d's pull request %s was closed without merge", n, pr.URL),
			fmt.Sprintf("Rollout paused: wave %d's pull request %s was closed without merge. `/purrvision rollout resume` opens the wave again from today's plan; `/purrvision rollout abort` stops the rollout.", n, pr.URL))
	case pr.HeadSHA != w.Pushed:
		if err := r.ready(ctx, pr.HeadSHA, w.Pushed, waveRender(tr.st.ID, n)); err != nil {
			return true, err
		}
		return true, r.pause(ctx, tr, handEdited(n, pr, w.Pushed),
			fmt.Sprintf("Rollout paused: %s. Purrvision does not go on with a wave it did not write. Close %s, then `/purrvision rollout resume` opens the wave again from today's plan.", handEdited(n, pr, w.Pushed), pr.URL))
	}
	return false, nil
}

func handEdited(n int, pr *forge.PullRequest, pushed string) string {
	return fmt.Sprintf("wave %d's branch `%s` was pushed to by hand (its head is `%s`, Purrvision pushed `%s`)", n, pr.Head, apply.Short(pr.HeadSHA), apply.Short(pushed))
}

// openNext plans the wave after the last with today's config, and opens
// it; with no store left, the rollout is done.
func (r *Roller) openNext(ctx context.Context, tr *tracking, plan *rollout.Plan) error {
	if plan == nil {
		var err error
		if plan, err = r.plan(ctx); err != nil {
			return err
		}
	}
	pending, err := r.pending(ctx)
	if err != nil {
		return err
	}
	next, err := rollout.NextWave(rollout.NextInput{State: tr.st, Plan: plan, Pending: pending})
	if err != nil {
		return err
	}
	if next.Done {
		return r.finish(ctx, tr, next.Left)
	}
	n := next.Wave.Number
	mine := false
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		mine = false
		if st.Phase != rollout.Active {
			return "", fmt.Errorf("opening wave %d of rollout %s: the rollout is %s", n, st.ID, st.Phase)
		}
		if last := st.Last(); last != nil && last.Number >= n && !(last.Number == n && last.Closed) {
			return "", ledger.ErrUnchanged // opened meanwhile
		}
		w := rollout.WaveState{Number: n, PullState: rollout.PullState{Branch: rollout.WaveBranch(st.ID, n)},
			Stores: next.Wave.Stores, Deferred: next.Wave.Deferred, Replanned: next.Replanned, Opened: r.now()}
		if last := st.Last(); last != nil && last.Number == n {
			*last = w // opened again after a close
		} else {
			st.WaveList = append(st.WaveList, w)
		}
		mine = true
		return fmt.Sprintf("opening wave %d", n), nil
	}); err != nil {
		return err
	}
	if !mine {
		return r.table(ctx, tr) // another process opens it
	}
	if next.Replanned {
		if err := r.post(ctx, tr, fmt.Sprintf("replanned-%d", n), replannedComment(n, plan.Only(next.Wave.Stores))); err != nil {
			return err
		}
	}
	return r.openWave(ctx, tr, plan, n)
}

func replannedComment(n int, p *rollout.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Wave %d is re-planned with today's config, which changes its stores in a way the plan at the start did not:\n\n", n)
	for i, g := range p.Groups {
		if i == 20 {
			fmt.Fprintf(&b, "- and %d more groups\n", len(p.Groups)-i)
			break
		}
		fmt.Fprintf(&b, "- %s\n", forge.KeepStart(g.Headline(), 300))
	}
	b.WriteString("\nIts pull request shows the whole change.\n")
	return b.String()
}

// openWave pushes wave n's branch, unless the bot did already, and finds
// or opens its pull request.
func (r *Roller) openWave(ctx context.Context, tr *tracking, plan *rollout.Plan, n int) error {
	w := tr.st.Wave(n)
	if w.Pushed != "" {
		return r.pullWave(ctx, tr, plan, n)
	}
	stores := slices.DeleteFunc(slices.Clone(w.Stores), func(s string) bool { return plan.Store(s) == nil })
	if len(stores) == 0 {
		// Nothing left to change in this wave (store commands rendered
		// them meanwhile): the wave is settled as it is.
		if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
			st.Wave(n).Settled = r.now()
			return fmt.Sprintf("wave %d has nothing left to change", n), nil
		}); err != nil {
			return err
		}
		return r.openNext(ctx, tr, plan)
	}
	wave := rollout.Wave{Number: n, Stores: stores}
	// A branch the state does not know the bot pushed is started over.
	res, err := r.repo.Update(ctx, w.Branch, func(tenants.State, *tenants.Snapshot, *tenants.Snapshot) (*tenants.Plan, error) {
		return rollout.WaveCommit(plan, wave, tr.st.ID)
	})
	if err != nil {
		return fmt.Errorf("pushing wave %d of rollout %s: %w", n, tr.st.ID, err)
	}
	// Who each store is, as the commit the bot pushed has it: the stores
	// this wave changes, whatever becomes of their names.
	pushed, err := r.repo.Snapshot(res.Commit)
	if err != nil {
		return fmt.Errorf("reading wave %d as pushed: %w", n, err)
	}
	ids, err := r.identities(pushed, stores)
	if err != nil {
		return err
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		w := st.Wave(n)
		if w.Pushed != "" {
			return "", fmt.Errorf("pushing wave %d of rollout %s: another process pushed it meanwhile", n, st.ID)
		}
		w.Pushed, w.Stores, w.IDs = res.Commit.String(), stores, ids
		return fmt.Sprintf("pushed wave %d", n), nil
	}); err != nil {
		return err
	}
	return r.pullWave(ctx, tr, plan, n)
}

// catchUp renders open wave n's branch again on the base head when the
// base moved past it (git's answer: the base head is not in the branch's
// history), so the wave can merge under a base that requires branches to
// be up to date: today's plan of the wave's stores on the new base, each
// keeping its Secrets as every wave does, pushed compare-and-swap over
// the commit the state records the bot pushed, then recorded as the
// wave's push. A branch at any other commit is left to watchPull, which
// pauses. It reports whether it pushed.
func (r *Roller) catchUp(ctx context.Context, tr *tracking, n int) (bool, error) {
	w := tr.st.Wave(n)
	if err := r.repo.Fetch(ctx); err != nil {
		return false, err
	}
	head, ok, err := r.repo.Head(w.Branch)
	if err != nil || !ok || head.String() != w.Pushed {
		return false, err
	}
	base, _, err := r.repo.Head(r.cfg.TenantsRepo.Branch)
	if err != nil {
		return false, err
	}
	if upToDate, err := r.repo.Contains(ctx, base, head); err != nil || upToDate {
		return false, err
	}
	plan, err := r.plan(ctx)
	if err != nil {
		return false, err
	}
	stores := slices.DeleteFunc(slices.Clone(w.Stores), func(s string) bool { return plan.Store(s) == nil })
	if len(stores) == 0 {
		return false, nil // nothing of the wave left to change: its merge changes nothing either
	}
	wave := rollout.Wave{Number: n, Stores: stores, MovedTo: plan.Base}
	was := w.Pushed
	res, err := r.repo.Update(ctx, w.Branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		if s.BranchHead.String() != was {
			return nil, fmt.Errorf("bringing wave %d of rollout %s up to date: its branch moved to %s meanwhile", n, tr.st.ID, apply.Short(s.BranchHead.String()))
		}
		return rollout.WaveCommit(plan, wave, tr.st.ID)
	})
	if err != nil {
		return false, fmt.Errorf("bringing wave %d of rollout %s up to date: %w", n, tr.st.ID, err)
	}
	pushed, err := r.repo.Snapshot(res.Commit)
	if err != nil {
		return false, fmt.Errorf("reading wave %d as pushed: %w", n, err)
	}
	ids, err := r.identities(pushed, stores)
	if err != nil {
		return false, err
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		w := st.Wave(n)
		if w.Pushed != was {
			return "", fmt.Errorf("bringing wave %d of rollout %s up to date: another process pushed it meanwhile", n, st.ID)
		}
		w.Pushed, w.Stores, w.IDs = res.Commit.String(), stores, ids
		return fmt.Sprintf("wave %d rendered again on the base head %s", n, apply.Short(plan.Base)), nil
	}); err != nil {
		return false, err
	}
	return true, r.pullWave(ctx, tr, plan, n)
}

// pullWave finds or opens the pull request of the wave the bot pushed,
// once its branch is still at that commit, and follows it if it was
// merged meanwhile.
func (r *Roller) pullWave(ctx context.Context, tr *tracking, plan *rollout.Plan, n int) error {
	w := tr.st.Wave(n)
	if err := r.repo.Fetch(ctx); err != nil {
		return err
	}
	head, ok, err := r.repo.Head(w.Branch)
	if err != nil {
		return err
	}
	if ok && head.String() != w.Pushed {
		if err := r.ready(ctx, head.String(), w.Pushed, waveRender(tr.st.ID, n)); err != nil {
			return err
		}
		return r.pause(ctx, tr, fmt.Sprintf("wave %d's branch `%s` was pushed to by hand", n, w.Branch),
			fmt.Sprintf("Rollout paused: wave %d's branch `%s` no longer holds the commit Purrvision pushed; it does not go on with a wave it did not write.", n, w.Branch))
	}
	note := ""
	if ok {
		// The branch is at the bot's recorded push: its trailers are the
		// bot's.
		snap, err := r.repo.Snapshot(head)
		if err != nil {
			return err
		}
		if to := tenants.Trailers(snap.Message())[v1alpha1.TrailerBaseMoved]; to != "" {
			note = apply.BaseMovedNote(to)
		}
	}
	// The verdict first: a check run belongs to the commit, so the pull
	// request is ready to merge from the moment it opens, even when
	// GitHub's answer to its creation is lost.
	if err := r.ready(ctx, w.Pushed, w.Pushed, waveRender(tr.st.ID, n)); err != nil {
		return err
	}
	pr, err := r.ensurePull(ctx, w.PullState, forge.KeepStart(fmt.Sprintf("Rollout %s: wave %d (%s)", tr.st.ID, n, plural(len(w.Stores), "store")), forge.MaxTitle),
		pullBody(tr, fmt.Sprintf("Wave %d of rollout %s, %s", n, tr.st.ID, tr.st.Title), note, plan.Only(w.Stores)))
	if err != nil {
		return &failed{action: fmt.Sprintf("open the pull request of wave %d", n), err: err}
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		w := st.Wave(n)
		if w.Pull == pr.Number {
			return "", ledger.ErrUnchanged
		}
		w.Pull, w.URL = pr.Number, pr.URL
		return fmt.Sprintf("wave %d is pull request %d", n, pr.Number), nil
	}); err != nil {
		return err
	}
	if err := r.reportCheck(ctx, rollout.WaveCheck(tr.st.ID, n, w.Pushed, tr.issue.URL, plan.Only(w.Stores))); err != nil {
		return err
	}
	if pr.Merged {
		// Read whole: a listing lacks who merged it.
		if pr, err = r.gh.GetPull(ctx, r.tenants, pr.Number); err != nil {
			return err
		}
		_, err := r.watchPull(ctx, tr, n, pr)
		return err
	}
	return r.table(ctx, tr)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// pullBody is a wave's pull request body: what it is, note (why it was
// rendered again, "" none) and the plan, within GitHub's limit.
func pullBody(tr *tracking, what, note string, p *rollout.Plan) string {
	head := fmt.Sprintf("%s, tracked in %s. Re-rendered with today's config and chart; every store keeps its Secrets as they are.\n%s\n", what, tr.issue.URL, note)
	return head + rollout.Markdown(p, forge.MaxBody-len(head)-100)
}

// ensurePull finds the bot's open pull request of the branch, or the one
// merged at the commit the bot pushed (opened before a lost answer, and
// merged since), or opens it (apply.Bot.EnsurePull), and labels it.
func (r *Roller) ensurePull(ctx context.Context, ps rollout.PullState, title, body string) (*forge.PullRequest, error) {
	pr, err := r.app().EnsurePull(ctx, r.gh, apply.Pull{Branch: ps.Branch, Base: r.cfg.TenantsRepo.Branch, Title: title, Body: body, Pushed: ps.Pushed})
	if err != nil {
		return nil, err
	}
	ref := forge.IssueRef{Repo: r.tenants, Number: pr.Number}
	is, err := r.gh.GetIssue(ctx, ref) // a pull request's labels are its issue's
	if err != nil {
		return nil, fmt.Errorf("reading the labels of pull request %d: %w", pr.Number, err)
	}
	if err := apply.SetLabels(ctx, r.gh, ref, is.Labels, []string{v1alpha1.LabelRollout}, nil); err != nil {
		return nil, err
	}
	return pr, nil
}

// recordMerge records wave n's merge (the commit, who merged it, the
// approvals of people with write access), and makes each of its stores
// that is still the store the wave recorded a deployment of that commit
// for the watcher to report on. A wave merged with commits the bot did not
// push pauses the rollout.
func (r *Roller) recordMerge(ctx context.Context, tr *tracking, n int, pr *forge.PullRequest) error {
	w := tr.st.Wave(n)
	if w.MergeCommit == "" {
		m, err := apply.ReadMerge(ctx, r.gh, pr)
		if err != nil {
			return err
		}
		if m.Commit == "" {
			return fmt.Errorf("recording wave %d's merge: GitHub does not say its merge commit yet", n)
		}
		if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
			w := st.Wave(n)
			if w.MergeCommit != "" {
				return "", ledger.ErrUnchanged
			}
			w.MergeCommit, w.MergedBy, w.ApprovedBy, w.Merged = m.Commit, m.By, m.Approvers, r.now()
			return fmt.Sprintf("wave %d merged as %s by @%s (%s)", n, m.Short(), m.By, m.Approved()), nil
		}); err != nil {
			return err
		}
		w = tr.st.Wave(n)
	}
	if err := r.repo.Fetch(ctx); err != nil {
		return err
	}
	merged, err := r.repo.Snapshot(tenants.Hash(w.MergeCommit))
	if err != nil {
		return fmt.Errorf("reading wave %d's merge %s: %w", n, apply.Short(w.MergeCommit), err)
	}
	var ds []apply.Deployment
	for _, store := range w.Stores {
		if same, err := r.same(merged, w, store); err != nil || !same {
			if err != nil {
				return err
			}
			continue // another store of the name: not the wave's to deploy
		}
		// Each store's own cluster's environment, where its watcher
		// reports.
		env, err := renderer.Environment(r.cfg, merged, store)
		if err != nil {
			return err
		}
		ds = append(ds, apply.Deployment{Environment: env, SHA: w.MergeCommit, LogURL: r.storePage(store),
			Description: fmt.Sprintf("rollout %s wave %d of store %s", tr.st.ID, n, store)})
	}
	if err := r.app().EnsureDeployments(ctx, r.gh, ds); err != nil {
		return err
	}
	r.afterMerge(ctx)
	if pr.HeadSHA != w.Pushed && tr.st.Phase == rollout.Active && !w.Accepted {
		return r.pause(ctx, tr, handEdited(n, pr, w.Pushed)+" before it was merged",
			fmt.Sprintf("Rollout paused: %s before it was merged as `%s`. Purrvision does not go on by itself after a wave it did not write: "+
				"check what the merge changed, then `/purrvision rollout resume` (or `revert %d`).", handEdited(n, pr, w.Pushed), apply.Short(w.MergeCommit), n))
	}
	return nil
}

// storePage is the store's row on the status page, where its deployment
// is followed; "" without a status page.
func (r *Roller) storePage(store string) string {
	if r.cfg.StatusPage.URL == "" {
		return ""
	}
	return v1alpha1.StatusPageURL(r.cfg.StatusPage.URL, store)
}

// gate reads the deployment statuses of the last wave's stores and goes
// on, waits, or pauses.
func (r *Roller) gate(ctx context.Context, tr *tracking) error {
	w := tr.st.Last()
	maxFail, err := rollout.ParseMaxFailures(tr.st.MaxFailures)
	if err != nil {
		return err
	}
	if err := r.repo.Fetch(ctx); err != nil {
		return err
	}
	// The wave's merge says each store's cluster, and so its environment:
	// read once for the wave.
	merged, err := r.repo.Snapshot(tenants.Hash(w.MergeCommit))
	if err != nil {
		return fmt.Errorf("reading wave %d's merge %s: %w", w.Number, apply.Short(w.MergeCommit), err)
	}
	obs := make([]rollout.Observation, 0, len(w.Stores))
	for _, s := range w.Stores {
		o, ours, err := r.observe(ctx, merged, w, s)
		if err != nil {
			return err
		}
		if ours {
			obs = append(obs, o)
		}
	}
	v := rollout.Gate(rollout.GateInput{Wave: w, Observations: obs, MaxFailures: maxFail})
	n := w.Number
	logctx.From(ctx).Info("rollout gate", "rollout", tr.st.ID, "wave", n, "decision", string(v.Decision), "ready", v.Ready, "failed", len(v.Failed), "pending", v.Pending)
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		w := st.Wave(n)
		if w.Ready == v.Ready && slices.Equal(w.Failed, v.Failed) && (v.Decision != rollout.Continue || !w.Settled.IsZero()) {
			return "", ledger.ErrUnchanged
		}
		w.Ready, w.Failed = v.Ready, v.Failed
		if v.Decision == rollout.Continue && w.Settled.IsZero() {
			w.Settled = r.now()
		}
		return fmt.Sprintf("wave %d: %d ready, %d failed, %d pending", n, v.Ready, len(v.Failed), v.Pending), nil
	}); err != nil {
		return err
	}
	switch v.Decision {
	case rollout.Pause:
		return r.pause(ctx, tr, fmt.Sprintf("wave %d has %d failed stores, over the budget of %d", n, len(v.Failed), v.Allowed), rollout.PauseComment(tr.st.Wave(n), v))
	case rollout.Continue:
		return r.openNext(ctx, tr, nil)
	}
	return r.table(ctx, tr)
}

// observe reads what the watcher reported of a store of wave w: its
// latest deployment, whether that deployment's commit holds the wave's
// merge, and its latest status. ours is false when the name is another
// store's now (decommissioned and requested again): that store's
// deployments are not the wave's, and it does not count in the gate.
func (r *Roller) observe(ctx context.Context, merged renderer.Tree, w *rollout.WaveState, store string) (o rollout.Observation, ours bool, err error) {
	o = rollout.Observation{Store: store}
	env, err := renderer.Environment(r.cfg, merged, store)
	if err != nil {
		return o, false, err
	}
	d, err := r.gh.LatestDeployment(ctx, r.tenants, env, r.bot())
	if err != nil || d == nil {
		return o, err == nil, err
	}
	o.Deployed, err = r.repo.Contains(ctx, tenants.Hash(w.MergeCommit), tenants.Hash(d.SHA))
	if err != nil || !o.Deployed {
		return o, err == nil, err
	}
	deployed, err := r.repo.Snapshot(tenants.Hash(d.SHA))
	if err != nil {
		return o, false, fmt.Errorf("reading the deployed commit %s of store %s: %w", apply.Short(d.SHA), store, err)
	}
	if same, err := r.same(deployed, w, store); err != nil || !same {
		if !same && err == nil {
			logctx.From(ctx).Info("rollout gate: the store of the name is another one now", "store", store, "deployed", d.SHA)
		}
		return o, false, err
	}
	// Only the watcher's word counts: the bot's newest status, however
	// many others post on the deployment.
	st, err := r.gh.LatestDeploymentStatus(ctx, r.tenants, d.ID, r.bot())
	if err != nil || st == nil {
		return o, err == nil, err
	}
	o.State, o.Description = st.State, st.Description
	return o, true, nil
}

// pause stops the rollout with a reason: the label, the comment (once per
// pause), the table.
func (r *Roller) pause(ctx context.Context, tr *tracking, reason, comment string) error {
	paused := false
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		if st.Phase != rollout.Active {
			return "", ledger.ErrUnchanged
		}
		st.Phase, st.Reason, paused = rollout.Paused, reason, true
		st.Pauses++
		return "paused: " + reason, nil
	}); err != nil {
		return err
	}
	if tr.st.Phase != rollout.Paused {
		return r.table(ctx, tr)
	}
	if err := apply.SetLabels(ctx, r.gh, tr.ref(), tr.issue.Labels, []string{v1alpha1.LabelRolloutPaused}, nil); err != nil {
		return err
	}
	if paused {
		if err := r.post(ctx, tr, fmt.Sprintf("pause-%d", tr.st.Pauses), comment); err != nil {
			return err
		}
	}
	return r.table(ctx, tr)
}

// finish marks the rollout done, says so and closes the tracking issue.
func (r *Roller) finish(ctx context.Context, tr *tracking, left []string) error {
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		if st.Phase == rollout.Done {
			return "", ledger.ErrUnchanged
		}
		st.Phase = rollout.Done
		if len(left) > 0 {
			st.Reason = fmt.Sprintf("%s left as they are, each with an open store pull request: %s", plural(len(left), "store"), forge.Enumerate(left, 500))
		}
		return "done", nil
	}); err != nil {
		return err
	}
	if err := r.table(ctx, tr); err != nil {
		return err
	}
	msg := fmt.Sprintf("Rollout %s is done: every wave is merged and its stores are Ready at the new revision (or failed within the budget).", tr.st.ID)
	if tr.st.Reason != "" {
		msg += " " + tr.st.Reason + "; a new rollout picks them up."
	}
	if err := r.post(ctx, tr, "done", msg); err != nil {
		return err
	}
	return r.gh.CloseIssue(ctx, tr.ref())
}

// HandlePullRequest acts on a rollout pull request of the tenants repo:
// only the bot's own (apply.Bot.Owns: its author and the tenants repo as
// head, as GitHub records them), into the base branch, and only the wave
// the rollout's state names by number. A merge of the bot's wave is
// recorded whatever the state of its rollout, after an abort or once it
// is done too; only an open rollout moves on from it. It reports whether
// the pull request was a rollout's.
func (r *Roller) HandlePullRequest(ctx context.Context, repo forge.Repo, number int) (bool, error) {
	if repo != r.tenants {
		return false, nil
	}
	pr, err := r.gh.GetPull(ctx, repo, number)
	if err != nil {
		return false, err
	}
	id, revert, n, ok := rollout.ParseBranch(pr.Head)
	if !ok {
		return false, nil
	}
	if !r.app().Owns(pr, "") || pr.Base != r.cfg.TenantsRepo.Branch {
		return true, nil
	}
	if revert {
		if pr.Open {
			return true, r.readyRevert(ctx, id, n, pr)
		}
		if !pr.Merged {
			return true, nil
		}
		r.afterMerge(ctx)
		return true, r.recordRevert(ctx, id, n, pr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.find(ctx, id)
	if err != nil || tr == nil {
		return true, err
	}
	w := tr.st.Wave(n)
	switch {
	case w == nil || w.Pull != pr.Number || w.MergeCommit != "":
		return true, r.table(ctx, tr)
	case pr.Merged && !tr.st.Phase.Open():
		// Merged after the rollout ended: the history says so all the
		// same; nothing moves on.
		if err := r.recordMerge(ctx, tr, n, pr); err != nil {
			return true, err
		}
		return true, r.table(ctx, tr)
	case w.Closed || !tr.st.Phase.Open():
		return true, r.table(ctx, tr)
	}
	_, err = r.watchPull(ctx, tr, n, pr)
	return true, err
}

// recordRevert records the merge of the revert of wave n, when it is the
// bot's pull request at the commit the bot pushed, so the table and the
// audit say the wave was reverted.
func (r *Roller) recordRevert(ctx context.Context, id string, n int, pr *forge.PullRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.find(ctx, id)
	if err != nil || tr == nil {
		return err
	}
	key := strconv.Itoa(n)
	ps, ok := tr.st.Reverts[key]
	if !ok || ps.Pull != pr.Number || ps.MergeCommit != "" || !r.app().Owns(pr, ps.Pushed) || pr.MergeCommitSHA == "" {
		return nil // not the bot's revert as it pushed it, or recorded
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		p := st.Reverts[key]
		if p.MergeCommit != "" {
			return "", ledger.ErrUnchanged
		}
		p.MergeCommit = pr.MergeCommitSHA
		st.Reverts[key] = p
		return fmt.Sprintf("the revert of wave %d merged as %s by @%s", n, apply.Short(pr.MergeCommitSHA), pr.MergedBy), nil
	}); err != nil {
		return err
	}
	return r.table(ctx, tr)
}

// readyRevert gives the head of the bot's open revert pull request of
// wave n its purrvision/ready when the branch moves: success only when
// the rollout's state records the bot pushing exactly that head for this
// pull request, failure otherwise.
func (r *Roller) readyRevert(ctx context.Context, id string, n int, pr *forge.PullRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.find(ctx, id)
	if err != nil {
		return err
	}
	pushed := ""
	if tr != nil {
		if ps, ok := tr.st.Reverts[strconv.Itoa(n)]; ok && ps.Pull == pr.Number {
			pushed = ps.Pushed
		}
	}
	return r.ready(ctx, pr.HeadSHA, pushed, revertRender(id, n))
}

// find is the tracking issue of rollout id, open or closed, found by the
// ledger's records (which only the bot writes); nil when none.
func (r *Roller) find(ctx context.Context, id string) (*tracking, error) {
	if err := r.repo.Fetch(ctx); err != nil {
		return nil, err
	}
	var refs []forge.IssueRef
	if err := r.ledger.Each(id, func(ref string, rec ledger.Record) error {
		st, err := Decode(rec)
		if err != nil || st == nil || st.ID != id {
			return nil // another record
		}
		if parsed, err := forge.ParseIssueRef(ref); err == nil && parsed.Repo == r.requests {
			refs = append(refs, parsed)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("finding rollout %s in the ledger: %w", id, err)
	}
	for _, ref := range refs {
		tr, err := r.load(ctx, ref, false)
		if err != nil {
			return nil, err
		}
		if tr != nil && tr.st.ID == id {
			return tr, nil
		}
	}
	return nil, nil
}

// ready writes purrvision/ready on head, the head of a wave's or a
// revert's branch (apply.BranchReady): success only when it is pushed,
// the commit the rollout's state records the bot pushing there.
func (r *Roller) ready(ctx context.Context, head, pushed, what string) error {
	if head == "" {
		return nil
	}
	return r.app().WriteReady(ctx, r.gh, apply.BranchReady(head, pushed, what))
}

func waveRender(id string, n int) string { return fmt.Sprintf("wave %d of rollout %s", n, id) }

func revertRender(id string, n int) string {
	return fmt.Sprintf("the revert of wave %d of rollout %s", n, id)
}

// reportCheck makes the bot's check run of want's name on want's commit
// say what want says (apply.Bot.ReportCheck); without checks: write it is
// skipped: the pull request body says the same.
func (r *Roller) reportCheck(ctx context.Context, want forge.CheckRun) error {
	return r.app().ReportCheck(ctx, r.gh, want)
}
