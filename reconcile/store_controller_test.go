package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func apiServer(t *testing.T) *testenv.Env { return testenv.Shared(t) }

// watcher runs the watcher's manager until stopped.
type watcher struct {
	cancel context.CancelFunc
	done   chan error
}

func startWatcher(t *testing.T, e *testenv.Env, fluxNS string, rep reconcile.Reporter) *watcher {
	t.Helper()
	mgr, err := reconcile.NewManager(e.Config, reconcile.ManagerOptions{
		FluxNamespace: fluxNS, BaseDomain: "shop.example.com", Reporter: rep,
		LeaderElection: true, LeaderElectionNamespace: fluxNS,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- mgr.Start(ctx) }()
	return w
}

func (w *watcher) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err := <-w.done; err != nil {
		t.Errorf("watcher stopped with %v", err)
	}
}

// eventually polls cond, the condition named what, until it holds or 30
// seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	holds := func(context.Context) (bool, error) { return cond(), nil }
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, holds); err != nil {
		t.Fatalf("timed out waiting for: %s", what)
	}
}

func setCondition(conds *[]metav1.Condition, typ string, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg})
}

// TestWatcher_ReportsEachTransitionOnce follows one store from applied to
// ready, through a restart of the watcher, to a failure and a decommission,
// and checks that each transition was reported exactly once.
func TestWatcher_ReportsEachTransitionOnce(t *testing.T) {
	e := apiServer(t)
	// The test's own namespaces: Flux's, and the store's (store-<name>).
	fluxNS := e.Namespace(t, "flux-system")
	store := testenv.UniqueName("cat-cafe")
	storeNS := "store-" + store
	gh, client_ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: "+store, "body", "store-request", "store/provisioning")
	rep := &reconcile.GitHubReporter{GitHub: client_, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: testutil.Ledger(t)}
	c := e.Client
	ctx := context.Background()
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "purrvision", "purrvision.dev/store": store},
			Annotations: map[string]string{"purrvision.dev/issue": fmt.Sprintf("acme/stores#%d", n)}}
	}
	w := startWatcher(t, e, fluxNS, rep)
	states := func() []string { return gh.DeploymentStates("acme/tenants")[storeNS] }
	statusComment := func() string {
		for _, cm := range gh.Comments("acme/stores", n) {
			if strings.Contains(cm.GetBody(), "purrvision:status") {
				return cm.GetBody()
			}
		}
		return ""
	}
	labels := func() string { return strings.Join(gh.Labels("acme/stores", n), ",") }

	// Applied: the Kustomization is Ready.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: meta(storeNS, "")}); err != nil {
		t.Fatal(err)
	}
	e.CleanupNamespace(t, storeNS)
	ks := &kustomizev1.Kustomization{ObjectMeta: meta(storeNS, fluxNS), Spec: kustomizev1.KustomizationSpec{
		Interval: metav1.Duration{Duration: time.Minute}, Prune: true, Path: "./tenants/default/a/5/" + store + "/manifests",
		SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "tenants"}}}
	if err := c.Create(ctx, ks); err != nil {
		t.Fatal(err)
	}
	ks.Status.ObservedGeneration = ks.Generation
	ks.Status.LastAppliedRevision = "main@sha1:0123456789abcdef"
	setCondition(&ks.Status.Conditions, "Ready", metav1.ConditionTrue, "ReconciliationSucceeded", "Applied revision: main@sha1:0123456789abcdef")
	if err := c.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an in_progress deployment status", func() bool { return len(states()) == 1 && states()[0] == "in_progress" })
	eventually(t, "the timeline says applied", func() bool { return strings.Contains(statusComment(), "Applied by Flux") })

	// Installing, then ready.
	hr := &helmv2.HelmRelease{ObjectMeta: meta("woocommerce", storeNS), Spec: helmv2.HelmReleaseSpec{
		Interval: metav1.Duration{Duration: time.Minute},
		ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "woocommerce-chart"}}}
	if err := c.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	hr.Status.ObservedGeneration = hr.Generation
	setCondition(&hr.Status.Conditions, "Ready", metav1.ConditionUnknown, "Progressing", "installing")
	setCondition(&hr.Status.Conditions, "Reconciling", metav1.ConditionTrue, "Progressing", "installing")
	if err := c.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the timeline says installing", func() bool { return strings.Contains(statusComment(), "Chart installing") })
	setCondition(&hr.Status.Conditions, "Ready", metav1.ConditionTrue, "InstallSucceeded", "Helm install succeeded")
	apimeta.RemoveStatusCondition(&hr.Status.Conditions, "Reconciling")
	if err := c.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a success status", func() bool { s := states(); return len(s) > 0 && s[len(s)-1] == "success" })
	last := gh.DeploymentStatuses("acme/tenants", storeNS)
	if url := last[len(last)-1].GetEnvironmentURL(); url != "https://"+store+".shop.example.com/" {
		t.Errorf("environment_url = %q", url)
	}
	eventually(t, "the label store/ready", func() bool { return labels() == "store-request,store/ready" })

	// A restart re-reads everything and posts nothing new; the next real
	// change is reported once.
	w.stop(t)
	w = startWatcher(t, e, fluxNS, rep)
	defer func() { w.stop(t) }()
	if err := c.Get(ctx, types.NamespacedName{Namespace: storeNS, Name: "woocommerce"}, hr); err != nil {
		t.Fatal(err)
	}
	setCondition(&hr.Status.Conditions, "Ready", metav1.ConditionFalse, "UpgradeFailed", "Helm upgrade failed: values don't meet the specifications of the schema")
	setCondition(&hr.Status.Conditions, "Stalled", metav1.ConditionTrue, "RetriesExceeded", "Failed to upgrade after 3 attempts")
	if err := c.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failure status", func() bool { s := states(); return len(s) > 0 && s[len(s)-1] == "failure" })
	eventually(t, "the label store/failed", func() bool { return labels() == "store-request,store/failed" })
	if !strings.Contains(statusComment(), "Failed to upgrade after 3 attempts") {
		t.Errorf("the timeline lacks Flux's message:\n%s", statusComment())
	}

	// Decommission: the Namespace goes; the finalizer holds it until the
	// report is made.
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, types.NamespacedName{Name: storeNS}, ns); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(ns.Finalizers, ","), "purrvision.dev/report") {
		t.Fatalf("namespace finalizers = %v", ns.Finalizers)
	}
	// As Flux prunes a decommissioned store: its Kustomization, then the
	// Namespace.
	if err := c.Delete(ctx, ks); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// While Kubernetes deletes what the Namespace holds (its spec
	// finalizer), the store is not gone and its name not free: nothing is
	// reported. The API server has no namespace controller here; the test
	// plays it, and finalizes the Namespace once it has looked.
	time.Sleep(2 * time.Second)
	if s := states(); s[len(s)-1] == "inactive" || strings.Contains(labels(), "decommissioned") {
		t.Fatalf("reported decommissioned while the namespace still held objects: %v, %s", s, labels())
	}
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, hr); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, types.NamespacedName{Name: storeNS}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if _, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an inactive status", func() bool { s := states(); return len(s) > 0 && s[len(s)-1] == "inactive" })
	eventually(t, "the label store/decommissioned", func() bool { return labels() == "store-request,store/decommissioned" })
	eventually(t, "the finalizer removed", func() bool {
		got := &corev1.Namespace{}
		err := c.Get(ctx, types.NamespacedName{Name: storeNS}, got)
		return err != nil || !strings.Contains(strings.Join(got.Finalizers, ","), "purrvision.dev/report")
	})

	want := []string{"in_progress", "in_progress", "success", "failure", "inactive"}
	if got := states(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("deployment statuses = %v, want exactly %v", got, want)
	}
	comments := 0
	for _, cm := range gh.Comments("acme/stores", n) {
		if strings.Contains(cm.GetBody(), "purrvision:status") {
			comments++
		}
	}
	if comments != 1 {
		t.Errorf("%d progress comments, want 1", comments)
	}
}

// TestNudger_RequestsReconcile: after a merge, the tenants GitRepository is
// annotated as `flux reconcile` does.
func TestNudger_RequestsReconcile(t *testing.T) {
	e := apiServer(t)
	ctx := context.Background()
	fluxNS := e.Namespace(t, "flux-system")
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "tenants", Namespace: fluxNS},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/tenants.git", Interval: metav1.Duration{Duration: time.Minute}}}
	if err := e.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	n := &reconcile.Nudger{Client: e.Client, Namespace: fluxNS, Name: "tenants"}
	if err := n.Nudge(ctx); err != nil {
		t.Fatal(err)
	}
	got := &sourcev1.GitRepository{}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(repo), got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations["reconcile.fluxcd.io/requestedAt"] == "" {
		t.Error("no reconcile.fluxcd.io/requestedAt annotation")
	}
}
