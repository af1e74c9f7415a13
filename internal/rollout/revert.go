package rollout

import (
	"fmt"
	"path"
	"sort"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// RevertInput is what PlanRevert reads.
type RevertInput struct {
	Config *config.Config
	// Before is the tenants repo just before the wave's merge (its first
	// parent); Now is the base branch now, at commit Base.
	Before, Now renderer.Tree
	Base        string
	// Stores are the wave's.
	Stores []string
	ID     string
	Wave   int
	// By is who asked for the revert (a login); MovedTo, when set, the
	// base head the revert's branch is rendered again on, because the
	// base moved past it. Their commit says both.
	By, MovedTo string
}

// Revert is the commit that puts a wave's stores back, and the stores it
// leaves as they are.
type Revert struct {
	// Commit is nil when every store is as it was before the wave.
	Commit  *tenants.Plan
	Stores  []string
	Skipped []Skipped
}

// secretFiles are the files a revert keeps as they are now: credentials
// rotated since the wave must not come back, and a backup password made
// since must not go (the backups written with it need it).
var secretFiles = map[string]bool{renderer.FileSecret: true, renderer.FileDatabaseSecret: true,
	renderer.FileBackupPasswordSecret: true, renderer.FileBackupTargetSecret: true}

// PlanRevert puts each store of a wave back as it was before the wave's
// merge, in the folder it was in then, but with its Secrets as they are
// now. A store that is gone now (decommissioned) or was not there before
// is skipped.
func PlanRevert(in RevertInput) (*Revert, error) {
	out := &Revert{}
	var changes []tenants.Change
	stores := append([]string(nil), in.Stores...)
	sort.Strings(stores)
	for _, name := range stores {
		before, err := storeDirIn(in.Config, in.Before, name)
		if err != nil {
			return nil, err
		}
		now, err := storeDirIn(in.Config, in.Now, name)
		if err != nil {
			return nil, err
		}
		switch {
		case before == "":
			out.Skipped = append(out.Skipped, Skipped{Store: name, Reason: "it was not in the tenants repo before the wave"})
			continue
		case now == "":
			out.Skipped = append(out.Skipped, Skipped{Store: name, Reason: "it is not in the tenants repo now (decommissioned?)"})
			continue
		}
		old, err := renderer.StoreFiles(in.Before, before)
		if err != nil {
			return nil, fmt.Errorf("reading store %s before wave %d: %w", name, in.Wave, err)
		}
		cur, err := renderer.StoreFiles(in.Now, now)
		if err != nil {
			return nil, fmt.Errorf("reading store %s: %w", name, err)
		}
		var cs []tenants.Change
		if now != before {
			cs = append(cs, tenants.Change{Path: now, Delete: true})
		}
		for rel, data := range old {
			if secretFiles[rel] && cur[rel] != nil {
				data = cur[rel]
			}
			if now == before && string(cur[rel]) == string(data) && cur[rel] != nil {
				continue
			}
			cs = append(cs, tenants.Change{Path: path.Join(before, rel), Data: data})
		}
		for rel := range cur {
			if _, ok := old[rel]; ok {
				continue
			}
			switch {
			case secretFiles[rel] && now != before:
				cs = append(cs, tenants.Change{Path: path.Join(before, rel), Data: cur[rel]})
			case secretFiles[rel]:
				// Kept where it is.
			case now == before:
				cs = append(cs, tenants.Change{Path: path.Join(now, rel), Delete: true})
			}
		}
		if len(cs) > 0 {
			sort.Slice(cs, func(i, j int) bool { return cs[i].Path < cs[j].Path })
			changes = append(changes, cs...)
			out.Stores = append(out.Stores, name)
		}
	}
	if len(changes) == 0 {
		return out, nil
	}
	msg := tenants.Message(fmt.Sprintf("Revert wave %d of rollout %s on %s", in.Wave, in.ID, countStores(len(out.Stores))),
		"Puts the wave's stores back as they were before its merge; their Secrets stay as they are now.",
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpRollout},
		tenants.Trailer{Key: v1alpha1.TrailerRollout, Value: in.ID},
		tenants.Trailer{Key: v1alpha1.TrailerWave, Value: fmt.Sprint(in.Wave)},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: in.By},
		tenants.Trailer{Key: v1alpha1.TrailerBaseMoved, Value: in.MovedTo},
	)
	out.Commit = &tenants.Plan{Parent: tenants.Hash(in.Base), Changes: changes, Message: msg}
	return out, nil
}

// storeDirIn is the folder of store name in t, in the current layout or
// the one before shards; "" when t has no such store.
func storeDirIn(cfg *config.Config, t renderer.Tree, name string) (string, error) {
	req, cluster, err := renderer.FindStore(cfg, t, name)
	if err != nil {
		return "", err
	}
	if req != nil {
		return renderer.StoreDir(cfg, cluster, name), nil
	}
	for _, cl := range cfg.ClusterNames() {
		dir := path.Join(renderer.ClusterDir(cfg, cl), name)
		req, err := renderer.RequestCopy(t, dir)
		if err != nil {
			return "", err
		}
		if req != nil {
			return dir, nil
		}
	}
	return "", nil
}
