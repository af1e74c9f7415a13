package reconcile_test

import (
	"context"
	"slices"
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

// TestReporter_RolloutDeploymentWaitsForItsRevision: a rollout's wave
// makes the store a deployment of its merge, after the store's own merge.
// Flux still reporting an older revision leaves that deployment waiting
// (no status, no deployment of the old revision on top of it); the
// revision of the wave gets the status on it, which the rollout's gate
// reads.
func TestReporter_RolloutDeploymentWaitsForItsRevision(t *testing.T) {
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
	own := commit("cat")   // the store's own merge
	wave := commit("wave") // a rollout wave's merge
	later := commit("dog") // another store's merge, after the wave

	gh, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	st := storestatus.State{Store: "cat-cafe", MergeCommit: own}
	st.RecordMerge("by @maintainer", own, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	gh.Comment("acme/stores", n, ghstandin.BotLogin, storestatus.Body(st, ""))
	tenantsRepo := forge.Repo{Owner: "acme", Name: "tenants"}
	ctx := context.Background()
	env := v1alpha1.Environment("cat-cafe")
	if _, err := client.EnsureDeployment(ctx, tenantsRepo, env, own, "provision of store cat-cafe", ghstandin.BotLogin); err != nil {
		t.Fatal(err)
	}
	w, err := client.EnsureDeployment(ctx, tenantsRepo, env, wave, "rollout wave 1 of store cat-cafe", ghstandin.BotLogin)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.CreateDeploymentStatus(ctx, tenantsRepo, w.ID, forge.DeploymentStatus{State: "queued", Description: "merged; waiting for Flux"}); err != nil {
		t.Fatal(err)
	}
	issue := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	rep := &reconcile.GitHubReporter{GitHub: client, Tenants: tenantsRepo, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: fromBeforeTheLedger(t, ledger.New(repo, testutil.LedgerKeys()), client, issue),
		History: reconcile.HistoryFunc(func(ctx context.Context, a, b string) (bool, error) {
			return repo.Contains(ctx, tenants.Hash(a), tenants.Hash(b))
		})}
	report := func(revision string) {
		t.Helper()
		if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: issue, URL: "https://cat-cafe.shop.example.com/",
			Observation: reconcile.Observation{Phase: v1alpha1.PhaseReady, Applied: true, Revision: revision}}); err != nil {
			t.Fatal(err)
		}
	}

	report(own) // Flux has not fetched the wave yet
	latest, err := client.LatestDeployment(ctx, tenantsRepo, env, ghstandin.BotLogin)
	if err != nil || latest == nil || latest.ID != w.ID {
		t.Fatalf("latest deployment %+v, %v; want the wave's", latest, err)
	}
	if s, err := client.LatestDeploymentStatus(ctx, tenantsRepo, w.ID, ghstandin.BotLogin); err != nil || s == nil || s.State != "queued" {
		t.Fatalf("the wave's deployment is %+v, %v; want it still queued", s, err)
	}

	report(later) // the wave applied, with another store's merge on top
	if s, err := client.LatestDeploymentStatus(ctx, tenantsRepo, w.ID, ghstandin.BotLogin); err != nil || s == nil || s.State != "success" {
		t.Fatalf("the wave's deployment is %+v, %v; want success", s, err)
	}
	if states := gh.DeploymentStates("acme/tenants")[env]; !slices.Equal(states, []string{"queued", "success"}) {
		t.Errorf("deployment states %v", states)
	}
}
