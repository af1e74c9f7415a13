//go:build dev

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/examples"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/provision"
)

func newDevCommand() *cobra.Command {
	var (
		exitWhenReady bool
		dir           string
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
			return runDev(cmd.Context(), cmd.OutOrStdout(), bins, dir, exitWhenReady)
		},
	}
	cmd.AddCommand(newDevRequestCommand(), newDevMergeCommand(), newDevCommentCommand())
	cmd.Flags().BoolVar(&exitWhenReady, "exit-when-ready", false, "stop once the example store is Ready (for CI)")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the cluster's data and logs (default a temporary one)")
	return cmd
}

func runDev(ctx context.Context, out io.Writer, bins localcluster.Binaries, dir string, exitWhenReady bool) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("starting the local system in %s", dir)
	env, err := devenv.Start(ctx, devenv.Options{Dir: dir, Bins: bins,
		Progress: func(stage string, took time.Duration) { say("  up: %-50s %6.2fs", stage, took.Seconds()) }})
	if err != nil {
		return err
	}
	defer env.Stop()
	removeState, err := writeDevState(devState{GitHub: env.GitHub.URL(), PID: os.Getpid()})
	if err != nil {
		return err
	}
	defer removeState()
	req, err := v1alpha1.Parse(examples.StoreRequest)
	if err != nil {
		return err
	}
	name := req.Metadata.Name
	gh := env.GitHub
	stage := time.Now()
	step := func(n int, what string) {
		say("%d. %-40s (%.2fs)", n, what, time.Since(stage).Seconds())
		stage = time.Now()
	}
	issue := gh.OpenIssue(devenv.RequestsRepo, req.Spec.Owner, "Store: "+name, provision.RenderForm(req), provision.LabelRequest)
	step(1, fmt.Sprintf("issue %s#%d opened by @%s", devenv.RequestsRepo, issue, req.Spec.Owner))
	if err := waitDev(ctx, 2*time.Minute, func() bool {
		for _, c := range gh.Comments(devenv.RequestsRepo, issue) {
			if strings.Contains(c.GetBody(), "purrvision:status") {
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("waiting for validation: %w", err)
	}
	step(2, "request validated")
	pr := 0
	if err := waitDev(ctx, time.Minute, func() bool {
		for _, p := range gh.Pulls(devenv.TenantsRepo) {
			if p.GetHead().GetRef() == "store/"+name && p.GetState() == "open" {
				pr = p.GetNumber()
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("waiting for the pull request: %w", err)
	}
	step(3, fmt.Sprintf("pull request %s#%d opened", devenv.TenantsRepo, pr))
	gh.Approve(devenv.TenantsRepo, pr, "reviewer")
	sha, err := gh.Merge(devenv.TenantsRepo, pr, "reviewer")
	if err != nil {
		return err
	}
	step(4, "merged as "+sha[:12])
	merged := time.Now()
	if err := waitDev(ctx, 3*time.Minute, func() bool {
		s := gh.DeploymentStates(devenv.TenantsRepo)["store-"+name]
		return len(s) > 0 && s[len(s)-1] == "in_progress"
	}); err != nil {
		return fmt.Errorf("waiting for Flux to apply the store: %w", err)
	}
	step(5, "Flux applied the store")
	if err := waitDev(ctx, 5*time.Minute, func() bool {
		s := gh.DeploymentStates(devenv.TenantsRepo)["store-"+name]
		return len(s) > 0 && (s[len(s)-1] == "success" || s[len(s)-1] == "failure")
	}); err != nil {
		return fmt.Errorf("waiting for the store to be Ready: %w", err)
	}
	sts := gh.DeploymentStatuses(devenv.TenantsRepo, "store-"+name)
	last := sts[len(sts)-1]
	if last.GetState() != "success" {
		return fmt.Errorf("the store failed: %s", last.GetDescription())
	}
	step(6, "Ready at "+last.GetEnvironmentURL())
	say("merge to Ready: %.2fs; total: %.2fs", time.Since(merged).Seconds(), time.Since(start).Seconds())
	cfgPath := filepath.Join(dir, "purrvision.yaml")
	if data, err := yaml.Marshal(env.Config); err == nil {
		if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
			return err
		}
	}
	say("status page:       %s/", env.URL)
	say("audit:             purrvision audit --config %s %s", cfgPath, name)
	say("tenants repo:      git clone %s", env.Git.URL("tenants"))
	say("GitHub stand-in:   %s (issues in %s, pull requests in %s)", gh.URL(), devenv.RequestsRepo, devenv.TenantsRepo)
	say("kubeconfig:        %s", env.Cluster.Kubeconfig)
	say("logs:              %s", filepath.Join(dir, "cluster", "logs"))
	if exitWhenReady {
		return nil
	}
	say("drive it:          purrvision dev request --name dog-diner --plan medium")
	say("                   purrvision dev comment %d \"/purrvision resize medium\"", issue)
	say("                   purrvision dev merge <pull request>")
	say("the system stays up; Ctrl-C stops it")
	<-ctx.Done()
	say("stopping")
	return nil
}

func waitDev(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
