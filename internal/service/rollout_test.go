package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/audit"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// oldChart is the chart version the seeded stores were rendered with;
// today's config has another, so a rollout changes every store.
const oldChart = "0.0.9"

// seedFleet commits stores to the tenants repo's main branch as an
// older config (another chart version) rendered them, with Secrets sealed
// for the harness's age key.
func (h *harness) seedFleet(names ...string) {
	h.t.Helper()
	h.seedFleetOn("", names...)
}

// seedFleetOn is seedFleet on cluster ("": the default one).
func (h *harness) seedFleetOn(cluster string, names ...string) {
	h.t.Helper()
	old := *h.cfg
	old.Chart.Version = oldChart
	var changes []tenants.Change
	for i, name := range names {
		req := v1alpha1.New(name, v1alpha1.StoreSpec{Plan: "small", Owner: "octocat", AdminEmail: "owner@example.com", Title: "Store " + name, Cluster: cluster})
		out, err := renderer.Render(renderer.Input{Config: &old, Request: req, Rand: testutil.Rand(uint64(i + 1)), Now: time.Now()})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, f := range out.Files {
			changes = append(changes, tenants.Change{Path: f.Path, Data: f.Data})
		}
	}
	repo := h.tenantsClone()
	if _, err := repo.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "Seed stores rendered by an older config\n"}, nil
	}); err != nil {
		h.t.Fatal(err)
	}
}

// roller is what `purrvision rollout start|status|resume|abort` run:
// the bot's GitHub client and a clone of its own.
func (h *harness) roller() *fleet.Roller {
	h.t.Helper()
	r, err := fleet.New(h.withLedger(fleet.Options{Config: h.cfg, GitHub: h.client}))
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) startRollout(waves, maxFailures string) *fleet.Started {
	h.t.Helper()
	started, err := h.roller().Start(context.Background(), fleet.StartOptions{Waves: waves, MaxFailures: maxFailures, Title: "chart upgrade", By: "test"})
	if err != nil {
		h.t.Fatalf("starting the rollout: %v", err)
	}
	h.settle()
	return started
}

// tick runs a resync tick, as the service's timer does, and waits.
func (h *harness) tick() {
	h.t.Helper()
	h.svc.Resync(context.Background())
	h.settle()
}

// wavePulls are the pull requests of a rollout's wave branch.
func (h *harness) wavePulls(id string, n int) []*github.PullRequest {
	return h.pulls()[rollout.WaveBranch(id, n)]
}

// openWave returns the one open pull request of a wave, and its stores.
func (h *harness) openWave(id string, n int) (*github.PullRequest, []string) {
	h.t.Helper()
	var open []*github.PullRequest
	for _, p := range h.wavePulls(id, n) {
		if p.GetState() == "open" {
			open = append(open, p)
		}
	}
	if len(open) != 1 {
		h.t.Fatalf("%d open pull requests of wave %d, want 1", len(open), n)
	}
	pr := open[0]
	if pr.GetUser().GetLogin() != ghstandin.BotLogin {
		h.t.Fatalf("wave %d's pull request is by %s", n, pr.GetUser().GetLogin())
	}
	if !slices.Contains(h.gh.Labels(tenantsRepo, pr.GetNumber()), v1alpha1.LabelRollout) {
		h.t.Fatalf("wave %d's pull request has labels %v", n, h.gh.Labels(tenantsRepo, pr.GetNumber()))
	}
	var stores []string
	for _, f := range strings.Fields(h.git_("diff", "--name-only", "main..."+pr.GetHead().GetRef())) {
		if dir, ok := strings.CutSuffix(f, "/"+renderer.FileHelmRelease); ok {
			stores = append(stores, path.Base(dir))
		}
	}
	return pr, stores
}

// deploy sets the latest deployment status of a store, as the watcher's
// GitHubReporter does with the bot's token.
func (h *harness) deploy(store, state, description string) {
	h.t.Helper()
	h.deployIn(v1alpha1.Environment(store), store, state, description)
}

// deployIn is deploy in environment env (a store's on another cluster).
func (h *harness) deployIn(env, store, state, description string) {
	h.t.Helper()
	ctx := context.Background()
	repo := forge.Repo{Owner: "acme", Name: "tenants"}
	d, err := h.client.LatestDeployment(ctx, repo, env, ghstandin.BotLogin)
	if err != nil {
		h.t.Fatal(err)
	}
	if d == nil {
		h.t.Fatalf("store %s has no deployment", store)
	}
	if err := h.client.CreateDeploymentStatus(ctx, repo, d.ID, forge.DeploymentStatus{State: state, Description: description}); err != nil {
		h.t.Fatal(err)
	}
}

// trackingComments are the bot's comments on the tracking issue.
func (h *harness) trackingComments(n int) []string {
	var out []string
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin {
			out = append(out, c.GetBody())
		}
	}
	return out
}

// table is the tracking issue's table of waves; exactly one.
func (h *harness) table(n int) string {
	h.t.Helper()
	cs := h.botComments(n, v1alpha1.MarkerRollout)
	if len(cs) != 1 {
		h.t.Fatalf("%d tables of waves on #%d, want 1", len(cs), n)
	}
	return cs[0].GetBody()
}

// actAs calls the stand-in's REST API as a person.
func (h *harness) actAs(login, method, path, body string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.gh.URL()+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token test-token")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ghstandin.ActAsHeader, login)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		h.t.Fatalf("%s %s as %s: %s", method, path, login, resp.Status)
	}
}

func contains(ss []string, sub string) bool {
	return slices.ContainsFunc(ss, func(s string) bool { return strings.Contains(s, sub) })
}

// TestRollout_WavesOpenByThemselvesUntilDone: start opens the tracking
// issue and wave 1; a second start is refused; wave 1 merged waits for its
// store's deployment; Ready opens wave 2 by itself; Ready again, and the
// rollout is done, its tracking issue says so and is closed. Every store
// has the new chart and the Secrets it had, byte for byte.
func TestRollout_WavesOpenByThemselvesUntilDone(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	stores := []string{"cat-cafe", "dog-deli", "owl-outlet"}
	h.seedFleet(stores...)
	secretsBefore := map[string]string{}
	for _, s := range stores {
		secretsBefore[s] = h.git_("show", "main:"+storeDir(s)+"/"+renderer.FileSecret) + h.git_("show", "main:"+storeDir(s)+"/"+renderer.FileDatabaseSecret)
	}

	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	is := h.gh.Issue(requestsRepo, issue)
	if is.GetUser().GetLogin() != ghstandin.BotLogin || !slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRollout) {
		t.Fatalf("tracking issue by %s with labels %v", is.GetUser().GetLogin(), h.gh.Labels(requestsRepo, issue))
	}
	if !strings.Contains(is.GetBody(), "3 stores") || !strings.Contains(is.GetBody(), "chart") {
		t.Errorf("the tracking issue does not show the plan:\n%s", is.GetBody())
	}
	pr1, wave1 := h.openWave(id, 1)
	if len(wave1) != 1 {
		t.Fatalf("wave 1 changes %v, want one canary", wave1)
	}
	if !strings.Contains(pr1.GetBody(), "1 store") {
		t.Errorf("wave 1's body lacks its plan:\n%s", pr1.GetBody())
	}

	// A second rollout is refused while this one is open, with its issue.
	_, err := h.roller().Start(context.Background(), fleet.StartOptions{})
	var open *fleet.OpenError
	if !errors.As(err, &open) || open.Issue.Ref.Number != issue || !strings.Contains(err.Error(), open.Issue.URL) {
		t.Fatalf("a second start: %v, want it refused naming #%d", err, issue)
	}

	// Merged, wave 1 waits for its store.
	h.merge(pr1.GetNumber())
	h.tick()
	if prs := h.wavePulls(id, 2); len(prs) != 0 {
		t.Fatal("wave 2 opened before wave 1's store was Ready")
	}
	if states := h.gh.DeploymentStates(tenantsRepo)[v1alpha1.Environment(wave1[0])]; len(states) == 0 || states[len(states)-1] != "queued" {
		t.Errorf("wave 1's store's deployment states: %v, want a queued deployment of the merge", states)
	}
	// A restart changes nothing: no duplicate pull request.
	h.stop()
	h.start()
	h.tick()
	if prs := h.wavePulls(id, 1); len(prs) != 1 {
		t.Fatalf("%d pull requests of wave 1 after a restart", len(prs))
	}

	// A success set by someone else than the bot's watcher is not its word.
	d, err := h.client.LatestDeployment(context.Background(), forge.Repo{Owner: "acme", Name: "tenants"}, v1alpha1.Environment(wave1[0]), ghstandin.BotLogin)
	if err != nil || d == nil {
		t.Fatalf("the canary's deployment: %+v, %v", d, err)
	}
	h.actAs("maintainer", http.MethodPost, fmt.Sprintf("repos/%s/deployments/%d/statuses", tenantsRepo, d.ID), `{"state":"success"}`)
	h.tick()
	if prs := h.wavePulls(id, 2); len(prs) != 0 {
		t.Fatal("wave 2 opened on a deployment status the bot did not set")
	}

	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()
	pr2, wave2 := h.openWave(id, 2)
	if len(wave2) != 2 || slices.Contains(wave2, wave1[0]) {
		t.Fatalf("wave 2 changes %v", wave2)
	}
	if table := h.table(issue); !strings.Contains(table, "| 1 |") || !strings.Contains(table, "settled") {
		t.Errorf("the table does not show wave 1 settled:\n%s", table)
	}

	h.merge(pr2.GetNumber())
	h.deploy(wave2[0], "success", "Release reconciliation succeeded")
	h.tick()
	if h.gh.Issue(requestsRepo, issue).GetState() != "open" {
		t.Fatal("the rollout finished with a store of wave 2 pending")
	}
	h.deploy(wave2[1], "success", "Release reconciliation succeeded")
	h.tick()

	if st := h.gh.Issue(requestsRepo, issue).GetState(); st != "closed" {
		t.Errorf("tracking issue is %s, want closed once done", st)
	}
	if table := h.table(issue); !strings.Contains(table, "**done**") {
		t.Errorf("the table does not say done:\n%s", table)
	}
	if !contains(h.trackingComments(issue), "is done") {
		t.Errorf("no done comment: %v", h.trackingComments(issue))
	}
	for _, s := range stores {
		hr := h.git_("show", "main:"+storeDir(s)+"/"+renderer.FileHelmRelease)
		if !strings.Contains(hr, h.cfg.Chart.Version) || strings.Contains(hr, oldChart) {
			t.Errorf("store %s's HelmRelease is not at chart %s:\n%s", s, h.cfg.Chart.Version, hr)
		}
		after := h.git_("show", "main:"+storeDir(s)+"/"+renderer.FileSecret) + h.git_("show", "main:"+storeDir(s)+"/"+renderer.FileDatabaseSecret)
		if after != secretsBefore[s] {
			t.Errorf("store %s's Secrets changed", s)
		}
	}
	// Done, the next rollout may start (and finds nothing to do).
	if _, err := h.roller().Start(context.Background(), fleet.StartOptions{}); !errors.Is(err, fleet.ErrNothing) {
		t.Errorf("a start after the rollout is done: %v, want nothing to roll out", err)
	}
}

// TestRollout_OverBudgetPausesThenRevertResumeAbort: a failed store over
// the budget pauses the rollout with Flux's message and opens no further
// wave; people without write access cannot resume it; revert puts the
// wave's store back (its Secrets as they are now); resume goes on past the
// failure; abort closes the open wave and the tracking issue.
func TestRollout_OverBudgetPausesThenRevertResumeAbort(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	stores := []string{"cat-cafe", "dog-deli", "owl-outlet"}
	h.seedFleet(stores...)
	h.gh.SetPermission(requestsRepo, "maintainer", "write")

	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	canary := wave1[0]
	hrBefore := h.git_("show", "main:"+storeDir(canary)+"/"+renderer.FileHelmRelease)
	h.merge(pr1.GetNumber())
	const fluxMessage = "Helm install failed for release store-x: timed out waiting for the condition"
	h.deploy(canary, "failure", fluxMessage)
	h.tick()
	h.tick() // a second look changes nothing

	if !slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused) {
		t.Fatalf("labels %v, want %s", h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused)
	}
	var pauses []string
	for _, c := range h.trackingComments(issue) {
		if strings.Contains(c, "Rollout paused") {
			pauses = append(pauses, c)
		}
	}
	if len(pauses) != 1 || !strings.Contains(pauses[0], canary) || !strings.Contains(pauses[0], fluxMessage) {
		t.Fatalf("pause comments: %q, want one naming %s with Flux's message", pauses, canary)
	}
	if len(h.wavePulls(id, 2)) != 0 {
		t.Fatal("wave 2 opened over budget")
	}

	// Someone without write access gets a reaction, and nothing moves.
	c := h.gh.Comment(requestsRepo, issue, "eve", "/purrvision rollout resume")
	h.settle()
	if r := h.gh.Reactions(c); !slices.Contains(r, ghstandin.BotLogin+":-1") || len(h.wavePulls(id, 2)) != 0 {
		t.Fatalf("eve's resume: reactions %v, %d wave 2 pull requests", r, len(h.wavePulls(id, 2)))
	}

	// Rotate the canary's admin Secret on main after the wave, as a
	// rotate-credentials merge would: the revert must keep it.
	rotated := h.git_("show", "main:"+storeDir(canary)+"/"+renderer.FileSecret) + "# rotated\n"
	h.commitFile(storeDir(canary)+"/"+renderer.FileSecret, rotated)

	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout revert 1")
	h.settle()
	revert := h.pulls()[rollout.RevertBranch(id, 1)]
	if len(revert) != 1 || revert[0].GetUser().GetLogin() != ghstandin.BotLogin {
		t.Fatalf("revert pull requests: %d", len(revert))
	}
	ref := revert[0].GetHead().GetRef()
	if got := h.git_("show", ref+":"+storeDir(canary)+"/"+renderer.FileHelmRelease); got != hrBefore {
		t.Errorf("the revert's HelmRelease is not the one before the wave:\n%s", got)
	}
	if got := h.git_("show", ref+":"+storeDir(canary)+"/"+renderer.FileSecret); got != rotated {
		t.Error("the revert did not keep the Secret as it is now")
	}
	if !contains(h.replies(issue), revert[0].GetHTMLURL()) {
		t.Errorf("replies %v do not link the revert", h.replies(issue))
	}
	// Merged, the revert is recorded: the table says the wave was reverted.
	h.merge(revert[0].GetNumber())
	if table := h.table(issue); !strings.Contains(table, "| 1 (reverted) |") || !strings.Contains(table, "reverted by "+revert[0].GetHTMLURL()) {
		t.Errorf("the table does not say wave 1 was reverted:\n%s", table)
	}

	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout resume")
	h.settle()
	pr2, _ := h.openWave(id, 2)
	if slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused) {
		t.Error("still labelled paused after resume")
	}

	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout abort")
	h.settle()
	if p := h.wavePulls(id, 2)[0]; p.GetState() != "closed" || p.GetMerged() {
		t.Errorf("wave 2's pull request %d is %s after abort", pr2.GetNumber(), p.GetState())
	}
	if st := h.gh.Issue(requestsRepo, issue).GetState(); st != "closed" {
		t.Errorf("tracking issue is %s after abort", st)
	}
	if table := h.table(issue); !strings.Contains(table, "**aborted**") {
		t.Errorf("the table does not say aborted:\n%s", table)
	}
	if len(h.replies(issue)) != 3 {
		t.Errorf("replies: %q, want one per command", h.replies(issue))
	}
}

// commitFile commits one file to main, as a merge would.
func (h *harness) commitFile(path, data string) {
	h.t.Helper()
	if _, err := h.tenantsClone().Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: path, Data: []byte(data)}}, Message: "Edit " + path + "\n"}, nil
	}); err != nil {
		h.t.Fatal(err)
	}
}

// TestRollout_ClosedWavePauses: a wave's pull request closed without merge
// pauses the rollout with a comment; resume opens the wave again, with no
// second open pull request.
func TestRollout_ClosedWavePauses(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	h.gh.SetPermission(requestsRepo, "maintainer", "write")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, _ := h.openWave(id, 1)

	h.actAs("maintainer", http.MethodPatch, fmt.Sprintf("repos/%s/pulls/%d", tenantsRepo, pr1.GetNumber()), `{"state":"closed"}`)
	h.settle()
	if !slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused) {
		t.Fatalf("labels %v after the wave was closed", h.gh.Labels(requestsRepo, issue))
	}
	if !contains(h.trackingComments(issue), "closed without merge") {
		t.Fatalf("no comment about the closed wave: %q", h.trackingComments(issue))
	}
	h.tick()
	if len(h.wavePulls(id, 1)) != 1 {
		t.Fatal("a paused rollout opened its wave again by itself")
	}

	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout resume")
	h.settle()
	again, _ := h.openWave(id, 1)
	if again.GetNumber() == pr1.GetNumber() {
		t.Fatal("resume did not open the wave again")
	}
	h.tick()
	if n := len(h.wavePulls(id, 1)); n != 2 {
		t.Errorf("%d pull requests of wave 1, want the closed one and one new", n)
	}
}

// TestRollout_HandEditedWaveRefused: a commit pushed by hand onto a wave's
// branch pauses the rollout, which says so; resume is refused while that
// pull request is open; merged anyway, no next wave opens by itself.
func TestRollout_HandEditedWaveRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	h.gh.SetPermission(requestsRepo, "maintainer", "write")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)

	branch := rollout.WaveBranch(id, 1)
	head := strings.TrimSpace(h.git_("rev-parse", branch))
	tree := strings.TrimSpace(h.git_("rev-parse", branch+"^{tree}"))
	edited := strings.TrimSpace(h.git_("commit-tree", tree, "-p", head, "-m", "tweak by hand"))
	h.git_("update-ref", "refs/heads/"+branch, edited, head)

	h.tick()
	if !slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused) || !contains(h.trackingComments(issue), "pushed to by hand") {
		t.Fatalf("a hand-edited wave: labels %v, comments %q", h.gh.Labels(requestsRepo, issue), h.trackingComments(issue))
	}
	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout resume")
	h.settle()
	if !contains(h.replies(issue), "Not resumed") {
		t.Errorf("resume with a hand-edited wave open: replies %q", h.replies(issue))
	}

	h.mergePastTheRules(pr1.GetNumber())
	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()
	if len(h.wavePulls(id, 2)) != 0 {
		t.Fatal("the rollout went on after a hand-edited wave")
	}
}

// TestRollout_CLIStatusResumeAbort: the CLI's status, resume and abort act
// on the open rollout as the commands do.
func TestRollout_CLIStatusResumeAbort(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	ctx := context.Background()
	status, err := h.roller().Status(ctx)
	if err != nil || !strings.Contains(status, id) || !strings.Contains(status, "wave 1: 1 stores") {
		t.Fatalf("status: %v\n%s", err, status)
	}
	if msg, err := h.roller().Resume(ctx, "cli"); err != nil || !strings.Contains(msg, "not paused") {
		t.Errorf("resume of an active rollout: %q, %v", msg, err)
	}
	msg, err := h.roller().Abort(ctx, "cli")
	if err != nil || !strings.Contains(msg, "Closed wave 1") {
		t.Fatalf("abort: %q, %v", msg, err)
	}
	h.settle()
	if st := h.gh.Issue(requestsRepo, issue).GetState(); st != "closed" {
		t.Errorf("tracking issue %s after abort", st)
	}
	if _, err := h.roller().Status(ctx); !errors.Is(err, fleet.ErrNoneOpen) {
		t.Errorf("status after abort: %v", err)
	}
	if !bytes.Contains([]byte(h.table(issue)), []byte("aborted by cli")) {
		t.Errorf("table:\n%s", h.table(issue))
	}
}

// TestRollout_ConfigChangeReplans: the config changes between waves (and
// the service restarts with it); the next wave is planned with today's
// config and the tracking issue says so.
func TestRollout_ConfigChangeReplans(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli", "owl-outlet")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	h.merge(pr1.GetNumber())

	h.stop()
	small := h.cfg.Plans["small"]
	small.CPU = resource.MustParse("3")
	h.cfg.Plans["small"] = small
	h.start()
	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()

	_, wave2 := h.openWave(id, 2)
	if len(wave2) != 2 {
		t.Fatalf("wave 2 changes %v", wave2)
	}
	for _, s := range wave2 {
		if q := h.git_("show", rollout.WaveBranch(id, 2)+":"+storeDir(s)+"/"+renderer.FileQuota); !strings.Contains(q, "cpu: \"3\"") && !strings.Contains(q, "cpu: 3") {
			t.Errorf("wave 2 does not render %s with today's quota:\n%s", s, q)
		}
	}
	if !contains(h.trackingComments(issue), "re-planned") || !strings.Contains(h.table(issue), "2 (re-planned)") {
		t.Errorf("the tracking issue does not say wave 2 was re-planned: %q", h.trackingComments(issue))
	}
}

// lostPull loses GitHub's answer to the first CreatePull of wave 2: the
// pull request exists, the service does not know it.
type lostPull struct {
	app.GitHub
	mu   sync.Mutex
	lost bool
}

func (c *lostPull) CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error) {
	out, err := c.GitHub.CreatePull(ctx, repo, pr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && strings.HasSuffix(pr.Head, "/wave-2") && !c.lost {
		c.lost = true
		return nil, errors.New("connection reset by peer")
	}
	return out, err
}

// TestRollout_LostAnswerNoDuplicatePull: opening wave 2 fails after GitHub
// took the pull request; the next tick finds it by its branch and the
// bot's authorship instead of opening a second one.
func TestRollout_LostAnswerNoDuplicatePull(t *testing.T) {
	lost := &lostPull{}
	h := newHarness(t, harnessOptions{wrap: func(c app.GitHub) app.GitHub { lost.GitHub = c; return lost }})
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	h.merge(pr1.GetNumber())
	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()
	h.stop()
	h.start()
	h.tick()
	h.tick()
	if !lost.lost {
		t.Fatal("wave 2's pull request was never opened")
	}
	pr2, _ := h.openWave(id, 2)
	if n := len(h.wavePulls(id, 2)); n != 1 {
		t.Fatalf("%d pull requests of wave 2, want 1", n)
	}
	if !strings.Contains(h.table(issue), pr2.GetHTMLURL()) {
		t.Errorf("the table does not link wave 2's pull request:\n%s", h.table(issue))
	}
}

// TestRollout_HandEditedWaveMergedPauses: a wave pushed to by hand and
// merged before any tick pauses the rollout at the merge, which says so.
func TestRollout_HandEditedWaveMergedPauses(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	branch := rollout.WaveBranch(id, 1)
	head := strings.TrimSpace(h.git_("rev-parse", branch))
	tree := strings.TrimSpace(h.git_("rev-parse", branch+"^{tree}"))
	edited := strings.TrimSpace(h.git_("commit-tree", tree, "-p", head, "-m", "tweak by hand"))
	h.git_("update-ref", "refs/heads/"+branch, edited, head)

	h.mergePastTheRules(pr1.GetNumber())
	if !slices.Contains(h.gh.Labels(requestsRepo, issue), v1alpha1.LabelRolloutPaused) || !contains(h.trackingComments(issue), "before it was merged") {
		t.Fatalf("a hand-edited wave merged: labels %v, comments %q", h.gh.Labels(requestsRepo, issue), h.trackingComments(issue))
	}
	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()
	if len(h.wavePulls(id, 2)) != 0 {
		t.Fatal("the rollout went on after a hand-edited wave was merged")
	}
}

// racingStart opens another rollout's tracking issue, as a second
// `purrvision rollout start` at the same moment would, just before the
// first CreateIssue.
type racingStart struct {
	app.GitHub
	raced bool
}

func (c *racingStart) CreateIssue(ctx context.Context, repo forge.Repo, title, body string, labels ...string) (*forge.Issue, error) {
	if !c.raced {
		c.raced = true
		if _, err := c.GitHub.CreateIssue(ctx, repo, "Rollout 20261130-000000: the other one", "body", labels...); err != nil {
			return nil, err
		}
	}
	return c.GitHub.CreateIssue(ctx, repo, title, body, labels...)
}

// TestRollout_TwoStartsAtOnce: two starts that each found no open rollout;
// the one whose tracking issue is newer closes it and opens no wave.
func TestRollout_TwoStartsAtOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe")
	race := &racingStart{GitHub: h.client}
	r, err := fleet.New(h.withLedger(fleet.Options{Config: h.cfg, GitHub: race}))
	if err != nil {
		t.Fatal(err)
	}
	started, err := r.Start(context.Background(), fleet.StartOptions{})
	var open *fleet.OpenError
	if !errors.As(err, &open) || started == nil || started.Issue == nil {
		t.Fatalf("start racing another: %v, want it refused", err)
	}
	h.settle()
	if st := h.gh.Issue(requestsRepo, started.Issue.Ref.Number).GetState(); st != "closed" {
		t.Errorf("the newer tracking issue is %s, want closed", st)
	}
	if open.Issue.Ref.Number >= started.Issue.Ref.Number {
		t.Errorf("it yielded to #%d, not the older issue", open.Issue.Ref.Number)
	}
	for head := range h.pulls() {
		if strings.HasPrefix(head, v1alpha1.RolloutBranchPrefix) {
			t.Errorf("a wave opened: %s", head)
		}
	}
}

// refuseRolloutPushes makes the tenants repo refuse pushes to rollout
// branches, as a process killed half-way never pushes; the returned
// function lifts it.
func (h *harness) refuseRolloutPushes() func() {
	h.t.Helper()
	hook := filepath.Join(h.bare, "hooks", "pre-receive")
	script := "#!/bin/sh\nwhile read old new ref; do case \"$ref\" in refs/heads/rollout/*) echo refused >&2; exit 1;; esac; done\nexit 0\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		h.t.Fatal(err)
	}
	return func() {
		if err := os.Remove(hook); err != nil {
			h.t.Fatal(err)
		}
	}
}

// TestRollout_WaveBegunElsewhere: a start that recorded wave 1 and died
// before pushing it. While another process may still be at it, the
// service leaves the wave alone; once the grace is over, it opens the
// wave itself, once.
func TestRollout_WaveBegunElsewhere(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ago   time.Duration
		opens bool
	}{
		{"just begun", 0, false},
		{"begun long ago", 3 * time.Minute, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			h.seedFleet("cat-cafe", "dog-deli")
			lift := h.refuseRolloutPushes()
			r, err := fleet.New(h.withLedger(fleet.Options{Config: h.cfg, GitHub: h.client, Now: func() time.Time { return time.Now().Add(-tt.ago) }}))
			if err != nil {
				t.Fatal(err)
			}
			started, err := r.Start(context.Background(), fleet.StartOptions{Waves: "1,100%"})
			if err == nil || started == nil || started.State == nil {
				t.Fatalf("start with pushes refused: %v", err)
			}
			lift()
			h.tick()
			h.tick()
			if n := len(h.wavePulls(started.State.ID, 1)); n != map[bool]int{true: 1, false: 0}[tt.opens] {
				t.Fatalf("%d pull requests of wave 1", n)
			}
		})
	}
}

// mergedBeforeRecorded loses GitHub's answer to wave 2's CreatePull, and
// a maintainer merges that pull request before the service looks again.
type mergedBeforeRecorded struct {
	app.GitHub
	gh   *ghstandin.Server
	mu   sync.Mutex
	done bool
}

func (c *mergedBeforeRecorded) CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error) {
	out, err := c.GitHub.CreatePull(ctx, repo, pr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || !strings.HasSuffix(pr.Head, "/wave-2") || c.done {
		return out, err
	}
	c.done = true
	c.gh.Approve(tenantsRepo, out.Number, reviewer) // a code owner's approval, as the rules want
	if _, err := c.gh.Merge(tenantsRepo, out.Number, maintainer); err != nil {
		return nil, err
	}
	return nil, errors.New("connection reset by peer")
}

// TestRollout_MergedBeforeRecorded: wave 2's pull request is merged before
// the service learnt its number; the service adopts it (the bot's, merged
// at the commit it pushed) instead of opening another, and gates it.
func TestRollout_MergedBeforeRecorded(t *testing.T) {
	c := &mergedBeforeRecorded{}
	h := newHarness(t, harnessOptions{wrap: func(cl app.GitHub) app.GitHub { c.GitHub = cl; return c }})
	c.gh = h.gh
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	h.merge(pr1.GetNumber())
	h.deploy(wave1[0], "success", "Release reconciliation succeeded")
	h.tick()
	h.tick()
	prs := h.wavePulls(id, 2)
	if !c.done || len(prs) != 1 || !prs[0].GetMerged() {
		t.Fatalf("wave 2: %d pull requests, want the one merged", len(prs))
	}
	for _, s := range []string{"cat-cafe", "dog-deli"} {
		if s != wave1[0] {
			h.deploy(s, "success", "Release reconciliation succeeded")
		}
	}
	h.tick()
	if st := h.gh.Issue(requestsRepo, issue).GetState(); st != "closed" || !strings.Contains(h.table(issue), "**done**") {
		t.Errorf("tracking issue %s, table:\n%s", st, h.table(issue))
	}
}

// TestRollout_StoresOnAnotherCluster: a wave's stores on a cluster other
// than the default get their deployment in that cluster's environment,
// where its own watcher reports, and the gate reads it there.
func TestRollout_StoresOnAnotherCluster(t *testing.T) {
	h := newHarness(t, harnessOptions{configure: func(c *config.Config) {
		c.Clusters = []config.Cluster{{Name: "zeta"}, {Name: "alpha"}}
	}})
	h.seedFleetOn("zeta", "cat-cafe")
	h.seedFleetOn("alpha", "dog-deli")
	started := h.startRollout("100%", "0")
	pr, stores := h.openWave(started.State.ID, 1)
	if len(stores) != 2 {
		t.Fatalf("wave 1 changes %v", stores)
	}
	h.merge(pr.GetNumber())
	states := h.gh.DeploymentStates(tenantsRepo)
	if len(states["alpha/store-dog-deli"]) != 1 || len(states["store-dog-deli"]) != 0 || len(states["store-cat-cafe"]) != 1 {
		t.Fatalf("deployments after the wave's merge: %v", states)
	}
	h.deploy("cat-cafe", "success", "Ready")
	h.tick()
	if h.gh.Issue(requestsRepo, started.Issue.Ref.Number).GetState() != "open" {
		t.Fatal("the rollout ended before the store on alpha was Ready")
	}
	// Someone with write access makes a newer deployment in the store's
	// environment, on a commit before the wave: it is not the bot's, and
	// neither holds the gate up nor takes the bot's report.
	before := strings.TrimSpace(h.git_("rev-parse", "main~1"))
	h.actAs("maintainer", http.MethodPost, "repos/"+tenantsRepo+"/deployments",
		`{"ref":"`+before+`","environment":"alpha/store-dog-deli","required_contexts":[],"auto_merge":false}`)
	h.deployIn("alpha/store-dog-deli", "dog-deli", "success", "Ready")
	h.tick()
	if got := h.table(started.Issue.Ref.Number); !strings.Contains(strings.ToLower(got), "done") {
		t.Fatalf("the rollout is not done once both stores are Ready:\n%s", got)
	}
	// The audit knows the wave's merge for what it is, from the bot's
	// record of the rollout, not as a merge it did not record.
	text := audit.Text(auditOf(t, h, h.tenantsClone(), "dog-deli"))
	if !strings.Contains(text, "(rollout "+started.State.ID+" wave 1, recorded by Purrvision)") || strings.Contains(text, "did not record") {
		t.Errorf("the audit of a store rolled out:\n%s", text)
	}
}
