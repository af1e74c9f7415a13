package rollout

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// benchStores is the size of the benchmarks' fleet.
const benchStores = 10_000

// seededRepo returns a tenants repo (in memory, its remote in a temp dir)
// whose one commit holds files.
func seededRepo(b *testing.B, files map[string][]byte) (*tenants.Repo, tenants.Hash) {
	b.Helper()
	_, url, _ := testutil.GitRepo(b, "tenants", "main")
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]tenants.Change, 0, len(files))
	for p, d := range files {
		changes = append(changes, tenants.Change{Path: p, Data: d})
	}
	head, err := repo.Commit("", changes, "seed\n")
	if err != nil {
		b.Fatal(err)
	}
	return repo, head
}

// BenchmarkRolloutPlan plans a chart upgrade of 10,000 stores (three
// plans) from a snapshot of a tenants repo: every store read, re-rendered
// with its Secrets kept, compared and grouped. BENCHMARKS.md records it.
func BenchmarkRolloutPlan(b *testing.B) {
	cfg := exampleConfig(b)
	files := fleetFiles(b, cfg, sealedSecrets(b, cfg), manyStores(benchStores))
	repo, head := seededRepo(b, files)
	next := withChart(cfg, "0.2.0")
	b.ResetTimer()
	for b.Loop() {
		snap, err := repo.Snapshot(head)
		if err != nil {
			b.Fatal(err)
		}
		p, err := PlanFleet(Input{Config: next, Tree: snap, Base: head.String()})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Changes) != benchStores || len(p.Groups) != 1 {
			b.Fatalf("%d changes in %d groups, want %d in 1", len(p.Changes), len(p.Groups), benchStores)
		}
	}
}

// BenchmarkRolloutWave commits a wave of the 10,000 stores' chart upgrade
// through the tenants package (WaveCommit, then Repo.Commit), and, for
// comparison on the same change in the same run, writes the same files
// into a work tree of the same stores and runs `git add -A && git commit`.
func BenchmarkRolloutWave(b *testing.B) {
	cfg := exampleConfig(b)
	files := fleetFiles(b, cfg, sealedSecrets(b, cfg), manyStores(benchStores))
	repo, head := seededRepo(b, files)
	snap, err := repo.Snapshot(head)
	if err != nil {
		b.Fatal(err)
	}
	p, err := PlanFleet(Input{Config: withChart(cfg, "0.2.0"), Tree: snap, Base: head.String()})
	if err != nil {
		b.Fatal(err)
	}
	wave := Wave{Number: 1, Stores: p.StoreNames()}

	b.Run("tenants", func(b *testing.B) {
		for b.Loop() {
			plan, err := WaveCommit(p, wave, "r1")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := repo.Commit(plan.Parent, plan.Changes, plan.Message); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("git-add-commit", func(b *testing.B) {
		dir := b.TempDir()
		git := func(args ...string) {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		write := func(files map[string][]byte) {
			paths := make([]string, 0, len(files))
			for p := range files {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				full := filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(full, files[p], 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
		git("init", "-q", "-b", "main")
		write(files)
		git("add", "-A")
		git("commit", "-q", "-m", "seed")
		// The wave's files, and the seed's files to put back between
		// iterations, outside the clock.
		waved, before := map[string][]byte{}, map[string][]byte{}
		for _, c := range p.Changes {
			for _, ch := range c.TenantsChanges() {
				waved[ch.Path] = ch.Data
				before[ch.Path] = files[ch.Path]
			}
		}
		for b.Loop() {
			b.StopTimer()
			write(before)
			git("add", "-A")
			git("commit", "-q", "--allow-empty", "-m", "back")
			b.StartTimer()
			write(waved)
			git("add", "-A")
			git("commit", "-q", "-m", "Roll out wave 1")
		}
	})
}
