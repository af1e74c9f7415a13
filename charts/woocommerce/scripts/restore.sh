#!/bin/sh
# restore.sh restores one backup of backup.sh over a store: its database
# and its uploads tree. Run by the restore Job of a merged restore request.
#
# It runs exactly once per RESTORE_ID at the data level: when it finishes
# it records RESTORE_ID in the table purrvision.restores of the store's
# MariaDB, and a later run with that id (a Job retried or made again by
# Flux) finds it there and changes nothing. A run that stopped halfway
# recorded nothing, so the next one restores everything again.
#
# Environment: that of backup.sh for the database, the repository, the
# store, UPLOADS_DIR, SCRATCH_DIR and RESULT_FILE, and
#   RESTORE_SNAPSHOT       the full 64-hex id of the snapshot to restore
#   RESTORE_ID             this restore request's unique id
#   RESTORE_FROM_STORE_ID  optional: restore a snapshot of that store (its
#                          store-id tag) instead of one of STORE_ID
#   MARIADB_APP_USER       the store's own database user (wordpress), which
#   MARIADB_APP_PASSWORD_FILE  imports the dump: see "restoring the database"
set -eu

# shellcheck source=charts/woocommerce/scripts/lib.sh
. "${0%/*}/lib.sh" # @include lib.sh
RESTORE_SNAPSHOT=${RESTORE_SNAPSHOT:-}
RESTORE_ID=${RESTORE_ID:-}
RESTORE_FROM_STORE_ID=${RESTORE_FROM_STORE_ID:-}
lib_init restore
# Checked before restic or MariaDB runs: both ids reach them.
if ! is_snapshot_id "$RESTORE_SNAPSHOT"; then
	fail "RESTORE_SNAPSHOT must be a full snapshot id, 64 lowercase hex digits"
fi
check_token RESTORE_ID "$RESTORE_ID"
MARIADB_APP_USER=${MARIADB_APP_USER:-wordpress}
check_token MARIADB_APP_USER "$MARIADB_APP_USER"
require_file MARIADB_APP_PASSWORD_FILE "${MARIADB_APP_PASSWORD_FILE:-}"
appcnf="$work/app.cnf"
write_client_options "$MARIADB_APP_USER" "$MARIADB_APP_PASSWORD_FILE" MARIADB_APP_PASSWORD_FILE >"$appcnf"
from=$STORE_ID
if [ -n "$RESTORE_FROM_STORE_ID" ]; then
	check_token RESTORE_FROM_STORE_ID "$RESTORE_FROM_STORE_ID"
	from=$RESTORE_FROM_STORE_ID
fi

step "reading the restore record"
sql "CREATE DATABASE IF NOT EXISTS \`$marker_database\`;
CREATE TABLE IF NOT EXISTS \`$marker_database\`.restores (
  id VARCHAR(128) NOT NULL PRIMARY KEY,
  snapshot CHAR(64) NOT NULL,
  finished_at DATETIME NOT NULL
) ENGINE=InnoDB" 2>"$work/sql.err" || fail_with "$work/sql.err" "cannot create the table of finished restores"
done_at=$(sql "SELECT DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%sZ') FROM \`$marker_database\`.restores WHERE id = '$RESTORE_ID'" 2>"$work/sql.err") ||
	fail_with "$work/sql.err" "cannot read the table of finished restores"
if [ -n "$done_at" ]; then
	result "{\"restore\":\"$RESTORE_ID\",\"skipped\":\"already restored at $done_at\"}"
	exit 0
fi

step "checking snapshot $RESTORE_SNAPSHOT"
restic snapshots --json --retry-lock 10m "$RESTORE_SNAPSHOT" >"$work/snapshot.json" 2>"$work/restic.err" ||
	fail_with "$work/restic.err" "snapshot $RESTORE_SNAPSHOT is not in the repository"
found=$(json_field "$(cat "$work/snapshot.json")" id)
[ -n "$found" ] || fail "snapshot $RESTORE_SNAPSHOT is not in the repository"
[ "$found" = "$RESTORE_SNAPSHOT" ] || fail "restic listed another snapshot than $RESTORE_SNAPSHOT"
tags=$(sed -nE 's/.*"tags":\[([^]]*)\].*/\1/p' "$work/snapshot.json" | tr -cd 'A-Za-z0-9=._,-')
case ",$tags," in
*",store-id=$from,"*) ;;
*)
	if [ -n "$RESTORE_FROM_STORE_ID" ]; then
		fail "snapshot $RESTORE_SNAPSHOT is tagged [$tags], not store-id=$from (RESTORE_FROM_STORE_ID)"
	fi
	fail "snapshot $RESTORE_SNAPSHOT is tagged [$tags], not store-id=$from; set RESTORE_FROM_STORE_ID to restore another store's backup"
	;;
esac

step "fetching the database dump"
restic dump --retry-lock 10m "$RESTORE_SNAPSHOT" /database/dump.sql >"$work/dump.sql" 2>"$work/restic.err" ||
	fail_with "$work/restic.err" "cannot read database/dump.sql from snapshot $RESTORE_SNAPSHOT"
# mariadb-dump ends a complete dump with this line.
[ "$(tail -n 1 "$work/dump.sql")" = "-- Dump completed" ] ||
	fail "database/dump.sql in snapshot $RESTORE_SNAPSHOT is incomplete"

step "restoring the database"
# The database is dropped and made again with its character set and
# collation, so tables made since the backup go too. Users and grants live
# in the mysql schema and stay.
charset=$(sql "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$MARIADB_DATABASE'" 2>"$work/sql.err") ||
	fail_with "$work/sql.err" "cannot read the database's character set"
case "$charset" in
'') create="CREATE DATABASE \`$MARIADB_DATABASE\`" ;;
*[!a-z0-9_\ ]*) fail "unexpected character set of $MARIADB_DATABASE" ;;
*) create="CREATE DATABASE \`$MARIADB_DATABASE\` CHARACTER SET ${charset% *} COLLATE ${charset#* }" ;;
esac
sql "DROP DATABASE IF EXISTS \`$MARIADB_DATABASE\`; $create" 2>"$work/sql.err" ||
	fail_with "$work/sql.err" "cannot recreate database $MARIADB_DATABASE"
# The dump is SQL the store's own database wrote: its rows, and its
# routines' and triggers' bodies word for word. It is imported as the
# store's own user, with the rights of whoever wrote it, never as root,
# so nothing in it can create users, grant rights or touch the table of
# finished restores; and in the client's sandbox, so no client command in
# it (\! and the like) reaches this pod's shell or files.
mariadb --defaults-extra-file="$appcnf" --sandbox --batch --database="$MARIADB_DATABASE" <"$work/dump.sql" 2>"$work/sql.err" ||
	fail_with "$work/sql.err" "importing the dump of snapshot $RESTORE_SNAPSHOT failed"
rm -f "$work/dump.sql"

step "restoring the uploads"
# restic writes the snapshot's wp-content/uploads into UPLOADS_DIR, with
# its modes, and deletes what the snapshot does not hold.
restic restore --retry-lock 10m --overwrite always --delete \
	--target "$UPLOADS_DIR" "$RESTORE_SNAPSHOT:/wp-content/uploads" >/dev/null 2>"$work/restic.err" ||
	fail_with "$work/restic.err" "restoring the uploads of snapshot $RESTORE_SNAPSHOT failed"

step "recording the restore"
finished=$(sql "INSERT IGNORE INTO \`$marker_database\`.restores (id, snapshot, finished_at) VALUES ('$RESTORE_ID', '$RESTORE_SNAPSHOT', UTC_TIMESTAMP());
SELECT DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%sZ') FROM \`$marker_database\`.restores WHERE id = '$RESTORE_ID'" 2>"$work/sql.err") ||
	fail_with "$work/sql.err" "the restore finished but recording it failed; the next run restores again"
result "{\"restore\":\"$RESTORE_ID\",\"snapshot\":\"$RESTORE_SNAPSHOT\",\"finished\":\"$finished\"}"
