// Package renderer turns a StoreRequest into the files of one store in the
// tenants repo: its Namespace, NetworkPolicies, ResourceQuota, LimitRange,
// installer ServiceAccount and Role, SOPS-encrypted credentials, chart
// source, HelmRelease and the Flux Kustomization that applies them.
//
// It is a pure function of the config, the request, a random source and a
// clock: no network, no cluster, no files. The plaintext credentials exist
// only in memory; the only copy written is the SOPS ciphertext.
package renderer
