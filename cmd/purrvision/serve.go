package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/logctx"
)

func newServeCommand() *cobra.Command {
	var (
		shutdownTimeout time.Duration
		watch           bool
		webhooks        bool
		cluster         string
		leaderNamespace string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve GitHub webhooks: validate store requests and open pull requests",
		Long: `Serve POST /webhook, GET /healthz, GET /readyz and GET /metrics on the config's
listen address, and run the status watcher of the cluster serve runs in.
Logs are JSON on standard error. SIGTERM stops taking deliveries and finishes
the work already accepted. When GitHub or the tenants repo does not answer at
start, serve does not exit: /readyz answers 503 with the reason while it
retries with backoff, and the resync runs once they answer.

The watcher reports only the stores of its cluster (--cluster; the config's
first cluster when not given): the stores under tenants/<cluster>/ in the
tenants repo. Run one watcher in each cluster: exactly one deployment serves
the webhooks, and the others run with --webhooks=false (the watcher alone,
with the same GitHub App). --watch=false serves the webhooks alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if !webhooks && !watch {
				return usageError(errors.New("--webhooks=false and --watch=false leave nothing to run: a deployment serves the webhooks, runs the watcher, or both"))
			}
			if cluster, err = app.WatcherCluster(cfg, cluster); err != nil {
				return usageError(fmt.Errorf("--cluster: %w", err))
			}
			if webhooks {
				if err := cfg.ServeErrors(); err != nil {
					return usageError(err)
				}
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
			ctx := logctx.Into(cmd.Context(), log)
			parts := app.Parts{WatchOnly: !webhooks, Watcher: app.WatcherOptions{Cluster: cluster, LeaderElection: true, LeaderElectionNamespace: leaderNamespace}}
			if watch {
				if parts.Cluster, err = ctrl.GetConfig(); err != nil {
					if !webhooks {
						return usageError(fmt.Errorf("--webhooks=false runs the watcher alone, which needs cluster access (in-cluster, or KUBECONFIG): %w", err))
					}
					return usageError(fmt.Errorf("the watcher needs cluster access (in-cluster, or KUBECONFIG): %w; pass --watch=false to serve webhooks only", err))
				}
			}
			a, err := app.New(ctx, cfg, parts)
			if err != nil {
				return usageError(err)
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
			}
			return a.Serve(ctx, ln, shutdownTimeout)
		},
	}
	cmd.Flags().DurationVar(&shutdownTimeout, "shutdown-timeout", 2*time.Minute, "how long a shutdown waits for accepted work")
	cmd.Flags().BoolVar(&watch, "watch", true, "run the status watcher (needs cluster access); several replicas elect one leader per cluster")
	cmd.Flags().BoolVar(&webhooks, "webhooks", true, "serve the webhooks, handle requests and resync them; false runs the watcher alone (one per extra cluster)")
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster this watcher runs in, one of the config's clusters; it reports only that cluster's stores (default: the config's first cluster)")
	cmd.Flags().StringVar(&leaderNamespace, "leader-election-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the watcher's leader election lease (default $POD_NAMESPACE)")
	return cmd
}
