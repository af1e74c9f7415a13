package testutil

import (
	"context"
	"testing"

	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/tenants"
)

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
	return ledger.New(repo)
}
