package service_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// ledgerFile is the content of path on the ledger branch.
func (h *harness) ledgerFile(path string) []byte {
	h.t.Helper()
	return testutil.LedgerFile(h.t, h.tenantsClone(), path)
}

// pushLedger writes path on the ledger branch as someone who can push to
// it but holds no signing key would.
func (h *harness) pushLedger(path string, data []byte) {
	h.t.Helper()
	if _, err := h.tenantsClone().Update(context.Background(), v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: path, Data: data}}, Message: "Ledger: tidy up\n"}, nil
	}); err != nil {
		h.t.Fatal(err)
	}
}

// TestSecurity_ForgedLedgerRecord (class 3): someone who can push to the
// ledger branch (a misconfigured ruleset, a leaked token) edits the bot's
// record of a request so that it names no status comment and no state, as
// if the store were new. The bot does not act on it: no second status
// comment, no change of the pull request; it says so in its log, its
// metrics and on the status page; and once an operator restores the file
// from the branch's history, it handles the issue again.
// Guard: ledger signatures (Keys.open, over the file's path and content).
func TestSecurity_ForgedLedgerRecord(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	file, err := ledger.File(forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n})
	if err != nil {
		t.Fatal(err)
	}
	status := statusComments(h, n)
	prs := h.pulls()["store/cat-cafe"]
	if len(status) != 1 || len(prs) != 1 {
		t.Fatalf("%d status comments, %d pull requests; want one of each", len(status), len(prs))
	}
	head := prs[0].GetHead().GetSHA()

	// The attacker keeps the signature and empties the record.
	good := h.ledgerFile(file)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	env["record"] = json.RawMessage(`{}`)
	forged, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	h.pushLedger(file, forged)

	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "medium", "owner@example.com"))
	h.settle()
	if got := statusComments(h, n); len(got) != 1 || got[0].GetBody() != status[0].GetBody() {
		t.Errorf("%d status comments after the forgery, want the one, unchanged", len(got))
	}
	if prs := h.pulls()["store/cat-cafe"]; len(prs) != 1 || prs[0].GetHead().GetSHA() != head {
		t.Errorf("the pull request changed on a forged record: %d pull requests", len(prs))
	}
	if logs := h.logs.String(); !strings.Contains(logs, `"msg":"refused a ledger record"`) || !strings.Contains(logs, `"file":"`+file+`","reason":"bad-signature"`) {
		t.Errorf("no log of the refusal:\n%.3000s", logs)
	}
	if m := h.get("/metrics"); !strings.Contains(m, `purrvision_ledger_refused_total{reason="bad-signature"} 1`) || !strings.Contains(m, "purrvision_ledger_refused_records 1") {
		t.Errorf("the metrics do not count the refusal:\n%s", grepLines(m, "purrvision_ledger"))
	}
	if page := h.get("/"); !strings.Contains(page, "Ledger records refused") || !strings.Contains(page, file) {
		t.Errorf("the status page does not show the refused record:\n%.3000s", page)
	}

	// The operator restores the file from the branch's history.
	h.pushLedger(file, good)
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "large", "owner@example.com"))
	h.settle()
	if got := statusComments(h, n); len(got) != 1 {
		t.Errorf("%d status comments after the restore, want the one", len(got))
	}
	if prs := h.pulls()["store/cat-cafe"]; len(prs) != 1 || prs[0].GetHead().GetSHA() == head {
		t.Errorf("the pull request was not brought up to date after the restore")
	}
	if page := h.get("/"); strings.Contains(page, "Ledger records refused") {
		t.Errorf("the status page still shows a refused record after the restore")
	}
}
