package reconcile

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Placement says which cluster's folder of the tenants repo holds a store,
// and whose it is. The tenants repo decides, never the cluster: anyone who
// can create a Namespace could label and annotate it as any store, of any
// issue.
type Placement interface {
	// Place finds store's folder at revision; with revision "", at the
	// newest commit of the base branch that holds the store (a
	// decommissioned store's folder is gone from the head). The zero
	// Where when no cluster's folder holds it.
	Place(ctx context.Context, store, revision string) (Where, error)
}

// Where is a store's folder in the tenants repo.
type Where struct {
	Cluster, Dir string
	// Issue is the issue the store's request copy names there (its
	// purrvision.dev/issue annotation, written by the bot's render):
	// the one the store's reports go to.
	Issue string
	// Current: asked without a revision, the folder is at the head of the
	// base branch: the store of that name is alive there, so objects of
	// the name that no Kustomization applied (a Namespace left from an
	// earlier store of the name) are not its.
	Current bool
}

// LookBack bounds the commits of the base branch TenantsPlacement reads
// back from its head for a store that is no longer there: a decommission
// is reported minutes after its merge, long before that many merges.
const LookBack = 5000

// maxAbsent bounds how many names TenantsPlacement remembers as held by no
// folder; past it, it forgets them all.
const maxAbsent = 10000

// TenantsPlacement is the Placement of the tenants repo's clone: a store
// is a cluster's when tenants/<cluster>/<shard>/<store>/ (or the layout
// before shards, tenants/<cluster>/<store>/) is there. It is safe for
// concurrent use.
type TenantsPlacement struct {
	Config *config.Config
	Repo   *tenants.Repo

	mu sync.Mutex
	// absent maps a name no folder held to the base branch's head when it
	// was looked for: it is not looked for again until the head moves.
	absent map[string]tenants.Hash
	// fetchedFor is the head the clone was last fetched from for a name
	// it did not hold: one fetch per head, however many such names.
	fetchedFor tenants.Hash
	// walks counts the walks down the history (tests).
	walks int
}

// Place implements Placement. A name the clone does not hold is fetched
// for once per head of the base branch, and remembered as absent until
// the head moves, so objects labelled with names no store has cost one
// walk each, not one per event.
func (p *TenantsPlacement) Place(ctx context.Context, store, revision string) (Where, error) {
	if revision != "" {
		return p.at(ctx, tenants.Hash(revision), store)
	}
	head, err := p.head()
	if err != nil {
		return Where{}, err
	}
	p.mu.Lock()
	seen, known := p.absent[store]
	p.mu.Unlock()
	if known && seen == head {
		return Where{}, nil
	}
	if w, err := p.walk(ctx, head, store); err != nil || w.Cluster != "" {
		return w, err
	}
	p.mu.Lock()
	fetch := p.fetchedFor != head
	p.fetchedFor = head
	p.mu.Unlock()
	if fetch {
		// Not in the clone's history: perhaps a store merged since the
		// clone's last fetch.
		if err := p.Repo.Fetch(ctx); err != nil {
			return Where{}, err
		}
		if head, err = p.head(); err != nil {
			return Where{}, err
		}
		if w, err := p.walk(ctx, head, store); err != nil || w.Cluster != "" {
			return w, err
		}
	}
	p.mu.Lock()
	if p.absent == nil || len(p.absent) >= maxAbsent {
		p.absent = map[string]tenants.Hash{}
	}
	p.absent[store] = head
	p.mu.Unlock()
	return Where{}, nil
}

func (p *TenantsPlacement) head() (tenants.Hash, error) {
	head, ok, err := p.Repo.Head(p.Config.TenantsRepo.Branch)
	if err == nil && !ok {
		err = fmt.Errorf("the tenants repo has no branch %s", p.Config.TenantsRepo.Branch)
	}
	return head, err
}

// walk looks for the store's folder at head and its first parents.
func (p *TenantsPlacement) walk(ctx context.Context, head tenants.Hash, store string) (Where, error) {
	p.mu.Lock()
	p.walks++
	p.mu.Unlock()
	commits, err := p.Repo.FirstParents(head, "", LookBack)
	if err != nil {
		return Where{}, err
	}
	for _, c := range commits {
		if w, err := p.at(ctx, c, store); err != nil || w.Cluster != "" {
			w.Current = c == head
			return w, err
		}
	}
	return Where{}, nil
}

// at looks for the store's folder in every cluster's folder at commit,
// and reads the issue its request copy names there.
func (p *TenantsPlacement) at(ctx context.Context, commit tenants.Hash, store string) (Where, error) {
	for _, cl := range p.Config.ClusterNames() {
		for _, dir := range []string{renderer.StoreDir(p.Config, cl, store), path.Join(renderer.ClusterDir(p.Config, cl), store)} {
			h, err := p.Repo.TreeHash(ctx, commit, dir)
			if err != nil {
				return Where{}, fmt.Errorf("looking for store %s in cluster %s's folder at %s: %w", store, cl, commit, err)
			}
			if h == "" {
				continue
			}
			snap, err := p.Repo.Snapshot(commit)
			if err != nil {
				return Where{}, fmt.Errorf("reading store %s's request copy at %s: %w", store, commit, err)
			}
			req, err := renderer.RequestCopy(snap, dir)
			if err != nil {
				return Where{}, err
			}
			w := Where{Cluster: cl, Dir: dir}
			if req != nil {
				w.Issue = req.Metadata.Annotations[v1alpha1.AnnotationIssue]
			}
			return w, nil
		}
	}
	return Where{}, nil
}

// TreeHash implements TreeHasher on the same clone.
func (p *TenantsPlacement) TreeHash(ctx context.Context, revision, dir string) (string, error) {
	return p.Repo.TreeHash(ctx, tenants.Hash(revision), dir)
}
