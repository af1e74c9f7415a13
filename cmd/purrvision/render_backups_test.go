package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// TestRender_Backups: a store whose plan takes backups is rendered with
// the issue that owns it, and its cluster's credentials file is read; the
// key reaches the files only sealed. Without --issue, or without the
// credentials file, nothing is written and the error says what to give.
func TestRender_Backups(t *testing.T) {
	dir := t.TempDir()
	const secret = "backupSecretKeyThatMustNotLeak0123456789"
	credsFile := filepath.Join(dir, "backup-credentials")
	if err := os.WriteFile(credsFile, []byte("AWS_ACCESS_KEY_ID=AKIARENDERTEST\nAWS_SECRET_ACCESS_KEY="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgData := readFile(t, examplePath(t, "purrvision.yaml"))
	cfgData = strings.Replace(cfgData, "    pods: 4\n", "    pods: 4\n    backups: {schedule: \"0 3 * * *\", keep: 14}\n", 1) +
		"\nbackups:\n  target:\n    repository: s3:https://s3.example.com/backups\n    credentialsFile: " + credsFile +
		"\n    egress: [{cidr: 203.0.113.0/24, ports: [443]}]\n"
	cfg := filepath.Join(dir, "purrvision.yaml")
	if err := os.WriteFile(cfg, []byte(cfgData), 0o600); err != nil {
		t.Fatal(err)
	}
	req := examplePath(t, "store-request.yaml")
	id := testutil.AgeIdentity(t).Recipient().String()

	out := filepath.Join(dir, "out")
	if r := runCLI(t, "", "render", "-f", req, "--config", cfg, "--age-recipient", id, "-o", out); r.code != 2 || !strings.Contains(r.stderr, "Input.Origin") {
		t.Errorf("without --issue: exit %d, %s; want 2 and the issue asked for", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused render wrote %s", out)
	}

	r := runCLI(t, "", "render", "-f", req, "--config", cfg, "--age-recipient", id, "--issue", "acme/stores#7", "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{renderer.FileBackupPasswordSecret, renderer.FileBackupTargetSecret} {
		if !strings.Contains(r.stdout, filepath.FromSlash(f)) {
			t.Errorf("%s not written:\n%s", f, r.stdout)
		}
	}
	for _, p := range strings.Fields(r.stdout) {
		if data := readFile(t, p); strings.Contains(data, secret) || strings.Contains(data, "AKIARENDERTEST") {
			t.Errorf("%s holds the backup key in plaintext", p)
		}
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Error("the key was printed")
	}

	if err := os.Remove(credsFile); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", "render", "-f", req, "--config", cfg, "--issue", "acme/stores#7", "-o", filepath.Join(dir, "out2")); r.code != 2 || !strings.Contains(r.stderr, "backups.target.credentialsFile") {
		t.Errorf("without the credentials file: exit %d, %s; want 2 and the key named", r.code, r.stderr)
	}
}
