package testutil

import (
	"context"
	"testing"

	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/tenants"
)

// Ledger is a ledger in an empty tenants repo on a loopback git server,
// for tests that report or provision without a tenants repo of their own.
func Ledger(t testing.TB) *ledger.Ledger {
	t.Helper()
	_, url, _ := GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	return ledger.New(repo)
}
