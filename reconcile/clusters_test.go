package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// twoClusters is the example config with clusters a (the default) and b.
func twoClusters(t *testing.T) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "examples", "purrvision.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const one = "clusters:\n  - name: default\n"
	if !strings.Contains(string(data), one) {
		t.Fatalf("examples/purrvision.yaml no longer lists %q", one)
	}
	cfg, err := config.Parse([]byte(strings.Replace(string(data), one, "clusters:\n  - name: a\n  - name: b\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tenantsWith is a tenants repo holding each store (name: cluster) in its
// cluster's folder, and the commit that put them there.
func tenantsWith(t *testing.T, cfg *config.Config, stores map[string]string, issues map[string]int) (*tenants.Repo, string) {
	t.Helper()
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	var changes []tenants.Change
	for store, cl := range stores {
		dir := renderer.StoreDir(cfg, cl, store)
		changes = append(changes,
			tenants.Change{Path: dir + "/" + renderer.FileRequest, Data: testutil.RequestCopy(store, cl, fmt.Sprintf("acme/stores#%d", issues[store]))},
			tenants.Change{Path: dir + "/" + renderer.ManifestsDir + "/kustomization.yaml", Data: []byte("resources: []\n")})
	}
	res, err := repo.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "stores on two clusters\n"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return repo, string(res.Commit)
}

// decommission plays Flux and Kubernetes removing a store: its
// Kustomization and HelmRelease go, then its Namespace empties.
func decommission(t *testing.T, e *testenv.Env, fluxNS, store string) {
	t.Helper()
	ctx := context.Background()
	c := e.Client
	ns := v1alpha1.Namespace(store)
	for _, o := range []client.Object{
		&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: fluxNS, Name: ns}},
		&helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: v1alpha1.ReleaseName}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
	} {
		if err := c.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The watcher may write the Namespace meanwhile: read it again then.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &corev1.Namespace{}
		if err := c.Get(ctx, types.NamespacedName{Name: ns}, got); err != nil {
			return err
		}
		got.Spec.Finalizers = nil
		_, err := cs.CoreV1().Namespaces().Finalize(ctx, got, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchers_OnePerCluster: two clusters' stores in one tenants repo and
// one API server (each cluster's Flux would apply only its own folder;
// here both stores' objects are in the API server both watchers read, as
// when someone creates in cluster a the objects of a store of cluster b).
// Each watcher reports only the stores the tenants repo puts in its
// cluster's folder: in its own deployment environment (the default
// cluster's the one stores had before, carrying on the deployment made at
// the merge), with timeline lines that name the cluster. Both elect a
// leader in the same namespace at once. A's watcher does not report the
// decommission of b's store either; it does report its own, the store's
// folder gone from the tenants repo's head.
func TestWatchers_OnePerCluster(t *testing.T) {
	e := apiServer(t)
	fluxNS := e.Namespace(t, "flux-system")
	cfg := twoClusters(t)
	storeA, storeB, storeC := testenv.UniqueName("cat-cafe"), testenv.UniqueName("dog-diner"), testenv.UniqueName("emu-eatery")
	gh, client_ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	tenantsRepo := forge.Repo{Owner: "acme", Name: "tenants"}
	issueA := gh.OpenIssue("acme/stores", "octocat", "Store: "+storeA, "body", "store-request", "store/provisioning")
	issueB := gh.OpenIssue("acme/stores", "octocat", "Store: "+storeB, "body", "store-request", "store/provisioning")
	issueC := gh.OpenIssue("acme/stores", "octocat", "Store: "+storeC, "body", "store-request", "store/provisioning")
	repo, head := tenantsWith(t, cfg, map[string]string{storeA: "a", storeB: "b", storeC: "a"}, map[string]int{storeA: issueA, storeB: issueB, storeC: issueC})
	ctx := context.Background()
	// The deployment the request flow made at the merge, under the name
	// every store had before clusters had watchers of their own.
	merged, err := client_.EnsureDeployment(ctx, tenantsRepo, v1alpha1.Environment(storeA), head, "provision of store "+storeA, ghstandin.BotLogin)
	if err != nil {
		t.Fatal(err)
	}
	l := testutil.Ledger(t)
	start := func(cluster string) *watcher {
		placement := &reconcile.TenantsPlacement{Config: cfg, Repo: repo}
		mgr, err := reconcile.NewManager(e.Config, reconcile.ManagerOptions{
			FluxNamespace: fluxNS, BaseDomain: "shop.example.com",
			Cluster: cluster, Placement: placement, Trees: placement,
			Reporter:       &reconcile.GitHubReporter{GitHub: client_, Tenants: tenantsRepo, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: l, DefaultCluster: "a"},
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
	wa, wb := start("a"), start("b")
	defer func() { wa.stop(t) }()
	stoppedB := false
	defer func() {
		if !stoppedB {
			wb.stop(t)
		}
	}()
	e.ReadyStore(t, fluxNS, storeA, fmt.Sprintf("acme/stores#%d", issueA), head)
	e.ReadyStore(t, fluxNS, storeB, fmt.Sprintf("acme/stores#%d", issueB), head)
	// Someone who can create objects in cluster a makes those of a's store
	// C annotated with b's store's issue: the report goes to the issue the
	// tenants repo names for C, never to the one they typed.
	e.ReadyStore(t, fluxNS, storeC, fmt.Sprintf("acme/stores#%d", issueB), head)

	envA, envB := v1alpha1.Environment(storeA), "b/"+v1alpha1.Environment(storeB)
	states := func() map[string][]string { return gh.DeploymentStates("acme/tenants") }
	last := func(env string) string {
		s := states()[env]
		if len(s) == 0 {
			return ""
		}
		return s[len(s)-1]
	}
	eventually(t, "a success status of a's store, by a's watcher", func() bool { return last(envA) == "success" })
	eventually(t, "a success status of b's store, by b's watcher", func() bool { return last(envB) == "success" })
	d, err := client_.LatestDeployment(ctx, tenantsRepo, envA, ghstandin.BotLogin)
	if err != nil || d == nil || d.ID != merged.ID {
		t.Errorf("a's store's latest deployment = %+v (%v), want the one of its merge, %d", d, err, merged.ID)
	}
	// What was reported names what the store's folder holds (its
	// manifests' tree), found through the tenants repo: the watcher's
	// cache has no Kustomization spec to read the path from.
	manifests, err := repo.TreeHash(ctx, tenants.Hash(head), renderer.StoreDir(cfg, "a", storeA)+"/"+renderer.ManifestsDir)
	if err != nil || manifests == "" {
		t.Fatalf("tree of a's store's manifests: %q, %v", manifests, err)
	}
	eventually(t, "a's store's report recorded with its manifests", func() bool {
		ns := &corev1.Namespace{}
		return e.Client.Get(ctx, types.NamespacedName{Name: v1alpha1.Namespace(storeA)}, ns) == nil &&
			ns.Annotations[v1alpha1.AnnotationReported] == string(v1alpha1.PhaseReady)+"@"+manifests
	})
	statusComment := func(n int) string {
		for _, cm := range gh.Comments("acme/stores", n) {
			if strings.Contains(cm.GetBody(), "purrvision:status") {
				return cm.GetBody()
			}
		}
		return ""
	}
	eventually(t, "b's store's timeline names cluster b", func() bool { return strings.Contains(statusComment(issueB), "Ready on cluster b") })
	eventually(t, "C's report on C's own issue", func() bool { return strings.Contains(statusComment(issueC), "Ready on cluster a") })
	if body := statusComment(issueB); strings.Contains(body, storeC) || strings.Contains(body, "on cluster a") {
		t.Errorf("a store's objects annotated with b's issue reported there:\n%s", body)
	}
	for _, tt := range []struct {
		issue      int
		want, not_ string
	}{{issueA, "Ready on cluster a", "on cluster b"}, {issueB, "Ready on cluster b", "on cluster a"}} {
		if body := statusComment(tt.issue); !strings.Contains(body, tt.want) || strings.Contains(body, tt.not_) {
			t.Errorf("issue %d's timeline: want %q and no %q:\n%s", tt.issue, tt.want, tt.not_, body)
		}
	}

	// Only b's watcher may say b's store is gone: with it stopped, a's
	// watcher sees b's store's Namespace go and reports nothing, while it
	// reports its own store's decommission (after the folder left the
	// tenants repo, so it is found in the history).
	wb.stop(t)
	stoppedB = true
	if _, err := repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "decommission " + storeA + "\n",
			Changes: []tenants.Change{
				{Path: renderer.StoreDir(cfg, "a", storeA) + "/" + renderer.FileRequest, Delete: true},
				{Path: renderer.StoreDir(cfg, "a", storeA) + "/" + renderer.ManifestsDir + "/kustomization.yaml", Delete: true}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	decommission(t, e, fluxNS, storeB)
	decommission(t, e, fluxNS, storeA)
	eventually(t, "an inactive status of a's store", func() bool { return last(envA) == "inactive" })
	eventually(t, "a's store's Namespace released by a's watcher", func() bool {
		err := e.Client.Get(ctx, types.NamespacedName{Name: v1alpha1.Namespace(storeA)}, &corev1.Namespace{})
		return apierrors.IsNotFound(err)
	})
	envC := v1alpha1.Environment(storeC)
	for env, s := range states() {
		if env != envA && env != envB && env != envC {
			t.Errorf("deployment statuses in environment %s: %v; want only %s and %s", env, s, envA, envB)
		}
	}
	if got := states()[envB]; strings.Join(got, ",") != "success" {
		t.Errorf("b's store's deployment statuses = %v, want only b's watcher's success", got)
	}
	if strings.Contains(strings.Join(gh.Labels("acme/stores", issueB), ","), "decommissioned") {
		t.Errorf("b's store labelled decommissioned by a's watcher: %v", gh.Labels("acme/stores", issueB))
	}
	// b's store's Namespace waits for b's watcher's report.
	ns := &corev1.Namespace{}
	if err := e.Client.Get(ctx, types.NamespacedName{Name: v1alpha1.Namespace(storeB)}, ns); err != nil {
		t.Fatalf("b's store's Namespace: %v; want it held by the finalizer b's watcher added", err)
	}
	patch := client.MergeFrom(ns.DeepCopy())
	ns.Finalizers = nil
	if err := e.Client.Patch(ctx, ns, patch); err != nil {
		t.Fatal(err)
	}
}
