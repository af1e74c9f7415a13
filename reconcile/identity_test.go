package reconcile_test

import (
	"context"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/reconcile"
)

// placements is the tenants repo's answer by revision ("" for the newest
// commit that holds the store).
type placements map[string]reconcile.Where

var _ reconcile.Placement = placements(nil)

func (p placements) Place(_ context.Context, _, revision string) (reconcile.Where, error) {
	return p[revision], nil
}

// TestReconcile_AStoreIsItsIssue: a name reused after a decommission is
// another store. A Namespace left from the first store (no Kustomization
// applies it; the second store is at the head of the base branch) never
// reports to the second store's issue, and is let go; a report of a
// revision the first store's request copy holds goes to the first store's
// issue, never the second's (whose reporter then holds it back as stale).
func TestReconcile_AStoreIsItsIssue(t *testing.T) {
	scheme := fakeScheme(t)
	const (
		dir    = "tenants/default/c/a/cat-cafe"
		first  = "acme/stores#1"
		second = "acme/stores#2"
		r1     = "1111111111111111111111111111111111111111"
	)
	nsName := v1alpha1.Namespace("cat-cafe")
	now := metav1.Now()
	ready := []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", LastTransitionTime: now}}
	// The first store's Namespace, being deleted and empty, annotated by
	// the first store's render.
	leftover := func() client.Object {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, DeletionTimestamp: &now, Finalizers: []string{v1alpha1.Finalizer},
			Labels:      map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedBy, v1alpha1.LabelStore: "cat-cafe"},
			Annotations: map[string]string{v1alpha1.AnnotationIssue: first}}}
	}
	applied := func() []client.Object {
		return []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}},
			&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: nsName},
				Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:" + r1, Conditions: ready}},
			&helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: nsName, Name: v1alpha1.ReleaseName, Generation: 1},
				Status: helmv2.HelmReleaseStatus{ObservedGeneration: 1, Conditions: ready}},
		}
	}
	for _, tt := range []struct {
		name      string
		objects   []client.Object
		where     placements
		want      string // the issue reported to; "" for none
		phase     v1alpha1.Phase
		nsRemains bool
	}{
		{
			name:    "a Namespace left from the first store, the second at the head",
			objects: []client.Object{leftover()},
			where:   placements{"": {Cluster: "default", Dir: dir, Issue: second, Current: true}},
		},
		{
			name:    "the first store's decommission, the name not reused",
			objects: []client.Object{leftover()},
			where:   placements{"": {Cluster: "default", Dir: dir, Issue: first}},
			want:    first, phase: v1alpha1.PhaseDecommissioned,
		},
		{
			name:      "a report of a revision of the first store, the second at the head",
			objects:   applied(),
			where:     placements{r1: {Cluster: "default", Dir: dir, Issue: first}, "": {Cluster: "default", Dir: dir, Issue: second, Current: true}},
			want:      first,
			phase:     v1alpha1.PhaseReady,
			nsRemains: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(tt.objects...).WithStatusSubresource(&kustomizev1.Kustomization{}, &helmv2.HelmRelease{}).Build()
			var reports []reconcile.Report
			r := &reconcile.StoreReconciler{Client: c, FluxNamespace: "flux-system", BaseDomain: "shop.example.com", Cluster: "default", Placement: tt.where,
				Reporter: reporterFunc(func(_ context.Context, rep reconcile.Report) error {
					reports = append(reports, rep)
					return nil
				})}
			if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: "cat-cafe"}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rep := range reports {
				got = append(got, rep.Issue.String()+" "+string(rep.Phase))
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want+" "+string(tt.phase)) {
				t.Errorf("reported %v; want %s %s", got, tt.want, tt.phase)
			}
			err := c.Get(context.Background(), types.NamespacedName{Name: nsName}, &corev1.Namespace{})
			if tt.nsRemains != (err == nil) || err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("reading the Namespace after: %v; want it there: %v", err, tt.nsRemains)
			}
		})
	}
}
