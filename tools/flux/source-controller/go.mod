// Module source-controller wraps fluxcd/source-controller 1.9.3 so it builds from the module proxy with
// the controller's own replace lines. Built by hack/fluxbin.sh; never imported.
module github.com/purrvision/purrvision/tools/flux/source-controller

go 1.26.0

require (
	github.com/fluxcd/source-controller v1.9.3
	github.com/fluxcd/source-controller/api v1.9.3
)

replace (
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
)
