package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

const bot = "purrvision[bot]"

var (
	ctx         = context.Background()
	requestRepo = forge.Repo{Owner: "example", Name: "stores"}
	tenantsRepo = forge.Repo{Owner: "example", Name: "tenants"}
	// forkRepo is a fork in the tenants repo's own organization, which
	// GitHub's head=owner:branch filter does not tell apart.
	forkRepo = forge.Repo{Owner: "example", Name: "tenants-fork"}
)

// env is a rollout's world: a tenants repo on a loopback git server with
// the ledger started, a fake GitHub, and a Roller on them.
type env struct {
	t     *testing.T
	cfg   *config.Config
	gh    *fakeGitHub
	dir   string        // the bare tenants repo
	clone *tenants.Repo // the test's own clone
	r     *fleet.Roller
	now   time.Time
}

// newEnv seeds stores, each store i (from 1) asked for in issue #i by
// octocat, rendered by an older chart, so a rollout changes every one.
func newEnv(t *testing.T, stores ...string) *env {
	t.Helper()
	_, url, dir := testutil.GitRepo(t, "tenants", "main")
	cfg := testutil.ExampleConfig(t)
	cfg.TenantsRepo.URL, cfg.TenantsRepo.Repo = url, tenantsRepo.String()
	cfg.GitHub.Repo, cfg.GitHub.BotLogin = requestRepo.String(), bot
	cfg.StatusPage.URL = "https://status.example.com"
	e := &env{t: t, cfg: cfg, gh: newFakeGitHub(bot), dir: dir, now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	e.gh.head = e.head
	e.gh.perms["alice"] = forge.PermissionWrite
	var err error
	if e.clone, err = tenants.Open(ctx, tenants.Options{URL: url, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	var changes []tenants.Change
	for i, name := range stores {
		changes = append(changes, e.render(name, fmt.Sprintf("%s#%d", requestRepo, i+1), "octocat", "0.0.9")...)
	}
	e.commitMain("Seed stores rendered by an older config", changes)
	if _, err := ledger.New(e.clone, testutil.LedgerKeys()).Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	repo, err := tenants.Open(ctx, tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if e.r, err = fleet.New(fleet.Options{Config: cfg, GitHub: e.gh, Repo: repo, Ledger: ledger.New(repo, testutil.LedgerKeys()), Identity: forge.NewIdentity(cfg.GitHub.BotLogin), Now: func() time.Time { return e.now }, Rand: testutil.Rand(1)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// render is store name's files as a config of chart version renders it
// for issue, owned by owner.
func (e *env) render(name, issue, owner, chart string) []tenants.Change {
	e.t.Helper()
	cfg := *e.cfg
	cfg.Chart.Version = chart
	req := v1alpha1.New(name, v1alpha1.StoreSpec{Plan: "small", Owner: owner, AdminEmail: "owner@example.com", Title: "Store " + name})
	out, err := renderer.Render(renderer.Input{Config: &cfg, Request: req, Rand: testutil.Rand(uint64(len(name))), Now: e.now, Origin: issue})
	if err != nil {
		e.t.Fatal(err)
	}
	var changes []tenants.Change
	for _, f := range out.Files {
		changes = append(changes, tenants.Change{Path: f.Path, Data: f.Data})
	}
	return changes
}

func (e *env) commitMain(message string, changes []tenants.Change) {
	e.t.Helper()
	if _, err := e.clone.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: message + "\n"}, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// head is the commit a branch of the bare tenants repo is at; "" when
// there is no such branch.
func (e *env) head(branch string) string {
	repo, err := git.PlainOpen(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return ""
	}
	return ref.Hash().String()
}

// merge merges pull request n as by, as GitHub does: a merge commit of
// main and the head branch, with the head's tree.
func (e *env) merge(n int, by string) string {
	e.t.Helper()
	repo, err := git.PlainOpen(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.gh.mu.Lock()
	pr := e.gh.pull(tenantsRepo, n)
	e.gh.mu.Unlock()
	main, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		e.t.Fatal(err)
	}
	head, err := repo.CommitObject(plumbing.NewHash(pr.HeadSHA))
	if err != nil {
		e.t.Fatal(err)
	}
	sig := object.Signature{Name: by, Email: by + "@example.com", When: e.now}
	c := &object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("Merge pull request #%d\n", n), TreeHash: head.TreeHash,
		ParentHashes: []plumbing.Hash{main.Hash(), head.Hash}}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		e.t.Fatal(err)
	}
	h, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(main.Name(), h)); err != nil {
		e.t.Fatal(err)
	}
	e.gh.mu.Lock()
	pr.Open, pr.Merged, pr.MergeCommitSHA, pr.MergedBy = false, true, h.String(), by
	e.gh.mu.Unlock()
	return h.String()
}

func (e *env) start(waves string) *fleet.Started {
	e.t.Helper()
	s, err := e.r.Start(ctx, fleet.StartOptions{Waves: waves, MaxFailures: "0", Title: "chart upgrade", By: "test"})
	if err != nil {
		e.t.Fatalf("starting the rollout: %v", err)
	}
	return s
}

// state is the rollout's state as the ledger records it.
func (e *env) state(ref forge.IssueRef) *rollout.State {
	e.t.Helper()
	rec, _, err := ledger.New(e.clone, testutil.LedgerKeys()).Read(ctx, ref, true)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := fleet.Decode(rec)
	if err != nil || st == nil {
		e.t.Fatalf("rollout state of %s: %v, %v", ref, st, err)
	}
	return st
}

// handle delivers a pull request event.
func (e *env) handle(n int) {
	e.t.Helper()
	if _, err := e.r.HandlePullRequest(ctx, tenantsRepo, n); err != nil {
		e.t.Fatalf("handling pull request %d: %v", n, err)
	}
}

func (e *env) reconcile(ref forge.IssueRef) {
	e.t.Helper()
	if err := e.r.Reconcile(ctx, ref); err != nil {
		e.t.Fatalf("reconciling %s: %v", ref, err)
	}
}

// ready reports every bot deployment of sha Ready, as the watcher does.
func (e *env) ready(sha string) {
	for _, d := range e.gh.deploysOf(sha, bot) {
		e.gh.report(d.ID, bot, "success", "Ready")
	}
}

func (f *fakeGitHub) deploysOf(sha, by string) []forge.Deployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.Deployment
	for _, d := range f.deploys {
		if d.SHA == sha && d.Creator == by {
			out = append(out, d)
		}
	}
	return out
}

// comment posts a comment on the tracking issue as author.
func (e *env) comment(ref forge.IssueRef, author, body string) forge.Comment {
	e.gh.mu.Lock()
	defer e.gh.mu.Unlock()
	return e.gh.comment(ref, author, body)
}

// table is the tracking issue's table comment.
func (e *env) table(ref forge.IssueRef) string {
	e.t.Helper()
	cs, err := e.gh.ListComments(ctx, ref)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Author == bot && strings.HasPrefix(c.Body, v1alpha1.MarkerRollout) {
			return c.Body
		}
	}
	e.t.Fatalf("no table of waves on %s", ref)
	return ""
}

// mergeWave1 starts a rollout of waves, and merges its wave 1 as alice,
// a writer; it returns the tracking issue and the merge.
func (e *env) mergeWave1(waves string) (forge.IssueRef, string) {
	e.t.Helper()
	ref := e.start(waves).Issue.Ref
	w := e.state(ref).Wave(1)
	merge := e.merge(w.Pull, "alice")
	e.handle(w.Pull)
	return ref, merge
}

// TestRoller_WavesToDone plays a rollout from start to done on the fakes:
// wave 1 opens, its merge is recorded with deployments the watcher
// reports on, the gate opens wave 2 and then finishes; each step run
// again writes nothing.
func TestRoller_WavesToDone(t *testing.T) {
	e := newEnv(t, "alpha", "bravo", "charlie")
	s := e.start("1,100%")
	ref := s.Issue.Ref
	st := e.state(ref)
	w := st.Wave(1)
	if w == nil || w.Pull == 0 || len(w.Stores) != 1 {
		t.Fatalf("wave 1 is %+v", w)
	}
	if id := w.IDs[w.Stores[0]]; id.Owner != "octocat" || !strings.HasPrefix(id.Issue, requestRepo.String()+"#") {
		t.Errorf("wave 1 records its store as %+v", id)
	}
	pr, _ := e.gh.GetPull(ctx, tenantsRepo, w.Pull)
	if pr.Author != bot || pr.HeadSHA != w.Pushed {
		t.Fatalf("wave 1's pull request %+v", pr)
	}
	if is, _ := e.gh.GetIssue(ctx, forge.IssueRef{Repo: tenantsRepo, Number: w.Pull}); !slices.Contains(is.Labels, v1alpha1.LabelRollout) {
		t.Errorf("wave 1's pull request has labels %q", is.Labels)
	}
	// The first run after the table was posted edits out the ledger's
	// nonce line (ledger.Post); from then on a run writes nothing.
	e.reconcile(ref)
	e.gh.takeWrites()
	e.reconcile(ref)
	if w := e.gh.takeWrites(); len(w) != 0 {
		t.Errorf("a second run of an open wave wrote %q", w)
	}

	merge := e.merge(w.Pull, "alice")
	e.handle(w.Pull)
	st = e.state(ref)
	if w := st.Wave(1); w.MergeCommit != merge || w.MergedBy != "alice" || !slices.Equal(w.ApprovedBy, []string{"alice"}) {
		t.Errorf("wave 1's merge recorded as %s by %s approved by %q", w.MergeCommit, w.MergedBy, w.ApprovedBy)
	}
	ds := e.gh.deploysOf(merge, bot)
	if len(ds) != 1 {
		t.Fatalf("%d deployments of wave 1's merge, want 1", len(ds))
	}
	if sts := e.gh.statuses[ds[0].ID]; len(sts) != 1 || sts[0].State != "queued" || !strings.HasPrefix(sts[0].LogURL, "https://status.example.com") {
		t.Errorf("wave 1's deployment statuses %+v, want one queued with the store's page as log_url", sts)
	}
	e.gh.takeWrites()
	e.handle(w.Pull)
	e.reconcile(ref)
	if w := e.gh.takeWrites(); len(w) != 0 {
		t.Errorf("a second run of a merged wave wrote %q", w)
	}

	e.ready(merge)
	e.reconcile(ref)
	st = e.state(ref)
	w2 := st.Wave(2)
	if w2 == nil || w2.Pull == 0 || len(w2.Stores) != 2 {
		t.Fatalf("wave 2 is %+v", w2)
	}
	merge2 := e.merge(w2.Pull, "alice")
	e.handle(w2.Pull)
	e.ready(merge2)
	e.reconcile(ref)
	st = e.state(ref)
	if st.Phase != rollout.Done {
		t.Fatalf("rollout is %s (%s), want done", st.Phase, st.Reason)
	}
	if is, _ := e.gh.GetIssue(ctx, ref); is.Open {
		t.Error("the tracking issue of a done rollout is open")
	}
	e.gh.takeWrites()
	e.reconcile(ref)
	if w := e.gh.takeWrites(); len(w) != 0 {
		t.Errorf("a second run of a done rollout wrote %q", w)
	}
}

// TestRoller_LookAlikePullIsNotTheWave plays someone who opens a pull
// request of a rollout branch: from a fork with the wave's branch name
// before the bot opens it, and another one by a person with write access
// on the wave's own branch, merged. Neither is the wave.
func TestRoller_LookAlikePullIsNotTheWave(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	// The ID is the day and three bytes of Rand: known in advance, as an
	// attacker could guess the day's.
	id := "20261130-" + idSuffix(t)
	branch := rollout.WaveBranch(id, 1)
	e.gh.mu.Lock()
	fork := e.gh.openPull(tenantsRepo, forkRepo, "mallory", branch, "main", "f00d", "Rollout "+id+": wave 1", "looks like the bot's")
	e.gh.mu.Unlock()
	s := e.start("1,100%")
	if s.State.ID != id {
		t.Fatalf("rollout ID %s, want %s", s.State.ID, id)
	}
	ref := s.Issue.Ref
	w := e.state(ref).Wave(1)
	if w.Pull == fork.Number {
		t.Fatalf("the fork's pull request %d was taken for wave 1", fork.Number)
	}

	// A person with write access opens a pull request of the wave's
	// branch under their name and merges it: not the wave's merge.
	e.gh.mu.Lock()
	theirs := e.gh.openPull(tenantsRepo, tenantsRepo, "alice", branch, "main", w.Pushed, "mine", "")
	e.gh.mu.Unlock()
	e.merge(theirs.Number, "alice")
	e.handle(theirs.Number)
	e.handle(fork.Number)
	if got := e.state(ref).Wave(1); got.MergeCommit != "" || got.Closed {
		t.Errorf("a look-alike's merge was recorded as wave 1's: %+v", got)
	}
}

// TestRoller_LookAlikeStorePullHoldsNothingBack plays a writer who opens
// a pull request from a branch named like a store's: the store is still
// in the rollout, while the bot's own open store pull request holds its
// store back.
func TestRoller_LookAlikeStorePullHoldsNothingBack(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	e.gh.mu.Lock()
	e.gh.openPull(tenantsRepo, tenantsRepo, "mallory", v1alpha1.Branch("alpha"), "main", "f00d", "Resize store alpha", "")
	e.gh.openPull(tenantsRepo, tenantsRepo, bot, v1alpha1.Branch("bravo"), "main", "beef", "Resize store bravo", "")
	e.gh.mu.Unlock()
	w := e.state(e.start("100%").Issue.Ref).Wave(1)
	if !slices.Equal(w.Stores, []string{"alpha"}) {
		t.Errorf("wave 1 has %q, want alpha alone (bravo has the bot's open store pull request)", w.Stores)
	}
}

// idSuffix is the hex of the first three bytes testutil.Rand(1) gives.
func idSuffix(t *testing.T) string {
	var b [3]byte
	if _, err := testutil.Rand(1).Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// TestRoller_OthersDeploymentDoesNotCount plays a person with write
// access who makes the wave's stores look Ready: a deployment of their
// own at the merge, and a success status on the bot's deployment. The
// gate waits for the watcher all the same.
func TestRoller_OthersDeploymentDoesNotCount(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	ref, merge := e.mergeWave1("1,100%")
	ds := e.gh.deploysOf(merge, bot)
	e.gh.mu.Lock()
	d := e.gh.deploy(ds[0].Environment, merge, "mallory")
	e.gh.mu.Unlock()
	e.gh.report(d.ID, "mallory", "success", "Ready")
	e.gh.report(ds[0].ID, "mallory", "success", "Ready")
	e.reconcile(ref)
	st := e.state(ref)
	if st.Wave(2) != nil || st.Wave(1).Ready != 0 {
		t.Fatalf("the gate counted someone else's word: wave 1 ready %d, wave 2 %+v", st.Wave(1).Ready, st.Wave(2))
	}
}

// TestRoller_CommandWithoutPermission plays someone without write access
// who comments `/purrvision rollout abort`: a reaction, once, and the
// rollout goes on; the same command of a writer aborts it.
func TestRoller_CommandWithoutPermission(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	s := e.start("1,100%")
	ref := s.Issue.Ref
	c := e.comment(ref, "mallory", "/purrvision rollout abort")
	e.gh.takeWrites()
	for range 2 { // a redelivery changes nothing
		handled, err := e.r.RunCommand(ctx, ref, c)
		if err != nil || !handled {
			t.Fatalf("RunCommand = %v, %v", handled, err)
		}
	}
	if w := e.gh.takeWrites(); !slices.Equal(w, []string{fmt.Sprintf("react %d:-1", c.ID)}) {
		t.Errorf("a refused command wrote %q, want one reaction", w)
	}
	if st := e.state(ref); st.Phase != rollout.Active {
		t.Fatalf("a refused abort left the rollout %s", st.Phase)
	}
	c = e.comment(ref, "alice", "/purrvision rollout abort")
	if _, err := e.r.RunCommand(ctx, ref, c); err != nil {
		t.Fatal(err)
	}
	st := e.state(ref)
	if st.Phase != rollout.Aborted {
		t.Fatalf("alice's abort left the rollout %s", st.Phase)
	}
	if pr, _ := e.gh.GetPull(ctx, tenantsRepo, st.Wave(1).Pull); pr.Open {
		t.Error("abort left wave 1's pull request open")
	}
}

// TestRoller_PauseAndResume: a failed store over the budget pauses the
// rollout with the label; a writer's resume goes on past it.
func TestRoller_PauseAndResume(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	ref, merge := e.mergeWave1("1,100%")
	for _, d := range e.gh.deploysOf(merge, bot) {
		e.gh.report(d.ID, bot, "failure", "HelmRelease failed")
	}
	e.reconcile(ref)
	st := e.state(ref)
	if st.Phase != rollout.Paused || len(st.Wave(1).Failed) != 1 {
		t.Fatalf("rollout is %s with %d failed, want paused", st.Phase, len(st.Wave(1).Failed))
	}
	if is, _ := e.gh.GetIssue(ctx, ref); !slices.Contains(is.Labels, v1alpha1.LabelRolloutPaused) {
		t.Errorf("a paused rollout's issue has labels %q", is.Labels)
	}
	e.gh.takeWrites()
	e.reconcile(ref)
	if w := e.gh.takeWrites(); len(w) != 0 {
		t.Errorf("a second run of a paused rollout wrote %q", w)
	}
	if _, err := e.r.RunCommand(ctx, ref, e.comment(ref, "alice", "/purrvision rollout resume")); err != nil {
		t.Fatal(err)
	}
	st = e.state(ref)
	if st.Phase != rollout.Active || st.Wave(2) == nil {
		t.Fatalf("after resume the rollout is %s, wave 2 %+v", st.Phase, st.Wave(2))
	}
	if is, _ := e.gh.GetIssue(ctx, ref); slices.Contains(is.Labels, v1alpha1.LabelRolloutPaused) {
		t.Errorf("a resumed rollout's issue has labels %q", is.Labels)
	}
}

// TestRoller_MergeAfterAbortIsRecorded: the bot's wave merged after the
// rollout was aborted (its pull request reopened and merged) is in the
// tracking issue's record all the same, and nothing moves on.
func TestRoller_MergeAfterAbortIsRecorded(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	s := e.start("1,100%")
	ref := s.Issue.Ref
	if _, err := e.r.Abort(ctx, "@alice"); err != nil {
		t.Fatal(err)
	}
	w := e.state(ref).Wave(1)
	merge := e.merge(w.Pull, "alice")
	e.handle(w.Pull)
	st := e.state(ref)
	if st.Phase != rollout.Aborted || st.Wave(1).MergeCommit != merge || st.Wave(1).MergedBy != "alice" {
		t.Fatalf("after a merge past the abort: %s, wave 1 merged as %q by %q", st.Phase, st.Wave(1).MergeCommit, st.Wave(1).MergedBy)
	}
	if st.Wave(2) != nil {
		t.Error("an aborted rollout opened wave 2")
	}
}

// TestRoller_RevertAfterDoneIsRecorded: a revert of a wave, merged once
// the rollout is done, is recorded on its closed tracking issue.
func TestRoller_RevertAfterDoneIsRecorded(t *testing.T) {
	e := newEnv(t, "alpha")
	ref, merge := e.mergeWave1("100%")
	e.ready(merge)
	e.reconcile(ref)
	if st := e.state(ref); st.Phase != rollout.Done {
		t.Fatalf("rollout is %s (%s)", st.Phase, st.Reason)
	}
	if _, err := e.r.RunCommand(ctx, ref, e.comment(ref, "alice", "/purrvision rollout revert 1")); err != nil {
		t.Fatal(err)
	}
	rv := e.state(ref).Reverts["1"]
	if rv.Pull == 0 {
		t.Fatalf("no revert pull request: %+v", rv)
	}
	revert := e.merge(rv.Pull, "alice")
	e.handle(rv.Pull)
	if got := e.state(ref).Reverts["1"]; got.MergeCommit != revert {
		t.Errorf("the revert merged after the rollout was done is recorded as %q, want %s", got.MergeCommit, revert)
	}
}

// TestRoller_NameReusedIsAnotherStore plays a store decommissioned after
// its wave merged, and its name requested again by someone else (another
// issue): the gate does not read the new store's deployments as the
// wave's, and a revert of the wave leaves the new store as it is.
func TestRoller_NameReusedIsAnotherStore(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	s := e.start("100%")
	ref := s.Issue.Ref
	w := e.state(ref).Wave(1)
	if len(w.Stores) != 2 {
		t.Fatalf("wave 1 has stores %q", w.Stores)
	}
	store, other := w.Stores[0], w.Stores[1]
	merge := e.merge(w.Pull, "alice")
	e.handle(w.Pull)

	// Decommissioned and asked for again in issue #77 by eve: the same
	// folder, another store.
	reused := e.render(store, requestRepo.String()+"#77", "eve", e.cfg.Chart.Version)
	e.commitMain("Provision store "+store+" for "+requestRepo.String()+"#77", reused)
	newHead := e.head("main")
	// Its own merge's deployment, by the bot, holds the wave's merge and
	// fails.
	env, err := renderer.Environment(e.cfg, e.snapshot(newHead), store)
	if err != nil {
		t.Fatal(err)
	}
	e.gh.mu.Lock()
	d := e.gh.deploy(env, newHead, bot)
	e.gh.mu.Unlock()
	e.gh.report(d.ID, bot, "failure", "the new store's own failure")
	e.ready(merge) // the wave's stores, as the watcher reported them
	e.reconcile(ref)
	st := e.state(ref)
	if st.Phase == rollout.Paused || len(st.Wave(1).Failed) != 0 {
		t.Fatalf("the new store's failure counted in wave 1: %s, failed %+v", st.Phase, st.Wave(1).Failed)
	}

	if _, err := e.r.RunCommand(ctx, ref, e.comment(ref, "alice", "/purrvision rollout revert 1")); err != nil {
		t.Fatal(err)
	}
	rv := e.state(ref).Reverts["1"]
	if rv.Pull == 0 || rv.Pushed == "" {
		t.Fatalf("no revert of %s: %+v", other, rv)
	}
	diff, err := e.clone.Diff(tenants.Hash(newHead), tenants.Hash(rv.Pushed))
	if err != nil {
		t.Fatal(err)
	}
	var touched []string
	for _, d := range diff {
		touched = append(touched, d.Path)
		if strings.Contains(d.Path, "/"+store+"/") {
			t.Errorf("the revert of wave 1 changes %s, of the new store %s", d.Path, store)
		}
	}
	if !slices.ContainsFunc(touched, func(p string) bool { return strings.Contains(p, "/"+other+"/") }) {
		t.Errorf("the revert of wave 1 does not put %s back: it changes %q", other, touched)
	}
}

// snapshot is the tenants repo at commit, fetched.
func (e *env) snapshot(commit string) *tenants.Snapshot {
	e.t.Helper()
	if err := e.clone.Fetch(ctx); err != nil {
		e.t.Fatal(err)
	}
	snap, err := e.clone.Snapshot(tenants.Hash(commit))
	if err != nil {
		e.t.Fatal(err)
	}
	return snap
}

// TestRoller_FailedWriteIsShown: a failing pull request creation is the
// rollout's last error, on the tracking issue's table, until the retry
// succeeds and clears it.
func TestRoller_FailedWriteIsShown(t *testing.T) {
	e := newEnv(t, "alpha", "bravo")
	e.gh.failCreatePull = 1
	_, err := e.r.Start(ctx, fleet.StartOptions{Waves: "1,100%", MaxFailures: "0", Title: "chart upgrade", By: "test"})
	if err == nil {
		t.Fatal("Start with a failing pull request creation: no error")
	}
	open, err := e.r.Open(ctx)
	if err != nil || len(open) != 1 {
		t.Fatalf("open rollouts %v, %v", open, err)
	}
	ref := open[0].Ref
	st := e.state(ref)
	if st.LastError == nil || st.LastError.Action != "open the pull request of wave 1" || !strings.Contains(st.LastError.Message, "502") {
		t.Fatalf("last error %+v", st.LastError)
	}
	if want := "could not open the pull request of wave 1: "; !strings.HasPrefix(st.LastError.String(), want) || !strings.HasSuffix(st.LastError.String(), ", retrying") {
		t.Errorf("last error says %q", st.LastError.String())
	}
	if tb := e.table(ref); !strings.Contains(tb, "Could not open the pull request of wave 1") {
		t.Errorf("the table does not show the failure:\n%s", tb)
	}
	if out, err := e.r.Status(ctx); err != nil || !strings.Contains(out, "could not open the pull request of wave 1") {
		t.Errorf("rollout status does not show the failure (%v):\n%s", err, out)
	}
	e.reconcile(ref)
	st = e.state(ref)
	if st.LastError != nil || st.Wave(1).Pull == 0 {
		t.Fatalf("after the retry: last error %+v, wave 1 %+v", st.LastError, st.Wave(1))
	}
	if tb := e.table(ref); strings.Contains(tb, "Could not") {
		t.Errorf("the table still shows the failure:\n%s", tb)
	}
}

func TestParseCommand_Cases(t *testing.T) {
	for _, tt := range []struct {
		body string
		cmd  string
		args []string
		ok   bool
	}{
		{body: "/purrvision rollout revert 2", cmd: "revert", args: []string{"2"}, ok: true},
		{body: "/purrvision rollout", ok: true},
		{body: "/purrvision resize large"},
		{body: "thanks\n/purrvision rollout abort"},
		{body: "/purrvision  rollout  abort  \nmore", cmd: "abort", args: []string{}, ok: true},
	} {
		t.Run(tt.body, func(t *testing.T) {
			cmd, args, ok := fleet.ParseCommand(tt.body)
			if cmd != tt.cmd || !slices.Equal(args, tt.args) || ok != tt.ok {
				t.Errorf("ParseCommand(%q) = %q, %q, %v", tt.body, cmd, args, ok)
			}
		})
	}
}

// TestNew_TheBotsLogin: a Roller knows the bot by the identity it is
// given (the one learned from GitHub), else by github.botLogin; with
// neither it is refused, naming the key, rather than knowing no tracking
// issue or pull request as the bot's.
func TestNew_TheBotsLogin(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		botLogin string
		id       *forge.Identity
		want     string // an error with it; "" for none
	}{
		{name: "learned", id: forge.NewIdentity(bot)},
		{name: "configured", botLogin: bot},
		{name: "neither", want: "learn it from GitHub (app.Identify) or set github.botLogin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := *e.cfg
			cfg.GitHub.BotLogin = tt.botLogin
			_, err := fleet.New(fleet.Options{Config: &cfg, GitHub: e.gh, Repo: e.clone, Ledger: ledger.New(e.clone, testutil.LedgerKeys()), Identity: tt.id})
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}
