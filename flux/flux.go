// Package flux holds the cluster side of Purrvision as Kubernetes
// manifests: the tenants source and Kustomization (tenants/), the
// multi-tenancy lockdown component (lockdown/), Purrvision's own deployment
// (purrvision/) and the .sops.yaml for the
// tenants repo (tenants-repo/). Every kustomization here builds with
// kustomize; the tests prove it.
package flux

import "embed"

// Files are the manifests, embedded.
//
//go:embed tenants lockdown purrvision tenants-repo/.sops.yaml
var Files embed.FS
