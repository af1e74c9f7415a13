package testenv

import (
	"context"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// ReadyStore makes a store's Namespace, its Kustomization in fluxNS
// (applied at revision) and its HelmRelease, all Ready, as Flux leaves
// them, labelled as the store's and annotated with issue. At the end of
// the test the Namespace is deleted and a watcher's finalizer left on it
// is removed (nothing reports these stores gone).
func (e *Env) ReadyStore(t testing.TB, fluxNS, store, issue, revision string) {
	t.Helper()
	ctx := context.Background()
	c := e.Client
	ns := v1alpha1.Namespace(store)
	objMeta := func(name, namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels:      map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedBy, v1alpha1.LabelStore: store},
			Annotations: map[string]string{v1alpha1.AnnotationIssue: issue}}
	}
	ready := func(conds *[]metav1.Condition, reason, msg string) {
		apimeta.SetStatusCondition(conds, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: reason, Message: msg})
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: objMeta(ns, "")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		got := &corev1.Namespace{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: ns}, got); err == nil && len(got.Finalizers) > 0 {
			got.Finalizers = nil
			if err := c.Update(context.Background(), got); err != nil {
				t.Errorf("removing the finalizers of %s: %v", ns, err)
			}
		}
	})
	e.CleanupNamespace(t, ns)
	ks := &kustomizev1.Kustomization{ObjectMeta: objMeta(ns, fluxNS), Spec: kustomizev1.KustomizationSpec{
		Interval: metav1.Duration{Duration: time.Minute}, Prune: true, Path: "./somewhere/else",
		SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "tenants"}}}
	if err := c.Create(ctx, ks); err != nil {
		t.Fatal(err)
	}
	ks.Status.ObservedGeneration = ks.Generation
	ks.Status.LastAppliedRevision = "main@sha1:" + revision
	ready(&ks.Status.Conditions, "ReconciliationSucceeded", "Applied revision: "+ks.Status.LastAppliedRevision)
	if err := c.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}
	hr := &helmv2.HelmRelease{ObjectMeta: objMeta(v1alpha1.ReleaseName, ns), Spec: helmv2.HelmReleaseSpec{
		Interval: metav1.Duration{Duration: time.Minute},
		ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "woocommerce-chart"}}}
	if err := c.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	hr.Status.ObservedGeneration = hr.Generation
	ready(&hr.Status.Conditions, "InstallSucceeded", "Helm install succeeded")
	if err := c.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
}
