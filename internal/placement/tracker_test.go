package placement

import (
	"errors"
	"path"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// history is a fake tenants repo: trees by commit, and the diff of any
// two of them, counting the diffs asked for.
type history struct {
	commits map[tenants.Hash]testutil.Tree
	diffs   int
}

func (h *history) Diff(from, to tenants.Hash) ([]tenants.DiffEntry, error) {
	h.diffs++
	a, okA := h.commits[from]
	b, okB := h.commits[to]
	if !okA || !okB {
		return nil, errors.New("object not found")
	}
	var out []tenants.DiffEntry
	for p, data := range b {
		if old, ok := a[p]; !ok || string(old) != string(data) {
			out = append(out, tenants.DiffEntry{Path: p})
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, tenants.DiffEntry{Path: p, Deleted: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func twoClusters(t *testing.T) *config.Config {
	cfg := testutil.ExampleConfig(t)
	cfg.Clusters = []config.Cluster{{Name: "one"}, {Name: "two"}}
	return cfg
}

func withStore(t *testing.T, cfg *config.Config, tree testutil.Tree, cluster, name, plan string) testutil.Tree {
	t.Helper()
	data, err := yaml.Marshal(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, Owner: "octocat", AdminEmail: "o@example.com", Cluster: cluster}))
	if err != nil {
		t.Fatal(err)
	}
	dir := renderer.StoreDir(cfg, cluster, name)
	return tree.With([]tenants.Change{{Path: path.Join(dir, renderer.FileRequest), Data: data}, {Path: path.Join(dir, "kustomization.yaml"), Data: []byte("x")}})
}

func without(cfg *config.Config, tree testutil.Tree, cluster, name string) testutil.Tree {
	return tree.With([]tenants.Change{{Path: renderer.StoreDir(cfg, cluster, name), Delete: true}})
}

func usedStores(t *testing.T, v *View) map[string]int64 {
	t.Helper()
	u, err := v.Usage()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range u {
		out[c.Name] = c.Used.Stores
	}
	return out
}

func TestTracker_FollowsTheBranchCommitByCommit(t *testing.T) {
	cfg := twoClusters(t)
	unlimited := Resources{Unlimited, Unlimited, Unlimited, Unlimited}
	h := &history{commits: map[tenants.Hash]testutil.Tree{}}
	c1 := withStore(t, cfg, withStore(t, cfg, testutil.Tree{}, "one", "a", "small"), "two", "b", "small")
	h.commits["c1"] = c1
	tr := NewTracker(cfg, []Cluster{{Name: "one", Capacity: unlimited}, {Name: "two", Capacity: unlimited}}, h)

	if got := usedStores(t, tr.At(c1, "c1")); got["one"] != 1 || got["two"] != 1 {
		t.Fatalf("at c1: %v", got)
	}
	if tr.rebuilds != 1 || h.diffs != 0 {
		t.Fatalf("first read: %d rebuilds, %d diffs; want 1 and 0", tr.rebuilds, h.diffs)
	}

	// A merge adds c, resizes a and decommissions b: only those are read.
	c2 := without(cfg, withStore(t, cfg, withStore(t, cfg, c1, "one", "c", "small"), "one", "a", "large"), "two", "b")
	h.commits["c2"] = c2
	v := tr.At(c2, "c2")
	if got := usedStores(t, v); got["one"] != 2 || got["two"] != 0 {
		t.Fatalf("at c2: %v", got)
	}
	if tr.rebuilds != 1 || h.diffs != 1 {
		t.Fatalf("after a merge: %d rebuilds, %d diffs; want 1 and 1", tr.rebuilds, h.diffs)
	}
	u, _ := v.Usage()
	want := PlanNeed(cfg, "large").Add(PlanNeed(cfg, "small"))
	if u[0].Used != want {
		t.Fatalf("cluster one uses %+v, want %+v (a large, c small)", u[0].Used, want)
	}

	// The same name decommissioned on one cluster and requested on the
	// other in one span is counted on the second only.
	c3 := withStore(t, cfg, without(cfg, c2, "one", "c"), "two", "c", "small")
	h.commits["c3"] = c3
	if got := usedStores(t, tr.At(c3, "c3")); got["one"] != 1 || got["two"] != 1 {
		t.Fatalf("at c3: %v", got)
	}
	fresh := NewTracker(cfg, tr.clusters, h)
	a, _ := fresh.At(c3, "c3").Usage()
	b, _ := tr.At(c3, "c3").Usage()
	if len(a) != len(b) || a[0].Used != b[0].Used || a[1].Used != b[1].Used {
		t.Fatalf("followed commit by commit: %+v; read whole: %+v", b, a)
	}

	// A commit the history cannot diff against: the tree is read again.
	c4 := withStore(t, cfg, c3, "two", "d", "small")
	if got := usedStores(t, tr.At(c4, "c4")); got["two"] != 2 {
		t.Fatalf("at c4: %v", got)
	}
	if tr.rebuilds != 2 {
		t.Fatalf("after an unknown commit: %d rebuilds, want 2", tr.rebuilds)
	}

	// The same commit again reads nothing.
	diffs := h.diffs
	tr.At(c4, "c4").Fits("a", "one", PlanNeed(cfg, "small"))
	if h.diffs != diffs || tr.rebuilds != 2 {
		t.Fatal("a view of the same commit read the repo again")
	}
}

func TestTracker_IgnoresWhatIsNotAStoreRequestCopy(t *testing.T) {
	cfg := twoClusters(t)
	h := &history{commits: map[tenants.Hash]testutil.Tree{}}
	c1 := withStore(t, cfg, testutil.Tree{}, "one", "a", "small")
	h.commits["c1"] = c1
	tr := NewTracker(cfg, []Cluster{{Name: "one", Capacity: Resources{Unlimited, Unlimited, Unlimited, Unlimited}}}, h)
	tr.At(c1, "c1").Usage()
	// A store.yaml outside the layout (a cluster not configured, a
	// request file of a request pull request) counts nowhere.
	c2 := c1.With([]tenants.Change{
		{Path: "requests/x/" + renderer.FileRequest, Data: []byte("kind: StoreRequest")},
		{Path: path.Join(renderer.StoreDir(cfg, "three", "z"), renderer.FileRequest), Data: []byte("kind: StoreRequest")},
	})
	h.commits["c2"] = c2
	if got := usedStores(t, tr.At(c2, "c2")); got["one"] != 1 || len(got) != 1 {
		t.Fatalf("at c2: %v", got)
	}
}

func TestFromConfig(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	cpu, mem, stores := resource.MustParse("16"), resource.MustParse("64Gi"), 0
	cfg.Capacity = config.Capacity{CPU: &cpu}
	cfg.Clusters = []config.Cluster{
		{Name: "eu-1", Labels: map[string]string{"region": "eu"}, Capacity: config.Capacity{Memory: &mem}},
		{Name: "closed", Capacity: config.Capacity{Stores: &stores}},
	}
	got := FromConfig(cfg)
	want := []Cluster{
		{Name: "eu-1", Labels: map[string]string{"region": "eu"}, Capacity: Resources{MilliCPU: 16000, Memory: 64 << 30, Storage: Unlimited, Stores: Unlimited}},
		{Name: "closed", Capacity: Resources{MilliCPU: 16000, Memory: Unlimited, Storage: Unlimited, Stores: 0}},
	}
	if len(got) != 2 || got[0].Capacity != want[0].Capacity || got[0].Labels["region"] != "eu" || got[1].Capacity != want[1].Capacity || got[1].Name != "closed" {
		t.Fatalf("FromConfig = %+v, want %+v", got, want)
	}
}

// TestTracker_ACopyThatDoesNotParse: a request copy merged by hand that
// does not parse counts as a store of no plan; placement goes on.
func TestTracker_ACopyThatDoesNotParse(t *testing.T) {
	cfg := twoClusters(t)
	tree := withStore(t, cfg, testutil.Tree{}, "one", "a", "small")
	tree[path.Join(renderer.StoreDir(cfg, "two", "broken"), renderer.FileRequest)] = []byte("kind: [not, a, request")
	unlimited := Resources{Unlimited, Unlimited, Unlimited, Unlimited}
	tr := NewTracker(cfg, []Cluster{{Name: "one", Capacity: unlimited}, {Name: "two", Capacity: unlimited}}, &history{})
	got := usedStores(t, tr.At(tree, "c1"))
	if got["one"] != 1 || got["two"] != 1 {
		t.Fatalf("stores counted: %v", got)
	}
	if _, err := tr.At(tree, "c1").Place(Request{Store: "new"}); err != nil {
		t.Fatalf("placement stopped: %v", err)
	}
}

// TestTracker_AStoreIsCountedByItsFolder: a store is counted by its folder,
// never by the name its request copy says. Two folders of one name (a
// store copied by hand into another cluster's folder) are two stores; a
// copy merged by hand whose name is another store's neither hides that
// store nor outlives its own folder's deletion; a name reused in one
// folder is counted once, with the new store's plan.
func TestTracker_AStoreIsCountedByItsFolder(t *testing.T) {
	cfg := twoClusters(t)
	unlimited := Resources{Unlimited, Unlimited, Unlimited, Unlimited}
	h := &history{commits: map[tenants.Hash]testutil.Tree{}}
	tr := NewTracker(cfg, []Cluster{{Name: "one", Capacity: unlimited}, {Name: "two", Capacity: unlimited}}, h)
	// Folder one/.../impostor holds a copy that names store x.
	c1 := withStore(t, cfg, withStore(t, cfg, testutil.Tree{}, "two", "x", "small"), "one", "x", "small")
	impostor := path.Join(renderer.StoreDir(cfg, "one", "impostor"), renderer.FileRequest)
	c1[impostor] = c1[path.Join(renderer.StoreDir(cfg, "one", "x"), renderer.FileRequest)]
	h.commits["c1"] = c1
	if got := usedStores(t, tr.At(c1, "c1")); got["one"] != 2 || got["two"] != 1 {
		t.Fatalf("at c1: %v; want x and the impostor on one, x on two", got)
	}
	// The impostor's folder and x on one are deleted: only x on two stays.
	c2 := without(cfg, c1, "one", "x")
	delete(c2, impostor)
	h.commits["c2"] = c2
	if got := usedStores(t, tr.At(c2, "c2")); got["one"] != 0 || got["two"] != 1 {
		t.Fatalf("at c2: %v; want only x on two", got)
	}
	// x is decommissioned on two and its name given to another store
	// there, of another plan, in one span: counted once, as the new one.
	c3 := withStore(t, cfg, c2, "two", "x", "large")
	h.commits["c3"] = c3
	u, err := tr.At(c3, "c3").Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u[1].Used != PlanNeed(cfg, "large") {
		t.Fatalf("cluster two uses %+v, want one large store", u[1].Used)
	}
	fresh, _ := NewTracker(cfg, tr.clusters, h).At(c3, "c3").Usage()
	if fresh[0].Used != u[0].Used || fresh[1].Used != u[1].Used {
		t.Fatalf("followed commit by commit: %+v; read whole: %+v", u, fresh)
	}
}

// TestIndex_SameNameTwoStores: a resize's own use is the store's on its
// cluster, whatever else bears its name.
func TestIndex_SameNameTwoStores(t *testing.T) {
	ix := NewIndex([]Cluster{{Name: "one", Capacity: Resources{Unlimited, Unlimited, Unlimited, 2}}, {Name: "two", Capacity: Resources{Unlimited, Unlimited, Unlimited, 1}}})
	ix.Put("one/x", "x", "one", Resources{})
	ix.Put("two/x", "x", "two", Resources{})
	ix.Put("one/y", "y", "one", Resources{})
	if err := ix.Fits("x", "two", Resources{}); err != nil {
		t.Errorf("x on two, full with x itself: %v", err)
	}
	ix.Delete("two/x")
	if got := ix.Usage(); got[0].Used.Stores != 2 || got[1].Used.Stores != 0 || ix.Len() != 2 {
		t.Errorf("after forgetting x on two: %+v", got)
	}
	if d, err := ix.Place(Request{Store: "z"}); err != nil || d.Cluster != "two" {
		t.Errorf("z placed: %+v, %v; want two, the one with room", d, err)
	}
	if err := ix.Fits("y", "one", Resources{}); err != nil {
		t.Errorf("y resized on one, full with x and y: %v", err)
	}
}
