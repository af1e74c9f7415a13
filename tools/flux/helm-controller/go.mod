// Module helm-controller wraps fluxcd/helm-controller 1.6.4 so it builds from the module proxy with
// the controller's own replace lines. Built by hack/fluxbin.sh; never imported.
module github.com/purrvision/purrvision/tools/flux/helm-controller

go 1.26.0

require (
	github.com/fluxcd/helm-controller v1.6.4
	github.com/fluxcd/helm-controller/api v1.6.4
)

replace (
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20231025023718-d50d2fec9c98
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
)
