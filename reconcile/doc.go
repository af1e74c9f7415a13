// Package reconcile watches the Flux objects and namespaces of every store
// and reports their state back to the store's issue and pull request.
package reconcile
