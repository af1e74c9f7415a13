#!/usr/bin/env bash
# fluxbin.sh builds the Flux controllers the local cluster runs, each from
# its wrapper module under tools/flux, into the cache:
#
#   $PURRVISION_CACHE/flux/<controller>-<version>/<controller>
#
# It prints FLUX_BIN=<folder of the three binaries' folders> on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
. "$here/hack/versions.sh"
# shellcheck source=hack/progress.sh
. "$here/hack/progress.sh"
cache=${PURRVISION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/purrvision}

build() { # build CONTROLLER VERSION
	local name=$1 version=$2 dir="$cache/flux/$1-$2"
	if [ -x "$dir/$name" ]; then
		return
	fi
	echo "fluxbin: building $name $version (first time only; a few minutes)" >&2
	local start=$SECONDS tmp
	mkdir -p "$dir"
	tmp=$(mktemp "$dir/.$name.XXXXXX")
	(cd "$here/tools/flux/$name" && GOFLAGS=-mod=mod CGO_ENABLED=0 with_progress "$name" go build -trimpath -ldflags "-s -w" -o "$tmp" "github.com/fluxcd/$name")
	mv "$tmp" "$dir/$name"
	echo "fluxbin: built $name in $((SECONDS - start))s" >&2
}

build source-controller "$SOURCE_CONTROLLER_VERSION"
build kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
build helm-controller "$HELM_CONTROLLER_VERSION"
echo "FLUX_BIN=$cache/flux"
