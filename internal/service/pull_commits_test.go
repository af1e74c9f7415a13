package service_test

import (
	"fmt"
	"strings"
	"testing"
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
