package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/reconcile"
)

// fakeScheme holds the kinds the watcher reads, for controller-runtime's
// fake client.
func fakeScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, kustomizev1.AddToScheme, helmv2.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return scheme
}

type reporterFunc func(ctx context.Context, r reconcile.Report) error

func (f reporterFunc) Report(ctx context.Context, r reconcile.Report) error { return f(ctx, r) }

// TestReconcile_RateLimitRequeuesAfterTheWait: a report refused by a
// GitHub rate limit is tried again after the wait GitHub asked for, as a
// requeue, not as an error the controller retries at its own pace.
func TestReconcile_RateLimitRequeuesAfterTheWait(t *testing.T) {
	scheme := fakeScheme(t)
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: v1alpha1.Namespace("cat-cafe"),
			Annotations: map[string]string{v1alpha1.AnnotationIssue: "acme/stores#1"}},
		Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:0123456789abcdef0123456789abcdef01234567",
			Conditions: []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", LastTransitionTime: metav1.Now()}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ks).WithStatusSubresource(ks).Build()
	reported := 0
	r := &reconcile.StoreReconciler{Client: c, FluxNamespace: "flux-system", BaseDomain: "shop.example.com",
		Reporter: reporterFunc(func(context.Context, reconcile.Report) error {
			reported++
			return fmt.Errorf("listing comments: %w", &forge.RateLimitError{Wait: 7 * time.Minute})
		})}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: "cat-cafe"}})
	if err != nil || res.RequeueAfter != 7*time.Minute || reported != 1 {
		t.Errorf("Reconcile = %+v, %v after %d reports; want a requeue after 7m", res, err, reported)
	}
}
