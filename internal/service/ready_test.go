package service_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/setup"
)

// botRuns are the check runs named name the bot's App created on sha.
func (h *harness) botRuns(sha, name string) []ghstandin.CheckRun {
	var out []ghstandin.CheckRun
	for _, r := range h.gh.CheckRuns(tenantsRepo, sha) {
		if r.App+"[bot]" == ghstandin.BotLogin && r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// readyRuns are the bot's purrvision/ready runs on sha.
func (h *harness) readyRuns(sha string) []ghstandin.CheckRun {
	return h.botRuns(sha, v1alpha1.ReadyCheckName)
}

// requireReady is the tenants repo's base branch protected as `purrvision
// setup` protects it (setup.Desired, the stand-in's App as the bot's):
// purrvision/ready from the App, up to date, an approval, admins held too.
func (h *harness) requireReady() {
	h.t.Helper()
	cfg := *h.cfg
	cfg.GitHub.PlatformTeam = "acme/platform" // only CODEOWNERS, not written here, names it
	want, err := setup.Desired(&cfg, setup.Options{AppID: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	w, ok := h.client.(setup.Writer)
	if !ok {
		h.t.Fatalf("the harness's client %T cannot apply setup's protection", h.client)
	}
	for _, s := range want {
		if s.Protection != nil {
			if err := w.SetProtection(context.Background(), s.Repo, *s.Protection); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// assertReady fails unless the bot's one purrvision/ready on sha concludes
// want.
func (h *harness) assertReady(what, sha, want string) ghstandin.CheckRun {
	h.t.Helper()
	runs := h.readyRuns(sha)
	if len(runs) != 1 || runs[0].Conclusion != want {
		h.t.Fatalf("%s: the bot's %s on %s: %+v, want one %s", what, v1alpha1.ReadyCheckName, sha, runs, want)
	}
	return runs[0]
}

// openHead is the head of the one open pull request of branch.
func (h *harness) openHead(branch string) *github.PullRequest {
	h.t.Helper()
	var open []*github.PullRequest
	for _, p := range h.pulls()[branch] {
		if p.GetState() == "open" {
			open = append(open, p)
		}
	}
	if len(open) != 1 {
		h.t.Fatalf("%d open pull requests of %s, want 1", len(open), branch)
	}
	return open[0]
}

// moveBranch puts a commit the bot did not make on branch, as a person
// who bypassed the rules would (straight into the bare repository), and
// returns it.
func (h *harness) moveBranch(branch string) string {
	h.t.Helper()
	head := strings.TrimSpace(h.git_("rev-parse", branch))
	tree := strings.TrimSpace(h.git_("rev-parse", branch+"^{tree}"))
	moved := strings.TrimSpace(h.git_("commit-tree", tree, "-p", head, "-m", "tweak by hand"))
	h.git_("update-ref", "refs/heads/"+branch, moved, head)
	return moved
}

// pullEvent delivers a pull_request event of pull request n again, as
// GitHub does for a push to its branch (synchronize): the stand-in sends
// none for a push, and the service reads the pull request as it is now
// whatever the action.
func (h *harness) pullEvent(n int) {
	h.t.Helper()
	number := []byte(`"number":` + strconv.Itoa(n) + `,`)
	for _, d := range h.gh.Deliveries() {
		if d.Event == "pull_request" && bytes.Contains(d.Body, number) {
			h.gh.Redeliver(d)
			h.settle()
			return
		}
	}
	h.t.Fatalf("no pull_request delivery of #%d", n)
}

// TestReady_EveryStorePullOnItsExactHead: under `purrvision setup`'s
// protection (purrvision/ready from the App, approvals, up to date), a
// request pull request, a store's pull request and a command's each get
// purrvision/ready success on exactly their head, and merge through the
// merge API; the other checks keep their plans.
func TestReady_EveryStorePullOnItsExactHead(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.requireReady()

	// A request pull request: ready once validated, on the bot's render.
	pushAsPerson(t, h, "request/dog-diner", map[string]string{"requests/dog-diner.yaml": storeRequest("dog-diner", "medium", "octocat")})
	n, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/dog-diner", "main", "Dog diner", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := h.openHead("request/dog-diner").GetHead().GetSHA()
	if head != strings.TrimSpace(h.git_("rev-parse", "request/dog-diner")) {
		t.Fatalf("the pull request's head %s is not its branch's", head)
	}
	h.assertReady("request pull request", head, "success")
	if runs := h.botCheckRuns(head); len(runs) != 1 || runs[0].Conclusion != "success" {
		t.Errorf("purrvision/plan beside it: %+v", runs)
	}
	if before := h.readyRuns(strings.TrimSpace(h.git_("rev-parse", "request/dog-diner~1"))); len(before) != 0 {
		t.Errorf("purrvision/ready on the request's own commit, before the render: %+v", before)
	}
	h.merge(n)

	// A store's pull request, then a command's on the same store.
	cafe := h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr := h.openHead("store/cat-cafe")
	run := h.assertReady("store pull request", pr.GetHead().GetSHA(), "success")
	if !strings.Contains(run.Summary, "recorded pushing") {
		t.Errorf("the store's ready says %q", run.Summary)
	}
	h.merge(pr.GetNumber())
	h.gh.Comment(requestsRepo, cafe, "octocat", "/purrvision resize medium")
	h.settle()
	pr = h.openHead("store/cat-cafe")
	h.assertReady("resize pull request", pr.GetHead().GetSHA(), "success")
	h.merge(pr.GetNumber())
}

// TestReady_StoreHeadMovedIsRefused (attacker): someone who bypassed the
// rules puts a commit on a store pull request's branch. Its new head gets
// purrvision/ready failure saying so, never success, even with another
// App's purrvision/ready success already on it (never taken for the
// bot's), and the merge API refuses it under setup's protection.
func TestReady_StoreHeadMovedIsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.requireReady()
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr := h.openHead("store/cat-cafe")
	pushed := pr.GetHead().GetSHA()
	h.assertReady("as the bot pushed it", pushed, "success")

	moved := h.moveBranch("store/cat-cafe")
	h.gh.AddCheckRun(tenantsRepo, "other-ci", v1alpha1.ReadyCheckName, moved, "success", "looks fine to another App")
	h.pullEvent(pr.GetNumber())

	run := h.assertReady("moved by someone else", moved, "failure")
	if !strings.Contains(run.Summary, "someone else moved the branch") {
		t.Errorf("the failure says %q", run.Summary)
	}
	var other []ghstandin.CheckRun
	for _, r := range h.gh.CheckRuns(tenantsRepo, moved) {
		if r.App == "other-ci" {
			other = append(other, r)
		}
	}
	if len(other) != 1 || other[0].Updated || other[0].Conclusion != "success" {
		t.Errorf("the other App's run: %+v, want it left alone", other)
	}
	h.assertReady("the bot's own head, still", pushed, "success")

	h.gh.Approve(tenantsRepo, pr.GetNumber(), "reviewer")
	if _, err := h.gh.Merge(tenantsRepo, pr.GetNumber(), "maintainer"); err == nil || !strings.Contains(err.Error(), `Required status check "`+v1alpha1.ReadyCheckName+`" is failing`) {
		t.Fatalf("merging the moved head: %v, want refused for the failing %s", err, v1alpha1.ReadyCheckName)
	}
}

// TestReady_WaveAndRevertOnTheirExactHead: a wave's and a revert's pull
// request each get purrvision/ready success on the commit the rollout
// recorded pushing, and merge under setup's protection; a wave's branch
// moved by someone else gets failure on its new head.
func TestReady_WaveAndRevertOnTheirExactHead(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli", "owl-outlet")
	h.gh.SetPermission(requestsRepo, "maintainer", "write")
	h.requireReady()
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr1, wave1 := h.openWave(id, 1)
	h.assertReady("wave 1", pr1.GetHead().GetSHA(), "success")
	if runs := h.rolloutChecks(pr1.GetHead().GetSHA()); len(runs) != 1 {
		t.Errorf("purrvision/rollout beside it: %+v", runs)
	}
	h.merge(pr1.GetNumber())
	h.deploy(wave1[0], "success", "Ready")
	h.tick()

	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout revert 1")
	h.settle()
	rev := h.openHead(rollout.RevertBranch(id, 1))
	h.assertReady("the revert of wave 1", rev.GetHead().GetSHA(), "success")
	h.merge(rev.GetNumber())

	pr2, _ := h.openWave(id, 2)
	h.assertReady("wave 2", pr2.GetHead().GetSHA(), "success")
	moved := h.moveBranch(rollout.WaveBranch(id, 2))
	h.pullEvent(pr2.GetNumber())
	h.assertReady("wave 2 moved by someone else", moved, "failure")
	h.gh.Approve(tenantsRepo, pr2.GetNumber(), "reviewer")
	if _, err := h.gh.Merge(tenantsRepo, pr2.GetNumber(), "maintainer"); err == nil {
		t.Fatal("the moved wave merged")
	}
}
