package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/service"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/tenants"
)

func newServeCommand() *cobra.Command {
	var (
		shutdownTimeout time.Duration
		watch           bool
		leaderNamespace string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve GitHub webhooks: validate store requests and open pull requests",
		Long: `Serve POST /webhook, GET /healthz, GET /readyz and GET /metrics on the config's
listen address. Logs are JSON on standard error. SIGTERM stops taking deliveries
and finishes the work already accepted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := cfg.ServeErrors(); err != nil {
				return usageError(err)
			}
			secret, err := os.ReadFile(cfg.GitHub.WebhookSecretFile)
			if err != nil {
				return usageError(fmt.Errorf("reading github.webhookSecretFile: %w", err))
			}
			secret = []byte(strings.TrimSpace(string(secret)))
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			ghOpts, err := ghclient.OptionsFromConfig(cfg.GitHub)
			if err != nil {
				return usageError(err)
			}
			reg := service.NewRegistry()
			ghOpts.Metrics = ghclient.NewMetrics(reg)
			gh, err := ghclient.New(ghOpts)
			if err != nil {
				return usageError(err)
			}
			auth, err := ghclient.NewGitAuth(ghOpts)
			if err != nil {
				return usageError(err)
			}
			ctx := cmd.Context()
			repoOpts := tenants.Options{URL: cfg.TenantsRepo.URL, Branch: cfg.TenantsRepo.Branch, Dir: cfg.TenantsRepo.CloneDir}
			if auth != nil {
				repoOpts.Auth = auth
			}
			repo, err := tenants.Open(ctx, repoOpts)
			if err != nil {
				return err
			}
			page := &statuspage.Handler{Source: &statuspage.RepoSource{Config: cfg, Repo: repo, GitHub: gh, Bot: cfg.GitHub.BotLogin}, Log: log}
			if a := cfg.StatusPage.Auth; a != nil {
				pw, err := os.ReadFile(a.PasswordFile)
				if err != nil {
					return usageError(fmt.Errorf("reading statusPage.auth.passwordFile: %w", err))
				}
				page.Auth = statuspage.Auth{Username: a.Username, Password: []byte(strings.TrimSpace(string(pw)))}
			}
			opts := service.Options{Config: cfg, Secret: secret, GitHub: gh, Tenants: repo, Log: log, Registry: reg, StatusPage: page}
			var mgr manager.Manager
			if watch {
				restCfg, err := ctrl.GetConfig()
				if err != nil {
					return usageError(fmt.Errorf("the watcher needs cluster access (in-cluster, or KUBECONFIG): %w; pass --watch=false to serve webhooks only", err))
				}
				ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
				tenantsRepo, err := forge.ParseRepo(cfg.TenantsRepo.Repo)
				if err != nil {
					return usageError(fmt.Errorf("tenantsRepo.repo: %w", err))
				}
				mgr, err = reconcile.NewManager(restCfg, reconcile.ManagerOptions{
					FluxNamespace: cfg.Flux.Namespace, BaseDomain: cfg.BaseDomain,
					Reporter: &reconcile.GitHubReporter{GitHub: gh, Tenants: tenantsRepo, Bot: cfg.GitHub.BotLogin,
						Provisioned: reconcile.NewProvisioningHistogram(reg)},
					LeaderElection: true, LeaderElectionNamespace: leaderNamespace,
				})
				if err != nil {
					return err
				}
				nudger := &reconcile.Nudger{Client: mgr.GetClient(), Namespace: cfg.Flux.Namespace, Name: cfg.Flux.SourceName}
				opts.Nudge = nudger.Nudge
			}
			svc, err := service.New(opts)
			if err != nil {
				return usageError(err)
			}
			if mgr != nil {
				errc := make(chan error, 1)
				go func() { errc <- mgr.Start(ctx) }()
				defer func() {
					if err := <-errc; err != nil {
						log.Error("watcher stopped", "error", err)
					}
				}()
			}
			return serve(ctx, cfg.Listen, svc, log, shutdownTimeout)
		},
	}
	cmd.Flags().DurationVar(&shutdownTimeout, "shutdown-timeout", 2*time.Minute, "how long a shutdown waits for accepted work")
	cmd.Flags().BoolVar(&watch, "watch", true, "run the status watcher (needs cluster access); several replicas elect one leader")
	cmd.Flags().StringVar(&leaderNamespace, "leader-election-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the watcher's leader election lease (default $POD_NAMESPACE)")
	return cmd
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, addr string, svc *service.Service, log *slog.Logger, timeout time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go svc.Run(runCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("stopping HTTP server", "error", err)
	}
	return svc.Shutdown(shutdownCtx)
}
