# progress.sh is sourced by the build scripts. with_progress runs a long
# command and, while it runs, says every PURRVISION_PROGRESS_EVERY seconds
# (30 by default) how long it has been going, so a first build that takes
# minutes never looks stuck.

# with_progress WHAT CMD...: runs CMD; its exit code is with_progress's.
with_progress() {
	local what=$1 every=${PURRVISION_PROGRESS_EVERY:-30} t0 ticker rc=0
	shift
	t0=$(date +%s)
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		while :; do
			sleep "$every" &
			nap=$!
			wait "$nap"
			echo "  ... still building $what: $(($(date +%s) - t0))s so far" >&2
		done
	) &
	ticker=$!
	"$@" || rc=$?
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" 2>/dev/null || true
	return "$rc"
}
