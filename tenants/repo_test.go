package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// newRemote serves an empty bare repository on loopback.
func newRemote(t testing.TB) (url, dir string) {
	t.Helper()
	_, url, dir = testutil.GitRepo(t, "tenants", "main")
	return url, dir
}

func open(t testing.TB, url string) *tenants.Repo {
	t.Helper()
	r, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// write returns a BuildFunc that writes files on top of the branch, or of
// main when the branch does not exist.
func write(files map[string]string, msg string) tenants.BuildFunc {
	return func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		parent := s.BranchHead
		if !s.BranchExists {
			parent = s.BaseHead
		}
		var ch []tenants.Change
		for p, d := range files {
			ch = append(ch, tenants.Change{Path: p, Data: []byte(d)})
		}
		return &tenants.Plan{Parent: parent, Changes: ch, Message: msg}, nil
	}
}

func gitOut(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitserver.Git(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestUpdate_WritesAndDeletes(t *testing.T) {
	url, bare := newRemote(t)
	r := open(t, url)
	ctx := context.Background()
	if _, err := r.Update(ctx, "main", write(map[string]string{"README.md": "tenants\n"}, "init")); err != nil {
		t.Fatal(err)
	}
	msg := tenants.Message("Provision store cat-cafe", "", tenants.Trailer{Key: "Store", Value: "cat-cafe"}, tenants.Trailer{Key: "Issue", Value: "o/r#1"})
	res, err := r.Update(ctx, "main", write(map[string]string{
		"tenants/default/cat-cafe/store.yaml":              "a\n",
		"tenants/default/cat-cafe/manifests/ns.yaml":       "b\n",
		"tenants/default/cat-cafe/manifests/z-last.yaml":   "c\n",
		"tenants/default/cat-cafe-2/store.yaml":            "d\n",
		"tenants/default/cat-cafe.yaml":                    "e\n",
		"tenants/default/cat-cafe/manifests/sub/deep.yaml": "f\n",
	}, msg))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed {
		t.Fatal("nothing pushed")
	}
	// git itself must find the objects well formed (tree order included).
	gitOut(t, bare, "fsck", "--strict", "--no-dangling")
	files := gitOut(t, bare, "ls-tree", "-r", "--name-only", "main")
	for _, f := range []string{"README.md", "tenants/default/cat-cafe/store.yaml", "tenants/default/cat-cafe/manifests/sub/deep.yaml", "tenants/default/cat-cafe.yaml"} {
		if !strings.Contains(files, f+"\n") {
			t.Errorf("%s missing from:\n%s", f, files)
		}
	}
	if got := gitOut(t, bare, "show", "main:tenants/default/cat-cafe/manifests/ns.yaml"); got != "b\n" {
		t.Errorf("content = %q", got)
	}
	if tr := tenants.Trailers(gitOut(t, bare, "log", "-1", "--format=%B", "main")); tr["Store"] != "cat-cafe" || tr["Issue"] != "o/r#1" {
		t.Errorf("trailers = %v", tr)
	}

	// Deleting a directory removes its subtree and leaves its neighbours.
	_, err = r.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: "tenants/default/cat-cafe", Delete: true}}, Message: "remove"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gitOut(t, bare, "fsck", "--strict", "--no-dangling")
	files = gitOut(t, bare, "ls-tree", "-r", "--name-only", "main")
	if strings.Contains(files, "tenants/default/cat-cafe/") || !strings.Contains(files, "tenants/default/cat-cafe-2/store.yaml") || !strings.Contains(files, "tenants/default/cat-cafe.yaml") {
		t.Errorf("after deleting the directory:\n%s", files)
	}
}

func TestUpdate_NilPlanPushesNothing(t *testing.T) {
	url, _ := newRemote(t)
	r := open(t, url)
	ctx := context.Background()
	first, err := r.Update(ctx, "main", write(map[string]string{"a": "1"}, "init"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Update(ctx, "main", func(tenants.State, *tenants.Snapshot, *tenants.Snapshot) (*tenants.Plan, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed || res.Commit != first.Commit {
		t.Errorf("Update with nil plan = %+v, want the unchanged head %s", res, first.Commit)
	}
}

// TestPush_CompareAndSwap: two clones race for one branch; a stale push is
// refused with ErrStale and never overwrites.
func TestPush_CompareAndSwap(t *testing.T) {
	url, bare := newRemote(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	if _, err := a.Update(ctx, "main", write(map[string]string{"a": "1"}, "init")); err != nil {
		t.Fatal(err)
	}
	if err := b.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	head, _, err := b.Head("main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, "main", write(map[string]string{"from-a": "1"}, "a")); err != nil {
		t.Fatal(err)
	}
	stale, err := b.Commit(head, []tenants.Change{{Path: "from-b", Data: []byte("1")}}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Push(ctx, "main", stale, head); !errors.Is(err, tenants.ErrStale) {
		t.Fatalf("stale push: err = %v, want ErrStale", err)
	}
	// A new branch that someone else created meanwhile is not replaced.
	if _, err := a.Update(ctx, "store/x", write(map[string]string{"x": "a"}, "a")); err != nil {
		t.Fatal(err)
	}
	mine, err := b.Commit(head, []tenants.Change{{Path: "x", Data: []byte("b")}}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Push(ctx, "store/x", mine, ""); !errors.Is(err, tenants.ErrStale) {
		t.Fatalf("creating an existing branch: err = %v, want ErrStale", err)
	}
	if got := gitOut(t, bare, "show", "store/x:x"); got != "a" {
		t.Errorf("store/x was overwritten: %q", got)
	}
}

// TestUpdate_ConcurrentWritersAllLand: 20 goroutines on two clones commit
// to main at once; Update retries until every commit is in.
func TestUpdate_ConcurrentWritersAllLand(t *testing.T) {
	url, bare := newRemote(t)
	clones := []*tenants.Repo{open(t, url), open(t, url)}
	ctx := context.Background()
	if _, err := clones[0].Update(ctx, "main", write(map[string]string{"init": "1"}, "init")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clones[i%2].Update(ctx, "main", write(map[string]string{fmt.Sprintf("stores/s%02d", i): "x"}, fmt.Sprintf("store %d", i)))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	files := gitOut(t, bare, "ls-tree", "-r", "--name-only", "main")
	for i := range 20 {
		if !strings.Contains(files, fmt.Sprintf("stores/s%02d\n", i)) {
			t.Errorf("stores/s%02d was lost", i)
		}
	}
}

func TestTrailers(t *testing.T) {
	msg := tenants.Message("subject", "body line\n\nmore", tenants.Trailer{Key: "Store", Value: "a"}, tenants.Trailer{Key: "Approved-by", Value: ""}, tenants.Trailer{Key: "Issue", Value: "o/r#2"})
	got := tenants.Trailers(msg)
	if len(got) != 2 || got["Store"] != "a" || got["Issue"] != "o/r#2" {
		t.Errorf("Trailers(%q) = %v", msg, got)
	}
}

// TestSnapshot_CommitAndAncestry: a snapshot tells its commit, its message
// and whether it is in the history of another; an empty view is nothing.
func TestSnapshot_CommitAndAncestry(t *testing.T) {
	url, _ := newRemote(t)
	r := open(t, url)
	first, err := r.Commit("", []tenants.Change{{Path: "a", Data: []byte("1")}}, "first\n")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Commit(first, []tenants.Change{{Path: "b", Data: []byte("2")}}, "second\n")
	if err != nil {
		t.Fatal(err)
	}
	snap := func(h tenants.Hash) *tenants.Snapshot {
		t.Helper()
		s, err := r.Snapshot(h)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	older, newer, empty := snap(first), snap(second), snap("")
	if older.Hash() != first || older.Message() != "first\n" {
		t.Errorf("snapshot of %s: Hash() = %q, Message() = %q", first, older.Hash(), older.Message())
	}
	if empty.Hash() != "" || empty.Message() != "" {
		t.Errorf("empty snapshot: Hash() = %q, Message() = %q", empty.Hash(), empty.Message())
	}
	tests := []struct {
		name        string
		from, other *tenants.Snapshot
		want        bool
	}{
		{"parent of child", older, newer, true},
		{"child of parent", newer, older, false},
		{"itself", newer, newer, true},
		{"empty of commit", empty, newer, false},
		{"commit of empty", newer, empty, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.IsAncestorOf(tt.other)
			if err != nil || got != tt.want {
				t.Errorf("IsAncestorOf = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := r.Snapshot("not-a-hash"); err == nil {
		t.Error("Snapshot(\"not-a-hash\") gave no error")
	}
}

// countingAuth is an HTTPAuth that counts the requests it authenticates.
type countingAuth struct{ n atomic.Int32 }

func (a *countingAuth) SetAuth(r *http.Request) {
	a.n.Add(1)
	r.SetBasicAuth("x-access-token", "test-token")
}

// TestOpen_AuthOnFetchAndPush: Options.Auth, which needs nothing from
// go-git, authenticates the fetches and pushes.
func TestOpen_AuthOnFetchAndPush(t *testing.T) {
	url, _ := newRemote(t)
	auth := &countingAuth{}
	r, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	fetched := auth.n.Load()
	if fetched == 0 {
		t.Fatal("Open fetched without calling Auth")
	}
	if _, err := r.Update(context.Background(), "main", write(map[string]string{"a": "1"}, "init")); err != nil {
		t.Fatal(err)
	}
	if auth.n.Load() <= fetched {
		t.Error("Update pushed without calling Auth")
	}
}

func TestSnapshot_ReadTree(t *testing.T) {
	url, _ := newRemote(t)
	r := open(t, url)
	head, err := r.Commit("", []tenants.Change{
		{Path: "s/store.yaml", Data: []byte("req")},
		{Path: "s/manifests/quota.yaml", Data: []byte("quota")},
		{Path: "other/x", Data: []byte("x")},
	}, "stores\n")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Snapshot(head)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snap.ReadTree("s")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["store.yaml"]) != "req" || string(got["manifests/quota.yaml"]) != "quota" {
		t.Errorf("ReadTree(s) = %q, want store.yaml and manifests/quota.yaml only", got)
	}
	for _, p := range []string{"missing", "s/missing"} {
		if got, err := snap.ReadTree(p); got != nil || err != nil {
			t.Errorf("ReadTree(%s) = %q, %v; want nil, nil", p, got, err)
		}
	}
}
