package reconcile

import (
	"context"
	"fmt"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ManagerOptions configure the watcher's manager.
type ManagerOptions struct {
	FluxNamespace string
	BaseDomain    string
	Reporter      Reporter
	// Trees, when set, names what a store's folder holds at a revision.
	Trees TreeHasher
	// Cluster is the cluster the watcher runs in, as the config names it;
	// with a Placement, only its stores are reported.
	Cluster string
	// Placement says which cluster's folder of the tenants repo holds a
	// store; every store is reported without one.
	Placement Placement
	// LeaderElection lets several replicas run; one watches at a time,
	// one per Cluster (LeaderElectionID).
	LeaderElection          bool
	LeaderElectionNamespace string
	// HealthAddr, when set, serves the manager's /healthz and /readyz.
	HealthAddr string
}

// Scheme knows the core types and the Flux types the watcher reads.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, helmv2.AddToScheme, kustomizev1.AddToScheme, sourcev1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	return s, nil
}

// NewManager builds the watcher. Its cache holds only the objects
// Purrvision manages, without managedFields and the HelmReleases' values,
// so memory grows with the number of stores, not with the cluster.
func NewManager(cfg *rest.Config, o ManagerOptions) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	managed := labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedBy})
	lease := 30 * time.Second
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  o.HealthAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        LeaderElectionID(o.Cluster),
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		LeaseDuration:           &lease,
		// Stepping down on shutdown lets another replica take over at once.
		LeaderElectionReleaseOnCancel: true,
		// A process may build the watcher again after losing its lease;
		// the controller's name is then already registered.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{
			DefaultTransform: stripForCache,
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Namespace{}:          {Label: managed},
				&helmv2.HelmRelease{}:        {Label: managed},
				&kustomizev1.Kustomization{}: {Label: managed, Namespaces: map[string]cache.Config{o.FluxNamespace: {}}},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the watcher: %w", err)
	}
	r := &StoreReconciler{Client: mgr.GetClient(), FluxNamespace: o.FluxNamespace, BaseDomain: o.BaseDomain, Reporter: o.Reporter, Trees: o.Trees,
		Cluster: o.Cluster, Placement: o.Placement}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the store controller: %w", err)
	}
	return mgr, nil
}

// LeaderElectionID is the name of the lease the watchers of cluster elect
// their leader with: one leader per cluster, so that the watchers of two
// clusters that share an API server (as in tests) do not wait for each
// other.
func LeaderElectionID(cluster string) string {
	if cluster == "" {
		return "purrvision-watcher"
	}
	return "purrvision-watcher-" + cluster
}

// stripForCache drops what the watcher never reads.
func stripForCache(obj any) (any, error) {
	if o, ok := obj.(client.Object); ok {
		o.SetManagedFields(nil)
		if a := o.GetAnnotations(); a != nil {
			delete(a, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	switch o := obj.(type) {
	case *helmv2.HelmRelease:
		o.Spec = helmv2.HelmReleaseSpec{}
		o.Status.History = nil
	case *kustomizev1.Kustomization:
		o.Spec = kustomizev1.KustomizationSpec{}
		o.Status.Inventory = nil
	}
	return obj, nil
}

// Nudger asks Flux to fetch the tenants repo now, as `flux reconcile
// source git` does, instead of waiting for the interval.
type Nudger struct {
	Client    client.Client
	Namespace string
	Name      string
}

// Nudge sets reconcile.fluxcd.io/requestedAt on the GitRepository.
func (n *Nudger) Nudge(ctx context.Context) error {
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = n.Namespace, n.Name
	patch := client.RawPatch("application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))))
	if err := n.Client.Patch(ctx, repo, patch); err != nil {
		return fmt.Errorf("annotating GitRepository %s/%s: %w", n.Namespace, n.Name, err)
	}
	return nil
}
