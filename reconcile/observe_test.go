package reconcile

import (
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cond(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
}

func TestObserve(t *testing.T) {
	now := metav1.Now()
	ks := func(conds ...metav1.Condition) *kustomizev1.Kustomization {
		k := &kustomizev1.Kustomization{}
		k.Generation, k.Status.ObservedGeneration, k.Status.Conditions = 1, 1, conds
		k.Status.LastAppliedRevision = "main@sha1:abc123"
		return k
	}
	hr := func(gen, observed int64, conds ...metav1.Condition) *helmv2.HelmRelease {
		h := &helmv2.HelmRelease{}
		h.Generation, h.Status.ObservedGeneration, h.Status.Conditions = gen, observed, conds
		return h
	}
	tests := []struct {
		name  string
		ns    *corev1.Namespace
		ks    *kustomizev1.Kustomization
		hr    *helmv2.HelmRelease
		phase v1alpha1.Phase
		msg   string
	}{
		{name: "nothing yet"},
		{name: "kustomization progressing", ks: ks(cond("Ready", "Unknown", "Progressing", ""), cond("Reconciling", "True", "Progressing", ""))},
		{name: "applied", ks: ks(cond("Ready", "True", "ReconciliationSucceeded", "")), phase: v1alpha1.PhaseApplied},
		{name: "apply failed", ks: ks(cond("Ready", "False", "ReconciliationFailed", "decryption failed")), phase: v1alpha1.PhaseFailed, msg: "decryption failed"},
		{name: "release not observed yet", ks: ks(cond("Ready", "True", "", "")), hr: hr(2, 1, cond("Ready", "True", "", "")), phase: v1alpha1.PhaseInstalling},
		{name: "installing", hr: hr(1, 1, cond("Ready", "Unknown", "Progressing", ""), cond("Reconciling", "True", "Progressing", "")), phase: v1alpha1.PhaseInstalling},
		{name: "failed, Flux retrying", hr: hr(1, 1, cond("Ready", "False", "InstallFailed", "timed out\n  waiting"), cond("Reconciling", "True", "Progressing", "")), phase: v1alpha1.PhaseFailed, msg: "timed out waiting"},
		{name: "progressing after an upgrade", hr: hr(2, 2, cond("Ready", "False", "Progressing", "upgrading"), cond("Reconciling", "True", "Progressing", "")), phase: v1alpha1.PhaseInstalling},
		{name: "ready", hr: hr(1, 1, cond("Ready", "True", "InstallSucceeded", "")), phase: v1alpha1.PhaseReady},
		{name: "install failed", hr: hr(1, 1, cond("Ready", "False", "InstallFailed", "values don't meet the schema")), phase: v1alpha1.PhaseFailed, msg: "values don't meet the schema"},
		{name: "stalled", hr: hr(1, 1, cond("Ready", "False", "RetriesExceeded", "failed"), cond("Stalled", "True", "RetriesExceeded", "exhausted 3 retries")), phase: v1alpha1.PhaseFailed, msg: "exhausted 3 retries"},
		{name: "namespace terminating, emptied", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, hr: hr(1, 1, cond("Ready", "True", "", "")), phase: v1alpha1.PhaseDecommissioned},
		// A pruned Kustomization whose Namespace stays (the first apply
		// failed, so Flux's inventory is empty): not decommissioned.
		{name: "kustomization pruned, namespace kept", ns: &corev1.Namespace{}, ks: func() *kustomizev1.Kustomization {
			k := ks(cond("Ready", "False", "ReconciliationFailed", "x"))
			k.DeletionTimestamp = &now
			return k
		}(), phase: v1alpha1.PhaseFailed, msg: "x"},
		{name: "kustomization pruned, no namespace", ks: func() *kustomizev1.Kustomization {
			k := ks(cond("Ready", "True", "", ""))
			k.DeletionTimestamp = &now
			return k
		}(), phase: v1alpha1.PhaseDecommissioned},
		// Its objects are still being deleted: the name is not free yet.
		{name: "namespace terminating, not yet empty", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Observe(tt.ns, tt.ks, tt.hr)
			if o.Phase != tt.phase || o.Message != tt.msg {
				t.Errorf("Observe = %+v, want phase %q message %q", o, tt.phase, tt.msg)
			}
			if tt.ks != nil && o.Revision != "abc123" {
				t.Errorf("revision = %q", o.Revision)
			}
		})
	}
}
