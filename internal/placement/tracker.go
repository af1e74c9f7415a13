package placement

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Differ lists the paths that differ between two commits of the tenants
// repo; *tenants.Repo is one.
type Differ interface {
	Diff(from, to tenants.Hash) ([]tenants.DiffEntry, error)
}

// Tracker keeps an Index at the base branch of the tenants repo. It reads
// every store's request copy once, then follows the branch commit by
// commit: only the request copies a new commit adds, changes or deletes
// are read again, so the index stays up to date as merges land without
// walking the tree. It is safe for concurrent use.
type Tracker struct {
	cfg      *config.Config
	clusters []Cluster
	repo     Differ

	mu sync.Mutex
	ix *Index
	at tenants.Hash
	// Rebuilds counts full reads of the tree (tests and metrics).
	rebuilds int
}

// NewTracker returns a tracker of the stores of cfg's clusters, whose
// capacity and labels are clusters.
func NewTracker(cfg *config.Config, clusters []Cluster, repo Differ) *Tracker {
	return &Tracker{cfg: cfg, clusters: clusters, repo: repo}
}

// Rebuilds is how many times the tracker has read the whole tree: once
// at the start, and again only when it cannot follow the branch commit by
// commit (for metrics and tests).
func (t *Tracker) Rebuilds() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rebuilds
}

// At is the index's view of the tenants repo at the base branch's commit
// head (whose tree is base): what Place and Fits decide from.
func (t *Tracker) At(base renderer.Tree, head tenants.Hash) *View {
	return &View{t: t, base: base, head: head}
}

// View is a Tracker at one commit of the base branch.
type View struct {
	t    *Tracker
	base renderer.Tree
	head tenants.Hash
}

// Place chooses a cluster for a new store (Index.Place).
func (v *View) Place(r Request) (d Decision, err error) {
	err = v.t.with(v.base, v.head, func(ix *Index) error {
		d, err = ix.Place(r)
		return err
	})
	return d, err
}

// Fits checks that a resized store still fits its cluster (Index.Fits).
func (v *View) Fits(store, cluster string, need Resources) error {
	return v.t.with(v.base, v.head, func(ix *Index) error { return ix.Fits(store, cluster, need) })
}

// Usage lists each cluster's capacity and use at the view's commit.
func (v *View) Usage() (u []Usage, err error) {
	err = v.t.with(v.base, v.head, func(ix *Index) error {
		u = ix.Usage()
		return nil
	})
	return u, err
}

// with runs f on the index brought to head.
func (t *Tracker) with(base renderer.Tree, head tenants.Hash, f func(*Index) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.sync(base, head); err != nil {
		return err
	}
	return f(t.ix)
}

func (t *Tracker) sync(base renderer.Tree, head tenants.Hash) error {
	if t.ix != nil && t.at == head {
		return nil
	}
	if t.ix != nil && t.at != "" && head != "" {
		entries, err := t.repo.Diff(t.at, head)
		if err == nil {
			if err := t.apply(base, entries); err == nil {
				t.at = head
				return nil
			}
		}
		// A commit the clone no longer has, or a copy it cannot read:
		// read the whole tree again.
	}
	return t.rebuild(base, head)
}

func (t *Tracker) rebuild(base renderer.Tree, head tenants.Hash) error {
	ix := NewIndex(t.clusters)
	for _, cl := range t.cfg.ClusterNames() {
		dirs, err := renderer.StoreDirs(t.cfg, base, cl)
		if err != nil {
			return fmt.Errorf("placement: listing the stores of cluster %s: %w", cl, err)
		}
		for _, dir := range dirs {
			if err := t.read(ix, base, cl, dir); err != nil {
				return err
			}
		}
	}
	t.ix, t.at = ix, head
	t.rebuilds++
	return nil
}

// apply updates the index with the request copies a diff touches:
// deletions first, so a name freed on one cluster and taken on another in
// the same span is counted on the second.
func (t *Tracker) apply(base renderer.Tree, entries []tenants.DiffEntry) error {
	type upd struct{ cluster, dir string }
	var sets []upd
	for _, e := range entries {
		if path.Base(e.Path) != renderer.FileRequest {
			continue
		}
		dir := path.Dir(e.Path)
		cl, ok := t.clusterOf(dir)
		if !ok {
			continue
		}
		if e.Deleted {
			// The store of that folder is gone; one of the same name in
			// another folder is another store, and stays counted.
			t.ix.Delete(dir)
			continue
		}
		sets = append(sets, upd{cl, dir})
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].dir < sets[j].dir })
	for _, s := range sets {
		if err := t.read(t.ix, base, s.cluster, s.dir); err != nil {
			return err
		}
	}
	return nil
}

// clusterOf returns the cluster whose store directory dir is, by its
// place in the layout (renderer.StoreDir); false for any other path.
func (t *Tracker) clusterOf(dir string) (string, bool) {
	for _, cl := range t.cfg.ClusterNames() {
		if renderer.StoreDir(t.cfg, cl, path.Base(dir)) == dir {
			return cl, true
		}
	}
	return "", false
}

func (t *Tracker) read(ix *Index, base renderer.Tree, cluster, dir string) error {
	// A store is counted by its folder, which holds one store at a time
	// (a name reused after a decommission replaces the copy there, or
	// lands in another cluster's folder once the first is deleted), under
	// the folder's name: never the name a copy merged by hand says.
	req, err := renderer.RequestCopy(base, dir)
	if errors.Is(err, v1alpha1.ErrInvalid) {
		// A copy that does not parse (merged by hand) still holds its
		// place: counted as a store of no plan, not a reason to stop
		// placing every other.
		ix.Put(dir, path.Base(dir), cluster, Resources{Stores: 1})
		return nil
	}
	if err != nil {
		return fmt.Errorf("placement: %w", err)
	}
	if req == nil {
		ix.Delete(dir)
		return nil
	}
	ix.Put(dir, path.Base(dir), cluster, PlanNeed(t.cfg, req.Spec.Plan))
	return nil
}

// PlanNeed is what a store of plan reserves on its cluster: the plan's
// quota. A plan no longer in the config reserves nothing but the store.
func PlanNeed(cfg *config.Config, plan string) Resources {
	p, ok := cfg.Plans[plan]
	if !ok {
		return Resources{Stores: 1}
	}
	return Resources{MilliCPU: p.CPU.MilliValue(), Memory: p.Memory.Value(), Storage: p.Storage.Value(), Stores: 1}
}

// Describe says what a cluster has free, for the status page and the
// pull request: "cpu 3 of 16, memory 10Gi of 64Gi, stores 12 of 50".
func Describe(u Usage) string {
	capa, used := u.Capacity.Amounts(), u.Used.Amounts()
	var parts []string
	for d := range capa {
		if capa[d] >= 0 {
			parts = append(parts, fmt.Sprintf("%s %s of %s used", DimensionNames[d], FormatAmount(d, used[d]), FormatAmount(d, capa[d])))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s used", DimensionNames[d], FormatAmount(d, used[d])))
		}
	}
	return strings.Join(parts, ", ")
}

// FromConfig lists the config's clusters for an Index, with their
// effective capacity and labels (config.ClusterSettings): a dimension
// left out is Unlimited.
func FromConfig(cfg *config.Config) []Cluster {
	out := make([]Cluster, 0, len(cfg.Clusters))
	for _, name := range cfg.ClusterNames() {
		s := cfg.ClusterSettings(name)
		c := Cluster{Name: name, Labels: s.Labels, Capacity: Resources{Unlimited, Unlimited, Unlimited, Unlimited}}
		if q := s.Capacity.CPU; q != nil {
			c.Capacity.MilliCPU = q.MilliValue()
		}
		if q := s.Capacity.Memory; q != nil {
			c.Capacity.Memory = q.Value()
		}
		if q := s.Capacity.Storage; q != nil {
			c.Capacity.Storage = q.Value()
		}
		if n := s.Capacity.Stores; n != nil {
			c.Capacity.Stores = int64(*n)
		}
		out = append(out, c)
	}
	return out
}
