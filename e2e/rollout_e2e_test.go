//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/rollout"
)

// TestFleetRollout moves three stores to a new chart version in waves
// `1,100%` on a real local cluster with Flux: the first wave merges, its
// store upgrades, the next wave opens by itself on the gate, and the
// tracking issue says done. A second rollout, to a chart version that
// cannot install, pauses after wave 1 with Flux's message, and
// `/purrvision rollout revert 1` brings that store back.
func TestFleetRollout(t *testing.T) {
	// A short resync: the gate runs on each tick.
	w := newWorldWith(t, devenv.Options{ResyncInterval: 5 * time.Second})
	stores := []string{"ant-atelier", "bee-bakery", "cow-creamery"}

	t0 := time.Now()
	for _, s := range stores {
		w.GitHub.OpenIssue(requestsRepo, "octocat", "Store: "+s, formBody(s, "small"), v1alpha1.LabelRequest)
	}
	for _, s := range stores {
		w.merge(w.openPull(s))
	}
	for _, s := range stores {
		w.waitFor(s+" Ready at chart 0.1.0", 6*time.Minute, func() bool {
			return w.lastDeploymentState(v1alpha1.Environment(s)) == "success" && w.releaseAt(v1alpha1.Environment(s), "0.1.0")
		})
	}
	w.stage("three stores Ready", t0)

	// A new chart version, and the config change a platform team makes.
	t0 = time.Now()
	v2 := devenv.ChartRelease{Version: "0.2.0"}
	w.releaseChart(v2)
	w.reconfigure(v2)
	w.stage("chart 0.2.0 released, service reconfigured", t0)

	t0 = time.Now()
	started := w.startRollout("1,100%", "0")
	id := started.State.ID
	tracking := started.Issue.Ref.Number
	defer w.dumpRollout(tracking)
	w1 := started.State.Last()
	if w1 == nil || w1.Number != 1 || len(w1.Stores) != 1 || w1.Pull == 0 {
		t.Fatalf("wave 1 after start: %+v", w1)
	}
	canary := w1.Stores[0]
	w.checkRun(w1.Pushed, fmt.Sprintf("Rollout %s, wave 1", id))
	w.merge(w1.Pull)
	w.waitFor("the canary "+canary+" Ready at chart 0.2.0", 5*time.Minute, func() bool {
		return w.releaseAt(v1alpha1.Environment(canary), "0.2.0")
	})
	for _, s := range stores {
		if s != canary && !w.releaseAt(v1alpha1.Environment(s), "0.1.0") {
			t.Errorf("%s moved before its wave", s)
		}
	}
	w.stage("wave 1 merged, canary upgraded", t0)

	t0 = time.Now()
	pr2 := w.openRolloutPull(rollout.WaveBranch(id, 2), 3*time.Minute)
	w.stage("wave 2 opened by the gate", t0)
	t0 = time.Now()
	w.merge(pr2)
	for _, s := range stores {
		w.waitFor(s+" Ready at chart 0.2.0", 5*time.Minute, func() bool {
			return w.releaseAt(v1alpha1.Environment(s), "0.2.0") && w.lastDeploymentState(v1alpha1.Environment(s)) == "success"
		})
	}
	w.stage("wave 2 merged, every store upgraded", t0)

	t0 = time.Now()
	w.waitFor("the tracking issue says done and is closed", 3*time.Minute, func() bool {
		is := w.GitHub.Issue(requestsRepo, tracking)
		return is.GetState() == "closed" && w.hasComment(tracking, fmt.Sprintf("Rollout %s is done", id))
	})
	w.stage("rollout done", t0)
	w.waitFor("the status page shows the rollout done", time.Minute, func() bool {
		page := w.statusPage()
		return strings.Contains(page, `id="rollout-`+id+`"`) && strings.Contains(page, `class="phase done"`)
	})

	// A chart version that cannot install: the rollout pauses after
	// wave 1, and a revert brings its store back.
	t0 = time.Now()
	v3 := devenv.ChartRelease{Version: "0.3.0", Broken: true}
	w.releaseChart(v3)
	w.reconfigure(v3)
	started = w.startRollout("1,100%", "0")
	tracking = started.Issue.Ref.Number
	defer w.dumpRollout(tracking)
	w1 = started.State.Last()
	canary = w1.Stores[0]
	defer w.dumpRelease(v1alpha1.Environment(canary))
	w.merge(w1.Pull)
	w.waitFor("the rollout paused with Flux's message", 8*time.Minute, func() bool {
		return strings.Contains(strings.Join(w.GitHub.Labels(requestsRepo, tracking), ","), v1alpha1.LabelRolloutPaused) &&
			w.hasComment(tracking, "licenseKey")
	})
	for _, p := range w.GitHub.Pulls(tenantsRepo) {
		if strings.HasPrefix(p.GetHead().GetRef(), rollout.WaveBranch(started.State.ID, 2)) {
			t.Errorf("wave 2 opened on a paused rollout: #%d", p.GetNumber())
		}
	}
	w.stage("broken chart: paused after wave 1", t0)
	if got := w.chartTag(v1alpha1.Environment(canary)); got != v3.Tag() {
		t.Errorf("the paused canary's chart source is at %q, want the wave's %q", got, v3.Tag())
	}
	// The gate may pause on Flux's message before the canary's watcher
	// posts its failure: wait for the report, not for an order.
	w.waitFor("the paused canary's last deployment state to be failure", time.Minute, func() bool {
		return w.lastDeploymentState(v1alpha1.Environment(canary)) == "failure"
	})
	w.waitFor("the status page shows the rollout paused", time.Minute, func() bool {
		page := w.statusPage()
		return strings.Contains(page, `id="rollout-`+started.State.ID+`"`) && strings.Contains(page, `class="phase paused"`)
	})

	t0 = time.Now()
	w.GitHub.Comment(requestsRepo, tracking, devenv.Reviewer, "/purrvision rollout revert 1")
	revert := w.openRolloutPull(rollout.RevertBranch(started.State.ID, 1), 2*time.Minute)
	w.merge(revert)
	w.waitFor(canary+" Ready at chart 0.2.0 again, the revert applied", 6*time.Minute, func() bool {
		return w.chartTag(v1alpha1.Environment(canary)) == v2.Tag() && w.releaseAt(v1alpha1.Environment(canary), "0.2.0") &&
			w.lastDeploymentState(v1alpha1.Environment(canary)) == "success"
	})
	w.stage("revert 1 merged, canary Ready again", t0)
	w.stage("whole rollout scenario", w.start)
}

// reconfigure restarts the service with the config of a chart release.
func (w *world) reconfigure(r devenv.ChartRelease) {
	w.t.Helper()
	// The restarted service logs where the first did: to the test (a
	// context without the logger discards its logs, refusals included).
	ctx, cancel := context.WithTimeout(logctx.Into(context.Background(), log), 2*time.Minute)
	defer cancel()
	if err := w.Reconfigure(ctx, r.Apply); err != nil {
		w.t.Fatal(err)
	}
}

// startRollout starts a rollout as `purrvision rollout start` does: as
// the bot, from a clone of its own, with the service's config.
func (w *world) startRollout(waves, maxFailures string) *fleet.Started {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := app.Connect(ctx, w.Config, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	// The service's own key, as `purrvision rollout start` reads it from
	// the config: a record signed with any other is refused.
	keys, err := ledger.LoadKeys(w.Config.Ledger.SigningKeyFiles)
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := fleet.New(fleet.Options{Config: w.Config, GitHub: conn.GitHub, Repo: conn.Tenants, Ledger: ledger.New(conn.Tenants, keys)})
	if err != nil {
		w.t.Fatal(err)
	}
	started, err := r.Start(ctx, fleet.StartOptions{Waves: waves, MaxFailures: maxFailures, By: "e2e"})
	if err != nil {
		w.t.Fatalf("starting the rollout: %v", err)
	}
	return started
}

// openRolloutPull waits for the open pull request of a rollout branch.
func (w *world) openRolloutPull(branch string, timeout time.Duration) int {
	w.t.Helper()
	var n int
	w.waitFor("an open pull request of "+branch, timeout, func() bool {
		for _, p := range w.GitHub.Pulls(tenantsRepo) {
			if p.GetHead().GetRef() == branch && p.GetState() == "open" {
				n = p.GetNumber()
				return true
			}
		}
		return false
	})
	return n
}

func (w *world) hasComment(issue int, text string) bool {
	for _, c := range w.GitHub.Comments(requestsRepo, issue) {
		if strings.Contains(c.GetBody(), text) {
			return true
		}
	}
	return false
}

// releaseAt reports whether a store's HelmRelease is Ready at its latest
// generation with the chart version given installed.
func (w *world) releaseAt(ns, version string) bool {
	var hr helmv2.HelmRelease
	if err := w.Cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "woocommerce"}, &hr); err != nil {
		return false
	}
	// With reconcileStrategy Revision, source-controller adds the source's
	// revision as build metadata: 0.2.0+<commit>.
	latest := hr.Status.History.Latest()
	if latest == nil || (latest.ChartVersion != version && !strings.HasPrefix(latest.ChartVersion, version+"+")) {
		return false
	}
	for _, c := range hr.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == metav1.ConditionTrue && c.ObservedGeneration == hr.Generation
		}
	}
	return false
}

// dumpRollout logs a tracking issue's labels and comments when the test
// failed.
func (w *world) dumpRollout(issue int) {
	if !w.t.Failed() {
		return
	}
	w.t.Logf("tracking issue #%d labels: %v", issue, w.GitHub.Labels(requestsRepo, issue))
	for _, c := range w.GitHub.Comments(requestsRepo, issue) {
		w.t.Logf("comment by %s:\n%s", c.GetUser().GetLogin(), c.GetBody())
	}
	for _, p := range w.GitHub.Pulls(tenantsRepo) {
		w.t.Logf("pull #%d %s %s merged=%v", p.GetNumber(), p.GetHead().GetRef(), p.GetState(), p.GetMerged())
	}
}

// checkRun checks the bot's check run purrvision/rollout on a wave's
// commit.
func (w *world) checkRun(sha, title string) {
	w.t.Helper()
	for _, r := range w.GitHub.CheckRuns(tenantsRepo, sha) {
		if r.Name == v1alpha1.RolloutCheckName && r.App+"[bot]" == ghstandin.BotLogin && r.Conclusion == "success" && strings.HasPrefix(r.Title, title) {
			return
		}
	}
	w.t.Errorf("no check run %s %q on %s: %+v", v1alpha1.RolloutCheckName, title, sha, w.GitHub.CheckRuns(tenantsRepo, sha))
}

// statusPage is the service's status page; "" when it cannot be read.
func (w *world) statusPage() string {
	resp, err := http.Get(w.URL + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(body)
}

// chartTag is the tag the store's chart source (its GitRepository) pins
// in the cluster: what Flux applied of the store's folder.
func (w *world) chartTag(ns string) string {
	var src sourcev1.GitRepository
	if err := w.Cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "woocommerce-chart"}, &src); err != nil || src.Spec.Reference == nil {
		return ""
	}
	return src.Spec.Reference.Tag
}
