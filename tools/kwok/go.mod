// Module kwok builds kwok, which runs the fake nodes of the local cluster.
// Built by hack/testbin.sh --cluster; never imported.
module github.com/purrvision/purrvision/tools/kwok

go 1.26.0

require sigs.k8s.io/kwok v0.8.0
