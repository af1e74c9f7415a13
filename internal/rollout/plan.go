package rollout

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Input is what PlanFleet reads.
type Input struct {
	Config *config.Config
	// Tree is the tenants repo at Base, usually a tenants.Snapshot of the
	// base branch. The workers read it concurrently.
	Tree renderer.Tree
	// Base names the commit Tree shows; it is recorded in the plan.
	Base string
	// Workers bounds how many stores are re-rendered at once;
	// GOMAXPROCS when zero.
	Workers int
	// BackupCredentials are the backup targets' keys by cluster
	// (config.LoadBackupCredentials), for the stores whose plan takes
	// backups.
	BackupCredentials map[string]config.BackupCredentials
}

// Plan is what a rollout would change.
type Plan struct {
	// Base is the commit the plan was made from.
	Base string `json:"base"`
	// Stores counts the stores found; Unchanged those that render as
	// they are.
	Stores    int `json:"stores"`
	Unchanged int `json:"unchanged"`
	// WouldChange counts Changes.
	WouldChange int `json:"wouldChange"`
	// Changes are the stores that would change, by name.
	Changes []*StoreChange `json:"-"`
	// Groups are the changes grouped by what they do: the biggest first.
	Groups []*Group `json:"groups"`
	// Skipped are the stores that cannot be re-rendered, by name.
	Skipped []Skipped `json:"skipped"`
}

// Changed reports whether the rollout would change anything, or finds
// stores it cannot move.
func (p *Plan) Changed() bool { return len(p.Changes) > 0 || len(p.Skipped) > 0 }

// Store returns the change of store name, nil when it has none.
func (p *Plan) Store(name string) *StoreChange {
	i := sort.Search(len(p.Changes), func(i int) bool { return p.Changes[i].Store >= name })
	if i < len(p.Changes) && p.Changes[i].Store == name {
		return p.Changes[i]
	}
	return nil
}

// StoreNames lists the stores that would change, by name.
func (p *Plan) StoreNames() []string {
	out := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		out[i] = c.Store
	}
	return out
}

// Skipped is a store the rollout leaves as it is, and why.
type Skipped struct {
	Store  string `json:"store"`
	Dir    string `json:"dir"`
	Reason string `json:"reason"`
}

// Kind says what a change does to one file.
type Kind string

// Kinds of file changes.
const (
	Added   Kind = "added"
	Changed Kind = "changed"
	Removed Kind = "removed"
	// Kept is a file of a moved store whose content stays.
	Kept Kind = "kept"
)

// FileChange is one file of a store that a rollout writes.
type FileChange struct {
	// Path is relative to the store's directory (renderer.FileQuota, ...).
	Path string
	Kind Kind
	// Old and New are the file's contents before and after; nil for an
	// added or a removed file.
	Old, New []byte
}

// StoreChange is what a rollout changes in one store.
type StoreChange struct {
	Store   string
	Cluster string
	Plan    string
	// Dir is the store's directory after the rollout; From is where it is
	// now, the same unless the store is in an older layout (Moved).
	Dir, From string
	Moved     bool
	// Files are sorted by path.
	Files []FileChange
	// key identifies the change once the store's own names are abstracted
	// away; summary describes it.
	key     string
	summary []FileSummary
}

// TenantsChanges are the edits of the tenants repo that carry the change
// out: the files written and removed, or for a moved store, the removal
// of its old directory and every file of the new one.
func (c *StoreChange) TenantsChanges() []tenants.Change {
	var out []tenants.Change
	if c.Moved {
		out = append(out, tenants.Change{Path: c.From, Delete: true})
	}
	for _, f := range c.Files {
		switch f.Kind {
		case Removed:
			if !c.Moved { // a move deletes the old folder whole
				out = append(out, tenants.Change{Path: path.Join(c.From, f.Path), Delete: true})
			}
		case Kept: // only a moved store keeps files as they are
			out = append(out, tenants.Change{Path: path.Join(c.Dir, f.Path), Data: f.Old})
		default:
			out = append(out, tenants.Change{Path: path.Join(c.Dir, f.Path), Data: f.New})
		}
	}
	return out
}

// errNoRand is what the renderer gets if it ever asks a rollout for
// randomness: a rollout keeps every Secret and never makes one.
var errNoRand = errors.New("a rollout keeps each store's Secrets and generates none")

type noRand struct{}

func (noRand) Read([]byte) (int, error) { return 0, errNoRand }

// storeDir is a store's directory as found, and whether it is in the
// layout before shards.
type storeDir struct {
	dir   string
	older bool
}

// PlanFleet re-renders every store of the tree with the config, keeping
// each store's encrypted Secrets as they are, and returns what would
// change. A store that cannot be re-rendered is skipped with its reason;
// an error reading the tree fails the plan.
func PlanFleet(in Input) (*Plan, error) {
	if in.Config == nil || in.Tree == nil {
		return nil, errors.New("planning a rollout: config and tree are required")
	}
	var dirs []storeDir
	for _, cl := range in.Config.ClusterNames() {
		sharded, err := renderer.StoreDirs(in.Config, in.Tree, cl)
		if err != nil {
			return nil, fmt.Errorf("listing the stores of cluster %s: %w", cl, err)
		}
		older, err := renderer.OlderLayoutDirs(in.Config, in.Tree, cl)
		if err != nil {
			return nil, fmt.Errorf("listing the stores of cluster %s: %w", cl, err)
		}
		for _, d := range sharded {
			dirs = append(dirs, storeDir{dir: d})
		}
		for _, d := range older {
			dirs = append(dirs, storeDir{dir: d, older: true})
		}
	}
	results, err := planStores(in, dirs)
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	for _, d := range dirs {
		if !d.older {
			current[path.Base(d.dir)] = d.dir
		}
	}
	p := &Plan{Base: in.Base, Stores: len(dirs)}
	for i, r := range results {
		if d := dirs[i]; d.older && current[path.Base(d.dir)] != "" {
			// Moving it would overwrite the store, and its Secrets, in
			// the current layout.
			r = storeResult{skip: fmt.Sprintf("it is also in the current layout, at %s; remove one of the two by hand", current[path.Base(d.dir)])}
		}
		switch {
		case r.skip != "":
			p.Skipped = append(p.Skipped, Skipped{Store: path.Base(dirs[i].dir), Dir: dirs[i].dir, Reason: r.skip})
		case r.change == nil:
			p.Unchanged++
		default:
			p.Changes = append(p.Changes, r.change)
		}
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Store < p.Changes[j].Store })
	p.WouldChange = len(p.Changes)
	sort.Slice(p.Skipped, func(i, j int) bool {
		if p.Skipped[i].Store != p.Skipped[j].Store {
			return p.Skipped[i].Store < p.Skipped[j].Store
		}
		return p.Skipped[i].Dir < p.Skipped[j].Dir
	})
	p.Groups = group(p.Changes)
	// Empty lists, not null, for whoever reads `rollout plan -o json`.
	if p.Groups == nil {
		p.Groups = []*Group{}
	}
	if p.Skipped == nil {
		p.Skipped = []Skipped{}
	}
	return p, nil
}

type storeResult struct {
	change *StoreChange
	skip   string
}

// planStores plans each store on a bounded pool of workers; results[i] is
// dirs[i]'s. The first error reading the tree stops the pool.
func planStores(in Input, dirs []storeDir) ([]storeResult, error) {
	workers := in.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(dirs)))
	results := make([]storeResult, len(dirs))
	memo := newSignatures()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next == len(dirs) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					fail(fmt.Errorf("planning a rollout: a worker panicked: %v", r))
				}
			}()
			for {
				i, ok := take()
				if !ok {
					return
				}
				r, err := planStore(in, dirs[i], memo)
				if err != nil {
					fail(err)
					return
				}
				results[i] = r
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return results, nil
}

// planStore re-renders one store. Problems of the store itself skip it;
// only a failure to read the tree is an error.
func planStore(in Input, sd storeDir, memo *signatures) (storeResult, error) {
	cfg, name := in.Config, path.Base(sd.dir)
	current, err := renderer.StoreFiles(in.Tree, sd.dir)
	if err != nil {
		return storeResult{}, fmt.Errorf("reading store %s: %w", sd.dir, err)
	}
	reqData := current[renderer.FileRequest]
	if reqData == nil {
		return storeResult{skip: "it has no " + renderer.FileRequest}, nil
	}
	req, err := v1alpha1.Parse(reqData)
	if err != nil {
		return storeResult{skip: fmt.Sprintf("its %s does not parse: %v", renderer.FileRequest, err)}, nil
	}
	if req.Metadata.Name != name {
		return storeResult{skip: fmt.Sprintf("its %s names store %q, not the folder's name", renderer.FileRequest, req.Metadata.Name)}, nil
	}
	cluster := renderer.ClusterOf(cfg, req)
	dir := renderer.StoreDir(cfg, cluster, name)
	if !sd.older && dir != sd.dir {
		return storeResult{skip: fmt.Sprintf("its %s puts it in %s (cluster %q); move it there by hand", renderer.FileRequest, dir, cluster)}, nil
	}
	if sd.older && path.Join(renderer.ClusterDir(cfg, cluster), name) != sd.dir {
		return storeResult{skip: fmt.Sprintf("its %s names cluster %q, not the folder's", renderer.FileRequest, cluster)}, nil
	}
	secret, database := current[renderer.FileSecret], current[renderer.FileDatabaseSecret]
	switch {
	case secret == nil:
		return storeResult{skip: "it has no " + renderer.FileSecret + ", and a rollout makes no credentials"}, nil
	case database == nil:
		return storeResult{skip: "older layout: the database passwords are in " + renderer.FileSecret + " (no " +
			renderer.FileDatabaseSecret + "); move it by hand (docs/operations.md, \"Stores written by builds before the sharded layout\")"}, nil
	}
	backupPW, backupTarget := current[renderer.FileBackupPasswordSecret], current[renderer.FileBackupTargetSecret]
	if p, ok := cfg.Plans[req.Spec.Plan]; ok && p.Backups != nil {
		switch {
		case backupPW == nil:
			return storeResult{skip: "its plan takes backups and it has no " + renderer.FileBackupPasswordSecret + ", and a rollout makes no credentials: its next change (a /purrvision command on its issue) seals one"}, nil
		case backupTarget == nil || !renderer.BackupTargetCurrent(backupTarget, in.BackupCredentials[cluster]):
			return storeResult{skip: "its backup target's key changed (or it has none), and a rollout seals no Secrets: its next change (a /purrvision command on its issue) seals the new one"}, nil
		}
	}
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: noRand{}, KeepSecret: secret, KeepDatabaseSecret: database,
		KeepBackupPasswordSecret: backupPW, KeepBackupTargetSecret: backupTarget, BackupCredentials: in.BackupCredentials})
	if err != nil {
		var inv *renderer.InvalidRequestError
		if errors.As(err, &inv) {
			return storeResult{skip: "today's config refuses its request: " + oneLine(errors.Join(inv.Errors...).Error())}, nil
		}
		return storeResult{skip: "rendering it: " + oneLine(err.Error())}, nil
	}
	c := diffStore(current, out, sd)
	if c == nil {
		return storeResult{}, nil
	}
	c.Store, c.Cluster, c.Plan = name, cluster, req.Spec.Plan
	c.key, c.summary = memo.describe(c, cfg.ClusterSettings(cluster).BaseDomain)
	return storeResult{change: c}, nil
}

// diffStore compares a store's files with its render; nil when equal.
func diffStore(current map[string][]byte, out *renderer.Output, sd storeDir) *StoreChange {
	c := &StoreChange{Dir: out.Dir, From: sd.dir, Moved: sd.older}
	want := map[string]bool{}
	for _, f := range out.Files {
		rel := strings.TrimPrefix(f.Path, out.Dir+"/")
		want[rel] = true
		old, ok := current[rel]
		switch {
		case !ok:
			c.Files = append(c.Files, FileChange{Path: rel, Kind: Added, New: f.Data})
		case string(old) != string(f.Data):
			c.Files = append(c.Files, FileChange{Path: rel, Kind: Changed, Old: old, New: f.Data})
		case sd.older:
			c.Files = append(c.Files, FileChange{Path: rel, Kind: Kept, Old: old})
		}
	}
	for rel, old := range current {
		if !want[rel] {
			c.Files = append(c.Files, FileChange{Path: rel, Kind: Removed, Old: old})
		}
	}
	if len(c.Files) == 0 {
		return nil
	}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return c
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
