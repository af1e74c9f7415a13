package rollout

import (
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/tenants"
)

// Only is the plan narrowed to some of its stores (a wave's), grouped
// again; stores it does not change are left out.
func (p *Plan) Only(stores []string) *Plan {
	want := map[string]bool{}
	for _, s := range stores {
		want[s] = true
	}
	out := &Plan{Base: p.Base}
	for _, c := range p.Changes {
		if want[c.Store] {
			out.Changes = append(out.Changes, c)
		}
	}
	out.Stores, out.WouldChange = len(out.Changes), len(out.Changes)
	out.Groups = group(out.Changes)
	return out
}

// WaveCommit is the commit of one wave of rollout id: every file change of
// the wave's stores, on the commit the plan was made from. It refuses a
// wave with a store the plan does not change, or none at all.
func WaveCommit(p *Plan, w Wave, id string) (*tenants.Plan, error) {
	if len(w.Stores) == 0 {
		return nil, fmt.Errorf("committing wave %d of rollout %s: the wave has no stores", w.Number, id)
	}
	var changes []tenants.Change
	for _, s := range w.Stores {
		c := p.Store(s)
		if c == nil {
			return nil, fmt.Errorf("committing wave %d of rollout %s: store %s has no change in the plan of %s", w.Number, id, s, p.Base)
		}
		changes = append(changes, c.TenantsChanges()...)
	}
	wave := p.Only(w.Stores)
	var body strings.Builder
	fmt.Fprintf(&body, "Re-rendered with today's config and chart; their Secrets are kept as they are.\n\n")
	for i, g := range wave.Groups {
		if i == maxCommitGroups {
			fmt.Fprintf(&body, "- and %d more groups; purrvision rollout plan shows them all\n", len(wave.Groups)-i)
			break
		}
		fmt.Fprintf(&body, "- %s\n", g.Headline())
	}
	msg := tenants.Message(fmt.Sprintf("Roll out wave %d of rollout %s to %s", w.Number, id, countStores(len(w.Stores))), body.String(),
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpRollout},
		tenants.Trailer{Key: v1alpha1.TrailerRollout, Value: id},
		tenants.Trailer{Key: v1alpha1.TrailerWave, Value: fmt.Sprint(w.Number)},
		tenants.Trailer{Key: v1alpha1.TrailerBaseMoved, Value: w.MovedTo},
	)
	return &tenants.Plan{Parent: tenants.Hash(p.Base), Changes: changes, Message: msg}, nil
}

// maxCommitGroups bounds the groups a wave's commit message lists.
const maxCommitGroups = 20
