package service_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/rollout"
)

// TestRollout_MergesNudgeFlux: a wave's merge and a revert's merge ask
// Flux to fetch the tenants repo at once, as a store's merge does, so a
// wave does not wait for the source's interval. The service is stopped:
// the roller under test is the only one that sees the merges.
func TestRollout_MergesNudgeFlux(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, ref := started.State.ID, started.Issue.Ref
	pr1, wave1 := h.openWave(id, 1)
	h.stop()
	var nudges atomic.Int32
	r, err := fleet.New(h.withLedger(fleet.Options{Config: h.cfg, GitHub: h.client,
		Nudge: func(context.Context) error { nudges.Add(1); return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tenants := forge.Repo{Owner: "acme", Name: "tenants"}

	h.gh.Approve(tenantsRepo, pr1.GetNumber(), "reviewer")
	if _, err := h.gh.Merge(tenantsRepo, pr1.GetNumber(), "maintainer"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HandlePullRequest(ctx, tenants, pr1.GetNumber()); err != nil {
		t.Fatal(err)
	}
	if n := nudges.Load(); n != 1 {
		t.Fatalf("%d nudges after wave 1's merge, want 1", n)
	}

	// Wave 1's store fails: paused; a maintainer reverts it.
	h.deploy(wave1[0], "failure", "HelmRelease failed: values don't meet the specifications of the schema")
	if err := r.Reconcile(ctx, ref); err != nil {
		t.Fatal(err)
	}
	h.gh.SetPermission(requestsRepo, "lead", "maintain")
	body := "/purrvision rollout revert 1"
	id1 := h.gh.Comment(requestsRepo, ref.Number, "lead", body)
	if _, err := r.RunCommand(ctx, ref, forge.Comment{ID: id1, Issue: ref.Number, Body: body, Author: "lead"}); err != nil {
		t.Fatal(err)
	}
	reverts := h.pulls()[rollout.RevertBranch(id, 1)]
	if len(reverts) != 1 {
		t.Fatalf("%d revert pull requests, want 1", len(reverts))
	}
	if _, err := r.HandlePullRequest(ctx, tenants, reverts[0].GetNumber()); err != nil {
		t.Fatal(err)
	}
	if n := nudges.Load(); n != 1 {
		t.Fatalf("%d nudges with the revert open, want still 1", n)
	}
	h.gh.Approve(tenantsRepo, reverts[0].GetNumber(), "reviewer")
	if _, err := h.gh.Merge(tenantsRepo, reverts[0].GetNumber(), "maintainer"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HandlePullRequest(ctx, tenants, reverts[0].GetNumber()); err != nil {
		t.Fatal(err)
	}
	if n := nudges.Load(); n != 2 {
		t.Fatalf("%d nudges after the revert's merge, want 2", n)
	}
}
