//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/renderer"
)

// waitFor polls cond, the condition named what, until it holds, or fails
// the test after timeout.
func (w *world) waitFor(what string, timeout time.Duration, cond func() bool) {
	w.t.Helper()
	holds := func(context.Context) (bool, error) { return cond(), nil }
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, holds); err != nil {
		w.t.Fatalf("timed out after %v waiting for: %s", timeout, what)
	}
}

// openPull waits for the one open pull request of a store's branch.
func (w *world) openPull(name string) int {
	w.t.Helper()
	var n int
	w.waitFor("an open pull request for "+name, time.Minute, func() bool {
		for _, p := range w.GitHub.Pulls(tenantsRepo) {
			if p.GetHead().GetRef() == "store/"+name && p.GetState() == "open" {
				n = p.GetNumber()
				return true
			}
		}
		return false
	})
	return n
}

// merge approves pr as a code owner and merges it through the merge API,
// under `purrvision setup`'s rules (devenv.Start applies them).
//
// Under setup's rules a pull request merges once its head is up to date
// with the base and carries the bot's purrvision/ready: when other
// merges moved the base, the bot renders the branch again on it, which
// dismisses the approval, so the reviewer approves again, as a person
// would, until GitHub takes the merge. Any other refusal fails the test.
func (w *world) merge(pr int) {
	w.t.Helper()
	last := ""
	w.waitFor(fmt.Sprintf("GitHub to take the merge of #%d", pr), 3*time.Minute, func() bool {
		_, err := devenv.ApproveAndMerge(context.Background(), w.GitHub.URL(), tenantsRepo, pr, devenv.Reviewer, devenv.Reviewer)
		if err == nil {
			return true
		}
		if err.Error() != last {
			last = err.Error()
			w.t.Logf("merge of #%d refused for now: %v", pr, err)
		}
		if status, msg, ok := devenv.Refused(err); ok && status == http.StatusMethodNotAllowed &&
			(strings.Contains(msg, "out of date") || strings.Contains(msg, v1alpha1.ReadyCheckName)) {
			return false // the bot has yet to bring it up to date, or to check its new head
		}
		w.t.Fatal(err)
		return false
	})
}

func (w *world) lastDeploymentState(env string) string {
	s := w.GitHub.DeploymentStates(tenantsRepo)[env]
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func (w *world) labels(n int) string { return strings.Join(w.GitHub.Labels(requestsRepo, n), ",") }

func (w *world) progress(n int) string {
	for _, c := range w.GitHub.Comments(requestsRepo, n) {
		if strings.Contains(c.GetBody(), "purrvision:status") {
			return c.GetBody()
		}
	}
	return ""
}

// TestStoreLifecycle runs one store through its whole life on a real local
// cluster with Flux: request, pull request, merge, Flux applies and decrypts,
// helm-controller installs the chart, Ready on GitHub; then resize and
// decommission.
func TestStoreLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	c := w.Cluster.Client

	t0 := time.Now()
	n := w.GitHub.OpenIssue(requestsRepo, "octocat", "Store: cat-cafe", formBody("cat-cafe", "small"), "store-request")
	pr := w.openPull("cat-cafe")
	w.stage("issue to pull request", t0)

	t0 = time.Now()
	merged := time.Now()
	w.merge(pr)
	w.waitFor("store/provisioning and a queued deployment", time.Minute, func() bool {
		return strings.Contains(w.labels(n), "store/provisioning") && w.lastDeploymentState("store-cat-cafe") != ""
	})
	w.stage("merge recorded on GitHub", t0)

	t0 = time.Now()
	w.waitFor("namespace store-cat-cafe", 2*time.Minute, func() bool {
		return c.Get(ctx, client.ObjectKey{Name: "store-cat-cafe"}, &corev1.Namespace{}) == nil
	})
	w.stage("Flux applied the store", t0)

	t0 = time.Now()
	w.waitFor("deployment status success", 5*time.Minute, func() bool { return w.lastDeploymentState("store-cat-cafe") == "success" })
	w.stage("HelmRelease Ready, reported", t0)
	t.Logf("BENCHMARK merge-to-ready %.2fs", time.Since(merged).Seconds())

	sts := w.GitHub.DeploymentStatuses(tenantsRepo, "store-cat-cafe")
	if url := sts[len(sts)-1].GetEnvironmentURL(); url != "https://cat-cafe.shop.example.com/" {
		t.Errorf("environment_url = %q", url)
	}
	w.waitFor("label store/ready", time.Minute, func() bool { return strings.Contains(w.labels(n), "store/ready") })
	if p := w.progress(n); !strings.Contains(p, "Ready") || !strings.Contains(p, "Applied by Flux") {
		t.Errorf("progress comment:\n%s", p)
		for _, c := range w.GitHub.Comments(requestsRepo, n) {
			t.Logf("comment %d by %s, updated %v:\n%s", c.GetID(), c.GetUser().GetLogin(), c.GetUpdatedAt(), c.GetBody())
		}
	}

	// What Flux applied is what was rendered, the Secret decrypted.
	var policies networkingv1.NetworkPolicyList
	if err := c.List(ctx, &policies, client.InNamespace("store-cat-cafe")); err != nil || len(policies.Items) != 5 {
		t.Errorf("%d network policies (%v), want 5", len(policies.Items), err)
	}
	var quota corev1.ResourceQuota
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: "store-quota"}, &quota); err != nil {
		t.Fatal(err)
	}
	if got := quota.Spec.Hard[corev1.ResourceLimitsCPU]; got.String() != "1" {
		t.Errorf("quota limits.cpu = %s, want 1", got.String())
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: "store-limits"}, &corev1.LimitRange{}); err != nil {
		t.Errorf("limit range: %v", err)
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: renderer.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	enc, err := gitShow(w, "main:"+renderer.StoreDir(w.Config, "default", "cat-cafe")+"/"+renderer.FileSecret)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sopsage.Decrypt(enc, w.AgeIdentity.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plain), fmt.Sprintf("%s: %s", renderer.KeyAdminPassword, b64(secret.Data[renderer.KeyAdminPassword]))) {
		t.Error("the Secret in the cluster is not the one rendered")
	}

	// Resize: the quota in the cluster follows.
	t0 = time.Now()
	w.GitHub.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	pr = w.openPull("cat-cafe")
	w.merge(pr)
	w.waitFor("quota limits.cpu 2", 2*time.Minute, func() bool {
		var q corev1.ResourceQuota
		err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: "store-quota"}, &q)
		got := q.Spec.Hard[corev1.ResourceLimitsCPU]
		return err == nil && got.String() == "2"
	})
	w.waitFor("HelmRelease upgraded to medium", 2*time.Minute, func() bool { return w.releaseSettled("store-cat-cafe") })
	w.stage("resize merged and applied", t0)

	// Rotation: the pull request changes only the admin Secret. The new
	// password reaches the cluster's Secret, and helm-controller, watching
	// that Secret, upgrades the release with its new revision, which rolls
	// the WordPress pods (their installer applies the password); the
	// database passwords stay (MariaDB keeps them).
	t0 = time.Now()
	var dbBefore corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: renderer.DatabaseSecretName}, &dbBefore); err != nil {
		t.Fatal(err)
	}
	w.GitHub.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	pr = w.openPull("cat-cafe")
	w.merge(pr)
	enc, err = gitShow(w, "main:"+renderer.StoreDir(w.Config, "default", "cat-cafe")+"/"+renderer.FileSecret)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err = sopsage.Decrypt(enc, w.AgeIdentity.String()); err != nil {
		t.Fatal(err)
	}
	var rotated corev1.Secret
	if err := yaml.Unmarshal(plain, &rotated); err != nil {
		t.Fatal(err)
	}
	revision := string(rotated.Data[renderer.KeyRevision])
	if revision == "" || revision == w.webRevision(t) {
		t.Fatalf("the rotated Secret's revision %q is not new", revision)
	}
	w.waitFor("WordPress pods at the new credentials revision", 2*time.Minute, func() bool { return w.webRevision(t) == revision })
	w.waitFor("HelmRelease upgraded with the new credentials", 2*time.Minute, func() bool { return w.releaseSettled("store-cat-cafe") })
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: renderer.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plain), fmt.Sprintf("%s: %s", renderer.KeyAdminPassword, b64(secret.Data[renderer.KeyAdminPassword]))) {
		t.Error("the cluster's Secret does not hold the rotated admin password")
	}
	var dbAfter corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "store-cat-cafe", Name: renderer.DatabaseSecretName}, &dbAfter); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dbBefore.Data, dbAfter.Data) {
		t.Error("rotation changed the database passwords")
	}
	w.stage("rotation merged, WordPress rolled", t0)

	// Decommission: the namespace goes, the deployment turns inactive.
	t0 = time.Now()
	w.GitHub.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	pr = w.openPull("cat-cafe")
	w.merge(pr)
	w.waitFor("namespace store-cat-cafe gone", 3*time.Minute, func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "store-cat-cafe"}, &corev1.Namespace{}))
	})
	w.waitFor("deployment status inactive", time.Minute, func() bool { return w.lastDeploymentState("store-cat-cafe") == "inactive" })
	w.waitFor("label store/decommissioned", time.Minute, func() bool { return strings.Contains(w.labels(n), "store/decommissioned") })
	w.stage("decommission merged, namespace gone", t0)
	w.stage("whole life", w.start)
}

// TestStoreThatCannotInstall: a store whose chart helm-controller cannot
// install ends with a failure deployment status and Flux's message on its
// issue.
func TestStoreThatCannotInstall(t *testing.T) {
	broken := devenv.ChartRelease{Version: brokenChartVersion, Broken: true}
	w := newWorld(t, broken.Apply)
	w.releaseChart(broken)
	t0 := time.Now()
	n := w.GitHub.OpenIssue(requestsRepo, "octocat", "Store: dog-diner", formBody("dog-diner", "small"), "store-request")
	w.merge(w.openPull("dog-diner"))
	defer w.dumpRelease("store-dog-diner")
	w.waitFor("deployment status failure", 4*time.Minute, func() bool { return w.lastDeploymentState("store-dog-diner") == "failure" })
	w.stage("merge to failure reported", t0)
	sts := w.GitHub.DeploymentStatuses(tenantsRepo, "store-dog-diner")
	desc := sts[len(sts)-1].GetDescription()
	if !strings.Contains(desc, "licenseKey") {
		t.Errorf("failure description %q does not carry Flux's message", desc)
	}
	w.waitFor("label store/failed", time.Minute, func() bool { return strings.Contains(w.labels(n), "store/failed") })
	if p := w.progress(n); !strings.Contains(p, "Failed") || !strings.Contains(p, "licenseKey") {
		t.Errorf("progress comment lacks the failure:\n%s", p)
	}
}

// webRevision is the credentials revision the store's WordPress pods run
// with.
func (w *world) webRevision(t *testing.T) string {
	var ds appsv1.DeploymentList
	err := w.Cluster.Client.List(context.Background(), &ds, client.InNamespace("store-cat-cafe"),
		client.MatchingLabels{renderer.LabelComponent: renderer.ComponentWeb})
	if err != nil || len(ds.Items) != 1 {
		t.Logf("WordPress Deployments: %d (%v)", len(ds.Items), err)
		return ""
	}
	return ds.Items[0].Spec.Template.Annotations["purrvision.dev/credentials-revision"]
}

// releaseSettled reports whether the store's HelmRelease is Ready at its
// latest generation: helm-controller has finished the upgrade a change
// started, the rollout included. (helm-controller finishes an action before
// it handles a deletion, so a decommission merged during an upgrade waits
// for it.)
func (w *world) releaseSettled(ns string) bool {
	var hr helmv2.HelmRelease
	if err := w.Cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "woocommerce"}, &hr); err != nil {
		return false
	}
	for _, c := range hr.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == metav1.ConditionTrue && c.ObservedGeneration == hr.Generation
		}
	}
	return false
}

// dumpRelease logs a HelmRelease's conditions when the test failed.
func (w *world) dumpRelease(ns string) {
	if !w.t.Failed() {
		return
	}
	var hr helmv2.HelmRelease
	if err := w.Cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "woocommerce"}, &hr); err != nil {
		w.t.Logf("HelmRelease %s/woocommerce: %v", ns, err)
		return
	}
	for _, c := range hr.Status.Conditions {
		w.t.Logf("HelmRelease condition %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	w.t.Logf("deployment statuses: %v", w.GitHub.DeploymentStates(tenantsRepo)[ns])
}
