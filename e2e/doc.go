// Package e2e runs Purrvision end to end on a local cluster with Flux:
// `make e2e`. Its tests carry the e2e build tag, so `go test ./...` skips
// them.
package e2e
