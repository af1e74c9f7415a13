package tenants_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/tenants"
)

// TestDiff_ModesAndMergeBase commits, with the git CLI as a person would,
// a branch that adds a regular file, an executable, a symbolic link and a
// submodule and deletes a file; Diff against the merge base says each
// with its mode.
func TestDiff_ModesAndMergeBase(t *testing.T) {
	url, bare := newRemote(t)
	r := open(t, url)
	if _, err := r.Update(context.Background(), "main", write(map[string]string{"README.md": "x\n", "old.txt": "old\n"}, "start\n")); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gitOut(t, work, "clone", "-q", bare, ".")
	gitOut(t, work, "checkout", "-q", "-b", "sneaky")
	for p, d := range map[string]string{"requests/a.yaml": "a\n", "run.sh": "#!/bin/sh\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	gitOut(t, work, "add", "requests/a.yaml", "run.sh", "link")
	gitOut(t, work, "update-index", "--chmod=+x", "run.sh")
	head := strings.TrimSpace(gitOut(t, work, "rev-parse", "HEAD"))
	gitOut(t, work, "update-index", "--add", "--cacheinfo", "160000,"+head+",vendor/sub")
	gitOut(t, work, "rm", "-q", "old.txt")
	gitOut(t, work, "-c", "user.name=Eve", "-c", "user.email=eve@example.com", "commit", "-q", "-m", "sneaky")
	gitOut(t, work, "push", "-q", "origin", "sneaky")
	// main moves on after the branch left it.
	if _, err := r.Update(context.Background(), "main", write(map[string]string{"later.txt": "later\n"}, "later\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	mainHead, _, err := r.Head("main")
	if err != nil {
		t.Fatal(err)
	}
	branch, _, err := r.Head("sneaky")
	if err != nil {
		t.Fatal(err)
	}
	base, err := r.MergeBase(mainHead, branch)
	if err != nil || base == "" || base == mainHead {
		t.Fatalf("merge base %q, %v: want the commit the branch left from", base, err)
	}
	got, err := r.Diff(base, branch)
	if err != nil {
		t.Fatal(err)
	}
	want := []tenants.DiffEntry{
		{Path: "link", Mode: tenants.ModeSymlink},
		{Path: "old.txt", Deleted: true},
		{Path: "requests/a.yaml", Mode: tenants.ModeRegular},
		{Path: "run.sh", Mode: tenants.ModeExecutable},
		{Path: "vendor/sub", Mode: tenants.ModeSubmodule},
	}
	slices.SortFunc(got, func(a, b tenants.DiffEntry) int { return strings.Compare(a.Path, b.Path) })
	if !slices.Equal(got, want) {
		t.Errorf("Diff = %+v\nwant   %+v", got, want)
	}
	parents, err := r.FirstParents(branch, base, 10)
	if err != nil || len(parents) != 1 || parents[0] != branch {
		t.Errorf("FirstParents = %v, %v; want just the branch head", parents, err)
	}
}

// TestTreeHash: a folder's tree hash changes with what is under it, not
// with commits elsewhere; a commit another clone made is fetched.
func TestTreeHash(t *testing.T) {
	ctx := context.Background()
	url, _ := newRemote(t)
	r := open(t, url)
	first, err := r.Update(ctx, "main", write(map[string]string{"a/x.yaml": "1\n", "b/y.yaml": "1\n"}, "start\n"))
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, url)
	second, err := other.Update(ctx, "main", write(map[string]string{"b/y.yaml": "2\n"}, "b changes\n"))
	if err != nil {
		t.Fatal(err)
	}
	a1, err := r.TreeHash(ctx, first.Commit, "a")
	if err != nil || a1 == "" {
		t.Fatalf("TreeHash(a) = %q, %v", a1, err)
	}
	a2, err := r.TreeHash(ctx, second.Commit, "./a/") // not in this clone yet
	if err != nil || a2 != a1 {
		t.Errorf("a at the second commit = %q, %v; want %q: only b changed", a2, err, a1)
	}
	b1, _ := r.TreeHash(ctx, first.Commit, "b")
	b2, _ := r.TreeHash(ctx, second.Commit, "b")
	if b1 == b2 || b2 == "" {
		t.Errorf("b's hash did not change with b: %q, %q", b1, b2)
	}
	if h, err := r.TreeHash(ctx, first.Commit, "c"); err != nil || h != "" {
		t.Errorf("a missing folder: %q, %v; want none", h, err)
	}
}
