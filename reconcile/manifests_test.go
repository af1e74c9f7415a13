package reconcile_test

import (
	"context"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/reconcile"
)

// trees is the tenants repo's folders by revision.
type trees map[string]string

func (t trees) TreeHash(_ context.Context, revision, dir string) (string, error) {
	return t[revision+" "+dir], nil
}

// TestReconcile_ReadyAgainWhenItsManifestsChange: a Ready store is
// reported again when a revision changes what its folder holds (a rollout
// wave that changes only its quota leaves it Ready, and the wave's gate
// waits for that report), and not when a commit elsewhere in the tenants
// repo leaves its folder as it was. A store a watcher of the build before
// reported Ready is not reported again for it.
func TestReconcile_ReadyAgainWhenItsManifestsChange(t *testing.T) {
	scheme := fakeScheme(t)
	const dir = "tenants/default/c/a/cat-cafe/manifests"
	ready := []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", LastTransitionTime: metav1.Now()}}
	ann := map[string]string{v1alpha1.AnnotationIssue: "acme/stores#1"}
	nsName := v1alpha1.Namespace("cat-cafe")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Annotations: map[string]string{v1alpha1.AnnotationIssue: "acme/stores#1", v1alpha1.AnnotationReported: "ready"}}}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: nsName, Annotations: ann},
		Spec:   kustomizev1.KustomizationSpec{Path: "./" + dir},
		Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:aaaa", Conditions: ready}}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: nsName, Name: v1alpha1.ReleaseName, Annotations: ann, Generation: 1},
		Status: helmv2.HelmReleaseStatus{ObservedGeneration: 1, Conditions: ready}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ns, ks, hr).WithStatusSubresource(ks, hr).Build()
	var reports []reconcile.Report
	r := &reconcile.StoreReconciler{Client: c, FluxNamespace: "flux-system", BaseDomain: "shop.example.com",
		Trees: trees{"aaaa " + dir: "t1", "bbbb " + dir: "t1", "cccc " + dir: "t2"},
		Reporter: reporterFunc(func(_ context.Context, rep reconcile.Report) error {
			reports = append(reports, rep)
			return nil
		})}
	ctx := context.Background()
	at := func(revision string) {
		t.Helper()
		got := &kustomizev1.Kustomization{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ks), got); err != nil {
			t.Fatal(err)
		}
		got.Status.LastAppliedRevision = "main@sha1:" + revision
		if err := c.Status().Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Name: "cat-cafe"}}); err != nil {
			t.Fatal(err)
		}
	}
	at("aaaa") // reported Ready by the build before: recorded, not reported
	if len(reports) != 0 {
		t.Fatalf("%d reports for a store reported Ready before", len(reports))
	}
	at("bbbb") // another store's commit: the folder is as it was
	if len(reports) != 0 {
		t.Fatalf("%d reports after a commit that left the store's folder as it was", len(reports))
	}
	at("cccc") // a wave changed its quota
	if len(reports) != 1 || reports[0].Phase != v1alpha1.PhaseReady || reports[0].Revision != "cccc" {
		t.Fatalf("reports %+v, want Ready again at cccc", reports)
	}
	got := &corev1.Namespace{}
	if err := c.Get(ctx, types.NamespacedName{Name: nsName}, got); err != nil {
		t.Fatal(err)
	}
	if k := got.Annotations[v1alpha1.AnnotationReported]; k != "ready@t2" {
		t.Errorf("recorded key %q, want ready@t2", k)
	}
}
