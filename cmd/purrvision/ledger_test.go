package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/ledger"
)

// TestLedgerKeygen: keygen writes a key serve can load, readable by its
// owner only, and never writes over a key.
func TestLedgerKeygen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ledger-key")
	r := runCLI(t, "", "ledger", "keygen", "-o", file)
	if r.code != 0 {
		t.Fatalf("keygen: exit %d, %s", r.code, r.stderr)
	}
	keys, err := ledger.LoadKeys([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stdout, keys.Signer()) {
		t.Errorf("keygen printed %q, want the key id %s", r.stdout, keys.Signer())
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	if again := runCLI(t, "", "ledger", "keygen", "-o", file); again.code != 2 {
		t.Errorf("keygen over a key: exit %d, want 2", again.code)
	}
	if none := runCLI(t, "", "ledger", "keygen"); none.code != 2 || !strings.Contains(none.stderr, "-o is required") {
		t.Errorf("keygen without -o: exit %d, %s", none.code, none.stderr)
	}
}
