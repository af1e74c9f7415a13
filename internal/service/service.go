// Package service joins the webhook handler, the work queue and the
// provisioner into the HTTP service `purrvision serve` runs: POST /webhook,
// GET /healthz, GET /readyz, GET /metrics and the status page at GET /.
// internal/app builds it from a config and its outside parts.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

// GitHub is what the service's two features ask of GitHub, each declared
// where it is used.
type GitHub interface {
	provision.GitHub
	fleet.GitHub
}

// Options are the service's dependencies.
type Options struct {
	Config *config.Config
	Secret []byte
	// PreviousSecret is the webhook secret a rotation is retiring
	// (github.webhookSecretPreviousFile); nil when none is.
	PreviousSecret []byte
	GitHub         GitHub
	Tenants        *tenants.Repo
	// Ledger is the one ledger, on Tenants, that the provisioner and the
	// rollouts share.
	Ledger *ledger.Ledger
	// Identity is the login the bot acts as, learned from GitHub before
	// Started (internal/app); the provisioner and the rollouts read it.
	Identity *forge.Identity
	// Rand is crypto/rand.Reader when nil.
	Rand io.Reader
	// BackupCredentials are the backup targets' keys by cluster
	// (config.LoadBackupCredentials).
	BackupCredentials map[string]config.BackupCredentials
	// Now is time.Now when nil.
	Now func() time.Time
	// Queue's Observe, when set, is told every outcome after the
	// service's metrics are.
	Queue webhook.QueueOptions
	// Nudge, when set, asks Flux to fetch the tenants repo after a merge.
	Nudge func(context.Context) error
	// StatusPage, when set, is served at GET /.
	StatusPage http.Handler
	// Registry, when set, is where the service's metrics are registered and
	// what /metrics serves; a new one otherwise.
	Registry *prometheus.Registry
	// ResyncInterval is how often every open request is reconciled again,
	// besides once at start; 10m when 0.
	ResyncInterval time.Duration
	// SettingsCheck, when set, is run at start and after each resync:
	// the check of GitHub's settings (internal/setup's Monitor). It runs
	// after the service is ready and never changes readiness.
	SettingsCheck Checker
}

// Checker is work the service runs after each resync, once per resync.
type Checker interface {
	Check(ctx context.Context)
}

// Service is a running Purrvision service.
type Service struct {
	Provisioner *provision.Provisioner
	// Fleet runs rollouts: their wave merges, gates and commands.
	Fleet   *fleet.Roller
	Queue   *webhook.Queue
	Handler http.Handler
	// Readiness is what GET /readyz says: not ready until Started.
	Readiness   *Readiness
	started     chan struct{} // closed by Started
	startOnce   sync.Once
	resyncEvery time.Duration
	resyncFrom  atomic.Int64 // where the next resync starts its adds (resync)
	check       Checker      // run after each resync; nil for none
}

// New builds the service and starts its workers; they and the HTTP
// handlers log with the logger in ctx.
func New(ctx context.Context, o Options) (*Service, error) {
	if len(o.Secret) == 0 {
		return nil, errors.New("no webhook secret: set github.webhookSecretFile to a file holding it; Purrvision does not accept unsigned deliveries")
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	log := logctx.From(ctx)
	s := &Service{Readiness: NewReadiness("starting"), started: make(chan struct{})}
	prov, err := provision.New(provision.Options{Config: o.Config, GitHub: o.GitHub, Repo: o.Tenants, Ledger: o.Ledger, Identity: o.Identity, Rand: o.Rand, Now: o.Now, Nudge: o.Nudge,
		BaseMoved: s.baseMoved, BackupCredentials: o.BackupCredentials})
	if err != nil {
		return nil, err
	}
	roller, err := fleet.New(fleet.Options{Config: o.Config, GitHub: o.GitHub, Repo: o.Tenants, Ledger: o.Ledger, Identity: o.Identity, Now: o.Now, Rand: o.Rand, Nudge: o.Nudge,
		BaseMoved: s.baseMoved, BackupCredentials: o.BackupCredentials})
	if err != nil {
		return nil, err
	}
	s.Provisioner, s.Fleet = prov, roller
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	var queue *webhook.Queue
	metrics := webhook.NewMetrics(reg, func() int {
		if queue == nil {
			return 0
		}
		return queue.Depth()
	})
	qo := o.Queue
	qo.Context = logctx.Into(context.Background(), log)
	qo.Observe = metrics.Observe
	if also := o.Queue.Observe; also != nil {
		qo.Observe = func(it webhook.Intent, attempt int, err error) {
			metrics.Observe(it, attempt, err)
			also(it, attempt, err)
		}
	}
	queue = webhook.NewQueue(s.process, qo)
	s.Queue = queue

	mux := http.NewServeMux()
	mux.Handle("/webhook", &webhook.Handler{
		Secret: o.Secret, Previous: o.PreviousSecret,
		Router:  &webhook.Router{Requests: prov.RequestsRepo(), Tenants: prov.TenantsRepo()},
		Queue:   queue,
		Metrics: metrics,
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", s.Readiness)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if o.StatusPage != nil {
		mux.Handle("GET /{$}", o.StatusPage)
	}
	// The handlers find the logger in the request's context.
	s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(logctx.Into(r.Context(), log)))
	})
	if o.ResyncInterval == 0 {
		o.ResyncInterval = 10 * time.Minute
	}
	s.resyncEvery = o.ResyncInterval
	s.check = o.SettingsCheck
	return s, nil
}

// Started tells the service that what it needs of GitHub and the tenants
// repo is there (internal/app's start): the workers take the intents
// queued since. GET /readyz answers 200 once Run has queued its first
// resync.
func (s *Service) Started() {
	s.startOnce.Do(func() { close(s.started) })
}

// Run resyncs at start and then every ResyncInterval until ctx ends,
// logging with the logger in ctx; the service is ready after the first.
// The settings check runs after each resync, the first after the service
// is ready.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.resyncEvery)
	defer t.Stop()
	for first := true; ; first = false {
		s.resync(ctx)
		if first && ctx.Err() == nil {
			s.Readiness.Ready()
		}
		s.checkSettings(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Resync queues every open request and every open rollout again, and
// checks GitHub's settings, as each tick of Run does.
func (s *Service) Resync(ctx context.Context) {
	s.resync(ctx)
	s.checkSettings(ctx)
}

// checkSettings runs the settings check, if there is one.
func (s *Service) checkSettings(ctx context.Context) {
	if s.check != nil && ctx.Err() == nil {
		s.check.Check(ctx)
	}
}

// resync queues each open request in the background (after every
// interactive intent), and each open rollout's gate as interactive work.
// The queue refuses background work past its share: the requests not
// queued this time are the first the next resync queues, so a flood of
// open requests delays the last of them by a tick, never for good.
func (s *Service) resync(ctx context.Context) {
	s.resyncRequests(ctx)
	// Each open rollout's gate runs on every tick.
	s.resyncRollouts(ctx, s.Queue.Add)
}

// baseMoved follows a merge into the base branch the bot recorded (a
// store's, a wave's or a revert's): the bot's other open branches are
// behind it now, and each open request and rollout is queued in the
// background, so their handling brings them up to date promptly rather
// than at the next resync. The queue bounds it as it bounds a resync, and
// dedups what is already queued.
func (s *Service) baseMoved(ctx context.Context) {
	s.resyncRequests(ctx)
	s.resyncRollouts(ctx, s.Queue.AddBackground)
}

// resyncRequests queues each open request in the background.
func (s *Service) resyncRequests(ctx context.Context) {
	var refs []forge.IssueRef
	err := s.Provisioner.Resync(ctx, func(ref forge.IssueRef) { refs = append(refs, ref) })
	if err != nil {
		logctx.From(ctx).Error("resync failed", "error", err)
	}
	if n := len(refs); n > 0 {
		from := int(s.resyncFrom.Load() % int64(n))
		refused := 0
		for i := range n {
			ref := refs[(from+i)%n]
			err := s.Queue.AddBackground(webhook.Intent{Kind: webhook.ReconcileRequest, Issue: ref})
			if errors.Is(err, webhook.ErrQueueFull) {
				if refused == 0 {
					s.resyncFrom.Store(int64((from + i) % n))
				}
				refused++
				continue
			}
			if err != nil {
				logctx.From(ctx).Warn("resync: not queued", "issue", ref.String(), "error", err)
			}
		}
		if refused > 0 {
			logctx.From(ctx).Warn("resync: the queue is full; the rest wait for the next resync", "queued", n-refused, "left", refused)
		}
	}
}

// resyncRollouts queues each open rollout's gate with add.
func (s *Service) resyncRollouts(ctx context.Context, add func(webhook.Intent) error) {
	err := s.Fleet.Resync(ctx, func(ref forge.IssueRef) {
		if err := add(webhook.Intent{Kind: webhook.ReconcileRollout, Issue: ref}); err != nil {
			logctx.From(ctx).Warn("resync: not queued", "issue", ref.String(), "error", err)
		}
	})
	if err != nil {
		logctx.From(ctx).Error("resyncing rollouts failed", "error", err)
	}
}

// process dispatches one intent to the provisioner.
func (s *Service) process(ctx context.Context, it webhook.Intent) error {
	// Work waits for the start: the ledger and the tenants clone.
	select {
	case <-s.started:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the service to start: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	switch it.Kind {
	case webhook.ReconcileRequest:
		return s.Provisioner.ReconcileRequest(ctx, it.Issue)
	case webhook.RunCommand:
		if handled, err := s.Fleet.RunCommand(ctx, it.Issue, it.Comment); handled || err != nil {
			return err
		}
		return s.Provisioner.RunCommand(ctx, it.Issue, it.Comment)
	case webhook.InspectPull:
		return s.Provisioner.HandlePullRequest(ctx, it.Repo, it.Number)
	case webhook.InspectRolloutPull:
		if handled, err := s.Fleet.HandlePullRequest(ctx, it.Repo, it.Number); handled || err != nil {
			return err
		}
		return s.Provisioner.HandlePullRequest(ctx, it.Repo, it.Number)
	case webhook.ReconcileRollout:
		return s.Fleet.Reconcile(ctx, it.Issue)
	}
	return fmt.Errorf("unknown intent %v", it.Kind)
}

// Shutdown stops taking deliveries and finishes the accepted work.
func (s *Service) Shutdown(ctx context.Context) error {
	s.Readiness.NotReady("shutting down")
	return s.Queue.Shutdown(ctx)
}

// NewRegistry is a metrics registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
