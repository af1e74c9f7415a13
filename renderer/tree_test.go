package renderer_test

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// snapshot commits files (path to content) to a real tenants repo and
// returns its view of them.
func snapshot(t *testing.T, files map[string]string) *tenants.Snapshot {
	t.Helper()
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	var changes []tenants.Change
	for p, d := range files {
		changes = append(changes, tenants.Change{Path: p, Data: []byte(d)})
	}
	commit, err := repo.Commit("", changes, "stores\n")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := repo.Snapshot(commit)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestTree_FindsStoresInShards(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	cfg.Clusters = append(cfg.Clusters, config.Cluster{Name: "eu-west"})
	other := "eu-west"
	req := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: cat-cafe\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: a@example.com\n"
	tree := snapshot(t, map[string]string{
		"tenants/default/README.md": "not a store",
		path.Join(renderer.StoreDir(cfg, other, "cat-cafe"), renderer.FileRequest):   req,
		path.Join(renderer.StoreDir(cfg, "default", "broken"), renderer.FileRequest): "kind: [",
	})
	dirs, err := renderer.StoreDirs(cfg, tree, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 || dirs[0] != renderer.StoreDir(cfg, "default", "broken") {
		t.Errorf("StoreDirs(default) = %v", dirs)
	}
	got, cluster, err := renderer.FindStore(cfg, tree, "cat-cafe")
	if err != nil || got == nil || cluster != other || got.Spec.Owner != "octocat" {
		t.Errorf("FindStore(cat-cafe) = %+v, %q, %v", got, cluster, err)
	}
	if got, _, err := renderer.FindStore(cfg, tree, "dog-diner"); got != nil || err != nil {
		t.Errorf("FindStore of a missing store = %+v, %v", got, err)
	}
	if _, _, err := renderer.FindStore(cfg, tree, "broken"); err == nil || !strings.Contains(err.Error(), "request copy of store broken") {
		t.Errorf("a broken request copy: %v", err)
	}
}

func TestTree_OlderLayoutAndStoreFiles(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	sharded := renderer.StoreDir(cfg, "default", "cat-cafe")
	tree := snapshot(t, map[string]string{
		"tenants/default/README.md":                  "not a store",
		"tenants/default/dog-diner/store.yaml":       "request",
		"tenants/default/dog-diner/manifests/a.yaml": "a",
		"tenants/default/notes/todo.md":              "no request copy",
		path.Join(sharded, renderer.FileRequest):     "request",
		path.Join(sharded, renderer.FileQuota):       "quota",
	})
	dirs, err := renderer.OlderLayoutDirs(cfg, tree, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 || dirs[0] != "tenants/default/dog-diner" {
		t.Errorf("OlderLayoutDirs = %v, want only tenants/default/dog-diner", dirs)
	}
	files, err := renderer.StoreFiles(tree, sharded)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || string(files[renderer.FileRequest]) != "request" || string(files[renderer.FileQuota]) != "quota" {
		t.Errorf("StoreFiles = %q", files)
	}
}
