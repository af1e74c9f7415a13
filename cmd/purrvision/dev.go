//go:build dev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/examples"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/provision"
)

func newDevCommand() *cobra.Command {
	var (
		exitWhenReady bool
		dir           string
		clusters      int
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system locally and walk the example store through its life",
		Long: `Bring up a local cluster with Flux, a git server with the tenants repo, the
GitHub stand-in and purrvision serve, all as local processes, then walk the
example store through issue, validation, pull request, merge, Flux and Ready,
printing each step. The system then stays up until Ctrl-C. Run it with
` + "`make dev`" + `, which builds the cluster's binaries first (cached).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bins, err := localcluster.BinariesFromEnv()
			if err != nil {
				return usageError(err)
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "purrvision-dev-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			}
			if clusters < 1 || clusters > len(devenv.ClusterNames(99)) {
				return usageError(fmt.Errorf("--clusters: %d; run 1 to %d local clusters", clusters, len(devenv.ClusterNames(99))))
			}
			return runDev(cmd.Context(), cmd.OutOrStdout(), bins, dir, exitWhenReady, clusters)
		},
	}
	cmd.AddCommand(newDevRequestCommand(), newDevMergeCommand(), newDevCommentCommand(), newDevCredentialsCommand(), newDevChartReleaseCommand(), newDevEnvCommand())
	cmd.Flags().BoolVar(&exitWhenReady, "exit-when-ready", false, "stop once the example store is Ready (for CI)")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the cluster's data and logs (default a temporary one)")
	cmd.Flags().IntVar(&clusters, "clusters", 1, "how many local clusters, each with its own API server, Flux and watcher (stores are placed by capacity)")
	return cmd
}

func runDev(ctx context.Context, out io.Writer, bins localcluster.Binaries, dir string, exitWhenReady bool, clusters int) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("starting the local system in %s", dir)
	// Purrvision and controller-runtime log to a file; the terminal shows
	// the steps.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "purrvision.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, nil))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	ctx = logctx.Into(ctx, log)

	env, err := devenv.Start(ctx, devenv.Options{Dir: dir, Bins: bins, Clusters: clusters,
		Progress: func(stage string, took time.Duration) { say("  up: %-50s %6.2fs", stage, took.Seconds()) }})
	if err != nil {
		return err
	}
	defer env.Stop()
	cfgPath := filepath.Join(dir, "purrvision.yaml")
	if err := writeConfig(cfgPath, env.Config); err != nil {
		return err
	}
	tokens := map[string]string{}
	for _, login := range devenv.People {
		tokens[login] = env.GitHub.Token(login)
	}
	state := devState{GitHub: env.GitHub.URL(), PID: os.Getpid(), Dir: dir, Tenants: env.Git.URLAs("tenants", "", ""), Tokens: tokens,
		// The chart repo takes pushes with a token too (the git server
		// is protected): the platform's reviewer releases the chart.
		Chart: env.Git.URLAs("purrvision", devenv.Reviewer, tokens[devenv.Reviewer]), Config: cfgPath, ChartVersion: env.Config.Chart.Version, Age: os.Getenv("PURRVISION_AGE")}
	removeState, err := writeDevState(state)
	if err != nil {
		return err
	}
	defer removeState()
	req, err := v1alpha1.Parse(examples.StoreRequest)
	if err != nil {
		return err
	}
	name, owner := req.Metadata.Name, req.Spec.Owner
	gh := env.GitHub
	key, err := devenv.GiveKey(ctx, gh.URL(), owner, dir)
	if err != nil {
		return err
	}
	say("  @%s's SSH key: %s.pub", owner, key.Private)

	// waitFor polls a named condition until it holds, the deadline passes
	// or the service stops.
	waitFor := func(what string, timeout time.Duration, cond func() bool) error {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			select {
			case <-env.Stopped():
				return false, fmt.Errorf("the service stopped: %w", env.Err())
			default:
			}
			return cond(), nil
		})
		if err != nil {
			return fmt.Errorf("waiting for %s (up to %v): %w", what, timeout, err)
		}
		return nil
	}
	stage := time.Now()
	step := func(n int, what string) {
		say("%d. %-40s (%.2fs)", n, what, time.Since(stage).Seconds())
		stage = time.Now()
	}
	issue := gh.OpenIssue(devenv.RequestsRepo, owner, "Store: "+name, provision.RenderForm(req), v1alpha1.LabelRequest)
	step(1, fmt.Sprintf("issue %s#%d opened by @%s", devenv.RequestsRepo, issue, owner))
	if err := waitFor("the request to be validated", 2*time.Minute, func() bool {
		for _, c := range gh.Comments(devenv.RequestsRepo, issue) {
			if strings.HasPrefix(c.GetBody(), v1alpha1.MarkerStatus) {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	step(2, "request validated")
	pr := 0
	if err := waitFor("the pull request", time.Minute, func() bool {
		for _, p := range gh.Pulls(devenv.TenantsRepo) {
			if p.GetHead().GetRef() == v1alpha1.Branch(name) && p.GetState() == "open" {
				pr = p.GetNumber()
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	step(3, fmt.Sprintf("pull request %s#%d opened", devenv.TenantsRepo, pr))
	// A code owner approves and merges through the merge API, under the
	// rules `purrvision setup` wrote.
	sha, err := devenv.ApproveAndMerge(ctx, gh.URL(), devenv.TenantsRepo, pr, devenv.Reviewer, devenv.Reviewer)
	if err != nil {
		return err
	}
	step(4, "merged as "+sha[:12])
	merged := time.Now()
	// The store's environment: its cluster's, wherever it was placed.
	environment := func() string {
		for e := range gh.DeploymentStates(devenv.TenantsRepo) {
			if e == v1alpha1.Environment(name) || strings.HasSuffix(e, "/"+v1alpha1.Environment(name)) {
				return e
			}
		}
		return v1alpha1.Environment(name)
	}
	deployment := func() string {
		s := gh.DeploymentStates(devenv.TenantsRepo)[environment()]
		if len(s) == 0 {
			return ""
		}
		return s[len(s)-1]
	}
	if err := waitFor("Flux to apply the store", 3*time.Minute, func() bool { return deployment() == "in_progress" }); err != nil {
		return err
	}
	step(5, "Flux applied the store")
	if err := waitFor("the store to be Ready", 5*time.Minute, func() bool { d := deployment(); return d == "success" || d == "failure" }); err != nil {
		return err
	}
	sts := gh.DeploymentStatuses(devenv.TenantsRepo, environment())
	last := sts[len(sts)-1]
	if last.GetState() != "success" {
		return fmt.Errorf("the store failed: %s", last.GetDescription())
	}
	step(6, "Ready at "+last.GetEnvironmentURL())
	say("merge to Ready: %.2fs; total: %.2fs", time.Since(merged).Seconds(), time.Since(start).Seconds())
	var credentials string
	var saveErr error
	if err := waitFor("the credentials comment", 30*time.Second, func() bool {
		credentials, saveErr = devenv.SaveCredentials(ctx, gh.URL(), devenv.RequestsRepo, issue, dir)
		return !errors.Is(saveErr, devenv.ErrNoCredentials)
	}); err != nil {
		return err
	}
	if saveErr != nil {
		return saveErr
	}
	say("credentials:       %s", devenv.DecryptCommand(key.Private, credentials))
	say("status page:       %s/", env.URL)
	self := os.Args[0]
	say("audit:             %s audit --config %s %s", self, cfgPath, name)
	say("tenants repo:      git clone %s", env.Git.URLAs("tenants", "", ""))
	say("push as someone:   git push %s HEAD:refs/heads/<branch>   (as @%s, a maintainer and code owner; @%s has %s)",
		env.PushURL(devenv.Reviewer), devenv.Reviewer, devenv.Requester, env.PushURL(devenv.Requester))
	say("                   under `purrvision setup`'s rules: a push to %s is refused (GH006: through a pull request only), and to %s*, %s* or %s (GH013: the App's alone)",
		env.Config.TenantsRepo.Branch, v1alpha1.BranchPrefix, v1alpha1.RolloutBranchPrefix, v1alpha1.LedgerBranch)
	say("GitHub stand-in:   %s (issues in %s, pull requests in %s)", gh.URL(), devenv.RequestsRepo, devenv.TenantsRepo)
	if len(env.Clusters) == 1 {
		say("kubeconfig:        %s", env.Cluster.Kubeconfig)
		say("logs:              %s, %s", logPath, filepath.Join(dir, "cluster", "logs"))
	} else {
		for i, c := range env.Clusters {
			name := env.Config.ClusterNames()[i]
			say("cluster %-9s  kubeconfig %s, capacity %s CPU, region %s", name+":", c.Kubeconfig, devenv.DevCapacity, env.Config.ClusterSettings(name).Labels["region"])
		}
		say("logs:              %s, %s", logPath, filepath.Join(dir, "cluster-*", "logs"))
	}
	if exitWhenReady {
		return nil
	}
	say("another terminal:  eval \"$(%s dev env)\"   (sets %s to %s; the config is \"$%s/purrvision.yaml\")", self, devEnvVar, dir, devEnvVar)
	say("drive it:          %s dev request --name dog-diner --plan medium [--as someone] [--pr]", self)
	say("                   %s dev comment [--as someone] %d \"/purrvision resize medium\"", self, issue)
	say("                   %s dev merge <pull request>", self)
	say("                   %s dev credentials <issue>", self)
	say("                   %s dev chart-release --version 0.2.0 [--broken]   (then: rollout start --config %s)", self, cfgPath)
	say("the system stays up; Ctrl-C stops it")
	// SIGHUP (dev chart-release sends it) restarts the service with the
	// config file as it is now.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			say("stopping")
			return nil
		case <-env.Stopped():
			return fmt.Errorf("the service stopped: %w", env.Err())
		case <-hup:
			if err := reloadConfig(ctx, env, cfgPath); err != nil {
				say("config not reloaded: %v", err)
				continue
			}
			state.ChartVersion = env.Config.Chart.Version
			if _, err := writeDevState(state); err != nil {
				return err
			}
			say("service restarted with %s (chart %s); status page now at %s/", cfgPath, env.Config.Chart.Version, env.URL)
		}
	}
}

// reloadConfig restarts the dev service with the config file.
func reloadConfig(ctx context.Context, env *devenv.Env, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	return env.Reconfigure(ctx, func(c *config.Config) { *c = *cfg })
}

func writeConfig(path string, cfg *config.Config) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing the dev config: %w", err)
	}
	return nil
}
