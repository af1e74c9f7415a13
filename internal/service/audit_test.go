package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/audit"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// TestAudit_JoinsGitAndGitHub: a store's audit timeline holds its commits
// with their trailers, the merge, and what was recorded on its issue, in
// time order.
func TestAudit_JoinsGitAndGitHub(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)

	repo := h.tenantsClone()
	entries := auditOf(t, h, repo, "cat-cafe")
	text := audit.Text(entries)
	for _, s := range []string{"Provision store cat-cafe", "requested-by octocat", "Resize store cat-cafe to medium", "operation resize", "Merge pull request", "Waiting for review", "merged by @maintainer (approved by @reviewer)"} {
		if !strings.Contains(text, s) {
			t.Errorf("timeline lacks %q:\n%s", s, text)
		}
	}
	kinds := map[string]int{}
	for i, e := range entries {
		kinds[e.Source+"/"+e.Kind]++
		if i > 0 && e.Time.Before(entries[i-1].Time) {
			t.Error("the timeline is not in time order")
		}
	}
	if kinds["git/commit"] != 2 || kinds["git/merge"] != 2 || kinds["github/merged"] != 2 {
		t.Errorf("entries by source and kind = %v", kinds)
	}
	for _, e := range entries {
		if e.Cluster != "default" {
			t.Errorf("entry %+v does not name the store's cluster", e)
		}
	}
	if _, err := audit.Timeline(context.Background(), h.cfg, repo, "no-such-store"); err == nil {
		t.Error("a store with no history has a timeline")
	}
}

// shardMate is a store name in the same shard folder as name.
func shardMate(t *testing.T, name string) string {
	t.Helper()
	for i := range 10000 {
		if m := fmt.Sprintf("shop-%d", i); renderer.Shard(m) == renderer.Shard(name) {
			return m
		}
	}
	t.Fatal("no shard mate found")
	return ""
}

// TestAudit_OnlyTheStoresOwnHistory (issue 10, class 6): with several
// stores, pull requests merged in between (a branch that left main before
// another store was merged) and two stores in one shard folder, each
// store's audit holds its own commits and its own issue's timeline, and
// nothing of the others'.
func TestAudit_OnlyTheStoresOwnHistory(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	mate := shardMate(t, "cat-cafe")
	cat := h.request("octocat", "cat-cafe", "small")
	dog := h.request("octocat", "dog-diner", "small")
	h.settle()
	dogPR, _ := h.openPull("dog-diner")
	h.merge(dogPR) // before cat-cafe's, whose branch left main earlier
	catPR, _ := h.openPull("cat-cafe")
	h.merge(catPR)
	mateIssue := h.provisioned(mate)
	h.gh.Comment(requestsRepo, cat, "octocat", "/purrvision resize medium")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)

	repo := h.tenantsClone()
	issues := map[string]int{"cat-cafe": cat, "dog-diner": dog, mate: mateIssue}
	for store, n := range issues {
		text := audit.Text(auditOf(t, h, repo, store))
		if !strings.Contains(text, "Provision store "+store) {
			t.Errorf("audit of %s lacks its own provisioning:\n%s", store, text)
		}
		for other, m := range issues {
			if other == store {
				continue
			}
			if strings.Contains(text, "store "+other) || strings.Contains(text, fmt.Sprintf("#%d]", m)) || strings.Contains(text, "/"+other+"/") {
				t.Errorf("audit of %s holds %s's history:\n%s", store, other, text)
			}
		}
		if strings.Contains(text, "did not record") || strings.Contains(text, "directly") || strings.Contains(text, "not a Purrvision commit") {
			t.Errorf("audit of %s flags its own history:\n%s", store, text)
		}
		if !strings.Contains(text, fmt.Sprintf("acme/stores#%d", n)) {
			t.Errorf("audit of %s does not name its issue #%d:\n%s", store, n, text)
		}
	}
}

// tenantsClone is a clone of the tenants repo on disk, past the git
// server and its rules: what someone who gets around them (an admin who
// lifts the protection, a leaked App token) writes with. The scenarios
// that push with it play that person; a person's push under the rules is
// refused (rules_test.go).
func (h *harness) tenantsClone() *tenants.Repo {
	h.t.Helper()
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: h.bare, Branch: "main"})
	if err != nil {
		h.t.Fatal(err)
	}
	return repo
}

func auditOf(t *testing.T, h *harness, repo *tenants.Repo, store string) []audit.Entry {
	t.Helper()
	entries, err := audit.Timeline(context.Background(), h.cfg, repo, store)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestAudit_ForgedTrailers (issue 10, class 6): a pull request Purrvision
// neither opened nor validated, merged by an admin, whose commit changes a
// store's folder and claims in its trailers to be that store's approved
// resize, shows in the store's audit as what it is, not as a resize.
func TestAudit_ForgedTrailers(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	admin := h.tenantsClone()
	forged := tenants.Message("Resize store cat-cafe to large", "",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: "cat-cafe"},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpResize},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: "octocat"},
		tenants.Trailer{Key: v1alpha1.TrailerApprovedBy, Value: "boss"},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: fmt.Sprintf("%s#%d", requestsRepo, n)})
	if _, err := admin.Update(context.Background(), "ops/tweak", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: storeDir("cat-cafe") + "/NOTES.md", Data: []byte("x\n")}}, Message: forged}, nil
	}); err != nil {
		t.Fatal(err)
	}
	pr, err := h.gh.OpenPull(tenantsRepo, "mallory", "ops/tweak", "main", "Tweak", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.mergePastTheRules(pr)

	text := audit.Text(auditOf(t, h, admin, "cat-cafe"))
	if !strings.Contains(text, "Resize store cat-cafe to large (brought in by a merge Purrvision did not record") {
		t.Errorf("the forged commit is not shown as unrecorded:\n%s", text)
	}
	if strings.Contains(text, "approved-by") || strings.Contains(text, "boss") || strings.Count(text, "operation resize") != 0 {
		t.Errorf("the audit repeats the forged trailers:\n%s", text)
	}
	if !strings.Contains(text, "Provision store cat-cafe (operation provision") || strings.Contains(text, "Provision store cat-cafe (brought in") {
		t.Errorf("the store's own provisioning is not shown as Purrvision's:\n%s", text)
	}
}

// TestAudit_RequesterTrailersInARequestPull (class 6): a request pull
// request whose own commit writes into the requested store's folder with
// made-up trailers is rendered over and merged; the audit shows that
// commit without its trailers, and the bot's render with its own.
func TestAudit_RequesterTrailersInARequestPull(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	user := h.tenantsClone()
	request := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: dog-diner\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: owner@example.com\n"
	forged := tenants.Message("Decommission store dog-diner", "",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: "dog-diner"},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpDecommission},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: "the-ceo"},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: tenantsRepo + "#1"})
	if _, err := user.Update(context.Background(), "request/dog-diner", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BaseHead, Message: forged, Changes: []tenants.Change{
			{Path: "requests/dog-diner.yaml", Data: []byte(request)},
			{Path: storeDir("dog-diner") + "/NOTES.md", Data: []byte("x\n")},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	pr, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/dog-diner", "main", "Request dog-diner", "")
	if err != nil || pr != 1 {
		t.Fatalf("pull request %d, %v; the test's trailers name #1", pr, err)
	}
	h.settle()
	h.merge(pr)
	text := audit.Text(auditOf(t, h, user, "dog-diner"))
	if strings.Contains(text, "the-ceo") || strings.Contains(text, "operation decommission") {
		t.Errorf("the audit repeats the requester's trailers:\n%s", text)
	}
	if !strings.Contains(text, "Render requested stores (operation provision, requested-by octocat") {
		t.Errorf("the audit lacks the bot's render:\n%s", text)
	}
}

// TestAudit_ReusedName: a name decommissioned and then given to a new
// store has one history: each store's commits and merges, read with its
// own issue's records, none of them shown as unrecorded.
func TestAudit_ReusedName(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)
	old := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	rep := &reconcile.GitHubReporter{GitHub: h.client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: ledger.New(h.tenantsClone(), testutil.LedgerKeys())}
	if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: old, Observation: reconcile.Observation{Phase: v1alpha1.PhaseDecommissioned}}); err != nil {
		t.Fatal(err)
	}
	h.request("mallory", "cat-cafe", "medium")
	h.settle()
	pr, title := h.openPull("cat-cafe")
	if title != "Provision store cat-cafe" {
		t.Fatalf("open pull request %q", title)
	}
	h.merge(pr)

	text := audit.Text(auditOf(t, h, h.tenantsClone(), "cat-cafe"))
	if strings.Contains(text, "did not record") {
		t.Errorf("a recorded merge of one of the name's stores is shown as unrecorded:\n%s", text)
	}
	if got := strings.Count(text, "merged by @maintainer"); got != 3 {
		t.Errorf("%d merges recorded in the issues' timelines, want 3 (provision, decommission, provision again):\n%s", got, text)
	}
}

// withLedger gives o a fresh clone of the tenants repo that pushes as the
// bot and a ledger on it, signed with the service's key, as another
// process (`purrvision rollout start`) would have.
func (h *harness) withLedger(o fleet.Options) fleet.Options {
	h.t.Helper()
	o.Repo = h.botClone()
	o.Ledger = ledger.New(o.Repo, testutil.LedgerKeys())
	o.Identity = forge.NewIdentity(ghstandin.BotLogin)
	return o
}
