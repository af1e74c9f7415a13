//go:build e2e

package e2e_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/provision"
)

const (
	requestsRepo       = devenv.RequestsRepo
	tenantsRepo        = devenv.TenantsRepo
	brokenChartVersion = "0.1.1-broken"
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
	return newWorldWith(t, devenv.Options{Configure: configure})
}

// newWorldWith brings up the world with o's Configure and ResyncInterval.
func newWorldWith(t *testing.T, o devenv.Options) *world {
	t.Helper()
	w := &world{t: t, start: time.Now()}
	bins, err := localcluster.BinariesFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	testLog.set(t)
	t.Cleanup(func() { testLog.set(nil) }) // runs last: after the world stopped
	setLoggerOnce.Do(func() { ctrllog.SetLogger(logr.FromSlogHandler(log.Handler())) })
	ctx, cancel := context.WithTimeout(logctx.Into(context.Background(), log), 3*time.Minute)
	defer cancel()
	o.Dir, o.Bins = t.TempDir(), bins
	o.Progress = func(stage string, took time.Duration) { t.Logf("stage %-52s %8.2fs", stage, took.Seconds()) }
	w.Env, err = devenv.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// releaseChart publishes a chart version in the dev chart repo, as
// `purrvision dev chart-release` does.
func (w *world) releaseChart(r devenv.ChartRelease) {
	w.t.Helper()
	if err := devenv.ReleaseChart(w.ChartBare, w.t.TempDir(), r); err != nil {
		w.t.Fatal(err)
	}
}

// testWriter forwards what the service and controller-runtime log to the
// test running now, or to stderr between tests: controller-runtime binds
// its loggers to the first logger set in the process, so a writer tied to
// one test would be written to after that test ended (which panics).
type testWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *testWriter) set(t *testing.T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = t
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t == nil {
		return os.Stderr.Write(p)
	}
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var (
	testLog       = &testWriter{}
	log           = slog.New(slog.NewTextHandler(testLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	setLoggerOnce sync.Once
)

func formBody(name, plan string) string {
	return provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: "owner@example.com"}))
}
