#!/bin/sh
# backup.sh takes one backup of a store: a consistent logical dump of its
# database and its uploads tree, in one restic snapshot. Run by the chart's
# backup CronJob (and its on-demand and final Jobs).
#
# Environment (nothing secret is ever a process argument):
#   MARIADB_HOST, MARIADB_PORT (3306), MARIADB_SOCKET (optional),
#   MARIADB_DATABASE (wordpress), MARIADB_USER (root), MARIADB_PASSWORD_FILE
#   UPLOADS_DIR          wp-content/uploads; its last component must be "uploads"
#   RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#   STORE, STORE_ID      the store's name and unique identity (restic tags)
#   SCRATCH_DIR          room for the dump
#   RESULT_FILE          (/dev/termination-log) gets one JSON line
#   BACKUP_REASON        scheduled, on-demand or final
#   BACKUP_ID            optional: the on-demand request's id
#   KEEP_LAST, KEEP_DAILY  optional: then forget this store's other snapshots
#   PRUNE                1: prune the repository after forgetting
#
# The snapshot holds database/dump.sql and wp-content/uploads/..., whatever
# the mount paths, so restore.sh can restore it into another store.
set -eu

# shellcheck source=charts/woocommerce/scripts/lib.sh
. "${0%/*}/lib.sh" # @include lib.sh
lib_init backup

case "${BACKUP_REASON:-}" in
scheduled | on-demand | final) ;;
*) fail "BACKUP_REASON must be scheduled, on-demand or final" ;;
esac
BACKUP_ID=${BACKUP_ID:-}
if [ -n "$BACKUP_ID" ]; then
	check_token BACKUP_ID "$BACKUP_ID"
fi
KEEP_LAST=${KEEP_LAST:-}
KEEP_DAILY=${KEEP_DAILY:-}
check_count KEEP_LAST "$KEEP_LAST"
check_count KEEP_DAILY "$KEEP_DAILY"
PRUNE=${PRUNE:-}
case "$PRUNE" in '' | 0 | 1) ;; *) fail "PRUNE must be 1 or unset" ;; esac

step "opening the repository"
ensure_repository

step "dumping the database"
# The stage's path is the same in every run, so restic finds the last
# snapshot of these paths and reads only the files that changed.
stage="$SCRATCH_DIR/stage"
rm -rf "$stage"
mkdir -p "$stage/database"
# wp-content is a link to the uploads volume's parent: restic keeps the
# names of a target's path, so the snapshot holds wp-content/uploads
# wherever the volume is mounted.
ln -s "$uploads_parent" "$stage/wp-content"
mariadb-dump --defaults-extra-file="$mycnf" \
	--single-transaction --routines --triggers --events --hex-blob \
	--default-character-set=utf8mb4 --tz-utc --skip-dump-date \
	--add-drop-table \
	"$MARIADB_DATABASE" >"$stage/database/dump.sql.tmp" 2>"$work/dump.err" || fail_with "$work/dump.err" "mariadb-dump failed"
mv "$stage/database/dump.sql.tmp" "$stage/database/dump.sql"

step "saving the snapshot"
set -- --tag "store=$STORE" --tag "store-id=$STORE_ID" --tag "reason=$BACKUP_REASON"
if [ -n "$BACKUP_ID" ]; then
	set -- "$@" --tag "id=$BACKUP_ID"
fi
(cd "$stage" && restic backup --json --quiet --retry-lock 10m --host "$STORE_ID" "$@" database wp-content/uploads) >"$work/backup.json" 2>"$work/restic.err" ||
	fail_with "$work/restic.err" "restic backup failed"
summary=$(grep '"message_type":"summary"' "$work/backup.json" | tail -n 1)
snapshot=$(json_field "$summary" snapshot_id)
started=$(json_field "$summary" backup_start)
bytes=$(json_field "$summary" total_bytes_processed)
files=$(json_field "$summary" total_files_processed)
if ! is_snapshot_id "$snapshot"; then
	fail "restic backup did not name the snapshot it saved"
fi

if [ -n "$KEEP_LAST$KEEP_DAILY" ]; then
	step "forgetting old snapshots"
	set -- --tag "store-id=$STORE_ID" --group-by ''
	[ -z "$KEEP_LAST" ] || set -- "$@" --keep-last "$KEEP_LAST"
	[ -z "$KEEP_DAILY" ] || set -- "$@" --keep-daily "$KEEP_DAILY"
	[ "$PRUNE" != 1 ] || set -- "$@" --prune
	restic forget --quiet --retry-lock 10m "$@" >/dev/null 2>"$work/restic.err" ||
		fail_with "$work/restic.err" "restic forget failed after snapshot $snapshot was saved"
fi

result "$(printf '{"snapshot":"%s","time":"%s","bytes":%s,"files":%s,"reason":"%s","id":"%s"}' \
	"$snapshot" "$started" "${bytes:-0}" "${files:-0}" "$BACKUP_REASON" "$BACKUP_ID")"
