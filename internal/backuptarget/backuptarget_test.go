package backuptarget

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func start(t *testing.T, dir, addr string) *Target {
	t.Helper()
	tg, err := Start(dir, addr)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil { // after the test's own Close too: it returns that one's error
			t.Error(err)
		}
	})
	return tg
}

// resticBin is restic from make testbin (PURRVISION_RESTIC).
func resticBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs restic (make testbin); skipped with -short")
	}
	bin := os.Getenv("PURRVISION_RESTIC")
	if bin == "" {
		t.Fatal("PURRVISION_RESTIC is not set: run `make testbin` and source bin/testbin.env (make test does both)")
	}
	return bin
}

func restic(t *testing.T, bin string, tg *Target, repo string, args ...string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte("a repository password"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{
		"HOME=" + t.TempDir(),
		"RESTIC_REPOSITORY=" + repo,
		"RESTIC_PASSWORD_FILE=" + pw,
		"AWS_ACCESS_KEY_ID=" + tg.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + tg.SecretAccessKey,
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("restic %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

// TestStart_ServesResticAcrossRestarts: restic makes a repository and a
// snapshot on the target, and finds it after the target restarts on the
// same directory, with the same keys.
func TestStart_ServesResticAcrossRestarts(t *testing.T) {
	bin := resticBin(t)
	dir := t.TempDir()
	tg := start(t, dir, "")
	repo := tg.Repository("stores/cat-cafe-1")
	if !strings.HasPrefix(repo, "s3:http://127.0.0.1:") || !strings.HasSuffix(repo, "/backups/stores/cat-cafe-1") {
		t.Errorf("Repository = %q, want s3:http://127.0.0.1:<port>/backups/stores/cat-cafe-1", repo)
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "order.txt"), []byte("order 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	restic(t, bin, tg, repo, "init")
	restic(t, bin, tg, repo, "backup", "--tag", "store-id=cat-cafe-1", data)

	addr := strings.TrimPrefix(tg.Endpoint, "http://")
	if err := tg.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again := start(t, dir, addr)
	if again.Credentials != tg.Credentials {
		t.Errorf("keys after a restart = %+v, want the first start's", again.Credentials)
	}
	if out := restic(t, bin, again, repo, "snapshots", "--json"); !strings.Contains(out, `"store-id=cat-cafe-1"`) {
		t.Errorf("after a restart, restic snapshots = %s, want the snapshot taken before", out)
	}
	if out := restic(t, bin, again, repo, "dump", "latest", filepath.Join(data, "order.txt")); out != "order 1" {
		t.Errorf("after a restart, the file read back = %q, want %q", out, "order 1")
	}
}

// TestStart_RefusesOtherKeys: a request that does not name the target's
// access key gets S3's 403, whatever it asks for.
func TestStart_RefusesOtherKeys(t *testing.T) {
	tg := start(t, t.TempDir(), "")
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no Authorization", "", http.StatusForbidden},
		{"another key", "AWS4-HMAC-SHA256 Credential=AKIAOTHER/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", http.StatusForbidden},
		{"the key as a prefix of another", "AWS4-HMAC-SHA256 Credential=" + tg.AccessKeyID + "X/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", http.StatusForbidden},
		{"signature version 2", "AWS " + tg.AccessKeyID + ":c2lnbmF0dXJl", http.StatusForbidden},
		{"the target's key", "AWS4-HMAC-SHA256 Credential=" + tg.AccessKeyID + "/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tg.Endpoint+"/"+Bucket+"?list-type=2", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestStart_LoopbackOnly: the target checks no signatures, so it refuses
// to listen anywhere but loopback.
func TestStart_LoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9000", "localhost:0", "example.com:9000", "127.0.0.1"} {
		t.Run(addr, func(t *testing.T) {
			tg, err := Start(t.TempDir(), addr)
			if err == nil {
				_ = tg.Close()
				t.Fatalf("Start(%q) served, want a refusal", addr)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q does not name the address", err)
			}
		})
	}
}

// TestStart_RefusesBrokenKeys: a key file it did not write is not
// replaced silently (the stores' Secrets hold the keys it had).
func TestStart_RefusesBrokenKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, credentialsFile), []byte(`{"accessKeyId":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if tg, err := Start(dir, ""); err == nil {
		_ = tg.Close()
		t.Fatal("Start served with an empty access key")
	} else if !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func TestStart_KeysAreKeptPrivate(t *testing.T) {
	dir := t.TempDir()
	start(t, dir, "")
	fi, err := os.Stat(filepath.Join(dir, credentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestSignedAccessKey(t *testing.T) {
	tests := []struct{ auth, want string }{
		{"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab", "AKID"},
		{"AWS4-HMAC-SHA256 SignedHeaders=host, Credential=AKID/20261207/us-east-1/s3/aws4_request, Signature=ab", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=AKID", ""},
		{"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab", ""},
		{"Bearer AKID", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := signedAccessKey(tt.auth); got != tt.want {
			t.Errorf("signedAccessKey(%q) = %q, want %q", tt.auth, got, tt.want)
		}
	}
}
