//go:build dev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
)

func newDevChartReleaseCommand() *cobra.Command {
	var version string
	var broken bool
	cmd := &cobra.Command{
		Use:   "chart-release --version V [--broken]",
		Short: "Publish a new store chart version in the running dev system, for a rollout",
		Long: `Tag a new version of the store chart in the dev git server's chart repo
(Chart.yaml's version bumped, tag woocommerce-<version>), then move the
running dev system's config to it (chart.version and chart.source.tag in
<dev dir>/purrvision.yaml) and restart its service with it, as a config
change restarts purrvision serve in production. It prints the config
change and the 'purrvision rollout start' command that moves every store
to the new version. --broken makes a version helm-controller cannot
install (its values schema requires a value no store sets), to see a
rollout pause and a revert.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version == "" {
				return usageError(errors.New("--version: required, e.g. --version 0.2.0"))
			}
			st, err := readDevState()
			if err != nil {
				return err
			}
			return chartRelease(cmd.Context(), cmd.OutOrStdout(), st, devenv.ChartRelease{Version: version, Broken: broken}, time.Minute)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the chart version to publish (semantic, e.g. 0.2.0)")
	cmd.Flags().BoolVar(&broken, "broken", false, "publish a version that cannot install")
	return cmd
}

// chartRelease tags the release, writes the dev config with it, asks the
// dev process to restart its service with that config (SIGHUP), and waits
// until it says it runs the release.
func chartRelease(ctx context.Context, out io.Writer, st devState, r devenv.ChartRelease, timeout time.Duration) error {
	if st.Chart == "" || st.Config == "" {
		return usageError(errors.New("the running `purrvision dev` is older than chart-release: restart it"))
	}
	cfg, err := config.Load(st.Config)
	if err != nil {
		return err
	}
	if err := devenv.ReleaseChart(st.Chart, filepath.Join(st.Dir, "chart-work"), r); err != nil {
		if errors.Is(err, devenv.ErrTagExists) {
			return usageError(fmt.Errorf("--version: %w; pick a newer version than %s", err, cfg.Chart.Version))
		}
		return err
	}
	r.Apply(cfg)
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(st.Config, data, 0o600); err != nil {
		return fmt.Errorf("writing the dev config: %w", err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGHUP); err != nil {
		return fmt.Errorf("asking `purrvision dev` (pid %d) to reload its config: %w", st.PID, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		now, err := readDevState()
		if err != nil {
			return false, err
		}
		return now.ChartVersion == r.Version, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for `purrvision dev` to restart its service with chart %s (up to %v; see <dev dir>/purrvision.log): %w", r.Version, timeout, err)
	}
	what := "the store chart " + r.Version
	if r.Broken {
		what += ", which cannot install,"
	}
	fmt.Fprintf(out, "Tagged %s as %s in %s.\n", what, r.Tag(), st.Chart)
	fmt.Fprintf(out, "The dev service now runs with this config change (%s):\n\n%s\n", st.Config, r.ConfigChange())
	fmt.Fprintf(out, "Next, see what would change, then roll it out:\n  %s rollout plan --config %s\n  %s rollout start --config %s --waves 1,100%%\n",
		os.Args[0], st.Config, os.Args[0], st.Config)
	_, err = fmt.Fprintf(out, "Merge each wave with `%s dev merge <pull request>`; steer it with `%s dev comment --as %s <tracking issue> \"/purrvision rollout revert 1\"`.\n",
		os.Args[0], os.Args[0], devenv.Reviewer)
	return err
}
