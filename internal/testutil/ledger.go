package testutil

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/tenants"
)

// ledgerSecret is the ledger signing key of tests: one key, so that every
// Ledger a test opens on a tenants repo (the service's, the test's own
// clone) reads what the others signed.
var ledgerSecret = func() []byte { s := sha256.Sum256([]byte("purrvision test ledger key")); return s[:] }()

// LedgerKeys are the ledger signing keys of tests.
func LedgerKeys() *ledger.Keys {
	k, err := ledger.NewKeys(ledgerSecret)
	if err != nil {
		panic(err) // a constant key of the right size
	}
	return k
}

// LedgerKeyFile writes the tests' ledger signing key to a file, as
// `purrvision ledger keygen` does, for ledger.signingKeyFiles.
func LedgerKeyFile(t testing.TB) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ledger-key")
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(ledgerSecret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// Ledger is a started ledger in an empty tenants repo on a loopback git
// server, for tests that report or provision without a tenants repo of
// their own.
func Ledger(t testing.TB) *ledger.Ledger {
	t.Helper()
	l := UnstartedLedger(t)
	if _, err := l.Migrate(context.Background(), nil, "", nil); err != nil {
		t.Fatal(err)
	}
	return l
}

// UnstartedLedger is Ledger before the service's first start: Migrate
// starts it.
func UnstartedLedger(t testing.TB) *ledger.Ledger {
	t.Helper()
	_, url, _ := GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	return ledger.New(repo, LedgerKeys())
}

// LedgerFile is the content of path on repo's ledger branch, as fetched
// ("" when absent): what a test that plays someone with push access reads
// before forging it.
func LedgerFile(t testing.TB, repo *tenants.Repo, path string) []byte {
	t.Helper()
	head, ok, err := repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		t.Fatalf("no ledger branch: %v", err)
	}
	snap, err := repo.Snapshot(head)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := snap.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
