package reconcile

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
)

// StoreReconciler reports the transitions of every store of its cluster
// (of every store it sees, without a Placement). Its requests are keyed by
// store name.
type StoreReconciler struct {
	Client client.Client
	// FluxNamespace holds the per-store Kustomizations.
	FluxNamespace string
	// BaseDomain makes the store URL.
	BaseDomain string
	Reporter   Reporter
	// Trees, when set, names what a store's folder holds at a revision of
	// the tenants repo (Observation.Manifests).
	Trees TreeHasher
	// Cluster is the cluster the watcher runs in, as the config names it.
	Cluster string
	// Placement, when set, says which cluster's folder of the tenants repo
	// holds a store: the watcher reports only Cluster's stores, and leaves
	// the objects of any other store alone (no finalizer, no report).
	Placement Placement
}

// TreeHasher names the tree at a folder of a commit of the tenants repo.
type TreeHasher interface {
	TreeHash(ctx context.Context, revision, dir string) (string, error)
}

// SetupWithManager watches the store Namespaces, HelmReleases and
// Kustomizations that Purrvision manages.
func (r *StoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	managed := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetLabels()[v1alpha1.LabelManagedBy] == v1alpha1.ManagedBy && o.GetLabels()[v1alpha1.LabelStore] != ""
	})
	toStore := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetLabels()[v1alpha1.LabelStore]}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("store").
		// Stores are independent; a slow GitHub call for one must not hold
		// up the others.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Watches(&corev1.Namespace{}, toStore, builder.WithPredicates(managed)).
		Watches(&helmv2.HelmRelease{}, toStore, builder.WithPredicates(managed)).
		Watches(&kustomizev1.Kustomization{}, toStore, builder.WithPredicates(managed)).
		Complete(r)
}

// Reconcile reports a store's transition, once.
func (r *StoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	store := req.Name
	logger := log.FromContext(ctx).WithValues("store", store)
	ns, ks, hr, err := r.fetch(ctx, store)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ns == nil && ks == nil && hr == nil {
		return ctrl.Result{}, nil // nothing here, nothing to report
	}
	where, ours, err := r.place(ctx, store, ks)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !ours {
		return ctrl.Result{}, nil
	}
	dir := where.Dir
	issue := issueOf(ns, ks, hr)
	if r.Placement != nil {
		// The issue the store's request copy names in the tenants repo, as
		// the bot rendered it; an annotation on an object in the cluster is
		// typed by whoever made the object.
		issue = nil
		if ref, err := forge.ParseIssueRef(where.Issue); err == nil {
			issue = &ref
		}
	}
	if issue == nil {
		return ctrl.Result{}, nil // not requested through an issue
	}
	if r.Placement != nil && ks == nil && where.Current {
		// No Kustomization applied these objects, yet a store of this
		// name is alive at the head of the base branch: they are a
		// leftover of an earlier store of the name (or made by hand), not
		// this store's, and neither its finalizer nor its reports are
		// theirs. A store is its issue, not its name.
		// A Namespace of theirs being deleted is let go, or the alive
		// store's own could never be made.
		logger.V(1).Info("objects of an earlier store of this name; not reported", "issue", where.Issue)
		return ctrl.Result{}, r.release(ctx, ns, Observe(ns, ks, hr))
	}
	if ns != nil && ns.DeletionTimestamp == nil && !controllerutil.ContainsFinalizer(ns, v1alpha1.Finalizer) {
		patch := client.MergeFrom(ns.DeepCopy())
		controllerutil.AddFinalizer(ns, v1alpha1.Finalizer)
		if err := r.Client.Patch(ctx, ns, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer to namespace %s: %w", ns.Name, err)
		}
	}
	obs := Observe(ns, ks, hr)
	if obs.Phase == "" {
		return ctrl.Result{}, nil
	}
	if obs.Phase == v1alpha1.PhaseReady && obs.Revision != "" && ks != nil && r.Trees != nil {
		manifests := strings.TrimPrefix(ks.Spec.Path, "./")
		if dir != "" {
			// The watcher's cache leaves out the Kustomization's spec.
			manifests = path.Join(dir, renderer.ManifestsDir)
		}
		h, err := r.Trees.TreeHash(ctx, obs.Revision, manifests)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("reading what store %s holds at %s: %w", store, obs.Revision, err)
		}
		obs.Manifests = h
	}
	reported := reportedKey(ns, ks)
	if reported == obs.Key() {
		return ctrl.Result{}, r.release(ctx, ns, obs)
	}
	if reported == string(v1alpha1.PhaseReady) && obs.Phase == v1alpha1.PhaseReady {
		// Reported Ready by a watcher that did not name the manifests:
		// the same report, recorded with them now, not made again for
		// every store at the upgrade.
		return ctrl.Result{}, r.record(ctx, ns, ks, obs)
	}
	rep := Report{Store: store, Issue: *issue, Observation: obs, URL: v1alpha1.URL(store, r.BaseDomain), Cluster: r.Cluster}
	if err := r.Reporter.Report(ctx, rep); errors.Is(err, ErrNotItsStore) {
		logger.Info("not reported: the issue the tenants repo names is another store's", "reason", err.Error())
		return ctrl.Result{}, nil
	} else if errors.Is(err, ErrStale) {
		logger.V(1).Info("not reported yet", "reason", err.Error())
		return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
	} else if wait, limited := forge.RetryAfter(err); limited {
		// GitHub asked to wait: report then, not at the queue's backoff.
		logger.Info("GitHub rate limit; reporting later", "phase", obs.Phase, "after", wait)
		return ctrl.Result{RequeueAfter: wait}, nil
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("reporting %s of store %s: %w", obs.Phase, store, err)
	}
	logger.Info("reported", "phase", obs.Phase, "issue", issue.String())
	if err := r.record(ctx, ns, ks, obs); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.release(ctx, ns, obs)
}

// place finds the store's folder in the tenants repo, at the revision its
// Kustomization applied when there is one (Flux of this cluster applied
// it from this cluster's folder), else at the newest commit that holds it,
// and says whether it is this cluster's. Without a Placement every store
// is.
func (r *StoreReconciler) place(ctx context.Context, store string, ks *kustomizev1.Kustomization) (Where, bool, error) {
	if r.Placement == nil {
		return Where{}, true, nil
	}
	revision := ""
	if ks != nil {
		revision = revisionSHA(ks.Status.LastAppliedRevision)
	}
	w, err := r.Placement.Place(ctx, store, revision)
	if err != nil {
		return Where{}, false, fmt.Errorf("finding the cluster of store %s: %w", store, err)
	}
	if w.Cluster != r.Cluster {
		log.FromContext(ctx).V(1).Info("not this cluster's store; not reported", "store", store, "cluster", r.Cluster, "tenantsCluster", w.Cluster, "revision", revision)
		return Where{}, false, nil
	}
	return w, true, nil
}

// fetch reads the store's objects; each is nil when absent.
func (r *StoreReconciler) fetch(ctx context.Context, store string) (*corev1.Namespace, *kustomizev1.Kustomization, *helmv2.HelmRelease, error) {
	nsName := v1alpha1.Namespace(store)
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: nsName}, ns); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, nil, fmt.Errorf("reading namespace %s: %w", nsName, err)
		}
		ns = nil
	}
	ks := &kustomizev1.Kustomization{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.FluxNamespace, Name: nsName}, ks); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, nil, fmt.Errorf("reading kustomization %s: %w", nsName, err)
		}
		ks = nil
	}
	hr := &helmv2.HelmRelease{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: nsName, Name: v1alpha1.ReleaseName}, hr); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, nil, fmt.Errorf("reading helmrelease %s/%s: %w", nsName, v1alpha1.ReleaseName, err)
		}
		hr = nil
	}
	return ns, ks, hr, nil
}

// issueOf reads the issue annotation of the first object that exists.
func issueOf(ns *corev1.Namespace, ks *kustomizev1.Kustomization, hr *helmv2.HelmRelease) *forge.IssueRef {
	var objs []client.Object
	if hr != nil {
		objs = append(objs, hr)
	}
	if ks != nil {
		objs = append(objs, ks)
	}
	if ns != nil {
		objs = append(objs, ns)
	}
	for _, o := range objs {
		if s := o.GetAnnotations()[v1alpha1.AnnotationIssue]; s != "" {
			if ref, err := forge.ParseIssueRef(s); err == nil {
				return &ref
			}
		}
	}
	return nil
}

// reportedKey is what was reported last, kept on the Namespace, or on the
// Kustomization while there is no Namespace.
func reportedKey(ns *corev1.Namespace, ks *kustomizev1.Kustomization) string {
	if ns != nil {
		return ns.Annotations[v1alpha1.AnnotationReported]
	}
	if ks != nil {
		return ks.Annotations[v1alpha1.AnnotationReported]
	}
	return ""
}

func (r *StoreReconciler) record(ctx context.Context, ns *corev1.Namespace, ks *kustomizev1.Kustomization, obs Observation) error {
	var obj client.Object
	switch {
	case ns != nil:
		obj = ns
	case ks != nil:
		obj = ks
	default:
		return nil
	}
	key := obs.Key()
	if len(key) > 1000 {
		key = key[:1000]
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[v1alpha1.AnnotationReported] = key
	obj.SetAnnotations(ann)
	if err := r.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("recording the report on %s: %w", obj.GetName(), err)
	}
	return nil
}

// release lets a deleted Namespace go once its decommission is reported.
func (r *StoreReconciler) release(ctx context.Context, ns *corev1.Namespace, obs Observation) error {
	if ns == nil || ns.DeletionTimestamp == nil || obs.Phase != v1alpha1.PhaseDecommissioned || !controllerutil.ContainsFinalizer(ns, v1alpha1.Finalizer) {
		return nil
	}
	patch := client.MergeFrom(ns.DeepCopy())
	controllerutil.RemoveFinalizer(ns, v1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, ns, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer from namespace %s: %w", ns.Name, err)
	}
	return nil
}
