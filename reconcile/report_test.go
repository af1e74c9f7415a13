package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/tenants"
)

// TestReporter_AppliedBeforeInstalling: helm-controller can see a new
// HelmRelease before kustomize-controller reports the apply that created
// it. The timeline still reads merged, applied, installing, ready.
func TestReporter_AppliedBeforeInstalling(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	st := storestatus.State{Store: "cat-cafe"}
	st.Record(v1alpha1.PhaseMerged, "by @maintainer", "github", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	gh.Comment("acme/stores", n, ghstandin.BotLogin, storestatus.Body(st, ""))
	issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	rep := &reconcile.GitHubReporter{GitHub: client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin),
		Ledger: fromBeforeTheLedger(t, testutil.UnstartedLedger(t), client, issue)}
	ctx := context.Background()

	var keys []string
	for _, o := range []reconcile.Observation{
		{Phase: v1alpha1.PhaseInstalling},                                              // the HelmRelease, before the apply is reported
		{Phase: v1alpha1.PhaseInstalling, Applied: true, Revision: "0123456789abcdef"}, // the Kustomization turns Ready
		{Phase: v1alpha1.PhaseReady, Applied: true, Revision: "0123456789abcdef"},
	} {
		keys = append(keys, o.Key())
		if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: o, URL: "https://cat-cafe.shop.example.com/"}); err != nil {
			t.Fatal(err)
		}
	}
	if keys[0] == keys[1] {
		t.Errorf("the Kustomization turning Ready does not change the key %q, so it would not be reported", keys[0])
	}
	var phases []v1alpha1.Phase
	statuses := 0
	for _, c := range gh.Comments("acme/stores", n) {
		if strings.Contains(c.GetBody(), v1alpha1.MarkerStatus) {
			statuses++
			for _, e := range storestatus.Parse(c.GetBody()).Timeline {
				phases = append(phases, e.Phase)
			}
		}
	}
	if statuses != 1 {
		t.Errorf("%d status comments, want the one from before the ledger, kept", statuses)
	}
	want := []v1alpha1.Phase{v1alpha1.PhaseMerged, v1alpha1.PhaseApplied, v1alpha1.PhaseInstalling, v1alpha1.PhaseReady}
	if !slices.Equal(phases, want) {
		t.Errorf("timeline %v, want %v", phases, want)
	}
}

// TestReporter_DecommissionClosesTheIssue (issue 10, class 5): a
// decommission is final for its issue. The report closes it, with the
// progress comment saying so; earlier phases leave it open.
func TestReporter_DecommissionClosesTheIssue(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	rep := &reconcile.GitHubReporter{GitHub: client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: testutil.Ledger(t)}
	issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	ctx := context.Background()
	report := func(o reconcile.Observation) {
		t.Helper()
		if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: o, URL: "https://cat-cafe.shop.example.com/"}); err != nil {
			t.Fatal(err)
		}
	}
	report(reconcile.Observation{Phase: v1alpha1.PhaseReady, Applied: true, Revision: "0123456789abcdef"})
	if s := gh.Issue("acme/stores", n).GetState(); s != "open" {
		t.Fatalf("issue %s after Ready, want open", s)
	}
	report(reconcile.Observation{Phase: v1alpha1.PhaseDecommissioned})
	if s := gh.Issue("acme/stores", n).GetState(); s != "closed" {
		t.Errorf("issue %s after the decommission, want closed", s)
	}
	var status string
	for _, c := range gh.Comments("acme/stores", n) {
		if v1alpha1.Marked(c.GetBody(), v1alpha1.MarkerStatus) {
			status = c.GetBody()
		}
	}
	if !strings.Contains(status, "this issue is closed") {
		t.Errorf("the progress comment does not say the issue is closed:\n%s", status)
	}
}

// TestReporter_RevisionsOfTheWholeRepo: Flux applies the whole tenants
// repo, so a store's Kustomization reports revisions of other stores'
// merges. The store's deployment stays the one of its own merge, and a
// report about a revision older than its last merge is held back.
func TestReporter_RevisionsOfTheWholeRepo(t *testing.T) {
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	commit := func(file string) string {
		t.Helper()
		res, err := repo.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: file, Data: []byte("x\n")}}, Message: file + "\n"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.Commit.String()
	}
	before := commit("a")  // before the store's merge
	own := commit("cat")   // the store's own merge
	later := commit("dog") // another store's merge

	gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	st := storestatus.State{Store: "cat-cafe", MergeCommit: own}
	st.RecordMerge("by @maintainer", own, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	gh.Comment("acme/stores", n, ghstandin.BotLogin, storestatus.Body(st, ""))
	tenantsRepo := forge.Repo{Owner: "acme", Name: "tenants"}
	ctx := context.Background()
	d, err := client.EnsureDeployment(ctx, tenantsRepo, v1alpha1.Environment("cat-cafe"), own, "provision of store cat-cafe", ghstandin.BotLogin)
	if err != nil {
		t.Fatal(err)
	}
	issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	rep := &reconcile.GitHubReporter{GitHub: client, Tenants: tenantsRepo, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: fromBeforeTheLedger(t, ledger.New(repo, testutil.LedgerKeys()), client, issue),
		History: reconcile.HistoryFunc(func(ctx context.Context, a, b string) (bool, error) {
			return repo.Contains(ctx, tenants.Hash(a), tenants.Hash(b))
		})}
	report := func(o reconcile.Observation) error {
		return rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: o, URL: "https://cat-cafe.shop.example.com/"})
	}

	// Flux still reports the revision from before the merge: held back.
	if err := report(reconcile.Observation{Phase: v1alpha1.PhaseReady, Applied: true, Revision: before}); !errors.Is(err, reconcile.ErrStale) {
		t.Fatalf("a report of a revision before the merge: %v, want ErrStale", err)
	}
	if s := gh.DeploymentStatuses("acme/tenants", v1alpha1.Environment("cat-cafe")); len(s) != 0 {
		t.Errorf("a stale report set deployment statuses: %v", s)
	}
	// Another store's merge is the revision Flux applied: the store's own
	// deployment gets the status, and no deployment at the other commit.
	if err := report(reconcile.Observation{Phase: v1alpha1.PhaseReady, Applied: true, Revision: later}); err != nil {
		t.Fatal(err)
	}
	latest, err := client.LatestDeployment(ctx, tenantsRepo, v1alpha1.Environment("cat-cafe"), ghstandin.BotLogin)
	if err != nil || latest == nil || latest.ID != d.ID || latest.SHA != own {
		t.Fatalf("latest deployment %+v, %v; want the store's own at %s", latest, err, own[:12])
	}
	if states := gh.DeploymentStates("acme/tenants")[v1alpha1.Environment("cat-cafe")]; len(states) != 1 || states[0] != "success" {
		t.Errorf("deployment states %v, want success on the store's own deployment", states)
	}
	for _, c := range gh.Comments("acme/stores", n) {
		if v1alpha1.Marked(c.GetBody(), v1alpha1.MarkerStatus) && strings.Contains(c.GetBody(), before[:12]) {
			t.Errorf("the timeline names the stale revision:\n%s", c.GetBody())
		}
	}
}

// fromBeforeTheLedger starts l with the bot's comments already on issue,
// as the service does for the stores it finds at its first start.
func fromBeforeTheLedger(t *testing.T, l *ledger.Ledger, client ledger.GitHub, issue forge.IssueRef) *ledger.Ledger {
	t.Helper()
	if _, err := l.Migrate(context.Background(), client, ghstandin.BotLogin, []forge.IssueRef{issue}); err != nil {
		t.Fatal(err)
	}
	return l
}

// recordingGitHub records the deployment statuses the reporter creates.
type recordingGitHub struct {
	reconcile.ReportGitHub
	statuses []forge.DeploymentStatus
}

func (r *recordingGitHub) CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error {
	r.statuses = append(r.statuses, st)
	return r.ReportGitHub.CreateDeploymentStatus(ctx, repo, id, st)
}

// TestReporter_DeploymentStatusLinksTheStatusPage: with the status page's
// address configured, every deployment status links to the store's row on
// it (log_url); without it, none does.
func TestReporter_DeploymentStatusLinksTheStatusPage(t *testing.T) {
	for _, page := range []string{"https://stores.example.com/", ""} {
		gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
		n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
		rec := &recordingGitHub{ReportGitHub: client}
		rep := &reconcile.GitHubReporter{GitHub: rec, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), StatusPage: page, Ledger: testutil.Ledger(t)}
		issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
		for _, o := range []reconcile.Observation{
			{Phase: v1alpha1.PhaseInstalling, Applied: true, Revision: "0123456789abcdef"},
			{Phase: v1alpha1.PhaseFailed, Applied: true, Revision: "0123456789abcdef", Message: "install failed"},
		} {
			if err := rep.Report(context.Background(), reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: o}); err != nil {
				t.Fatal(err)
			}
		}
		want := ""
		if page != "" {
			want = "https://stores.example.com/?q=cat-cafe#store-cat-cafe"
		}
		if len(rec.statuses) != 2 {
			t.Fatalf("%d deployment statuses, want 2", len(rec.statuses))
		}
		for _, st := range rec.statuses {
			if st.LogURL != want {
				t.Errorf("status page %q: the %s status links to %q, want %q", page, st.State, st.LogURL, want)
			}
		}
	}
}

// TestReporter_FetchLedger: a watcher that runs alone (serve
// --webhooks=false) learns the store's last merge, which the process
// serving the webhooks recorded in the ledger since, before it reports: a
// revision that does not hold that merge is held back. Without fetching,
// its clone's record is the one of the merge before.
func TestReporter_FetchLedger(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fetch bool
		stale bool
	}{{"fetching", true, true}, {"without fetching, the second merge is unknown", false, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			_, url, _ := testutil.GitRepo(t, "tenants", "main")
			clone := func() *ledger.Ledger {
				repo, err := tenants.Open(ctx, tenants.Options{URL: url, Branch: "main"})
				if err != nil {
					t.Fatal(err)
				}
				return ledger.New(repo, testutil.LedgerKeys())
			}
			webhooks, watcher := clone(), clone()
			if _, err := webhooks.Migrate(ctx, nil, "", nil); err != nil {
				t.Fatal(err)
			}
			gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
			n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
			issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
			merge := func(l *ledger.Ledger, commit string) {
				t.Helper()
				if _, err := l.Update(ctx, issue, func(r *ledger.Record) (string, error) {
					r.Status = &storestatus.State{Store: "cat-cafe", MergeCommit: commit}
					return "merged " + commit, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			merge(watcher, "m1") // the watcher's clone knows the first merge
			merge(webhooks, "m2")
			// r1 holds the first merge, not the second.
			history := reconcile.HistoryFunc(func(_ context.Context, ancestor, descendant string) (bool, error) {
				return ancestor == descendant || ancestor == "m1" && descendant == "r1", nil
			})
			rep := &reconcile.GitHubReporter{GitHub: client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin),
				Ledger: watcher, FetchLedger: tt.fetch, History: history}
			err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: reconcile.Observation{Phase: v1alpha1.PhaseFailed, Message: "boom", Revision: "r1"}})
			if errors.Is(err, reconcile.ErrStale) != tt.stale {
				t.Errorf("Report of r1: %v; want stale %v", err, tt.stale)
			}
		})
	}
}

// TestReporter_NotAnotherStoresIssue: a report of store dog-diner to an
// issue the bot recorded for store cat-cafe (a request copy merged by
// hand that names cat-cafe's issue) changes nothing on that issue.
func TestReporter_NotAnotherStoresIssue(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	rep := &reconcile.GitHubReporter{GitHub: client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: testutil.Ledger(t)}
	issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	ctx := context.Background()
	if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, Observation: reconcile.Observation{Phase: v1alpha1.PhaseReady, Applied: true, Revision: "0123456789abcdef"}}); err != nil {
		t.Fatal(err)
	}
	before := len(gh.Comments("acme/stores", n))
	err := rep.Report(ctx, reconcile.Report{Store: "dog-diner", Issue: issue, Observation: reconcile.Observation{Phase: v1alpha1.PhaseDecommissioned}})
	if !errors.Is(err, reconcile.ErrNotItsStore) {
		t.Errorf("reporting another store to the issue: %v, want ErrNotItsStore", err)
	}
	if s := gh.Issue("acme/stores", n).GetState(); s != "open" {
		t.Errorf("issue %s after another store's decommission, want open", s)
	}
	for _, c := range gh.Comments("acme/stores", n) {
		if strings.Contains(c.GetBody(), "ecommissioned") {
			t.Errorf("the issue's comments tell another store's decommission:\n%s", c.GetBody())
		}
	}
	if len(gh.Comments("acme/stores", n)) != before {
		t.Error("another store's report was commented on the issue")
	}
}
