package charts_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/purrvision/purrvision/internal/backuptarget"
)

// scriptRig runs the backup scripts as the chart's ConfigMap ships them,
// against a MariaDB server and a restic repository on the loopback backup
// target. The scripts' PATH holds only shims that record each command's
// arguments and run the real one, so a secret on any command line shows.
type scriptRig struct {
	dir        string
	db         *mariaDB
	target     *backuptarget.Target
	scripts    string
	shims      string
	argvLog    string
	restic     string
	repository string
	scratch    string
	dbPassword string
	// appPassword is the stores' own database user's, appUser
	// (wordpress in a store), which restore.sh imports dumps as.
	appPassword string
	resticPW    string
	// secrets must appear in no argument and no output.
	secrets []string
	// outputs is every script's stdout, stderr and result, for the secrets check.
	outputs []string
}

// shimmed are the commands the scripts run; any other is not on their PATH.
var shimmed = []string{"restic", "mariadb", "mariadb-dump", "sed", "tr", "tail", "mktemp", "rm", "mkdir", "mv", "ln", "cat", "grep"}

func newScriptRig(t *testing.T) *scriptRig {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MariaDB (make mariadb) and restic (make testbin); skipped with -short")
	}
	restic := os.Getenv("PURRVISION_RESTIC")
	if restic == "" {
		t.Fatal("PURRVISION_RESTIC is not set: run `make testbin` and source bin/testbin.env (make test does both)")
	}
	r := &scriptRig{dir: t.TempDir(), restic: restic}
	// Passwords with what option files and shells treat specially.
	r.dbPassword = `r0ot "pass\word' #$(id) ` + randomHex(8)
	r.resticPW = "restic " + randomHex(16)
	r.db = startMariaDB(t, r.dbPassword)
	r.appPassword = `app "pass\word' ` + randomHex(8)

	target, err := backuptarget.Start(filepath.Join(r.dir, "target"), "")
	if err != nil {
		t.Fatalf("starting the backup target: %v", err)
	}
	t.Cleanup(func() {
		if err := target.Close(); err != nil {
			t.Error(err)
		}
	})
	r.target = target
	r.repository = target.Repository("stores/test")
	r.secrets = []string{r.dbPassword, r.appPassword, r.resticPW, target.SecretAccessKey}

	r.scripts = filepath.Join(r.dir, "scripts")
	r.shims = filepath.Join(r.dir, "bin")
	r.scratch = filepath.Join(r.dir, "scratch")
	r.argvLog = filepath.Join(r.dir, "argv.log")
	for _, d := range []string{r.scripts, r.shims, r.scratch, filepath.Join(r.dir, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for key, script := range renderBackupScripts(t) {
		if err := os.WriteFile(filepath.Join(r.scripts, key), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range shimmed {
		real := restic
		if name != "restic" {
			var err error
			if real, err = exec.LookPath(name); err != nil {
				if strings.HasPrefix(name, "mariadb") {
					t.Fatalf("%s not found: run `make mariadb`", name)
				}
				t.Fatalf("%s not found: %v", name, err)
			}
		}
		shim := fmt.Sprintf("#!/bin/sh\nprintf '\\001%%s\\000' %s >>'%s'\nprintf '%%s\\000' \"$@\" >>'%s'\nexec '%s' \"$@\"\n", name, r.argvLog, r.argvLog, real)
		if err := os.WriteFile(filepath.Join(r.shims, name), []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.writeSecret(t, "db-password", r.dbPassword)
	r.writeSecret(t, "app-password", r.appPassword)
	r.writeSecret(t, "restic-password", r.resticPW)
	return r
}

func (r *scriptRig) writeSecret(t *testing.T, name, value string) string {
	t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, []byte(value), 0o400); err != nil {
		t.Fatal(err)
	}
	return p
}

// shopStore is one store the scripts serve: its identity, database and
// uploads volume (mounted anywhere, named uploads).
type shopStore struct {
	name, id, database, uploads string
}

// run is one run of a script.
type run struct {
	stdout, stderr, result string
	err                    error
	// calls are the commands it ran, each its name and arguments.
	calls [][]string
}

func (r run) resultJSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.result), &m); err != nil {
		t.Fatalf("RESULT_FILE %q is not one JSON object: %v", r.result, err)
	}
	return m
}

func (r run) ran(name string) bool {
	for _, c := range r.calls {
		if c[0] == name {
			return true
		}
	}
	return false
}

// runScript runs script for st with env added to the contract's.
func (r *scriptRig) runScript(t *testing.T, script string, st shopStore, env map[string]string) run {
	t.Helper()
	vars := map[string]string{
		"PATH":                      r.shims,
		"HOME":                      filepath.Join(r.dir, "home"),
		"MARIADB_HOST":              "127.0.0.1",
		"MARIADB_PORT":              fmt.Sprint(r.db.port),
		"MARIADB_DATABASE":          st.database,
		"MARIADB_USER":              "root",
		"MARIADB_PASSWORD_FILE":     filepath.Join(r.dir, "db-password"),
		"MARIADB_APP_USER":          appUser,
		"MARIADB_APP_PASSWORD_FILE": filepath.Join(r.dir, "app-password"),
		"UPLOADS_DIR":               st.uploads,
		"RESTIC_REPOSITORY":         r.repository,
		"RESTIC_PASSWORD_FILE":      filepath.Join(r.dir, "restic-password"),
		"AWS_ACCESS_KEY_ID":         r.target.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     r.target.SecretAccessKey,
		"STORE":                     st.name,
		"STORE_ID":                  st.id,
		"SCRATCH_DIR":               r.scratch,
		"RESULT_FILE":               filepath.Join(r.dir, "result"),
	}
	for k, v := range env {
		vars[k] = v
	}
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	if err := os.Remove(vars["RESULT_FILE"]); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	logStart := fileSize(t, r.argvLog)
	cmd := exec.Command(filepath.Join(r.scripts, script))
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res, readErr := os.ReadFile(vars["RESULT_FILE"])
	if readErr != nil {
		t.Fatalf("%s wrote no RESULT_FILE: %v (exit: %v)\nstderr:\n%s", script, readErr, err, stderr.String())
	}
	out := run{stdout: stdout.String(), stderr: stderr.String(), result: strings.TrimSuffix(string(res), "\n"), err: err}
	log, readErr := os.ReadFile(r.argvLog)
	if readErr != nil && !os.IsNotExist(readErr) {
		t.Fatal(readErr)
	}
	for _, rec := range strings.Split(string(log[logStart:]), "\x01")[1:] {
		out.calls = append(out.calls, strings.Split(strings.TrimSuffix(rec, "\x00"), "\x00"))
	}
	r.outputs = append(r.outputs, out.stdout, out.stderr, out.result)
	if !strings.Contains(string(res), "\n") || strings.Count(string(res), "\n") != 1 {
		t.Errorf("%s: RESULT_FILE is %q, want one line", script, res)
	}
	if len(res) > 4096 {
		t.Errorf("%s: RESULT_FILE has %d bytes, more than a termination message holds", script, len(res))
	}
	if entries, err := os.ReadDir(r.scratch); err != nil || len(entries) != 0 {
		t.Errorf("%s left %v in SCRATCH_DIR (%v), where the password's option file was", script, entries, err)
	}
	return out
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return hex.EncodeToString(b)
}

// mustSucceed fails the test when a run failed, showing its output.
func mustSucceed(t *testing.T, what string, r run) map[string]any {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v\nresult: %s\nstderr:\n%s", what, r.err, r.result, r.stderr)
	}
	if strings.TrimSuffix(r.stdout, "\n") != r.result && !strings.HasSuffix(r.stdout, "\n"+r.result+"\n") {
		t.Errorf("%s: stdout %q does not end with the result %q", what, r.stdout, r.result)
	}
	return r.resultJSON(t)
}

// mustFail fails the test unless a run failed with an error result holding want.
func mustFail(t *testing.T, what string, r run, want string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("%s succeeded (%s), want a refusal", what, r.result)
	}
	res := r.resultJSON(t)
	msg, _ := res["error"].(string)
	if len(res) != 1 || !strings.Contains(msg, want) {
		t.Errorf("%s: result %s, want {\"error\": ...%s...}", what, r.result, want)
	}
}

// appUser is the stores' own database user in these tests: one name for
// every store, as in the chart (wordpress), granted each store's database.
const appUser = "wp_app"

// seedShop makes a WordPress-like database with WooCommerce orders: utf8mb4
// text, binary columns, a trigger, a function, an event and a view. Root
// makes the database and grants it to appUser (whose password is
// wpPassword), which makes everything in it, as WordPress does: the
// routines' and triggers' definer is the store's own user.
func seedShop(t *testing.T, db *mariaDB, database, wpPassword string) {
	t.Helper()
	blob := make([]byte, 512)
	for i := range blob {
		blob[i] = byte(i)
	}
	sum := sha256.Sum256(blob)
	db.exec(t, fmt.Sprintf(`
CREATE DATABASE %[1]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '%[3]s'@'%%' IDENTIFIED BY %[2]s;
GRANT ALL PRIVILEGES ON %[1]s.* TO '%[3]s'@'%%';
`, database, sqlString(wpPassword), appUser))
	db.execAs(t, appUser, wpPassword, fmt.Sprintf(`
USE %[1]s;
CREATE TABLE wp_options (
  option_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  option_name VARCHAR(191) NOT NULL UNIQUE,
  option_value LONGTEXT NOT NULL,
  autoload VARCHAR(20) NOT NULL DEFAULT 'yes'
) ENGINE=InnoDB;
INSERT INTO wp_options (option_name, option_value) VALUES
  ('blogname', 'Cat Café 🐈 — ünïcødé ✓ 猫'), ('woocommerce_currency', 'EUR'), ('purrvision_order_count', '0'),
  ('quotes', 'it''s "quoted" \\ back\\slash\ttab');
CREATE TABLE wp_wc_orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  status VARCHAR(20) NOT NULL,
  currency CHAR(3) NOT NULL,
  total_amount DECIMAL(26,8) NOT NULL,
  billing_email VARCHAR(320),
  customer_note TEXT,
  date_created_gmt DATETIME NOT NULL,
  date_paid TIMESTAMP NULL
) ENGINE=InnoDB;
CREATE TABLE wp_wc_order_blobs (
  order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  invoice_pdf LONGBLOB,
  checksum BINARY(32)
) ENGINE=InnoDB;
CREATE TRIGGER wp_wc_orders_count AFTER INSERT ON wp_wc_orders FOR EACH ROW
  UPDATE wp_options SET option_value = option_value + 1 WHERE option_name = 'purrvision_order_count';
CREATE FUNCTION wc_order_total(order_id BIGINT) RETURNS DECIMAL(26,8) READS SQL DATA
  RETURN (SELECT total_amount FROM wp_wc_orders WHERE id = order_id);
CREATE EVENT wc_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01 00:00:00' DISABLE
  DO DELETE FROM wp_wc_orders WHERE status = 'trash';
CREATE VIEW wp_wc_paid_orders AS SELECT id, total_amount FROM wp_wc_orders WHERE status = 'wc-completed';
INSERT INTO wp_wc_orders (status, currency, total_amount, billing_email, customer_note, date_created_gmt, date_paid) VALUES
  ('wc-completed', 'EUR', 42.50000000, 'ada@example.com', 'Bitte klingeln 🔔', '2026-12-01 10:00:00', '2026-12-01 10:05:00'),
  ('wc-processing', 'EUR', 7.99000000, 'bob@example.com', NULL, '2026-12-02 11:30:00', NULL),
  ('wc-completed', 'EUR', 1234.00000001, 'chloé@example.com', 'línea 1\nlínea 2', '2026-12-03 12:00:00', '2026-12-03 12:00:01');
INSERT INTO wp_wc_order_blobs VALUES (1, X'%[2]s', X'%[3]s'), (2, X'', NULL);
`, database, hex.EncodeToString(blob), hex.EncodeToString(sum[:])))
}

// changeShop is what happens after a backup: a new order (its trigger
// runs), a deleted one, altered values, a new table, a dropped function.
func changeShop(t *testing.T, db *mariaDB, database string) {
	t.Helper()
	db.exec(t, "USE "+database+`;
INSERT INTO wp_wc_orders (status, currency, total_amount, billing_email, date_created_gmt) VALUES ('wc-pending', 'EUR', 3.00, 'dan@example.com', '2026-12-07 09:00:00');
DELETE FROM wp_wc_orders WHERE id = 2;
UPDATE wp_wc_orders SET status = 'wc-refunded', total_amount = 0 WHERE id = 1;
UPDATE wp_options SET option_value = 'Dog Diner' WHERE option_name = 'blogname';
UPDATE wp_wc_order_blobs SET invoice_pdf = X'00' WHERE order_id = 1;
CREATE TABLE wp_new_plugin (id INT PRIMARY KEY);
DROP FUNCTION wc_order_total;
`)
}

// uploads files: path -> content and mode; a nil content is a directory.
type upload struct {
	path string
	data []byte
	mode fs.FileMode
}

func seedUploads(t *testing.T, root string) {
	t.Helper()
	png := make([]byte, 70000)
	for i := range png {
		png[i] = byte(rand.IntN(256))
	}
	for _, u := range []upload{
		{"2026/12/cat.png", png, 0o644},
		{"2026/12/cat-150x150.png", png[:999], 0o644},
		{"2026/11", nil, 0o755}, // empty
		{"woocommerce_uploads/.htaccess", []byte("deny from all\n"), 0o640},
		{"woocommerce_uploads/ebook.pdf", []byte("%PDF-1.7 \x00\xff"), 0o600},
		{"wc-logs", nil, 0o750},
		{"wc-logs/fatal-errors-2026-12-07.log", []byte("ünïcødé log\n"), 0o660},
	} {
		writeUpload(t, root, u)
	}
	if err := os.Symlink("2026/12/cat.png", filepath.Join(root, "latest.png")); err != nil {
		t.Fatal(err)
	}
}

func writeUpload(t *testing.T, root string, u upload) {
	t.Helper()
	p := filepath.Join(root, u.path)
	if u.data == nil {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, u.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(p, u.mode); err != nil {
		t.Fatal(err)
	}
}

func changeUploads(t *testing.T, root string) {
	t.Helper()
	writeUpload(t, root, upload{"2026/12/dog.png", []byte("new upload"), 0o644})
	writeUpload(t, root, upload{"new-plugin/cache/a.bin", []byte{1, 2, 3}, 0o644})
	writeUpload(t, root, upload{"2026/12/cat-150x150.png", []byte("changed"), 0o644})
	if err := os.Remove(filepath.Join(root, "woocommerce_uploads/.htaccess")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "woocommerce_uploads/ebook.pdf"), 0o666); err != nil {
		t.Fatal(err)
	}
}

// tree is every entry under root: its mode and its content's hash, or a
// link's target.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		entry := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entry += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			entry += " " + hex.EncodeToString(sum[:])
		}
		out[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var snapshotID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// resticEnv is what restic itself needs to open the test's repository.
func (r *scriptRig) resticEnv() []string {
	return []string{"HOME=" + filepath.Join(r.dir, "home"), "RESTIC_REPOSITORY=" + r.repository,
		"RESTIC_PASSWORD_FILE=" + filepath.Join(r.dir, "restic-password"),
		"AWS_ACCESS_KEY_ID=" + r.target.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + r.target.SecretAccessKey}
}

// snapshotTags and snapshotFiles read a snapshot with restic itself.
func (r *scriptRig) resticJSON(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(r.restic, args...)
	cmd.Env = r.resticEnv()
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("restic %v: %v\n%s", args, err, stderr.String())
	}
	return out.Bytes()
}

func (r *scriptRig) snapshotTags(t *testing.T, id string) []string {
	t.Helper()
	var snaps []struct {
		ID   string   `json:"id"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.resticJSON(t, "snapshots", "--json", id), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("restic snapshots %s: %v %v", id, snaps, err)
	}
	sort.Strings(snaps[0].Tags)
	return snaps[0].Tags
}

func (r *scriptRig) snapshotPaths(t *testing.T, id string) []string {
	t.Helper()
	var paths []string
	for _, line := range strings.Split(string(r.resticJSON(t, "ls", "--json", id)), "\n") {
		var node struct {
			Type string `json:"struct_type"`
			Path string `json:"path"`
		}
		if line == "" || json.Unmarshal([]byte(line), &node) != nil || node.Type != "node" {
			continue
		}
		paths = append(paths, node.Path)
	}
	return paths
}

// TestBackupScripts_BackupChangeRestore is issue 20's script test: a
// store's database and uploads are backed up, changed, restored and
// compared byte for byte; the same restore again changes nothing; a new
// restore id restores again. Then the refusals, and no secret anywhere.
func TestBackupScripts_BackupChangeRestore(t *testing.T) {
	r := newScriptRig(t)
	cat := shopStore{name: "cat-cafe", id: "cat-cafe-0123456789ab", database: "wordpress",
		uploads: filepath.Join(r.dir, "cat", "var", "www", "html", "wp-content", "uploads")}
	seedShop(t, r.db, cat.database, r.appPassword)
	if err := os.MkdirAll(cat.uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	seedUploads(t, cat.uploads)
	beforeDB := r.db.dumpDatabase(t, cat.database)
	beforeFiles := tree(t, cat.uploads)
	beforeGrants := r.db.exec(t, "SHOW GRANTS FOR '"+appUser+"'@'%'")

	// Backup.
	started := time.Now().UTC().Add(-time.Second)
	backup := mustSucceed(t, "backup.sh", r.runScript(t, "backup.sh", cat, map[string]string{"BACKUP_REASON": "on-demand", "BACKUP_ID": "req-17"}))
	snap, _ := backup["snapshot"].(string)
	if !snapshotID.MatchString(snap) {
		t.Fatalf("backup result %v has no 64-hex snapshot", backup)
	}
	if ts, err := time.Parse(time.RFC3339, fmt.Sprint(backup["time"])); err != nil || ts.Before(started) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("backup time %v: not an RFC 3339 time of the run (%v)", backup["time"], err)
	}
	if backup["reason"] != "on-demand" || backup["id"] != "req-17" {
		t.Errorf("backup result %v: reason and id are not the run's", backup)
	}
	// The dump and the 5 regular files of the uploads (restic does not
	// count the link).
	if files, _ := backup["files"].(float64); files != 6 {
		t.Errorf("backup files = %v, want 6", backup["files"])
	}
	if bytes, _ := backup["bytes"].(float64); bytes < 70000 {
		t.Errorf("backup bytes = %v, want at least the uploads' 70000", backup["bytes"])
	}
	wantTags := []string{"id=req-17", "reason=on-demand", "store-id=cat-cafe-0123456789ab", "store=cat-cafe"}
	if got := r.snapshotTags(t, snap); !cmp.Equal(got, wantTags) {
		t.Errorf("snapshot tags = %v, want %v", got, wantTags)
	}
	paths := r.snapshotPaths(t, snap)
	for _, want := range []string{"/database/dump.sql", "/wp-content/uploads/2026/12/cat.png", "/wp-content/uploads/2026/11"} {
		if !contains(paths, want) {
			t.Errorf("snapshot paths %v lack %s: they must not depend on the mount path", paths, want)
		}
	}

	// Change, then restore.
	changeShop(t, r.db, cat.database)
	changeUploads(t, cat.uploads)
	if r.db.dumpDatabase(t, cat.database) == beforeDB || cmp.Equal(tree(t, cat.uploads), beforeFiles) {
		t.Fatal("test is broken: the changes changed nothing")
	}
	restore := mustSucceed(t, "restore.sh", r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "restore-1"}))
	if restore["restore"] != "restore-1" || restore["snapshot"] != snap {
		t.Errorf("restore result %v, want restore-1 of %s", restore, snap)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(restore["finished"])); err != nil {
		t.Errorf("restore finished %v: %v", restore["finished"], err)
	}
	if diff := cmp.Diff(beforeDB, r.db.dumpDatabase(t, cat.database)); diff != "" {
		t.Errorf("database after the restore differs from the backup's (-backup +restored):\n%s", diff)
	}
	if diff := cmp.Diff(beforeFiles, tree(t, cat.uploads)); diff != "" {
		t.Errorf("uploads after the restore differ from the backup's (-backup +restored):\n%s", diff)
	}
	if got := r.db.exec(t, "SHOW GRANTS FOR '"+appUser+"'@'%'"); got != beforeGrants {
		t.Errorf("grants after the restore = %q, want %q", got, beforeGrants)
	}

	// The same restore again: nothing changes.
	r.db.exec(t, "INSERT INTO wordpress.wp_wc_orders (status, currency, total_amount, date_created_gmt) VALUES ('wc-completed', 'EUR', 9.99, '2026-12-08 08:00:00')")
	afterOrder := r.db.dumpDatabase(t, cat.database)
	writeUpload(t, cat.uploads, upload{"2026/12/after.png", []byte("kept"), 0o644})
	afterOrderFiles := tree(t, cat.uploads)
	again := r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "restore-1"})
	res := mustSucceed(t, "restore.sh again", again)
	if skipped, _ := res["skipped"].(string); res["restore"] != "restore-1" || !strings.HasPrefix(skipped, "already restored at ") {
		t.Errorf("second restore-1 result %v, want it skipped", res)
	}
	if again.ran("restic") {
		t.Errorf("second restore-1 ran restic: %v", again.calls)
	}
	if r.db.dumpDatabase(t, cat.database) != afterOrder || !cmp.Equal(tree(t, cat.uploads), afterOrderFiles) {
		t.Error("second restore-1 changed the store; the new order and upload must stay")
	}

	// Another restore id restores again.
	mustSucceed(t, "restore.sh restore-2", r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "restore-2"}))
	if r.db.dumpDatabase(t, cat.database) != beforeDB || !cmp.Equal(tree(t, cat.uploads), beforeFiles) {
		t.Error("restore-2 did not bring back the backup")
	}

	t.Run("another store's snapshot is refused", func(t *testing.T) {
		dog := shopStore{name: "dog-diner", id: "dog-diner-ba9876543210", database: "shop_dog",
			uploads: filepath.Join(r.dir, "dog", "mnt", "uploads")}
		seedShop(t, r.db, dog.database, r.appPassword)
		if err := os.MkdirAll(dog.uploads, 0o755); err != nil {
			t.Fatal(err)
		}
		writeUpload(t, dog.uploads, upload{"dog.png", []byte("woof"), 0o644})
		dogSnap, _ := mustSucceed(t, "dog backup", r.runScript(t, "backup.sh", dog, map[string]string{"BACKUP_REASON": "scheduled"}))["snapshot"].(string)
		catDB, catFiles := r.db.dumpDatabase(t, cat.database), tree(t, cat.uploads)

		refused := r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": dogSnap, "RESTORE_ID": "steal-1"})
		mustFail(t, "restoring dog's snapshot into cat", refused, "not store-id=cat-cafe-0123456789ab")
		if !strings.Contains(refused.result, "store-id=dog-diner-ba9876543210") {
			t.Errorf("refusal %s does not name the snapshot's tags", refused.result)
		}
		wrongFrom := r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": dogSnap, "RESTORE_ID": "steal-2", "RESTORE_FROM_STORE_ID": "emu-eatery-111111111111"})
		mustFail(t, "restoring dog's snapshot as a third store's", wrongFrom, "not store-id=emu-eatery-111111111111")
		if r.db.dumpDatabase(t, cat.database) != catDB || !cmp.Equal(tree(t, cat.uploads), catFiles) {
			t.Error("a refused restore changed the store")
		}

		// spec.restoreFrom: cat's backup into dog, another database and mount.
		mustSucceed(t, "restoring cat's snapshot into dog", r.runScript(t, "restore.sh", dog,
			map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "from-cat-1", "RESTORE_FROM_STORE_ID": cat.id}))
		if diff := cmp.Diff(beforeDB, r.db.dumpDatabase(t, dog.database)); diff != "" {
			t.Errorf("dog's database after restoring cat's backup (-backup +restored):\n%s", diff)
		}
		if diff := cmp.Diff(beforeFiles, tree(t, dog.uploads)); diff != "" {
			t.Errorf("dog's uploads after restoring cat's backup (-backup +restored):\n%s", diff)
		}
	})

	t.Run("a snapshot that is not a full id is refused before restic runs", func(t *testing.T) {
		for _, bad := range []string{"latest", "../x", "$(id)", "", snap[:63], strings.ToUpper(snap), snap + "0", snap[:8],
			snap + ":/etc", snap + "\n", "-" + snap[1:], snap[:32] + " " + snap[33:]} {
			got := r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": bad, "RESTORE_ID": "bad-1"})
			mustFail(t, fmt.Sprintf("RESTORE_SNAPSHOT %q", bad), got, "RESTORE_SNAPSHOT must be a full snapshot id")
			if got.ran("restic") || got.ran("mariadb") {
				t.Errorf("RESTORE_SNAPSHOT %q: ran %v before refusing", bad, got.calls)
			}
		}
	})

	t.Run("values that reach SQL, tags or JSON are refused", func(t *testing.T) {
		tests := []struct {
			script string
			env    map[string]string
			want   string
		}{
			{"restore.sh", map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "x'; DROP DATABASE wordpress; --"}, "RESTORE_ID must be"},
			{"restore.sh", map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": ""}, "RESTORE_ID must be"},
			{"restore.sh", map[string]string{"RESTORE_SNAPSHOT": snap, "RESTORE_ID": "r", "RESTORE_FROM_STORE_ID": "a,store-id=cat"}, "RESTORE_FROM_STORE_ID must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "STORE_ID": "cat,store-id=dog"}, "STORE_ID must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "BACKUP_ID": `a","snapshot":"x`}, "BACKUP_ID must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "hourly"}, "BACKUP_REASON must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "KEEP_LAST": "0"}, "KEEP_LAST must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "MARIADB_DATABASE": "wordpress`; DROP"}, "MARIADB_DATABASE must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "MARIADB_DATABASE": "purrvision"}, "MARIADB_DATABASE must not be purrvision"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "UPLOADS_DIR": filepath.Join(r.dir, "cat")}, "UPLOADS_DIR must be"},
			{"backup.sh", map[string]string{"BACKUP_REASON": "scheduled", "UPLOADS_DIR": "relative/uploads"}, "UPLOADS_DIR must be"},
		}
		for _, tt := range tests {
			got := r.runScript(t, tt.script, cat, tt.env)
			mustFail(t, fmt.Sprintf("%s %v", tt.script, tt.env), got, tt.want)
			if got.ran("restic") || got.ran("mariadb") || got.ran("mariadb-dump") {
				t.Errorf("%s %v: ran %v before refusing", tt.script, tt.env, got.calls)
			}
		}
	})

	t.Run("failures say what failed, without the secret", func(t *testing.T) {
		catDB := r.db.dumpDatabase(t, cat.database)
		mustFail(t, "restoring a snapshot the repository does not hold", r.runScript(t, "restore.sh", cat,
			map[string]string{"RESTORE_SNAPSHOT": strings.Repeat("ab", 32), "RESTORE_ID": "missing-1"}), "is not in the repository")
		if r.db.dumpDatabase(t, cat.database) != catDB {
			t.Error("a restore of a missing snapshot changed the database")
		}
		wrong := r.writeSecret(t, "wrong-restic-password", "not the "+r.resticPW)
		r.secrets = append(r.secrets, "not the "+r.resticPW)
		mustFail(t, "backup with a wrong repository password", r.runScript(t, "backup.sh", cat,
			map[string]string{"BACKUP_REASON": "scheduled", "RESTIC_PASSWORD_FILE": wrong}), "cannot open the restic repository")
		wrongDB := r.writeSecret(t, "wrong-db-password", "not the "+r.dbPassword)
		r.secrets = append(r.secrets, "not the "+r.dbPassword)
		mustFail(t, "backup with a wrong database password", r.runScript(t, "backup.sh", cat,
			map[string]string{"BACKUP_REASON": "scheduled", "MARIADB_PASSWORD_FILE": wrongDB}), "mariadb-dump failed")
	})

	t.Run("retention forgets only this store's snapshots", func(t *testing.T) {
		before := r.storeSnapshots(t)
		for range 2 {
			mustSucceed(t, "scheduled backup", r.runScript(t, "backup.sh", cat, map[string]string{"BACKUP_REASON": "scheduled"}))
		}
		mustSucceed(t, "backup with retention", r.runScript(t, "backup.sh", cat, map[string]string{"BACKUP_REASON": "scheduled", "KEEP_LAST": "2", "PRUNE": "1"}))
		after := r.storeSnapshots(t)
		if after["cat-cafe-0123456789ab"] != 2 {
			t.Errorf("cat's snapshots after KEEP_LAST=2: %d, want 2 (%v)", after["cat-cafe-0123456789ab"], after)
		}
		if after["dog-diner-ba9876543210"] != before["dog-diner-ba9876543210"] || after["dog-diner-ba9876543210"] == 0 {
			t.Errorf("dog's snapshots went from %d to %d: retention touched another store", before["dog-diner-ba9876543210"], after["dog-diner-ba9876543210"])
		}
	})

	// The dump is SQL the store's own database wrote (a compromised store
	// writes what it likes into its routines' bodies), so restore.sh
	// imports it as the store's own user, in the client's sandbox: as
	// root it could make users, grant rights and mark restores done.
	t.Run("a dump is imported as the store's own user, in the client's sandbox", func(t *testing.T) {
		escaped := filepath.Join(r.dir, "sandbox-escaped")
		tests := []struct {
			name, sql string
			harmed    func(t *testing.T) bool
		}{
			{"a user with every right", "CREATE USER 'evil'@'%' IDENTIFIED BY 'evil';\nGRANT ALL PRIVILEGES ON *.* TO 'evil'@'%' WITH GRANT OPTION;\n",
				func(t *testing.T) bool {
					return strings.TrimSpace(r.db.exec(t, "SELECT COUNT(*) FROM mysql.user WHERE User = 'evil'")) != "0"
				}},
			{"a later restore marked done", "INSERT INTO purrvision.restores (id, snapshot, finished_at) VALUES ('restore-9', REPEAT('0', 64), UTC_TIMESTAMP());\n",
				func(t *testing.T) bool {
					return strings.TrimSpace(r.db.exec(t, "SELECT COUNT(*) FROM purrvision.restores WHERE id = 'restore-9'")) != "0"
				}},
			{"a shell command", "\\! /usr/bin/touch " + escaped + "\n",
				func(t *testing.T) bool { _, err := os.Stat(escaped); return err == nil }},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				crafted := r.craftSnapshot(t, cat.id, "-- MariaDB dump, crafted\nCREATE TABLE wp_posts (id INT PRIMARY KEY);\n"+tt.sql+"-- Dump completed\n")
				got := r.runScript(t, "restore.sh", cat, map[string]string{"RESTORE_SNAPSHOT": crafted, "RESTORE_ID": fmt.Sprintf("crafted-%d", i)})
				mustFail(t, "restoring a crafted dump", got, "importing the dump of snapshot")
				if tt.harmed(t) {
					t.Errorf("a crafted dump ran %q with more rights than the store's own user", tt.sql)
				}
			})
		}
	})

	// No secret in any command's arguments or any script's output.
	log, err := os.ReadFile(r.argvLog)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("\x01restic\x00")) || !bytes.Contains(log, []byte("--defaults-extra-file=")) {
		t.Fatal("test is broken: the shims recorded no restic or mariadb command")
	}
	for _, secret := range r.secrets {
		if bytes.Contains(log, []byte(secret)) {
			t.Errorf("a secret reached a command line: %q", secret)
		}
		for _, out := range r.outputs {
			if strings.Contains(out, secret) {
				t.Errorf("a secret reached the scripts' output: %q in %q", secret, out)
			}
		}
	}
}

// craftSnapshot saves a snapshot of storeID as backup.sh lays one out,
// database/dump.sql holding dump and an empty wp-content/uploads, as
// someone holding the repository's keys could; its id.
func (r *scriptRig) craftSnapshot(t *testing.T, storeID, dump string) string {
	t.Helper()
	stage := t.TempDir()
	for _, d := range []string{"database", filepath.Join("wp-content", "uploads")} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "database", "dump.sql"), []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.restic, "backup", "--json", "--quiet", "--host", storeID, "--tag", "store-id="+storeID, "database", "wp-content/uploads")
	cmd.Dir = stage
	cmd.Env = r.resticEnv()
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("restic backup of a crafted dump: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		var summary struct {
			Type string `json:"message_type"`
			ID   string `json:"snapshot_id"`
		}
		if json.Unmarshal([]byte(line), &summary) == nil && summary.Type == "summary" && snapshotID.MatchString(summary.ID) {
			return summary.ID
		}
	}
	t.Fatalf("restic backup of a crafted dump named no snapshot:\n%s", out.String())
	return ""
}

// storeSnapshots counts the repository's snapshots by store-id tag.
func (r *scriptRig) storeSnapshots(t *testing.T) map[string]int {
	t.Helper()
	var snaps []struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.resticJSON(t, "snapshots", "--json"), &snaps); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, s := range snaps {
		for _, tag := range s.Tags {
			if id, ok := strings.CutPrefix(tag, "store-id="); ok {
				n[id]++
			}
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
