package reconcile

import (
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Observation is what the cluster says about one store.
type Observation struct {
	// Phase is one of the storestatus phases, or empty when there is
	// nothing to say yet.
	Phase v1alpha1.Phase
	// Message is Flux's message for a failure.
	Message string
	// Revision is the git commit Flux applied, when known.
	Revision string
	// Applied is true when the store's Kustomization is Ready.
	Applied bool
	// Manifests names what the store's folder holds at Revision (its git
	// tree), when known: a Ready store is reported again when they change
	// (a rollout wave that changes only its quota), and not when a commit
	// leaves them as they were.
	Manifests string
}

// Key is what is compared to decide whether something changed. An
// installing store is reported again once its Kustomization is Ready, so the
// timeline can say "applied" before "installing" (see GitHubReporter).
func (o Observation) Key() string {
	switch {
	case o.Phase == v1alpha1.PhaseFailed:
		return string(o.Phase) + ":" + o.Message
	case o.Phase == v1alpha1.PhaseInstalling && o.Applied:
		return string(o.Phase) + ":applied"
	case o.Phase == v1alpha1.PhaseReady && o.Manifests != "":
		return string(o.Phase) + "@" + o.Manifests
	}
	return string(o.Phase)
}

// Observe derives a store's phase from its Namespace, Flux Kustomization and
// HelmRelease; any of them may be nil.
func Observe(ns *corev1.Namespace, ks *kustomizev1.Kustomization, hr *helmv2.HelmRelease) Observation {
	var o Observation
	if ks != nil {
		o.Revision = revisionSHA(ks.Status.LastAppliedRevision)
		o.Applied = ks.Status.ObservedGeneration == ks.Generation && apimeta.IsStatusConditionTrue(ks.Status.Conditions, meta.ReadyCondition)
	}
	switch {
	case ns != nil && ns.DeletionTimestamp != nil:
		// Decommissioned once the Namespace is empty: Kubernetes has
		// deleted what it held (its spec finalizers are done), and only
		// metadata finalizers, Purrvision's among them, keep it. Until then
		// the name is not free again: the report closes the issue.
		if len(ns.Spec.Finalizers) == 0 {
			o.Phase = v1alpha1.PhaseDecommissioned
		}
	case ns == nil && ks != nil && ks.DeletionTimestamp != nil && hr == nil:
		// Pruned before its Namespace was ever made; with a Namespace, its
		// emptying decides (above).
		o.Phase = v1alpha1.PhaseDecommissioned
	case hr != nil:
		o.Phase, o.Message = helmPhase(hr)
	case ks != nil:
		ready := apimeta.FindStatusCondition(ks.Status.Conditions, meta.ReadyCondition)
		switch {
		case ready == nil || !current(ks.Generation, ks.Status.ObservedGeneration, ready):
		case ready.Status == metav1.ConditionTrue:
			o.Phase = v1alpha1.PhaseApplied
		case failed(ks.Status.Conditions):
			o.Phase, o.Message = v1alpha1.PhaseFailed, oneLine(ready.Message)
		}
	}
	return o
}

// helmPhase reads a HelmRelease's conditions as helm-controller sets them.
func helmPhase(hr *helmv2.HelmRelease) (v1alpha1.Phase, string) {
	ready := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	switch {
	case ready == nil || !current(hr.Generation, hr.Status.ObservedGeneration, ready):
		return v1alpha1.PhaseInstalling, ""
	case ready.Status == metav1.ConditionTrue:
		return v1alpha1.PhaseReady, ""
	case failed(hr.Status.Conditions):
		msg := ready.Message
		if st := apimeta.FindStatusCondition(hr.Status.Conditions, meta.StalledCondition); st != nil && st.Status == metav1.ConditionTrue && st.Message != "" {
			msg = st.Message
		}
		return v1alpha1.PhaseFailed, oneLine(msg)
	}
	return v1alpha1.PhaseInstalling, ""
}

// failed: Stalled, or the last attempt failed (Ready=False with a *Failed
// reason), even while Flux retries; or not Ready and no longer reconciling.
// A retry that succeeds turns the store Ready again.
func failed(conds []metav1.Condition) bool {
	if apimeta.IsStatusConditionTrue(conds, meta.StalledCondition) {
		return true
	}
	ready := apimeta.FindStatusCondition(conds, meta.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionFalse {
		return false
	}
	if strings.HasSuffix(ready.Reason, "Failed") || ready.Reason == "RetriesExceeded" {
		return true
	}
	return !apimeta.IsStatusConditionTrue(conds, meta.ReconcilingCondition)
}

// revisionSHA takes the commit out of a Flux revision like
// "main@sha1:0123abcd...".
func revisionSHA(rev string) string {
	if i := strings.LastIndex(rev, ":"); i >= 0 {
		return rev[i+1:]
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 {
		return rev[i+1:]
	}
	return rev
}

// oneLine folds a multi-line Flux message into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// current reports whether a Ready condition speaks of the object's current
// generation: helm-controller updates the condition's observedGeneration
// during a reconcile, status.observedGeneration only at its end.
func current(generation, observed int64, ready *metav1.Condition) bool {
	return observed == generation || ready.ObservedGeneration == generation
}
