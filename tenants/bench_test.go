package tenants_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// layout places a store's directory: sharded as renderer.StoreDir does, or
// flat (tenants/<cluster>/<store>, the layout before shards) for comparison.
var layout = "sharded"

// storeFiles are the 12 files of one rendered store, with typical sizes.
func storeFiles(cluster, name string) []tenants.Change {
	dir := fmt.Sprintf("tenants/%s/%s/%s", cluster, renderer.Shard(name), name)
	if layout == "flat" {
		dir = fmt.Sprintf("tenants/%s/%s", cluster, name)
	}
	var out []tenants.Change
	for _, f := range []string{"store.yaml", "kustomization.yaml", "flux-kustomization.yaml", "manifests/kustomization.yaml",
		"manifests/namespace.yaml", "manifests/rbac.yaml", "manifests/network-policies.yaml", "manifests/quota.yaml",
		"manifests/credentials.sops.yaml", "manifests/database.sops.yaml", "manifests/chart-source.yaml", "manifests/helmrelease.yaml"} {
		out = append(out, tenants.Change{Path: dir + "/" + f, Data: []byte(fmt.Sprintf("# %s of %s\n%0800d\n", f, name, 0))})
	}
	return out
}

// seeded returns an in-memory clone whose main holds n stores.
func seeded(b *testing.B, n int) (*tenants.Repo, tenants.Hash) {
	b.Helper()
	url, _ := newRemote(b)
	r := open(b, url)
	var changes []tenants.Change
	for i := range n {
		changes = append(changes, storeFiles("default", fmt.Sprintf("store-%05d", i))...)
	}
	head, err := r.Commit("", changes, "seed\n")
	if err != nil {
		b.Fatal(err)
	}
	return r, head
}

// BenchmarkCommitStore commits one new store into a tenants repo of n
// stores, by editing only the trees on its path.
func BenchmarkCommitStore(b *testing.B) {
	defer func() { layout = "sharded" }()
	for _, l := range []string{"sharded", "flat"} {
		layout = l
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("layout=%s/stores=%d", l, n), func(b *testing.B) {
				r, head := seeded(b, n)
				// The stores to commit are made before the clock starts.
				stores := make([][]tenants.Change, b.N)
				for i := range stores {
					stores[i] = storeFiles("default", fmt.Sprintf("new-%d", i))
				}
				b.ResetTimer()
				for i := range b.N {
					if _, err := r.Commit(head, stores[i], "Provision store\n"); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkGitAddCommit is the same change made with `git add && git
// commit` in a work tree of n stores, for comparison.
func BenchmarkGitAddCommit(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("stores=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			run := func(args ...string) {
				cmd := exec.Command("git", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			write := func(changes []tenants.Change) {
				for _, c := range changes {
					p := filepath.Join(dir, filepath.FromSlash(c.Path))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						b.Fatal(err)
					}
					if err := os.WriteFile(p, c.Data, 0o644); err != nil {
						b.Fatal(err)
					}
				}
			}
			run("init", "-q")
			for i := range n {
				write(storeFiles("default", fmt.Sprintf("store-%05d", i)))
			}
			run("add", "-A")
			run("commit", "-q", "-m", "seed")
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("new-%d", i)
				write(storeFiles("default", name))
				run("add", "tenants/default/"+renderer.Shard(name)+"/"+name)
				run("commit", "-q", "-m", "Provision store")
				i++
			}
		})
	}
}
