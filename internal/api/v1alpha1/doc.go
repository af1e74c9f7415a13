// Package v1alpha1 holds the StoreRequest, the document a person writes to
// ask for a store, and its strict parser. It knows nothing of GitHub, the
// config file or Kubernetes clients: the webhook translates issue forms into a
// StoreRequest, and the renderer validates it against the config.
//
// It is also the one home of the names Purrvision shares between its
// stages (names.go): labels, object names, the branch prefix, commit
// trailer keys, comment markers, the store's host and URL, and the store
// phases, the way Flux keeps its finalizers and condition reasons in its
// API packages.
package v1alpha1

// GroupVersion of the StoreRequest document.
const (
	APIVersion = "purrvision.dev/v1alpha1"
	Kind       = "StoreRequest"
)
