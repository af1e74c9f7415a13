// Package devenv brings up the whole Purrvision system on one machine for
// `purrvision dev`: a local cluster with Flux, a git server on loopback with
// the tenants repo and the store chart, the GitHub stand-in, and the
// service `purrvision serve` runs, wired by internal/app, with its watcher.
// No Docker, no cloud, no GitHub token. It is development tooling: the
// production binary does not link it.
package devenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/charts"
	"github.com/purrvision/purrvision/examples"
	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/setup"
	"github.com/purrvision/purrvision/templates"
	"github.com/purrvision/purrvision/tenants"
)

// Repositories on the stand-in.
const (
	RequestsRepo = "acme/stores"
	TenantsRepo  = "acme/tenants"
	// ChartTag pins the store chart in the chart repo.
	ChartTag = "woocommerce-0.1.0"
	// Reviewer maintains both repositories: `purrvision dev merge`
	// approves and merges as them by default, and they may steer a
	// rollout with commands on its tracking issue.
	Reviewer = "reviewer"
	// Requester opens the example store's request; they may push a
	// branch of their own to the tenants repo (`dev request --pr`).
	Requester = "octocat"
)

// People are the dev system's people who push to the tenants repo, each
// with a token of theirs (ghstandin.Server.Token).
var People = []string{Reviewer, Requester}

// Populate adds the dev system's repositories to a stand-in, the tenants
// repo on its bare git repository, and its people's permissions: Reviewer
// maintains the tenants repo, since merging needs write access, and the
// requests repo, since rollout commands do; Requester writes to the
// tenants repo, since a request by pull request is a branch there.
// Reviewer is a code owner once ApplyRules runs.
func Populate(gh *ghstandin.Server, tenantsBare string) {
	gh.AddRepo(RequestsRepo, "main", "")
	gh.AddRepo(TenantsRepo, "main", tenantsBare)
	gh.SetPermission(TenantsRepo, Reviewer, "maintain")
	gh.SetPermission(RequestsRepo, Reviewer, "maintain")
	gh.SetPermission(TenantsRepo, Requester, "write")
}

// Env is a running system.
type Env struct {
	// Cluster is the first cluster, the config's default, where the
	// service serves the webhooks and watches; Clusters are all of them,
	// in the config's order, each with its own API server, Flux and
	// watcher.
	Cluster  *localcluster.Cluster
	Clusters []*localcluster.Cluster
	// Watchers are the watch-only services (serve --webhooks=false) of
	// Clusters[1:].
	Watchers []*app.App
	Git      *gitserver.Server
	GitHub   *ghstandin.Server
	Config   *config.Config
	// App is the service, as internal/app wires it for serve.
	App *app.App
	// URL is where the service listens (status page at /).
	URL string
	// TenantsBare, ChartBare and RequestsBare are the bare git
	// repositories on disk.
	TenantsBare, ChartBare, RequestsBare string
	// AgeIdentity decrypts what Flux decrypts.
	AgeIdentity *age.X25519Identity
	// stopped is closed when the service has stopped; err is then why.
	stopped chan struct{}
	err     error
	stops   []func()
	// stopServe stops the service alone (Reconfigure).
	stopServe func()
	resync    time.Duration
}

// PushURL is the tenants repo's git URL with login's token: how login
// pushes, under the rules.
func (e *Env) PushURL(login string) string {
	return e.Git.URLAs("tenants", login, e.GitHub.Token(login))
}

// Options configure Start.
type Options struct {
	Dir      string
	Bins     localcluster.Binaries
	Progress func(stage string, took time.Duration)
	// Configure, when set, changes the config before it is checked.
	Configure func(*config.Config)
	// ResyncInterval is how often the service reconciles every open
	// request and runs every open rollout's gate; DefaultResync when 0.
	ResyncInterval time.Duration
	// Clusters is how many local clusters to run (1 when 0), each named
	// in the config (ClusterNames) with its own capacity and region, on
	// one tenants repo and one GitHub stand-in.
	Clusters int
}

// ClusterNames are the dev system's clusters for n of them: the example
// config's default first.
func ClusterNames(n int) []string {
	names := []string{"default", "second", "third", "fourth"}
	if n <= 1 {
		return names[:1]
	}
	return names[:min(n, len(names))]
}

// DevCapacity is the CPU each dev cluster of several offers: four small
// stores, or one large.
const DevCapacity = "4"

// multiCluster gives the config n clusters, each with DevCapacity CPUs
// and a region of its own, so placement has something to choose by.
func multiCluster(cfg *config.Config, n int) {
	cpu := resource.MustParse(DevCapacity)
	cfg.Clusters = nil
	for i, name := range ClusterNames(n) {
		q := cpu.DeepCopy()
		cfg.Clusters = append(cfg.Clusters, config.Cluster{Name: name, Labels: map[string]string{"region": []string{"eu", "us", "ap", "sa"}[i]}, Capacity: config.Capacity{CPU: &q}})
	}
}

// DefaultResync is the dev system's resync interval: shorter than
// serve's, so a rollout's next wave opens soon after the last is Ready.
const DefaultResync = 30 * time.Second

// Start brings everything up; Stop takes it down. The service logs with
// the logger in ctx, and keeps it after ctx ends.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	e := &Env{stopped: make(chan struct{}), resync: o.ResyncInterval}
	if e.resync == 0 {
		e.resync = DefaultResync
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	step := func(name string, f func() error) error { return localcluster.Step(o.Progress, name, f) }
	names := ClusterNames(o.Clusters)
	for i, name := range names {
		stage, dir := "local cluster with Flux", filepath.Join(o.Dir, "cluster")
		if len(names) > 1 {
			stage, dir = "local cluster "+name+" with Flux", filepath.Join(o.Dir, "cluster-"+name)
		}
		if err := step(stage, func() error {
			c, err := localcluster.Start(ctx, localcluster.Options{Dir: dir, Bins: o.Bins})
			if c != nil {
				e.Clusters = append(e.Clusters, c)
				e.stops = append(e.stops, c.Stop)
			}
			return err
		}); err != nil {
			return nil, err
		}
		if i == 0 {
			e.Cluster = e.Clusters[0]
		}
	}
	if err := step("git server with the tenants repo and the chart", func() error {
		var err error
		if e.Git, err = gitserver.New(filepath.Join(o.Dir, "git")); err != nil {
			return err
		}
		if e.TenantsBare, err = e.Git.Init("tenants", "main"); err != nil {
			return err
		}
		if e.ChartBare, err = e.Git.Init("purrvision", "main"); err != nil {
			return err
		}
		// The requests repo holds what an install keeps there: the
		// issue form `purrvision setup` writes.
		if e.RequestsBare, err = e.Git.Init("stores", "main"); err != nil {
			return err
		}
		// git's own complaints (a compare-and-swap push that lost a
		// race) go to a log, not dev's terminal.
		gitLog, err := os.OpenFile(filepath.Join(o.Dir, "git-http-backend.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("opening the git server's log: %w", err)
		}
		e.Git.Stderr = gitLog
		if err := e.Git.Start(); err != nil {
			_ = gitLog.Close()
			return err
		}
		e.stops = append(e.stops, func() { _ = e.Git.Close(); _ = gitLog.Close() })
		if err := PushChart(filepath.Join(o.Dir, "chart-work"), e.ChartBare); err != nil {
			return err
		}
		seed, err := tenants.Open(ctx, tenants.Options{URL: e.Git.URL("tenants"), Branch: "main"})
		if err != nil {
			return err
		}
		_, err = seed.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			// A folder per cluster, for its tenants Kustomization to apply.
			var changes []tenants.Change
			for _, name := range names {
				changes = append(changes, tenants.Change{Path: "tenants/" + name + "/README.md", Data: []byte("Stores of cluster " + name + ".\n")})
			}
			return &tenants.Plan{Changes: changes, Message: "Start the tenants repo\n"}, nil
		})
		if err != nil {
			return err
		}
		requests, err := tenants.Open(ctx, tenants.Options{URL: e.Git.URL("stores"), Branch: "main"})
		if err != nil {
			return err
		}
		_, err = requests.Update(ctx, "main", func(tenants.State, *tenants.Snapshot, *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Changes: []tenants.Change{{Path: setup.IssueFormPath, Data: templates.RequestStoreForm}},
				Message: "Add the store request form, as purrvision setup proposes it\n"}, nil
		})
		return err
	}); err != nil {
		return nil, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	e.AgeIdentity = id
	if err := step("GitHub stand-in and config", func() error {
		if e.GitHub, err = ghstandin.New(); err != nil {
			return err
		}
		e.stops = append(e.stops, func() { _ = e.GitHub.Close() })
		Populate(e.GitHub, e.TenantsBare)
		e.GitHub.AddRepo(RequestsRepo, "main", e.RequestsBare) // with its git, for setup's issue form
		e.GitHub.SetPermission(RequestsRepo, Reviewer, "maintain")
		cfg, err := config.Parse(examples.Config)
		if err != nil {
			return err
		}
		cfg.SOPS.AgeRecipients = []string{id.Recipient().String()}
		cfg.TenantsRepo.URL, cfg.TenantsRepo.Repo = e.Git.URL("tenants"), TenantsRepo
		secretFile, err := writeWebhookSecret(o.Dir)
		if err != nil {
			return err
		}
		cfg.GitHub = config.GitHub{APIURL: e.GitHub.URL(), Token: "dev", Repo: RequestsRepo, BotLogin: ghstandin.BotLogin, WebhookSecretFile: secretFile,
			PlatformTeam: PlatformTeam, SetupAppID: ghstandin.AppID} // the service checks the settings setup wrote
		keyFile, err := writeLedgerKey(o.Dir)
		if err != nil {
			return err
		}
		cfg.Ledger.SigningKeyFiles = []string{keyFile}
		cfg.Chart.Source = config.ChartSource{Kind: config.SourceGit, URL: e.Git.URL("purrvision"), Tag: ChartTag, Path: "./charts/woocommerce", Interval: "1h"}
		cfg.Flux.Interval = "1m"
		for name, p := range cfg.Plans {
			p.StorageClass = "standard"
			cfg.Plans[name] = p
		}
		if len(names) > 1 {
			multiCluster(cfg, len(names))
		}
		if o.Configure != nil {
			o.Configure(cfg)
		}
		e.Config = cfg
		return cfg.Validate()
	}); err != nil {
		return nil, err
	}
	// Production's rules, as `purrvision setup` writes them: from here on
	// the bot pushes with the config's token, people with theirs.
	if err := step("purrvision setup's rules on the stand-in and the git server", func() error {
		return ApplyRules(ctx, e.GitHub, e.Git, e.Config, RulesOptions{CodeOwners: []string{Reviewer}})
	}); err != nil {
		return nil, err
	}
	for i, c := range e.Clusters {
		stage := "cluster storage, age key and the tenants source"
		if len(e.Clusters) > 1 {
			stage += " of " + e.Config.ClusterNames()[i]
		}
		if err := step(stage, func() error { return e.prepareCluster(ctx, c, e.Config.ClusterNames()[i], id) }); err != nil {
			return nil, err
		}
	}
	if err := step("Purrvision's deployment, applied by Flux (pods simulated)", func() error {
		return e.deployPurrvision(ctx, filepath.Join(o.Dir, "deploy-work"))
	}); err != nil {
		return nil, err
	}
	if err := step("purrvision serve and its watcher", func() error { return e.serve(ctx) }); err != nil {
		return nil, err
	}
	return e, nil
}

// Stop stops everything, newest first.
func (e *Env) Stop() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
	e.stops = nil
}

// PushChart commits the embedded store chart to the chart repo (bare),
// tagged ChartTag, from a work folder.
func PushChart(work, bare string) error {
	dir := filepath.Join(work, "repo")
	err := fs.WalkDir(charts.FS(), charts.WooCommerce, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(charts.FS(), p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, "charts", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "chart"}, {"tag", ChartTag}, {"push", "-q", bare, "main", "--tags"}} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			return fmt.Errorf("git %v: %w: %s", args, err, out)
		}
	}
	return nil
}

// prepareCluster gives cluster (the config's cluster name) what a real one
// has: a storage class and volumes, the age key Flux decrypts with, and
// the tenants source with the Kustomization of its own folder.
func (e *Env) prepareCluster(ctx context.Context, cluster *localcluster.Cluster, name string, id *age.X25519Identity) error {
	c := cluster.Client
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "kubernetes.io/no-provisioner", AllowVolumeExpansion: ptr.To(true)}
	if err := c.Create(ctx, sc); err != nil {
		return err
	}
	for i := range 16 {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pv-%d", i)}, Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("200Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: "standard",
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fmt.Sprintf("/tmp/purrvision-dev-pv-%d", i)}},
		}}
		if err := c.Create(ctx, pv); err != nil {
			return err
		}
	}
	flux := e.Config.Flux
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: flux.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	key := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: flux.DecryptionSecret, Namespace: flux.Namespace},
		StringData: map[string]string{"age.agekey": id.String()}}
	if err := c.Create(ctx, key); err != nil {
		return err
	}
	objs, err := tenantsSource(e.Config, e.Git.URLAs("tenants", "", ""), name, len(e.Clusters) > 1) // reads need no token
	if err != nil {
		return err
	}
	for _, data := range objs {
		if err := cluster.Apply(ctx, data); err != nil {
			return err
		}
	}
	return nil
}

// tenantsSource is what `purrvision flux` writes into tenants/ for
// cluster (flux.Tenants: the tenants GitRepository, the Kustomization of
// the cluster's folder, and the service accounts both Kustomization
// levels act as, with their RBAC), from the dev config but with url, the
// git server's URL Flux reads without a token. With several clusters the
// source is fetched every 15 s: a merge's nudge reaches only the cluster
// that serves the webhooks, and the others would wait a minute.
func tenantsSource(cfg *config.Config, url, cluster string, several bool) ([][]byte, error) {
	own := *cfg
	own.TenantsRepo.URL = url
	objs, err := flux.Tenants(&own, cluster)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(objs))
	for _, obj := range objs {
		if several && obj["kind"] == "GitRepository" {
			if err := unstructured.SetNestedField(obj, "15s", "spec", "interval"); err != nil {
				return nil, fmt.Errorf("setting the tenants source's interval: %w", err)
			}
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}

// writeWebhookSecret writes a fresh webhook secret into dir, readable by
// its owner only, and returns the file's path.
func writeWebhookSecret(dir string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "webhook-secret")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(p, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the webhook secret: %w", err)
	}
	return p, nil
}

// writeLedgerKey writes a new ledger signing key for this environment's
// new tenants repo, replacing the one a run before left.
func writeLedgerKey(dir string) (string, error) {
	p := filepath.Join(dir, "ledger-key")
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("writing the ledger key: %w", err)
	}
	if err := ledger.WriteKeyFile(p); err != nil {
		return "", err
	}
	return p, nil
}

// serve starts the service as `purrvision serve` runs it, on a free
// loopback port, and points the stand-in's webhook at it.
func (e *Env) serve(ctx context.Context) error {
	a, err := app.New(ctx, e.Config, app.Parts{Cluster: e.Cluster.Config, StatusPage: app.StatusPageOptions{TTL: 2 * time.Second}, ResyncInterval: e.resync})
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(e.Config.GitHub.WebhookSecretFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.App = a
	e.URL = "http://" + ln.Addr().String()
	// The other clusters' watchers, as their overlays run them: serve
	// --cluster <name> --webhooks=false.
	watchers := make([]*app.App, 0, len(e.Clusters)-1)
	listeners := make([]net.Listener, 0, len(e.Clusters)-1)
	for i, c := range e.Clusters[1:] {
		name := e.Config.ClusterNames()[i+1]
		w, err := app.New(ctx, e.Config, app.Parts{Cluster: c.Config, WatchOnly: true, Watcher: app.WatcherOptions{Cluster: name}})
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("the watcher of cluster %s: %w", name, err)
		}
		wln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			_ = ln.Close()
			return err
		}
		watchers, listeners = append(watchers, w), append(listeners, wln)
	}
	e.Watchers = watchers
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopped := e.stopped
	var wg sync.WaitGroup
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && e.err == nil && runCtx.Err() == nil {
			e.err = err
		}
		cancel() // one part down takes the system down, as serve does
	}
	for i, w := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Serve(runCtx, listeners[i], 30*time.Second); err != nil {
				fail(fmt.Errorf("the watcher of cluster %s: %w", w.Cluster, err))
			}
		}()
	}
	go func() {
		fail(a.Serve(runCtx, ln, 30*time.Second))
		wg.Wait()
		close(stopped)
	}()
	first := e.stopServe == nil
	e.stopServe = func() {
		cancel()
		<-stopped
	}
	if first {
		e.stops = append(e.stops, func() { e.stopServe() })
	}
	e.GitHub.SetWebhook(ghstandin.Webhook{URL: e.URL + "/webhook", Secret: bytes.TrimSpace(secret)})
	return nil
}

// Reconfigure changes the running service's config: it stops the
// service, applies change to a copy of the config, checks it, and starts
// the service again with it, keeping the cluster, the git server and the
// stand-in (and what they hold). A config change is a restart in
// production too. On an invalid config the service is not stopped.
func (e *Env) Reconfigure(ctx context.Context, change func(*config.Config)) error {
	data, err := yaml.Marshal(e.Config)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return fmt.Errorf("copying the config: %w", err)
	}
	change(cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.stopServe()
	if err := e.Err(); err != nil {
		return fmt.Errorf("the service had stopped: %w", err)
	}
	e.Config, e.stopped, e.err = cfg, make(chan struct{}), nil
	return e.serve(ctx)
}

// Stopped is closed when the service stops, on Stop or when its watcher
// fails; Err then says why.
func (e *Env) Stopped() <-chan struct{} { return e.stopped }

// Err is why the service stopped; nil while it runs, or when it stopped
// because it was asked to.
func (e *Env) Err() error {
	select {
	case <-e.stopped:
		return e.err
	default:
		return nil
	}
}
