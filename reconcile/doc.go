// Package reconcile is the status watcher: a controller-runtime controller
// that follows each store's Flux Kustomization, HelmRelease and Namespace,
// and reports their transitions to the store's issue and the tenants repo
// on GitHub: deployment statuses, the progress comment and labels.
//
// It keeps no state in memory. What it reported last is an annotation on
// the store's Namespace (or Kustomization), and GitHub itself is checked
// before anything is posted, so restarts and a second replica never post
// twice. A finalizer on the Namespace lets it report a decommission before
// the Namespace is gone.
//
// One watcher runs in each cluster and reports only that cluster's stores:
// the tenants repo says which cluster's folder holds a store
// (TenantsPlacement), never the objects in the cluster. Each cluster's
// watchers elect their own leader (LeaderElectionID).
package reconcile
