// Package app wires the Purrvision service from a config and its outside
// parts: the GitHub client, the tenants repo clone, the cluster the watcher
// reads, the clock, the random source, the metrics registry and the status
// page. `purrvision serve`, `purrvision dev` and the service tests all build
// it here, so they cannot drift; `purrvision audit` opens GitHub and the
// tenants repo through Connect.
//
// The logger travels in the context (internal/logctx): New and Serve log
// with the one they are given.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/service"
	"github.com/purrvision/purrvision/internal/setup"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

// GitHub is what the whole service asks of GitHub: the sum of the
// interfaces its parts declare where they use them (the request flow and
// the rollouts, the watcher's reporter, the status page, the ledger).
// There is no interface of the adapter's whole surface; ghclient.Client
// implements this one.
type GitHub interface {
	service.GitHub
	reconcile.ReportGitHub
	statuspage.RepoCommentLister
	ledger.GitHub
	setup.Reader
	Identifier
}

// Identifier is what learning the bot's login asks of GitHub.
type Identifier interface {
	// Identity is the login the client acts as: for an App, its slug
	// followed by [bot] (GET /app); for a token, its user (GET /user).
	Identity(ctx context.Context) (string, error)
}

var _ GitHub = (*ghclient.Client)(nil)

// Parts are what the service runs with besides its config. Every field is
// optional: what is left out is built from the config, or left off.
type Parts struct {
	// GitHub is the GitHub client; built from config.GitHub (token, token
	// file or App, with its calls counted in Registry) when nil.
	GitHub GitHub
	// Tenants is the tenants repo clone; cloned from config.TenantsRepo with
	// the GitHub credentials when nil.
	Tenants *tenants.Repo
	// Cluster is where the watcher reads the stores' Flux objects and the
	// nudger annotates the tenants GitRepository; with none, neither runs.
	Cluster *rest.Config
	// Watcher configures the watcher when Cluster is set.
	Watcher WatcherOptions
	// Rand is crypto/rand.Reader when nil.
	Rand io.Reader
	// Now is time.Now when nil.
	Now func() time.Time
	// Registry is where the metrics are registered and what /metrics
	// serves; service.NewRegistry() when nil.
	Registry *prometheus.Registry
	// StatusPage configures GET /.
	StatusPage StatusPageOptions
	// Queue sizes the work queue.
	Queue webhook.QueueOptions
	// ResyncInterval is how often every open request is reconciled again;
	// 10m when 0.
	ResyncInterval time.Duration
	// StartBackoff is how long Serve waits before trying the start again
	// while GitHub does not answer, doubling each time up to a minute;
	// 1s when 0.
	StartBackoff time.Duration
	// WatchOnly runs the watcher alone (serve --webhooks=false), one per
	// cluster beside the one deployment that serves the webhooks: no
	// webhook endpoint, no request handling, no resync, no status page,
	// and the ledger is left for that deployment to start. It needs
	// Cluster, and GitHub and the tenants repo come through Connect as
	// they do for every watcher.
	WatchOnly bool
}

// WatcherOptions configure the watcher.
type WatcherOptions struct {
	// Cluster is the cluster the watcher runs in, one of the config's
	// clusters; the first when empty. It reports only that cluster's
	// stores (the folders of the tenants repo decide, not the cluster's
	// objects).
	Cluster string
	// LeaderElection lets several replicas run; one watches at a time, one
	// per cluster.
	LeaderElection          bool
	LeaderElectionNamespace string
}

// StatusPageOptions configure the status page; its basic auth comes from
// config.statusPage.auth.
type StatusPageOptions struct {
	// TTL is how long the store list is cached; 30s when 0.
	TTL time.Duration
}

// App is the wired service, ready to Serve.
type App struct {
	Config *config.Config
	// GitHub and Tenants are the parts given, or the ones built.
	GitHub  GitHub
	Tenants *tenants.Repo
	// Identity is the login the bot acts as, which every part reads to
	// know the bot's own comments, pull requests, statuses and
	// deployments: unknown until Start learns it from GitHub (Identify),
	// before any part acts.
	Identity *forge.Identity
	// Ledger is the one ledger every part of the service shares: its
	// records signed and verified with the keys of ledger.signingKeyFiles.
	Ledger *ledger.Ledger
	// Service holds the provisioner and the work queue; nil when
	// Parts.WatchOnly.
	Service *service.Service
	// Settings checks GitHub's settings against what `purrvision setup`
	// writes, at start and after each resync; nil when Parts.WatchOnly.
	Settings *setup.Monitor
	// Handler serves POST /webhook, GET /healthz, /readyz, /metrics and the
	// status page at GET /; only GET /healthz, /readyz and /metrics when
	// Parts.WatchOnly.
	Handler http.Handler
	// Cluster is the cluster the watcher reports; "" without a watcher.
	Cluster string
	// Watcher follows the stores on the cluster; nil without Parts.Cluster.
	Watcher manager.Manager
	// Nudge asks Flux to fetch the tenants repo now; nil without a cluster.
	Nudge    func(context.Context) error
	Registry *prometheus.Registry

	// readiness is what GET /readyz says; not ready until Start succeeds.
	readiness    *service.Readiness
	fetched      bool // the tenants clone was given, or fetched by Start
	startBackoff time.Duration
}

// New wires the service. ctx bounds the clone of the tenants repo and
// carries the logger.
func New(ctx context.Context, cfg *config.Config, p Parts) (*App, error) {
	if p.WatchOnly {
		return newWatchOnly(ctx, cfg, p)
	}
	if err := cfg.ServeErrors(); err != nil {
		return nil, err
	}
	secret, err := readSecret("github.webhookSecretFile", cfg.GitHub.WebhookSecretFile)
	if err != nil {
		return nil, err
	}
	previous, err := readSecret("github.webhookSecretPreviousFile", cfg.GitHub.WebhookSecretPreviousFile)
	if err != nil {
		return nil, err
	}
	keys, err := ledger.LoadKeys(cfg.Ledger.SigningKeyFiles)
	if err != nil {
		return nil, err
	}
	backupCreds, err := cfg.LoadBackupCredentials()
	if err != nil {
		return nil, err
	}
	a := newApp(cfg, p)
	if err := a.connect(ctx, keys); err != nil {
		return nil, err
	}
	a.Settings = &setup.Monitor{Config: cfg, AppID: cfg.GitHub.CheckAppID(), Reader: a.GitHub, Now: p.Now}
	if err := a.Settings.Register(a.Registry); err != nil {
		return nil, err
	}
	page, err := a.statusPage(p)
	if err != nil {
		return nil, err
	}
	if p.Cluster != nil {
		if err := a.setupWatcher(p); err != nil {
			return nil, err
		}
		c, err := client.New(p.Cluster, client.Options{})
		if err != nil {
			return nil, fmt.Errorf("a client of the cluster for the status page: %w", err)
		}
		now := p.Now
		if now == nil {
			now = time.Now
		}
		page.Exposure = &cachedExposure{r: newExposureReader(c, cfg, p.Now), ttl: 15 * time.Second, now: now}
	}
	a.Service, err = service.New(ctx, service.Options{
		Config: cfg, Secret: secret, PreviousSecret: previous, GitHub: a.GitHub, Tenants: a.Tenants, Ledger: a.Ledger, Identity: a.Identity, Rand: p.Rand, Now: p.Now,
		Queue: p.Queue, Nudge: a.Nudge, StatusPage: page, Registry: a.Registry, ResyncInterval: p.ResyncInterval,
		SettingsCheck: a.Settings, BackupCredentials: backupCreds,
	})
	if err != nil {
		return nil, err
	}
	a.Handler = a.Service.Handler
	a.readiness = a.Service.Readiness
	return a, nil
}

func newApp(cfg *config.Config, p Parts) *App {
	return &App{Config: cfg, GitHub: p.GitHub, Tenants: p.Tenants, Identity: &forge.Identity{}, Registry: p.Registry, fetched: p.Tenants != nil,
		startBackoff: p.StartBackoff, readiness: service.NewReadiness("starting")}
}

// Start does, once, what the service needs of GitHub and the tenants repo
// before it works: the first fetch of the tenants clone, learning the
// bot's login (Identify), and the start of the ledger (once per tenants
// repo). Serve calls it until it succeeds; New makes no call to GitHub,
// so an outage at start is not a crash.
func (a *App) Start(ctx context.Context) error {
	if !a.fetched {
		if err := a.Tenants.Fetch(ctx); err != nil {
			return err
		}
		a.fetched = true
	}
	if a.Identity.Login() == "" {
		login, err := Identify(ctx, a.GitHub, a.Config.GitHub.BotLogin)
		if err != nil {
			return err
		}
		a.Identity.Learn(login)
	}
	if a.Service == nil {
		return nil // a watcher alone: the ledger is the serving deployment's
	}
	return a.startLedger(ctx)
}

// Identify is the login the bot acts as: the one GitHub says gh acts as.
// When configured (github.botLogin) is set, it must be that login: the
// bot knows its own comments, pull requests, statuses and deployments by
// it, so a wrong one would take no write for its own (and redo them all)
// or, worse, take someone else's for its own.
func Identify(ctx context.Context, gh Identifier, configured string) (string, error) {
	login, err := gh.Identity(ctx)
	if err != nil {
		if configured == "" {
			return "", fmt.Errorf("learning the bot's login from GitHub (github.botLogin is unset): %w", err)
		}
		return "", fmt.Errorf("checking github.botLogin: %w", err)
	}
	switch {
	case login == "":
		return "", errors.New("learning the bot's login from GitHub: GitHub named no login; set github.botLogin (for an App, its slug followed by [bot])")
	case configured != "" && login != configured:
		return "", fmt.Errorf("github.botLogin is %q, but GitHub says the service acts as %q: set github.botLogin: %q, or leave it unset to take GitHub's (for an App, its slug followed by [bot])", configured, login, login)
	}
	return login, nil
}

// awaitStart runs Start until it succeeds, waiting between attempts with
// client-go's backoff, and reports not ready with the reason meanwhile;
// false when ctx ends first.
func (a *App) awaitStart(ctx context.Context) bool {
	log := logctx.From(ctx)
	b := wait.Backoff{Duration: a.startBackoff, Factor: 2, Jitter: 0.1, Steps: math.MaxInt32, Cap: time.Minute}
	if b.Duration == 0 {
		b.Duration = time.Second
	}
	for {
		err := a.Start(ctx)
		if err == nil {
			if a.Service != nil {
				a.Service.Started() // ready after its first resync
			} else {
				a.readiness.Ready()
			}
			log.Info("started")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// /readyz answers anyone: no credentials a URL in the error holds.
		a.readiness.NotReady(fmt.Sprintf("starting: %s; retrying", redactUserinfo(err.Error())))
		d := b.Step()
		log.Warn("starting: GitHub or the tenants repo does not answer; retrying", "error", err, "backoff", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

var userinfo = regexp.MustCompile(`://[^/@\s]+@`)

// redactUserinfo hides the user and password of every URL in s.
func redactUserinfo(s string) string { return userinfo.ReplaceAllString(s, "://REDACTED@") }

// connect builds what the parts leave out of GitHub and the tenants repo
// through Connect, and the ledger on the tenants repo, signed with keys.
func (a *App) connect(ctx context.Context, keys *ledger.Keys) error {
	if a.Registry == nil {
		a.Registry = service.NewRegistry()
	}
	if a.GitHub == nil || a.Tenants == nil {
		c, err := connect(ctx, a.Config, a.Registry, false)
		if err != nil {
			return err
		}
		if a.GitHub == nil {
			a.GitHub = c.GitHub
		}
		if a.Tenants == nil {
			a.Tenants = c.Tenants
		}
	}
	a.Ledger = ledger.New(a.Tenants, keys)
	return a.Ledger.Register(a.Registry)
}

// ErrNothingToRun is returned for parts that turn off both the webhooks
// and the watcher.
var ErrNothingToRun = errors.New("a watch-only service needs a cluster to watch: serve --webhooks=false runs the watcher alone, and --watch=false the webhooks alone, never both off")

// newWatchOnly wires the watcher alone, with the same GitHub client and
// tenants clone as the full service; its HTTP handler serves the probes
// and the metrics (the GitHub client's rate limit among them).
func newWatchOnly(ctx context.Context, cfg *config.Config, p Parts) (*App, error) {
	if p.Cluster == nil {
		return nil, ErrNothingToRun
	}
	// Everything serve needs but the webhook secret, which a watcher never
	// reads: the one check of the config, not a copy of it.
	c := *cfg
	c.GitHub.WebhookSecretFile = "(not read by a watcher)"
	if err := c.ServeErrors(); err != nil {
		return nil, err
	}
	keys, err := ledger.LoadKeys(cfg.Ledger.SigningKeyFiles)
	if err != nil {
		return nil, err
	}
	a := newApp(cfg, p)
	if err := a.connect(ctx, keys); err != nil {
		return nil, err
	}
	if err := a.setupWatcher(p); err != nil {
		return nil, err
	}
	log := logctx.From(ctx)
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("GET /healthz", ok)
	mux.Handle("GET /readyz", a.readiness)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	a.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(logctx.Into(r.Context(), log)))
	})
	return a, nil
}

// startLedger starts the ledger (internal/ledger) the first time the
// service runs on a tenants repo, with the records of the open store
// issues from before it; and at every start signs what Ledger.Sign signs:
// once, the records of an install from before signing; the records an
// older key signed, after a rotation.
func (a *App) startLedger(ctx context.Context) error {
	log := logctx.From(ctx)
	if _, ok, err := a.Tenants.Head(v1alpha1.LedgerBranch); err != nil {
		return err
	} else if !ok {
		if err := a.migrateLedger(ctx); err != nil {
			return err
		}
	}
	signed, err := a.Ledger.Sign(ctx)
	if err != nil {
		return err
	}
	if signed.Unsigned > 0 {
		log.Info("signed the ledger's records from before signing, once", "branch", v1alpha1.LedgerBranch, "records", signed.Unsigned, "key", a.Ledger.Signer())
	}
	if signed.Resigned > 0 {
		log.Info("signed ledger records again with the first key", "branch", v1alpha1.LedgerBranch, "records", signed.Resigned, "key", a.Ledger.Signer())
	}
	if len(signed.Refused) > 0 {
		log.Error("the ledger holds refused records: their issues are not handled until they are restored", "branch", v1alpha1.LedgerBranch, "refused", len(signed.Refused))
	}
	return nil
}

// migrateLedger starts the ledger branch with the records of the open
// store issues and of the stores on the base branch.
func (a *App) migrateLedger(ctx context.Context) error {
	requests, _, err := a.Config.Repos()
	if err != nil {
		return err
	}
	open, err := a.GitHub.ListOpenIssues(ctx, requests, v1alpha1.LabelRequest)
	if err != nil {
		return fmt.Errorf("starting the ledger: %w", err)
	}
	refs, err := storeIssues(a.Config, a.Tenants)
	if err != nil {
		return fmt.Errorf("starting the ledger: %w", err)
	}
	seen := map[forge.IssueRef]bool{}
	for _, r := range refs {
		seen[r] = true
	}
	for _, is := range open {
		if !seen[is.Ref] {
			refs = append(refs, is.Ref)
		}
	}
	n, err := a.Ledger.Migrate(ctx, a.GitHub, a.Identity.Login(), refs)
	if err != nil {
		return err
	}
	if n > 0 {
		logctx.From(ctx).Info("started the ledger", "branch", v1alpha1.LedgerBranch, "issues", n)
	}
	return nil
}

// storeIssues are the issues the stores on the base branch name in their
// request copies: stores whose issue was closed, and stores requested by
// pull request, have their records too.
func storeIssues(cfg *config.Config, repo *tenants.Repo) ([]forge.IssueRef, error) {
	head, ok, err := repo.Head(cfg.TenantsRepo.Branch)
	if err != nil || !ok {
		return nil, err
	}
	snap, err := repo.Snapshot(head)
	if err != nil {
		return nil, err
	}
	var out []forge.IssueRef
	seen := map[forge.IssueRef]bool{}
	for _, cl := range cfg.ClusterNames() {
		dirs, err := renderer.StoreDirs(cfg, snap, cl)
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			req, err := renderer.RequestCopy(snap, dir)
			if err != nil || req == nil {
				continue // not a store Purrvision can read; the rollout plan lists it
			}
			ref, err := forge.ParseIssueRef(req.Metadata.Annotations[v1alpha1.AnnotationIssue])
			if err == nil && !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	return out, nil
}

// Connection is GitHub and the tenants repo as a config names them.
type Connection struct {
	// GitHub is nil when the config has no GitHub credentials.
	GitHub  *ghclient.Client
	Tenants *tenants.Repo
}

// Connect builds the GitHub client from config.GitHub (its calls counted
// in reg when reg is not nil) and clones the tenants repo with the same
// credentials. With no token, token file or App in the config there is no
// client, and the clone is anonymous.
func Connect(ctx context.Context, cfg *config.Config, reg prometheus.Registerer) (*Connection, error) {
	return connect(ctx, cfg, reg, true)
}

// connect is Connect; without fetch, the clone is left for App.Start to
// fetch, and nothing calls GitHub.
func connect(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, fetch bool) (*Connection, error) {
	if cfg.TenantsRepo.URL == "" {
		return nil, errors.New("tenantsRepo.url: required")
	}
	c := &Connection{}
	var auth tenants.HTTPAuth
	if g := cfg.GitHub; g.Token != "" || g.TokenFile != "" || g.App.ID != 0 {
		o, err := ghclient.OptionsFromConfig(g)
		if err != nil {
			return nil, err
		}
		if reg != nil {
			o.Metrics = ghclient.NewMetrics(reg)
		}
		if c.GitHub, err = ghclient.New(o); err != nil {
			return nil, err
		}
		ga, err := ghclient.NewGitAuth(o)
		if err != nil {
			return nil, err
		}
		if ga != nil {
			auth = ga
		}
	}
	opts := tenants.Options{URL: cfg.TenantsRepo.URL, Branch: cfg.TenantsRepo.Branch, Dir: cfg.TenantsRepo.CloneDir, Auth: auth}
	open := func() (*tenants.Repo, error) { return tenants.Open(ctx, opts) }
	if !fetch {
		open = func() (*tenants.Repo, error) { return tenants.OpenUnfetched(opts) }
	}
	repo, err := open()
	if err != nil {
		return nil, err
	}
	c.Tenants = repo
	return c, nil
}

func (a *App) statusPage(p Parts) (*statuspage.Handler, error) {
	page := &statuspage.Handler{
		Source:   &statuspage.RepoSource{Config: a.Config, Repo: a.Tenants, Ledger: a.Ledger, GitHub: a.GitHub, Bot: a.Identity, Now: p.Now},
		Settings: statuspage.SettingsFunc(a.settingsView),
		TTL:      p.StatusPage.TTL,
		Now:      p.Now,
	}
	if auth := a.Config.StatusPage.Auth; auth != nil {
		pw, err := readSecret("statusPage.auth.passwordFile", auth.PasswordFile)
		if err != nil {
			return nil, err
		}
		page.Auth = statuspage.Auth{Username: auth.Username, Password: pw}
	}
	return page, nil
}

// settingsView is the last settings check as the status page shows it,
// without the credentials a URL in an error could hold.
func (a *App) settingsView() statuspage.GitHubSettings {
	st := a.Settings.Status()
	v := statuspage.GitHubSettings{Checked: st.Checked}
	for _, d := range st.Drift {
		v.Drift = append(v.Drift, d.String())
	}
	if st.Err != nil {
		v.Problem = redactUserinfo(st.Err.Error())
	}
	return v
}

// WatcherCluster is the cluster a watcher of cfg reports: name, or the
// config's first (its default) when name is empty. It refuses a name that
// is not one of the config's clusters, naming them.
func WatcherCluster(cfg *config.Config, name string) (string, error) {
	names := cfg.ClusterNames()
	if name == "" && len(names) > 0 {
		return names[0], nil
	}
	if !cfg.HasCluster(name) {
		return "", fmt.Errorf("cluster %q is not one of the config's clusters (%s)", name, strings.Join(names, ", "))
	}
	return name, nil
}

// setupWatcher builds the watcher and the nudger on the cluster, the way a
// reconciler's SetupWithManager hangs it off a manager.
func (a *App) setupWatcher(p Parts) error {
	_, tenantsRepo, err := a.Config.Repos()
	if err != nil {
		return err
	}
	cluster, err := WatcherCluster(a.Config, p.Watcher.Cluster)
	if err != nil {
		return fmt.Errorf("watching: %w", err)
	}
	names := a.Config.ClusterNames()
	// The tenants clone says which cluster holds a store, and what its
	// folder holds at a revision.
	placement := &reconcile.TenantsPlacement{Config: a.Config, Repo: a.Tenants}
	mgr, err := reconcile.NewManager(p.Cluster, reconcile.ManagerOptions{
		FluxNamespace: a.Config.Flux.Namespace, BaseDomain: a.Config.ClusterSettings(cluster).BaseDomain,
		Cluster: cluster, Placement: placement,
		Reporter: &reconcile.GitHubReporter{GitHub: a.GitHub, Tenants: tenantsRepo, Bot: a.Identity, Now: p.Now, StatusPage: a.Config.StatusPage.URL,
			DefaultCluster: names[0], FetchLedger: p.WatchOnly,
			Ledger:      a.Ledger,
			Provisioned: reconcile.NewProvisioningHistogram(a.Registry),
			History: reconcile.HistoryFunc(func(ctx context.Context, ancestor, descendant string) (bool, error) {
				return a.Tenants.Contains(ctx, tenants.Hash(ancestor), tenants.Hash(descendant))
			})},
		Trees:          placement,
		LeaderElection: p.Watcher.LeaderElection, LeaderElectionNamespace: p.Watcher.LeaderElectionNamespace,
	})
	if err != nil {
		return err
	}
	a.Watcher, a.Cluster = mgr, cluster
	nudger := &reconcile.Nudger{Client: mgr.GetClient(), Namespace: a.Config.Flux.Namespace, Name: a.Config.Flux.SourceName}
	a.Nudge = nudger.Nudge
	return nil
}

// ErrWatcherStopped wraps the error the watcher stopped with.
var ErrWatcherStopped = errors.New("the watcher stopped")

// Serve serves HTTP on ln at once; runs Start until GitHub and the tenants
// repo answer (not ready meanwhile, with the reason on /readyz); then
// reconciles every open request, and again every ResyncInterval, and runs
// the watcher, until ctx ends or the watcher stops with an error. It then stops taking deliveries and gives the work
// already accepted shutdownTimeout to finish. The error is the watcher's
// (wrapping ErrWatcherStopped), or the server's, or the shutdown's.
func (a *App) Serve(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	log := logctx.From(ctx)
	srv := newServer(a.Handler)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	started := make(chan struct{})
	resyncDone := make(chan struct{})
	go func() {
		defer close(resyncDone)
		if !a.awaitStart(runCtx) {
			return
		}
		close(started)
		if a.Service != nil {
			a.Service.Run(runCtx)
		}
	}()
	watcherc := make(chan error, 1)
	if a.Watcher != nil {
		go func() {
			select {
			case <-started:
				watcherc <- a.Watcher.Start(runCtx)
			case <-runCtx.Done():
				watcherc <- nil
			}
		}()
	}
	srvc := make(chan error, 1)
	go func() { srvc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "watcher", a.Watcher != nil, "cluster", a.Cluster, "webhooks", a.Service != nil)

	var err error
	select {
	case <-ctx.Done():
	case err = <-srvc:
		err = fmt.Errorf("serving: %w", err)
		log.Error("serving stopped", "error", err)
	case werr := <-watcherc:
		if werr == nil {
			werr = errors.New("it returned")
		}
		err = fmt.Errorf("%w: %w", ErrWatcherStopped, werr)
		log.Error("watcher stopped", "error", werr)
		watcherc <- nil // it has returned: nothing more to wait for
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		log.Error("stopping the HTTP server", "error", serr)
	}
	stopRun()
	<-resyncDone
	var qerr error
	if a.Service != nil {
		qerr = a.Service.Shutdown(shutdownCtx)
	}
	if a.Watcher != nil {
		if werr := <-watcherc; werr != nil {
			log.Error("watcher stopped", "error", werr)
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrWatcherStopped, werr))
		}
	}
	return errors.Join(err, qerr)
}

// MaxHeaderBytes bounds a request's headers; GitHub's deliveries send
// about 2 KiB. A request over it is answered 431 before any handler runs.
const MaxHeaderBytes = 32 << 10

// newServer is the HTTP server of the service: headers bounded in size
// and in time, bodies in time (the webhook handler bounds their size), and
// idle connections closed, so no client holds memory or a connection
// open for long.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, MaxHeaderBytes: MaxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
}

// readSecret reads a file holding one secret, without the space around it;
// no file, no secret.
func readSecret(key, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return []byte(strings.TrimSpace(string(data))), nil
}
