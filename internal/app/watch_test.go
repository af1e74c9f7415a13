package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// twoClusterConfig is serveConfig's with clusters a (the default) and b,
// and the stand-in it talks to.
func twoClusterConfig(t *testing.T) (*config.Config, *ghstandin.Server) {
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
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	gh, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.TenantsRepo.URL, cfg.TenantsRepo.Repo = url, "acme/tenants"
	cfg.GitHub = config.GitHub{APIURL: gh.URL(), TokenFile: writeFile(t, "token", "test-token"), Repo: "acme/stores", BotLogin: ghstandin.BotLogin,
		WebhookSecretFile: writeFile(t, "webhook-secret", "s3cret")}
	cfg.Ledger.SigningKeyFiles = []string{testutil.LedgerKeyFile(t)}
	return cfg, gh
}

// TestNew_WatchOnly: serve --webhooks=false wires the watcher alone,
// through the same GitHub client as every watcher, without the webhook
// secret; its HTTP serves the probes and the metrics (the shared GitHub
// App's rate limit among them) and no webhook endpoint. It reports its
// own cluster's store in that cluster's environment, and not the store the
// tenants repo puts in the other cluster, whose objects are in the same
// API server.
func TestNew_WatchOnly(t *testing.T) {
	e := testenv.Shared(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, gh := twoClusterConfig(t)
	cfg.Flux.Namespace = e.Namespace(t, "flux-system")
	storeA, storeB := testenv.UniqueName("cat-cafe"), testenv.UniqueName("dog-diner")
	issueA := gh.OpenIssue("acme/stores", "octocat", "Store: "+storeA, "form", v1alpha1.LabelRequest)
	issueB := gh.OpenIssue("acme/stores", "octocat", "Store: "+storeB, "form", v1alpha1.LabelRequest)
	repo, err := tenants.Open(ctx, tenants.Options{URL: cfg.TenantsRepo.URL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	var changes []tenants.Change
	issues := map[string]int{storeA: issueA, storeB: issueB}
	for store, cl := range map[string]string{storeA: "a", storeB: "b"} {
		changes = append(changes, tenants.Change{Path: renderer.StoreDir(cfg, cl, store) + "/" + renderer.ManifestsDir + "/kustomization.yaml", Data: []byte("resources: []\n")},
			tenants.Change{Path: renderer.StoreDir(cfg, cl, store) + "/" + renderer.FileRequest, Data: testutil.RequestCopy(store, cl, fmt.Sprintf("acme/stores#%d", issues[store]))})
	}
	res, err := repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "stores on two clusters\n"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The deployment that serves the webhooks starts the ledger.
	if _, err := app.New(ctx, cfg, app.Parts{}); err != nil {
		t.Fatal(err)
	}

	watchOnly := *cfg
	watchOnly.GitHub.WebhookSecretFile = ""
	a, err := app.New(ctx, &watchOnly, app.Parts{WatchOnly: true, Cluster: e.Config,
		Watcher: app.WatcherOptions{Cluster: "b", LeaderElection: true, LeaderElectionNamespace: cfg.Flux.Namespace}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.GitHub.(*ghclient.Client); !ok || a.Service != nil || a.Watcher == nil || a.Cluster != "b" {
		t.Fatalf("app = GitHub %T, Service %v, Watcher %v, Cluster %q; want the GitHub client, no service, a watcher of b", a.GitHub, a.Service, a.Watcher, a.Cluster)
	}
	base, done := serve(ctx, t, a)
	ready(t, base)
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{path: "/healthz", code: http.StatusOK, body: "ok"},
		{path: "/readyz", code: http.StatusOK, body: "ok"},
		{path: "/metrics", code: http.StatusOK, body: "purrvision_github_rate_limit_remaining"},
		{path: "/", code: http.StatusNotFound},
	} {
		if code, body := get(t, base+tt.path, false); code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.300s", tt.path, code, tt.code, tt.body, body)
		}
	}
	resp, err := http.Post(base+"/webhook", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /webhook: %s, want 404: a watcher serves no webhooks", resp.Status)
	}

	for store, issue := range map[string]int{storeA: issueA, storeB: issueB} {
		e.ReadyStore(t, cfg.Flux.Namespace, store, fmt.Sprintf("acme/stores#%d", issue), string(res.Commit))
	}
	envB := "b/" + v1alpha1.Environment(storeB)
	holds := func(context.Context) (bool, error) {
		s := gh.DeploymentStates("acme/tenants")[envB]
		return len(s) > 0 && s[len(s)-1] == "success", nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, holds); err != nil {
		t.Fatalf("timed out waiting for: a success status in %s (%v)", envB, gh.DeploymentStates("acme/tenants"))
	}
	// The watcher's reports went through the App's one client, counted
	// and conditional (nothing else of this process calls GitHub).
	if code, body := get(t, base+"/metrics", false); code != http.StatusOK || !strings.Contains(body, "purrvision_github_api_calls_total{") {
		t.Errorf("GET /metrics after the reports: %d, want the GitHub client's calls counted:\n%.2000s", code, body)
	}
	for env, s := range gh.DeploymentStates("acme/tenants") {
		if env != envB {
			t.Errorf("deployment statuses in %s: %v; b's watcher reports only b's store, in %s", env, s, envB)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of its context ending")
	}
}

// TestNew_WatcherRefusals: a watch-only service needs a cluster, and a
// watcher a cluster of the config's, which the error lists.
func TestNew_WatcherRefusals(t *testing.T) {
	cfg, _ := twoClusterConfig(t)
	ctx := context.Background()
	if _, err := app.New(ctx, cfg, app.Parts{WatchOnly: true}); !errors.Is(err, app.ErrNothingToRun) {
		t.Errorf("watch-only without a cluster: %v, want ErrNothingToRun", err)
	}
	for _, tt := range []struct{ name, want string }{{"", "a"}, {"b", "b"}} {
		if got, err := app.WatcherCluster(cfg, tt.name); err != nil || got != tt.want {
			t.Errorf("WatcherCluster(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := app.WatcherCluster(cfg, "mars"); err == nil || !strings.Contains(err.Error(), `cluster "mars" is not one of the config's clusters (a, b)`) {
		t.Errorf("WatcherCluster(mars): %v, want the clusters listed", err)
	}
}
