//go:build dev

package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/testutil"
)

// TestDevChartRelease: chart-release tags the version in the chart repo,
// moves the dev config to it, asks the dev process (here the test, on
// SIGHUP) to reload, waits for it, and prints the rollout start command.
func TestDevChartRelease(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	dir := t.TempDir()
	_, chartURL, bare := testutil.GitRepo(t, "chart", "main")
	if err := devenv.PushChart(filepath.Join(dir, "seed"), bare); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "purrvision.yaml")
	data, err := yaml.Marshal(testutil.ExampleConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	state := devState{PID: os.Getpid(), Dir: dir, Chart: chartURL, Config: cfgPath, ChartVersion: "0.1.0"}
	remove, err := writeDevState(state)
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	// The dev process: on SIGHUP it reloads the config and says which
	// chart it runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				cfg, err := config.Load(cfgPath)
				if err != nil {
					t.Error(err)
					continue
				}
				state.ChartVersion = cfg.Chart.Version
				if _, err := writeDevState(state); err != nil {
					t.Error(err)
				}
			}
		}
	}()

	if r := runCLI(t, "", "dev", "chart-release"); r.code != 2 || !strings.Contains(r.stderr, "--version") {
		t.Errorf("without --version: exit %d, %s", r.code, r.stderr)
	}
	r := runCLI(t, "", "dev", "chart-release", "--version", "0.2.0")
	if r.code != 0 {
		t.Fatalf("chart-release: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"woocommerce-0.2.0", "version: 0.2.0", "rollout start --config " + cfgPath + " --waves 1,100%"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Chart.Version != "0.2.0" || cfg.Chart.Source.Tag != "woocommerce-0.2.0" {
		t.Errorf("the dev config's chart: %+v", cfg.Chart)
	}
	if out, err := gitserver.Git(bare, "show", "woocommerce-0.2.0:charts/woocommerce/Chart.yaml"); err != nil || !strings.Contains(string(out), "version: 0.2.0") {
		t.Errorf("the tag's Chart.yaml: %v\n%s", err, out)
	}
	if r := runCLI(t, "", "dev", "chart-release", "--version", "0.2.0"); r.code != 2 || !strings.Contains(r.stderr, "newer version than 0.2.0") {
		t.Errorf("the same version again: exit %d, %s", r.code, r.stderr)
	}
}
