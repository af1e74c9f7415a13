//go:build e2e

package e2e_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/renderer"
)

// TestLockdown_FluxActsOnlyAsTheNamedAccounts: the local cluster's Flux
// runs locked down as production does. A Kustomization that names no
// service account acts as flux-system's "default" and is refused; a store
// the renderer writes goes through the shipped accounts all the way, as
// the tenants Kustomization would take it: a Kustomization acting as
// purrvision-tenants applies the store's Kustomization, which acts as
// purrvision-stores and applies the store, whose HelmRelease installs
// the chart as store-installer; removing it prunes the store. The objects
// come from a repository of their own, beside the tenants repo.
func TestLockdown_FluxActsOnlyAsTheNamedAccounts(t *testing.T) {
	w := newWorld(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := w.Cluster.Client
	fluxNS := w.Config.Flux.Namespace
	const probe, refusedNS = "lockdown-probe", "lockdown-refused"

	// A store whose Kustomization takes the probe repository as its
	// source, and an object any account but default may apply.
	cfg := *w.Config
	cfg.Flux.SourceName = probe
	out, err := renderer.Render(renderer.Input{Config: &cfg, Request: v1alpha1.New(probe, v1alpha1.StoreSpec{Owner: "owner", Plan: "small", AdminEmail: "owner@example.com"}),
		Rand: rand.Reader, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	files := map[string][]byte{"refused/namespace.yaml": []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + refusedNS + "\n")}
	for _, f := range out.Files {
		files[f.Path] = f.Data
	}
	for p, data := range files {
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bare, err := w.Git.Init(probe, "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "probe"}, {"push", "-q", bare, "main"}} {
		if out, err := gitserver.Git(work, args...); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}

	interval := metav1.Duration{Duration: time.Minute}
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: probe, Namespace: fluxNS},
		Spec: sourcev1.GitRepositorySpec{URL: w.Git.URL(probe), Reference: &sourcev1.GitRepositoryRef{Branch: "main"}, Interval: interval}}
	kustomization := func(name, path, account string) *kustomizev1.Kustomization {
		return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fluxNS},
			Spec: kustomizev1.KustomizationSpec{Interval: interval, Path: path, Prune: true, ServiceAccountName: account,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: probe}}}
	}
	refused := kustomization(refusedNS, "./refused", "")
	tenants := kustomization("lockdown-tenants", "./"+out.Dir, config.TenantsServiceAccount)
	for _, o := range []client.Object{src, refused, tenants} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}

	t0 := time.Now()
	var msg string
	w.waitFor("the Kustomization that names no account refused", 2*time.Minute, func() bool {
		msg = readyMessage(ctx, c, fluxNS, refusedNS, metav1.ConditionFalse)
		return strings.Contains(msg, "system:serviceaccount:"+fluxNS+":default")
	})
	t.Logf("refused: %s", msg)
	if !strings.Contains(strings.ToLower(msg), "forbidden") {
		t.Errorf("the refusal does not say forbidden: %s", msg)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: refusedNS}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Namespace of the refused Kustomization exists: err = %v", err)
	}
	w.stage("a Kustomization naming no account refused", t0)

	storeNS := v1alpha1.Namespace(probe)
	defer w.dumpRelease(storeNS)
	t0 = time.Now()
	w.waitFor("the store's Kustomization applied as purrvision-stores", 2*time.Minute, func() bool {
		return readyMessage(ctx, c, fluxNS, storeNS, metav1.ConditionTrue) != ""
	})
	w.waitFor("the store's HelmRelease installed as store-installer", 3*time.Minute, func() bool { return w.releaseSettled(storeNS) })
	w.stage("a store applied by the shipped accounts", t0)

	// Removing the store's folder prunes its Kustomization (as
	// purrvision-tenants), whose finalizer prunes the store (as
	// purrvision-stores).
	t0 = time.Now()
	if err := c.Delete(ctx, tenants); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the store's Kustomization pruned", 2*time.Minute, func() bool {
		err := c.Get(ctx, client.ObjectKey{Namespace: fluxNS, Name: storeNS}, &kustomizev1.Kustomization{})
		return apierrors.IsNotFound(err)
	})
	w.waitFor("the store's Namespace deleted", 2*time.Minute, func() bool {
		ns := &corev1.Namespace{}
		err := c.Get(ctx, client.ObjectKey{Name: storeNS}, ns)
		return apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil
	})
	w.stage("the store pruned by the shipped accounts", t0)
}

// readyMessage is the message of the Kustomization's Ready condition when
// it has status want at the object's generation, or "".
func readyMessage(ctx context.Context, c client.Client, ns, name string, want metav1.ConditionStatus) string {
	k := &kustomizev1.Kustomization{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, k); err != nil {
		return ""
	}
	cond := apimeta.FindStatusCondition(k.Status.Conditions, meta.ReadyCondition)
	if cond == nil || cond.Status != want || cond.ObservedGeneration != k.Generation {
		return ""
	}
	if cond.Message == "" {
		return "(no message)"
	}
	return cond.Message
}
