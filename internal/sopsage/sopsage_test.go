package sopsage_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testutil"
)

const plain = `apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: store-x
data:
  password: aHVudGVyMmh1bnRlcjJodW50ZXIy
`

func dataKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, sopsage.DataKeySize)
	if _, err := testutil.Rand(5).Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptDecrypt_RoundTrip(t *testing.T) {
	a, b := testutil.AgeIdentity(t), testutil.AgeIdentity(t)
	enc, err := sopsage.Encrypt([]byte(plain), []string{a.Recipient().String(), b.Recipient().String()}, dataKey(t), time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("aHVudGVyMmh1bnRlcjJodW50ZXIy")) {
		t.Fatal("the value is in the encrypted file in plaintext")
	}
	for _, s := range []string{"encrypted_regex: ^(data|stringData)$", "name: s", "kind: Secret", "lastmodified: \"2027-01-15T08:00:00Z\""} {
		if !bytes.Contains(enc, []byte(s)) {
			t.Errorf("encrypted file lacks %q", s)
		}
	}
	for _, id := range []string{a.String(), b.String()} {
		got, err := sopsage.Decrypt(enc, id)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Contains(got, []byte("password: aHVudGVyMmh1bnRlcjJodW50ZXIy")) {
			t.Errorf("decrypted file lacks the value:\n%s", got)
		}
	}
}

func TestDecrypt_Refuses(t *testing.T) {
	a := testutil.AgeIdentity(t)
	enc, err := sopsage.Encrypt([]byte(plain), []string{a.Recipient().String()}, dataKey(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sopsage.Decrypt(enc, testutil.AgeIdentity(t).String()); err == nil {
		t.Error("decrypted with a key it was not encrypted for")
	}
	tampered := bytes.Replace(enc, []byte("name: s\n"), []byte("name: t\n"), 1)
	if _, err := sopsage.Decrypt(tampered, a.String()); err == nil || !strings.Contains(err.Error(), "MAC") {
		t.Errorf("a tampered file decrypted: err = %v", err)
	}
}

func TestEncrypt_Refuses(t *testing.T) {
	if _, err := sopsage.Encrypt([]byte(plain), nil, dataKey(t), time.Now()); err == nil {
		t.Error("encrypted for no recipient")
	}
	if _, err := sopsage.Encrypt([]byte(plain), []string{"age1bad"}, dataKey(t), time.Now()); err == nil {
		t.Error("encrypted for a bad recipient")
	}
	if _, err := sopsage.Encrypt([]byte(plain), []string{testutil.AgeIdentity(t).Recipient().String()}, []byte("short"), time.Now()); err == nil {
		t.Error("encrypted with a short data key")
	}
}

// sopsCLI returns the sops binary built by `make testbin`.
func sopsCLI(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the sops CLI from make testbin")
	}
	bin := os.Getenv("PURRVISION_SOPS")
	if bin == "" {
		t.Fatal("PURRVISION_SOPS is not set: run the tests with `make test`")
	}
	return bin
}

// runSOPS runs the sops CLI with the age identity in its environment, never
// on its command line.
func runSOPS(t *testing.T, bin, identity string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SOPS_AGE_KEY="+identity)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func TestEncrypt_SOPSCLIDecrypts(t *testing.T) {
	bin := sopsCLI(t)
	id := testutil.AgeIdentity(t)
	enc, err := sopsage.Encrypt([]byte(plain), []string{id.Recipient().String()}, dataKey(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "secret.sops.yaml")
	if err := os.WriteFile(f, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	out := runSOPS(t, bin, id.String(), "--decrypt", f)
	if !bytes.Contains(out, []byte("password: aHVudGVyMmh1bnRlcjJodW50ZXIy")) {
		t.Errorf("sops --decrypt gave:\n%s", out)
	}
}

func TestDecrypt_ReadsSOPSCLIOutput(t *testing.T) {
	bin := sopsCLI(t)
	id := testutil.AgeIdentity(t)
	f := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(f, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := runSOPS(t, bin, id.String(), "--encrypt", "--age", id.Recipient().String(), "--encrypted-regex", sopsage.EncryptedRegex, f)
	got, err := sopsage.Decrypt(enc, id.String())
	if err != nil {
		t.Fatalf("Decrypt of sops CLI output: %v", err)
	}
	if !bytes.Contains(got, []byte("password: aHVudGVyMmh1bnRlcjJodW50ZXIy")) {
		t.Errorf("decrypted:\n%s", got)
	}
}
