// Package v1alpha1 holds the StoreRequest, the document a person writes to
// ask for a store, and its strict parser. It knows nothing of GitHub, the
// config file or Kubernetes clients: the webhook translates issue forms into a
// StoreRequest, and the renderer validates it against the config.
package v1alpha1

// GroupVersion of the StoreRequest document.
const (
	APIVersion = "purrvision.dev/v1alpha1"
	Kind       = "StoreRequest"
)
