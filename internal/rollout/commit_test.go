package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

func TestWaveCommit(t *testing.T) {
	cfg := exampleConfig(t)
	tree := testutil.Tree(fleetFiles(t, cfg, sealedSecrets(t, cfg), append(manyStores(9), storeSpec{"old-shop", "small", true})))
	next := withChart(cfg, "0.2.0")
	p := plan(t, next, tree)
	waves, err := ParseWaves("1,50%,100%")
	if err != nil {
		t.Fatal(err)
	}
	planned := PlanWaves(p.StoreNames(), "r1", waves, nil)
	if len(planned) != 3 || len(planned[0].Stores) != 1 || len(planned[1].Stores) != 4 || len(planned[2].Stores) != 5 {
		t.Fatalf("waves %+v, want 1, 4 and 5 stores", planned)
	}

	// Wave by wave, each commit changes exactly its stores, and after
	// the last the fleet is up to date.
	done := map[string]bool{}
	for _, w := range planned {
		commit, err := WaveCommit(p, w, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if commit.Parent != tenants.Hash(p.Base) {
			t.Errorf("wave %d builds on %q, want the plan's base %q", w.Number, commit.Parent, p.Base)
		}
		tr := tenants.Trailers(commit.Message)
		if tr[v1alpha1.TrailerOperation] != v1alpha1.OpRollout || tr[v1alpha1.TrailerRollout] != "r1" || tr[v1alpha1.TrailerWave] != itoa(w.Number) {
			t.Errorf("wave %d trailers %v", w.Number, tr)
		}
		if !strings.HasPrefix(commit.Message, "Roll out wave "+itoa(w.Number)+" of rollout r1 to ") ||
			!strings.Contains(commit.Message, "helmrelease.yaml chart-version 0.1.0 -> 0.2.0") {
			t.Errorf("wave %d message:\n%s", w.Number, commit.Message)
		}
		tree = tree.With(commit.Changes)
		for _, s := range w.Stores {
			done[s] = true
		}
		left := plan(t, next, tree)
		for _, c := range left.Changes {
			if done[c.Store] {
				t.Errorf("after wave %d, store %s (rolled out) still changes", w.Number, c.Store)
			}
		}
		if len(left.Changes) != len(p.Changes)-len(done) {
			t.Errorf("after wave %d, %d stores left, want %d", w.Number, len(left.Changes), len(p.Changes)-len(done))
		}
	}
	if _, ok := tree["tenants/default/old-shop/store.yaml"]; ok {
		t.Error("the store in the older layout was not moved")
	}

	for _, tt := range []struct {
		name string
		wave Wave
		err  string
	}{
		{"a store the plan does not change", Wave{Number: 2, Stores: []string{"store-00000", "nowhere"}}, "store nowhere has no change in the plan"},
		{"an empty wave", Wave{Number: 3}, "the wave has no stores"},
	} {
		if _, err := WaveCommit(p, tt.wave, "r1"); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		}
	}
}

func itoa(n int) string { return Share{Count: n}.String() }

// TestWaveCommit_TenantsRepo carries a wave out in a real tenants repo,
// a move from the older layout among it: planned again on the commit,
// nothing is left to change.
func TestWaveCommit_TenantsRepo(t *testing.T) {
	cfg := exampleConfig(t)
	files := fleetFiles(t, cfg, sealedSecrets(t, cfg), append(manyStores(4), storeSpec{"old-shop", "small", true}))
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	var seed []tenants.Change
	for p, d := range files {
		seed = append(seed, tenants.Change{Path: p, Data: d})
	}
	base, err := repo.Commit("", seed, "seed\n")
	if err != nil {
		t.Fatal(err)
	}
	planAt := func(h tenants.Hash) *Plan {
		snap, err := repo.Snapshot(h)
		if err != nil {
			t.Fatal(err)
		}
		p, err := PlanFleet(Input{Config: withChart(cfg, "0.2.0"), Tree: snap, Base: h.String()})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := planAt(base)
	if len(p.Changes) != 5 {
		t.Fatalf("%d changes, want 5", len(p.Changes))
	}
	commit, err := WaveCommit(p, Wave{Number: 1, Stores: p.StoreNames()}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Commit(commit.Parent, commit.Changes, commit.Message)
	if err != nil {
		t.Fatal(err)
	}
	if after := planAt(head); len(after.Changes) != 0 || after.Stores != 5 || len(after.Skipped) != 0 {
		t.Errorf("after the wave: %d stores, %d changes, skipped %v", after.Stores, len(after.Changes), after.Skipped)
	}
}
