package reconcile_test

import (
	"context"
	"fmt"
	"path"
	"testing"

	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// TestTenantsPlacement: a store is the cluster's whose folder holds it, in
// the sharded layout or the one before it, at the revision asked; with no
// revision, at the newest commit that holds it, however far the base
// branch has moved since; a store no folder ever held is no cluster's.
func TestTenantsPlacement(t *testing.T) {
	ctx := context.Background()
	cfg := twoClusters(t)
	repo, first := tenantsWith(t, cfg, map[string]string{"cat-cafe": "a", "dog-diner": "b"}, map[string]int{"cat-cafe": 1, "dog-diner": 2})
	older := path.Join(renderer.ClusterDir(cfg, "b"), "old-shop")
	commit := func(msg string, changes ...tenants.Change) string {
		t.Helper()
		res, err := repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: msg + "\n"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Commit)
	}
	second := commit("a store of the layout before shards", tenants.Change{Path: older + "/" + renderer.FileRequest, Data: testutil.RequestCopy("old-shop", "b", "acme/stores#3")})
	dogDir := renderer.StoreDir(cfg, "b", "dog-diner")
	commit("decommission dog-diner",
		tenants.Change{Path: dogDir + "/" + renderer.FileRequest, Delete: true},
		tenants.Change{Path: dogDir + "/" + renderer.ManifestsDir + "/kustomization.yaml", Delete: true})
	for i := range 3 {
		commit("another store's merge", tenants.Change{Path: "README.md", Data: []byte{byte('a' + i)}})
	}
	p := &reconcile.TenantsPlacement{Config: cfg, Repo: repo}
	for _, tt := range []struct {
		name, store, revision string
		want                  reconcile.Where
	}{
		{"at a revision, cluster a", "cat-cafe", first, reconcile.Where{Cluster: "a", Dir: renderer.StoreDir(cfg, "a", "cat-cafe"), Issue: "acme/stores#1"}},
		{"at a revision, cluster b", "dog-diner", first, reconcile.Where{Cluster: "b", Dir: dogDir, Issue: "acme/stores#2"}},
		{"not yet at that revision", "old-shop", first, reconcile.Where{}},
		{"the layout before shards", "old-shop", second, reconcile.Where{Cluster: "b", Dir: older, Issue: "acme/stores#3"}},
		{"gone from the head: the newest commit that held it", "dog-diner", "", reconcile.Where{Cluster: "b", Dir: dogDir, Issue: "acme/stores#2"}},
		{"at the head", "cat-cafe", "", reconcile.Where{Cluster: "a", Dir: renderer.StoreDir(cfg, "a", "cat-cafe"), Issue: "acme/stores#1", Current: true}},
		{"never held", "no-such-store", "", reconcile.Where{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Place(ctx, tt.store, tt.revision)
			if err != nil || got != tt.want {
				t.Errorf("Place(%s, %.7s) = %+v, %v; want %+v", tt.store, tt.revision, got, err, tt.want)
			}
		})
	}
}

// TestTenantsPlacement_UnknownNamesCostOneWalk: objects labelled with
// names no store has (anyone who can make a Namespace can make many, and
// update them in a loop) cost one walk down the history each per head of
// the base branch, not one per event; a store merged later is found once
// the head moves.
func TestTenantsPlacement_UnknownNamesCostOneWalk(t *testing.T) {
	ctx := context.Background()
	cfg := twoClusters(t)
	repo, _ := tenantsWith(t, cfg, map[string]string{"cat-cafe": "a"}, map[string]int{"cat-cafe": 1})
	p := &reconcile.TenantsPlacement{Config: cfg, Repo: repo}
	var names []string
	for i := range 50 {
		names = append(names, fmt.Sprintf("nobody-%02d", i))
	}
	for range 20 {
		for _, n := range names {
			if w, err := p.Place(ctx, n, ""); err != nil || w != (reconcile.Where{}) {
				t.Fatalf("Place(%s) = %+v, %v", n, w, err)
			}
		}
	}
	if walks := p.Walks(); walks > 2*len(names) {
		t.Fatalf("%d walks for %d unknown names looked up 20 times each; want at most %d", walks, len(names), 2*len(names))
	}
	if _, err := repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "nobody-07 merged\n", Changes: []tenants.Change{
			{Path: renderer.StoreDir(cfg, "b", "nobody-07") + "/" + renderer.FileRequest, Data: testutil.RequestCopy("nobody-07", "b", "acme/stores#9")}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if w, err := p.Place(ctx, "nobody-07", ""); err != nil || w.Cluster != "b" || w.Issue != "acme/stores#9" {
		t.Fatalf("a store merged after it was looked for: %+v, %v", w, err)
	}
}
