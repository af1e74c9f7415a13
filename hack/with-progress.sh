#!/usr/bin/env bash
# with-progress.sh WHAT CMD...: runs CMD, saying every 30 s how long WHAT
# has been building (for make targets whose first build takes minutes).
set -euo pipefail
# shellcheck source=hack/progress.sh
. "$(dirname "$0")/progress.sh"
with_progress "$@"
