package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/tenants"
)

// madeSince are the ledger commits' subjects made since before (newest
// first), as ledgerSubjects reads them.
func (h *harness) madeSince(before []string) []string {
	h.t.Helper()
	after := h.ledgerSubjects()
	return after[:len(after)-len(before)]
}

// TestPulls_MergeOneLedgerCommit: the handling of a store pull request's
// merge makes one commit on the ledger branch, for the store issue's
// record: the merge in its state and the delivered credentials live,
// recorded before the status and credentials comments are edited.
func TestPulls_MergeOneLedgerCommit(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	before := h.ledgerSubjects()
	h.merge(pr)
	made := h.madeSince(before)
	issue := fmt.Sprintf("%s#%d", requestsRepo, n)
	if len(made) != 1 || !strings.Contains(made[0], issue) || !strings.Contains(made[0], "in use: merged") {
		t.Errorf("the merge made %d ledger commits, want 1 of %s that records the credentials live:\n%s", len(made), issue, strings.Join(made, "\n"))
	}
}

// TestPulls_RequestPullOneLedgerCommit: the handling of a request pull
// request makes one commit on the ledger branch, for the pull request's
// own record: the credentials sealed to the author, recorded before the
// credentials comment is posted. So does the handling of an invalid one,
// which records the post of its validation comment.
func TestPulls_RequestPullOneLedgerCommit(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	user := h.tenantsClone()
	good := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: %s\nspec:\n  plan: %s\n  owner: octocat\n  adminEmail: owner@example.com\n"
	for _, c := range []struct{ name, store, plan, want string }{
		{"valid", "dog-diner", "small", "sealed to @octocat"},
		{"invalid", "cat-barn", "xl", "posting its validation comment"},
	} {
		branch := "request/" + c.store
		if _, err := user.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "requests/" + c.store + ".yaml", Data: []byte(fmt.Sprintf(good, c.store, c.plan))}}, Message: "request a store\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		before := h.ledgerSubjects()
		n, err := h.gh.OpenPull(tenantsRepo, "octocat", branch, "main", "Request "+c.store, "")
		if err != nil {
			t.Fatal(err)
		}
		h.settle()
		// The bot's push of its render is a push like any: GitHub sends
		// its synchronize event, whose handling finds the post the first
		// left pending and records it (the write-ahead's second half).
		made := h.madeSince(before)
		pull := fmt.Sprintf("%s#%d", tenantsRepo, n)
		handling, resolved := 0, 0
		for _, m := range made {
			switch {
			case strings.Contains(m, pull) && strings.Contains(m, c.want):
				handling++
			case strings.Contains(m, pull) && strings.Contains(m, " post is comment "):
				resolved++
			}
		}
		if handling != 1 || resolved > 1 || handling+resolved != len(made) {
			t.Errorf("%s: the pull request's handling made %d ledger commits, want 1 of %s that says %q (and at most the post's resolution):\n%s", c.name, len(made), pull, c.want, strings.Join(made, "\n"))
		}
	}
}
