// Package testenv starts a real kube-apiserver and etcd (built by
// `make testbin`) with the Flux and Gateway API CRDs installed, for tests.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/purrvision/purrvision/reconcile"
)

// Env is a running API server.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
}

// ErrNoAssets means `make testbin` has not been run.
var ErrNoAssets = errors.New("KUBEBUILDER_ASSETS and PURRVISION_CRDS are not set: run the tests with `make test`, or `eval $(hack/testbin.sh)` first")

// Scheme knows the core types and the Flux types, as the watcher does.
func Scheme() (*runtime.Scheme, error) { return reconcile.Scheme() }

var (
	sharedOnce sync.Once
	shared     *Env
	sharedErr  error
)

// Shared starts one API server for the whole test binary, on first use,
// and skips the test under -short. Call StopShared from TestMain.
func Shared(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs kube-apiserver and etcd (make testbin); skipped with -short")
	}
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops the API server Shared started, if any.
func StopShared() error {
	if shared == nil {
		return nil
	}
	return shared.Stop()
}

// Start starts etcd and kube-apiserver and installs the CRDs of
// PURRVISION_CRDS: Flux's and the Gateway API's standard channel.
func Start() (*Env, error) {
	assets, crds := os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("PURRVISION_CRDS")
	if assets == "" || crds == "" {
		return nil, ErrNoAssets
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &Env{env: env, Config: cfg, Client: c, Scheme: scheme}, nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// Warnings collects the warnings the API server sends, such as Pod
// Security Admission's.
type Warnings struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// Take returns the warnings seen since the last call.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// ClientWithWarnings returns a client whose warnings land in w.
func (e *Env) ClientWithWarnings(w *Warnings) (client.Client, error) {
	cfg := rest.CopyConfig(e.Config)
	cfg.WarningHandler = w
	return client.New(cfg, client.Options{Scheme: e.Scheme})
}

// Main runs a package's tests and stops the shared API server after them:
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping kube-apiserver:", err)
	}
	os.Exit(code)
}

// Namespace creates a namespace of the test's own, named base and a random
// suffix, and deletes it when the test ends. The API server runs no
// namespace controller, so a deleted namespace stays Terminating: its name
// must not be used again, which is why every test gets a fresh one.
func (e *Env) Namespace(t testing.TB, base string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: base + "-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace %s-*: %v", base, err)
	}
	e.CleanupNamespace(t, ns.Name)
	return ns.Name
}

// CleanupNamespace deletes the namespace name when the test ends, unless
// it is gone or already being deleted (a second delete is refused).
func (e *Env) CleanupNamespace(t testing.TB, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
		ns := &corev1.Namespace{}
		err := e.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
		if apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil {
			return
		}
		if err == nil {
			err = e.Client.Delete(ctx, ns)
		}
		if client.IgnoreNotFound(err) != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
}

// UniqueName is base and a random suffix of 5 lowercase letters and
// digits, for a store or an object whose name makes its namespace.
func UniqueName(base string) string { return base + "-" + utilrand.String(5) }
