//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/provision"
)

const (
	requestsRepo   = devenv.RequestsRepo
	tenantsRepo    = devenv.TenantsRepo
	brokenChartTag = "woocommerce-0.1.1-broken"
)

// world is the system `purrvision dev` runs: a local cluster with Flux, a
// git server with the tenants repo and the chart, the GitHub stand-in and
// purrvision serve with its watcher, all on loopback.
type world struct {
	*devenv.Env
	t     *testing.T
	start time.Time
}

func (w *world) stage(name string, since time.Time) {
	w.t.Logf("stage %-52s %8.2fs", name, time.Since(since).Seconds())
}

func newWorld(t *testing.T, configure func(*config.Config)) *world {
	t.Helper()
	w := &world{t: t, start: time.Now()}
	bins, err := localcluster.BinariesFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	ctx, cancel := context.WithTimeout(logctx.Into(context.Background(), log), 3*time.Minute)
	defer cancel()
	w.Env, err = devenv.Start(ctx, devenv.Options{Dir: t.TempDir(), Bins: bins, Configure: configure,
		Progress: func(stage string, took time.Duration) { t.Logf("stage %-52s %8.2fs", stage, took.Seconds()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	pushBrokenChart(t, w.ChartBare)
	return w
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// pushBrokenChart tags a release of the chart whose schema demands a value
// no store has, so helm-controller cannot install it.
func pushBrokenChart(t *testing.T, bare string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chart")
	if out, err := gitserver.Git(filepath.Dir(dir), "clone", "-q", bare, dir); err != nil {
		t.Fatalf("cloning the chart repo: %v\n%s", err, out)
	}
	schema := filepath.Join(dir, "charts", "woocommerce", "values.schema.json")
	data, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(data, []byte(`"required": ["store", `), []byte(`"required": ["licenseKey", "store", `), 1)
	if bytes.Equal(broken, data) {
		t.Fatal("could not break the chart schema")
	}
	if err := os.WriteFile(schema, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"commit", "-q", "-am", "broken chart"}, {"tag", brokenChartTag}, {"push", "-q", "origin", "main", "--tags"}} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func formBody(name, plan string) string {
	return provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: "owner@example.com"}))
}
