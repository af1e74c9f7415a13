#!/usr/bin/env bash
# testbin.sh builds the binaries and CRDs the integration tests run against,
# from the Go module proxy, into a cache that survives fresh clones:
#
#   $PURRVISION_CACHE/testbin/k8s-<version>/{kube-apiserver,etcd}
#   $PURRVISION_CACHE/testbin/crds/flux-<versions>-gw<version>/*.yaml   Flux's and the Gateway API's (standard channel) CRDs
#   $PURRVISION_CACHE/testbin/{sops,age,restic}-<version>/{sops,age,restic}
#   $PURRVISION_CACHE/githubspec/...   GitHub's OpenAPI and webhook descriptions (hack/githubspec.sh)
#
# It prints where they are as shell assignments (KUBEBUILDER_ASSETS,
# PURRVISION_CRDS, PURRVISION_SOPS, PURRVISION_AGE, PURRVISION_RESTIC and the
# PURRVISION_GITHUB_* of githubspec.sh) on its last lines. Nothing is rebuilt when it is cached.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
. "$here/hack/versions.sh"
# shellcheck source=hack/progress.sh
. "$here/hack/progress.sh"

cache=${PURRVISION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/purrvision}
bin="$cache/testbin/k8s-$K8S_VERSION"
# Every version is in the folder's name, so a warm cache collects anew when one moves.
crds="$cache/testbin/crds/flux-sc$SOURCE_CONTROLLER_VERSION-kc$KUSTOMIZE_CONTROLLER_VERSION-hc$HELM_CONTROLLER_VERSION-gw$GATEWAY_API_VERSION"

log() { echo "testbin: $*" >&2; }

gobuild() { # gobuild MODULE_DIR GO_BUILD_ARGS...
	local dir=$1
	shift
	(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath "$@")
}

build() { # build NAME PACKAGE [LDFLAGS]
	local name=$1 pkg=$2 ldflags=${3:-}
	if [ -x "$bin/$name" ]; then
		return
	fi
	log "building $name from $pkg (first time only; a few minutes)"
	local start=$SECONDS tmp
	mkdir -p "$bin"
	tmp=$(mktemp "$bin/.$name.XXXXXX")
	with_progress "$name" gobuild "$here/tools/kube" -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"
	mv "$tmp" "$bin/$name"
	log "built $name in $((SECONDS - start))s"
}

minor=${K8S_VERSION#*.}
minor=${minor%%.*}
kver="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
kver="$kver -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kver"
build etcd go.etcd.io/etcd/server/v3

# --cluster adds what a whole local cluster needs (make e2e, purrvision dev).
if [ "${1:-}" = "--cluster" ]; then
	build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kver"
	build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kver"
	kwok_dir="$cache/testbin/kwok-$KWOK_VERSION"
	if [ ! -x "$kwok_dir/kwok" ]; then
		log "building kwok $KWOK_VERSION (first time only)"
		mkdir -p "$kwok_dir"
		tmp=$(mktemp "$kwok_dir/.kwok.XXXXXX")
		with_progress kwok gobuild "$here/tools/kwok" -ldflags "-s -w" -o "$tmp" sigs.k8s.io/kwok/cmd/kwok
		mv "$tmp" "$kwok_dir/kwok"
	fi
fi

# The sops CLI, to prove what we encrypt is what people and Flux decrypt.
sops_dir="$cache/testbin/sops-$SOPS_VERSION"
if [ ! -x "$sops_dir/sops" ]; then
	log "building sops $SOPS_VERSION (first time only)"
	mkdir -p "$sops_dir"
	(cd "$sops_dir" && GOBIN="$sops_dir" GOFLAGS= CGO_ENABLED=0 go install -trimpath "github.com/getsops/sops/v3/cmd/sops@v$SOPS_VERSION")
fi

# The age CLI, at the version of the age library in go.mod, to prove a
# requester decrypts the credentials comment with the command it shows.
age_version=$(awk '$1 == "filippo.io/age" { print $2; exit }' "$here/go.mod")
age_dir="$cache/testbin/age-$age_version"
if [ ! -x "$age_dir/age" ]; then
	log "building age $age_version (first time only)"
	mkdir -p "$age_dir"
	(cd "$age_dir" && GOBIN="$age_dir" GOFLAGS= CGO_ENABLED=0 go install -trimpath "filippo.io/age/cmd/age@$age_version")
fi

# The restic CLI, which the store chart's backup and restore scripts run;
# their test drives it against MariaDB and a loopback S3 target.
restic_dir="$cache/testbin/restic-$RESTIC_VERSION"
if [ ! -x "$restic_dir/restic" ]; then
	log "building restic $RESTIC_VERSION (first time only)"
	mkdir -p "$restic_dir"
	(cd "$restic_dir" && GOBIN="$restic_dir" GOFLAGS= CGO_ENABLED=0 go install -trimpath "github.com/restic/restic/cmd/restic@v$RESTIC_VERSION")
fi

if [ ! -f "$crds/.complete" ]; then
	log "collecting Flux CRDs"
	mkdir -p "$crds"
	for mod in \
		"github.com/fluxcd/source-controller@v$SOURCE_CONTROLLER_VERSION" \
		"github.com/fluxcd/kustomize-controller@v$KUSTOMIZE_CONTROLLER_VERSION" \
		"github.com/fluxcd/helm-controller@v$HELM_CONTROLLER_VERSION"; do
		dir=$(cd "$here/tools/kube" && GOFLAGS=-mod=mod go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		if [ -z "$dir" ] || [ ! -d "$dir/config/crd/bases" ]; then
			log "no config/crd/bases in $mod"
			exit 1
		fi
		cp "$dir"/config/crd/bases/*.yaml "$crds/"
	done
	# The Gateway API's standard channel: HTTPRoute and the Gateway it
	# attaches to. Only the CRDs: the channel also ships a
	# ValidatingAdmissionPolicy against downgrades, which is not one.
	log "collecting Gateway API CRDs"
	dir=$(cd "$here/tools/kube" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ] || [ ! -d "$dir/config/crd/standard" ]; then
		log "no config/crd/standard in sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION"
		exit 1
	fi
	for f in "$dir"/config/crd/standard/*.yaml; do
		if grep -q '^kind: CustomResourceDefinition$' "$f"; then
			cp "$f" "$crds/"
		fi
	done
	if [ ! -f "$crds/gateway.networking.k8s.io_httproutes.yaml" ]; then
		log "no HTTPRoute CRD in sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION"
		exit 1
	fi
	chmod 0644 "$crds"/*.yaml
	touch "$crds/.complete"
fi

echo "KUBEBUILDER_ASSETS=$bin"
echo "PURRVISION_CRDS=$crds"
echo "PURRVISION_SOPS=$sops_dir/sops"
echo "PURRVISION_AGE=$age_dir/age"
echo "PURRVISION_RESTIC=$restic_dir/restic"
"$here/hack/githubspec.sh"
if [ "${1:-}" = "--cluster" ]; then
	echo "PURRVISION_KWOK=$kwok_dir/kwok"
	kwok_mod=$(cd "$here/tools/kwok" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	echo "PURRVISION_KWOK_MODULE=$kwok_mod"
	echo "SOURCE_CONTROLLER_VERSION=$SOURCE_CONTROLLER_VERSION"
	echo "KUSTOMIZE_CONTROLLER_VERSION=$KUSTOMIZE_CONTROLLER_VERSION"
	echo "HELM_CONTROLLER_VERSION=$HELM_CONTROLLER_VERSION"
fi
