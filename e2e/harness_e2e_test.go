//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/service"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

const (
	requestsRepo   = "acme/stores"
	tenantsRepo    = "acme/tenants"
	chartTag       = "woocommerce-0.1.0"
	brokenChartTag = "woocommerce-0.1.1-broken"
)

// world is a local cluster with Flux, a git server holding the tenants
// repo and the chart, the GitHub stand-in and a Purrvision service with its
// watcher, all on loopback.
type world struct {
	t       *testing.T
	cluster *localcluster.Cluster
	git     *gitserver.Server
	bare    string
	gh      *ghstandin.Server
	cfg     *config.Config
	ageID   *age.X25519Identity
	svc     *service.Service
	start   time.Time
	mu      sync.Mutex
}

func (w *world) stage(name string, since time.Time) {
	w.t.Logf("stage %-52s %8.2fs", name, time.Since(since).Seconds())
}

func newWorld(t *testing.T, mutate func(*config.Config)) *world {
	t.Helper()
	w := &world{t: t, start: time.Now(), ageID: testutil.AgeIdentity(t)}
	bins, err := localcluster.BinariesFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	w.cluster, err = localcluster.Start(startCtx, localcluster.Options{Dir: t.TempDir(), Bins: bins,
		Progress: func(stage string, took time.Duration) {
			t.Logf("  cluster: %-42s %v", stage, took.Round(time.Millisecond))
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.cluster.Stop)
	w.stage("cluster up", t0)

	t0 = time.Now()
	w.git, err = gitserver.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if w.bare, err = w.git.Init("tenants", "main"); err != nil {
		t.Fatal(err)
	}
	chartBare, err := w.git.Init("purrvision", "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.git.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.git.Close() })
	pushChart(t, chartBare)
	seed, err := tenants.Open(ctx, tenants.Options{URL: w.git.URL("tenants"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "tenants/default/README.md", Data: []byte("Stores of the default cluster.\n")}}, Message: "Start the tenants repo\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}

	w.gh, err = ghstandin.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.gh.Close() })
	w.gh.AddRepo(requestsRepo, "main", "")
	w.gh.AddRepo(tenantsRepo, "main", w.bare)

	w.cfg = testutil.ExampleConfig(t)
	w.cfg.SOPS.AgeRecipients = []string{w.ageID.Recipient().String()}
	w.cfg.TenantsRepo.URL = w.git.URL("tenants")
	w.cfg.TenantsRepo.Repo = tenantsRepo
	w.cfg.GitHub = config.GitHub{APIURL: w.gh.URL(), Token: "t", Repo: requestsRepo, BotLogin: ghstandin.BotLogin}
	w.cfg.Chart.Source = config.ChartSource{Kind: config.SourceGit, URL: w.git.URL("purrvision"), Tag: chartTag, Path: "./charts/woocommerce", Interval: "1h"}
	w.cfg.Flux.Interval = "1m"
	for name, p := range w.cfg.Plans {
		p.StorageClass = "standard"
		w.cfg.Plans[name] = p
	}
	if mutate != nil {
		mutate(w.cfg)
	}
	w.prepareCluster(ctx)
	w.stage("git, GitHub stand-in and cluster objects", t0)

	t0 = time.Now()
	gh, err := ghclient.New(ghclient.Options{APIURL: w.gh.URL(), Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := tenants.Open(ctx, tenants.Options{URL: w.cfg.TenantsRepo.URL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	mgr, err := reconcile.NewManager(w.cluster.Config, reconcile.ManagerOptions{FluxNamespace: localcluster.FluxNamespace, BaseDomain: w.cfg.BaseDomain,
		Reporter: &reconcile.GitHubReporter{GitHub: gh, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: ghstandin.BotLogin}})
	if err != nil {
		t.Fatal(err)
	}
	nudger := &reconcile.Nudger{Client: w.cluster.Client, Namespace: localcluster.FluxNamespace, Name: "tenants"}
	w.svc, err = service.New(service.Options{Config: w.cfg, Secret: []byte("e2e-secret"), GitHub: gh, Tenants: repo, Log: log, Nudge: nudger.Nudge,
		Queue: webhook.QueueOptions{BaseBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.svc.Handler)
	t.Cleanup(srv.Close)
	mctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = mgr.Start(mctx) }()
	go w.svc.Run(mctx)
	w.gh.SetWebhook(ghstandin.Webhook{URL: srv.URL + "/webhook", Secret: []byte("e2e-secret")})
	w.stage("purrvision serve and its watcher", t0)
	return w
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// pushChart puts charts/woocommerce in the chart repo, tagged.
func pushChart(t *testing.T, bare string) {
	t.Helper()
	work := t.TempDir()
	src := filepath.Join(testutil.RepoRoot(t), "charts", "woocommerce")
	if out, err := exec.Command("cp", "-r", src, filepath.Join(work, "woocommerce")).CombinedOutput(); err != nil {
		t.Fatalf("copying the chart: %v\n%s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(work, "repo", "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(work, "woocommerce"), filepath.Join(work, "repo", "charts", "woocommerce")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(work, "repo")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "chart"}, {"tag", chartTag}} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// A broken release of the chart: its schema demands a value no store
	// has, so helm-controller cannot install it.
	schema := filepath.Join(dir, "charts", "woocommerce", "values.schema.json")
	data, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(data, []byte(`"required": ["store", `), []byte(`"required": ["licenseKey", "store", `), 1)
	if bytes.Equal(broken, data) {
		t.Fatal("could not break the chart schema")
	}
	if err := os.WriteFile(schema, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"commit", "-q", "-am", "broken chart"}, {"tag", brokenChartTag}, {"push", "-q", bare, "main", "--tags"}} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// prepareCluster adds what a real cluster has: storage to bind the stores'
// volumes, the age key Flux decrypts with, and flux/tenants pointed at the
// loopback tenants repo.
func (w *world) prepareCluster(ctx context.Context) {
	t := w.t
	c := w.cluster.Client
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "kubernetes.io/no-provisioner",
		AllowVolumeExpansion: ptr.To(true)}
	if err := c.Create(ctx, sc); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pv-%d", i)}, Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:              "standard",
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fmt.Sprintf("/tmp/pv-%d", i)}},
		}}
		if err := c.Create(ctx, pv); err != nil {
			t.Fatal(err)
		}
	}
	key := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: localcluster.FluxNamespace},
		StringData: map[string]string{"age.agekey": w.ageID.String()}}
	if err := c.Create(ctx, key); err != nil {
		t.Fatal(err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(testutil.RepoRoot(t), "flux", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("https://github.com/example/tenants.git"), []byte(w.git.URL("tenants")))
	if err := w.cluster.Apply(ctx, data); err != nil {
		t.Fatal(err)
	}
}

func formBody(name, plan string) string {
	return provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: "owner@example.com"}))
}
