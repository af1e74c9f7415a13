#!/usr/bin/env bash
# githubspec.sh fetches GitHub's published descriptions of its REST API and
# webhooks from npm, pinned in hack/versions.sh, into a cache that survives
# fresh clones:
#
#   $PURRVISION_CACHE/githubspec/openapi-<v>/api.github.com.json           (@octokit/openapi)
#   $PURRVISION_CACHE/githubspec/openapi-webhooks-<v>/api.github.com.json  (@octokit/openapi-webhooks)
#   $PURRVISION_CACHE/githubspec/webhooks-schemas-<v>/schema.json          (@octokit/webhooks-schemas)
#
# `npm pack` checks each tarball against the registry's integrity hash; only
# the files the tests read are kept (the packages hold ~400 MB of other
# GitHub editions). It prints PURRVISION_GITHUB_OPENAPI,
# PURRVISION_GITHUB_WEBHOOKS and PURRVISION_GITHUB_WEBHOOK_SCHEMAS as shell
# assignments. Nothing is fetched when it is cached.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
. "$here/hack/versions.sh"

cache=${PURRVISION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/purrvision}/githubspec

log() { echo "githubspec: $*" >&2; }

fetch() { # fetch PACKAGE VERSION DIR FILE_IN_PACKAGE...
	local pkg=$1 version=$2 dir=$3
	shift 3
	if [ -f "$dir/.complete" ]; then
		return
	fi
	if ! command -v npm >/dev/null; then
		# As make installs Chromium: from apt, when it can.
		if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
			log "installing npm from apt to fetch $pkg (first time only)"
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; } >&2 ||
				{ log "apt-get install npm failed; install npm and run make again"; exit 1; }
		else
			log "npm is needed to fetch $pkg: install it (apt-get install npm) and run make again"
			exit 1
		fi
	fi
	log "fetching $pkg@$version from npm (first time only)"
	local tmp
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.XXXXXX")
	chmod 0755 "$tmp"
	(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
	local files=()
	for f in "$@"; do files+=("package/$f"); done
	tar -xzf "$tmp"/*.tgz -C "$tmp" "${files[@]}"
	for f in "$@"; do mv "$tmp/package/$f" "$tmp/"; done
	rm -rf "$tmp/package" "$tmp"/*.tgz
	touch "$tmp/.complete"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

openapi="$cache/openapi-$OCTOKIT_OPENAPI_VERSION"
webhooks="$cache/openapi-webhooks-$OCTOKIT_OPENAPI_WEBHOOKS_VERSION"
schemas="$cache/webhooks-schemas-$OCTOKIT_WEBHOOKS_SCHEMAS_VERSION"
fetch @octokit/openapi "$OCTOKIT_OPENAPI_VERSION" "$openapi" generated/api.github.com.json package.json
fetch @octokit/openapi-webhooks "$OCTOKIT_OPENAPI_WEBHOOKS_VERSION" "$webhooks" generated/api.github.com.json package.json
fetch @octokit/webhooks-schemas "$OCTOKIT_WEBHOOKS_SCHEMAS_VERSION" "$schemas" schema.json package.json

echo "PURRVISION_GITHUB_OPENAPI=$openapi/api.github.com.json"
echo "PURRVISION_GITHUB_WEBHOOKS=$webhooks/api.github.com.json"
echo "PURRVISION_GITHUB_WEBHOOK_SCHEMAS=$schemas/schema.json"
