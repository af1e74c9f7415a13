package reconcile_test

import (
	"context"
	"path"
	"testing"

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
	repo, first := tenantsWith(t, cfg, map[string]string{"cat-cafe": "a", "dog-diner": "b"})
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
	second := commit("a store of the layout before shards", tenants.Change{Path: older + "/" + renderer.FileRequest, Data: []byte("x\n")})
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
		cluster, dir          string
	}{
		{"at a revision, cluster a", "cat-cafe", first, "a", renderer.StoreDir(cfg, "a", "cat-cafe")},
		{"at a revision, cluster b", "dog-diner", first, "b", dogDir},
		{"not yet at that revision", "old-shop", first, "", ""},
		{"the layout before shards", "old-shop", second, "b", older},
		{"gone from the head: the newest commit that held it", "dog-diner", "", "b", dogDir},
		{"at the head", "cat-cafe", "", "a", renderer.StoreDir(cfg, "a", "cat-cafe")},
		{"never held", "no-such-store", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl, dir, err := p.Place(ctx, tt.store, tt.revision)
			if err != nil || cl != tt.cluster || dir != tt.dir {
				t.Errorf("Place(%s, %.7s) = %q, %q, %v; want %q, %q", tt.store, tt.revision, cl, dir, err, tt.cluster, tt.dir)
			}
		})
	}
}
