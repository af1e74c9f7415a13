package reconcile

import (
	"context"
	"fmt"
	"path"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Placement says which cluster's folder of the tenants repo holds a store.
// The tenants repo decides, never the cluster: anyone who can create a
// Namespace could label it as any store.
type Placement interface {
	// Place returns the cluster whose folder holds store at revision, and
	// that folder; with revision "", at the newest commit of the base
	// branch that holds the store (a decommissioned store's folder is gone
	// from the head). Both "" when no cluster's folder holds it.
	Place(ctx context.Context, store, revision string) (cluster, dir string, err error)
}

// LookBack bounds the commits of the base branch TenantsPlacement reads
// back from its head for a store that is no longer there: a decommission
// is reported minutes after its merge, long before that many merges.
const LookBack = 5000

// TenantsPlacement is the Placement of the tenants repo's clone: a store
// is a cluster's when tenants/<cluster>/<shard>/<store>/ (or the layout
// before shards, tenants/<cluster>/<store>/) is there.
type TenantsPlacement struct {
	Config *config.Config
	Repo   *tenants.Repo
}

// Place implements Placement. A revision the clone lacks is fetched once.
func (p *TenantsPlacement) Place(ctx context.Context, store, revision string) (string, string, error) {
	if revision != "" {
		return p.at(ctx, tenants.Hash(revision), store)
	}
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			// Not in the clone's history: a store merged since the
			// clone's last fetch.
			if err := p.Repo.Fetch(ctx); err != nil {
				return "", "", err
			}
		}
		head, ok, err := p.Repo.Head(p.Config.TenantsRepo.Branch)
		if err != nil || !ok {
			return "", "", err
		}
		commits, err := p.Repo.FirstParents(head, "", LookBack)
		if err != nil {
			return "", "", err
		}
		for _, c := range commits {
			if cl, dir, err := p.at(ctx, c, store); err != nil || cl != "" {
				return cl, dir, err
			}
		}
	}
	return "", "", nil
}

// at looks for the store's folder in every cluster's folder at commit.
func (p *TenantsPlacement) at(ctx context.Context, commit tenants.Hash, store string) (string, string, error) {
	for _, cl := range p.Config.ClusterNames() {
		for _, dir := range []string{renderer.StoreDir(p.Config, cl, store), path.Join(renderer.ClusterDir(p.Config, cl), store)} {
			h, err := p.Repo.TreeHash(ctx, commit, dir)
			if err != nil {
				return "", "", fmt.Errorf("looking for store %s in cluster %s's folder at %s: %w", store, cl, commit, err)
			}
			if h != "" {
				return cl, dir, nil
			}
		}
	}
	return "", "", nil
}

// TreeHash implements TreeHasher on the same clone.
func (p *TenantsPlacement) TreeHash(ctx context.Context, revision, dir string) (string, error) {
	return p.Repo.TreeHash(ctx, tenants.Hash(revision), dir)
}
