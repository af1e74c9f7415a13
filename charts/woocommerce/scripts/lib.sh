# lib.sh: what backup.sh and restore.sh share. The chart's ConfigMap
# (templates/backup-scripts.yaml) puts it in place of the line that sources
# it, so each script there stands alone.

# lib_init NAME checks the environment both scripts read, makes a private
# work directory in SCRATCH_DIR and writes the MariaDB client's option file
# there (the password never becomes an argument). It and the stage of
# backup.sh are removed when the script exits.
lib_init() {
	name=$1
	RESULT_FILE=${RESULT_FILE:-/dev/termination-log}
	current_step="starting"
	result_written=
	work=
	stage=
	trap 'on_exit $?' EXIT
	trap 'exit 143' HUP INT TERM

	MARIADB_PORT=${MARIADB_PORT:-3306}
	MARIADB_DATABASE=${MARIADB_DATABASE:-wordpress}
	MARIADB_USER=${MARIADB_USER:-root}
	MARIADB_SOCKET=${MARIADB_SOCKET:-}
	MARIADB_HOST=${MARIADB_HOST:-}
	case "$MARIADB_DATABASE" in
	'' | *[!A-Za-z0-9_]*) fail "MARIADB_DATABASE must be letters, digits and _" ;;
	"$marker_database") fail "MARIADB_DATABASE must not be $marker_database, where restores are recorded" ;;
	esac
	check_token MARIADB_USER "$MARIADB_USER"
	case "$MARIADB_PORT" in '' | *[!0-9]*) fail "MARIADB_PORT must be a port number" ;; esac
	if [ -z "$MARIADB_SOCKET" ]; then
		case "$MARIADB_HOST" in
		'' | -* | *[!A-Za-z0-9.:-]*) fail "MARIADB_HOST must be a host name or IP (or set MARIADB_SOCKET)" ;;
		esac
	fi
	require_file MARIADB_PASSWORD_FILE "${MARIADB_PASSWORD_FILE:-}"
	require_file RESTIC_PASSWORD_FILE "${RESTIC_PASSWORD_FILE:-}"
	[ -n "${RESTIC_REPOSITORY:-}" ] || fail "RESTIC_REPOSITORY is not set"
	check_token STORE "${STORE:-}"
	check_token STORE_ID "${STORE_ID:-}"

	UPLOADS_DIR=${UPLOADS_DIR:-}
	while [ "${UPLOADS_DIR%/}" != "$UPLOADS_DIR" ]; do UPLOADS_DIR=${UPLOADS_DIR%/}; done
	case "$UPLOADS_DIR" in
	/*/uploads | /uploads) ;;
	*) fail "UPLOADS_DIR must be an absolute path ending in /uploads (wp-content/uploads)" ;;
	esac
	[ -d "$UPLOADS_DIR" ] || fail "UPLOADS_DIR is not a directory"
	uploads_parent=${UPLOADS_DIR%/uploads}
	[ -n "$uploads_parent" ] || uploads_parent=/

	[ -d "${SCRATCH_DIR:-}" ] || fail "SCRATCH_DIR is not a directory"
	umask 077
	work=$(mktemp -d "$SCRATCH_DIR/$name.XXXXXX") || fail "cannot make a work directory in SCRATCH_DIR"
	mycnf="$work/client.cnf"
	write_client_options "$MARIADB_USER" "$MARIADB_PASSWORD_FILE" MARIADB_PASSWORD_FILE >"$mycnf"
	# restic's cache and temporary files go there too: the root file
	# system of the pod is read-only.
	RESTIC_CACHE_DIR="$work/cache"
	TMPDIR="$work/tmp"
	export RESTIC_CACHE_DIR TMPDIR
	mkdir "$TMPDIR"
}

# marker_database holds the table of finished restores (restore.sh). It is
# not the store's database, so no restore (of a dump with or without the
# table) and no backup touches it.
marker_database=purrvision

# write_client_options USER PASSWORD_FILE NAME prints the [client] option
# group of USER, whose password is in PASSWORD_FILE (the variable NAME, for
# errors). The password is quoted, with \ and " escaped, as MariaDB's
# option files read them.
write_client_options() {
	opt_user=$1
	opt_var=$3
	password=$(sed -e 's/[\\"]/\\&/g' "$2")
	case "$password" in
	'') fail "$opt_var is empty" ;;
	*"
"*) fail "$opt_var holds more than one line" ;;
	esac
	printf '[client]\nuser="%s"\npassword="%s"\ndefault-character-set=utf8mb4\n' "$opt_user" "$password"
	if [ -n "$MARIADB_SOCKET" ]; then
		printf 'protocol=socket\nsocket="%s"\n' "$MARIADB_SOCKET"
	else
		printf 'protocol=tcp\nhost=%s\nport=%s\n' "$MARIADB_HOST" "$MARIADB_PORT"
	fi
	password=
}

# sql STATEMENTS runs statements and prints the rows, tab-separated.
sql() {
	mariadb --defaults-extra-file="$mycnf" --batch --skip-column-names -e "$1"
}

step() {
	current_step=$1
	echo "$name: $1" >&2
}

# result LINE writes the outcome for the watcher (the pod's termination
# message) and the log.
result() {
	printf '%s\n' "$1" >"$RESULT_FILE" || echo "$name: cannot write RESULT_FILE" >&2
	printf '%s\n' "$1"
	result_written=1
}

# fail REASON ends the script with {"error": REASON}. Reasons are fixed
# text and checked values, never a secret.
fail() {
	# No quote or backslash, so the reason is a JSON string as it is.
	# shellcheck disable=SC1003
	reason=$(printf '%s' "$1" | tr -d '"\\' | tr '\n\t' '  ')
	echo "$name: $reason" >&2
	result "{\"error\":\"$reason\"}" >/dev/null
	exit 1
}

# fail_with FILE REASON shows the tool's own error (its last lines) in the
# log, then fails with REASON.
fail_with() {
	tail -n 20 "$1" >&2 || true
	fail "$2"
}

on_exit() {
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
	if [ -n "$stage" ]; then
		rm -rf "$stage"
	fi
	if [ "$1" != 0 ] && [ -z "$result_written" ]; then
		result "{\"error\":\"$name failed while $current_step\"}" >/dev/null
	fi
}

# check_token NAME VALUE: 1 to 128 of letters, digits, '.', '_' and '-',
# not starting with '-': safe in a restic tag, SQL string and JSON.
check_token() {
	case "$2" in
	'' | -* | *[!A-Za-z0-9._-]*) fail "$1 must be 1 to 128 letters, digits, '.', '_' or '-'" ;;
	esac
	[ "${#2}" -le 128 ] || fail "$1 must be 1 to 128 letters, digits, '.', '_' or '-'"
}

# check_count NAME VALUE: empty, or a whole number from 1.
check_count() {
	case "$2" in
	'') ;;
	*[!0-9]* | 0*) fail "$1 must be a whole number from 1" ;;
	esac
}

require_file() {
	[ -n "$2" ] || fail "$1 is not set"
	[ -r "$2" ] || fail "$1 does not name a readable file"
}

# is_snapshot_id VALUE: a full restic snapshot id, 64 lowercase hex digits.
is_snapshot_id() {
	case "$1" in
	*[!0-9a-f]*) return 1 ;;
	esac
	[ "${#1}" -eq 64 ]
}

# json_field JSON KEY prints the string or number value of KEY in one line
# of restic's JSON output.
json_field() {
	printf '%s\n' "$1" | sed -nE 's/.*"'"$2"'":"?([^",}]*)"?[,}].*/\1/p'
}

# ensure_repository opens the repository, creating it when it does not
# exist (restic exits 10). If another job created it meanwhile, init fails
# and the repository opens.
ensure_repository() {
	rc=0
	restic cat config >/dev/null 2>"$work/restic.err" || rc=$?
	case "$rc" in
	0) return ;;
	10) ;;
	*) fail_with "$work/restic.err" "cannot open the restic repository (restic exit $rc)" ;;
	esac
	if restic init >/dev/null 2>"$work/restic.err"; then
		return
	fi
	restic cat config >/dev/null 2>>"$work/restic.err" || fail_with "$work/restic.err" "cannot create the restic repository"
}
