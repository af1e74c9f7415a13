package provision

import (
	"context"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
)

// mergeView is what one handling of a merged store pull request reads, up
// front: the store issue's read model (the issue, its ledger record, the
// bot's comments and pending posts), what the merge did (storeMerge: the
// operation and the stores, read from the tenants repo), who merged and
// approved it (apply.ReadMerge), and each store's deployment environment
// at the merge commit.
type mergeView struct {
	*requestView
	Op     string
	Stores []string
	Merge  apply.Merge
	// Environments are the stores' deployment environments, by store.
	Environments map[string]string
}

// MergePlan is what a merge's handling records and writes besides the
// labels: the store's merge in its state, the names it holds (a
// decommission) and the deployments the watchers report on.
type MergePlan struct {
	Op    string
	Merge apply.Merge
	// Store is what was merged, whatever the record said; "" keeps it.
	Store string
	// Line is the merge's line in the store's history.
	Line        string
	Holds       []string
	Deployments []apply.Deployment
}

// readMerge reads what planning the merge of pr needs; nil when pr is not
// a store merge (storeMerge).
func (p *Provisioner) readMerge(ctx context.Context, pr *forge.PullRequest) (*mergeView, error) {
	ref, op, stores, ok, err := p.storeMerge(ctx, pr)
	if err != nil || !ok {
		return nil, err
	}
	merge, err := apply.ReadMerge(ctx, p.gh, pr)
	if err != nil {
		return nil, err
	}
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return nil, err
	}
	rv, err := p.readRecord(ctx, issue, nil)
	if err != nil {
		return nil, err
	}
	v := &mergeView{requestView: rv, Op: op, Stores: stores, Merge: merge, Environments: map[string]string{}}
	if op != CmdDecommission && merge.Commit != "" {
		for _, store := range stores {
			if v.Environments[store], err = p.environment(merge.Commit, store); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// planMerge plans the record of a merge from what was read: pure.
func (p *Provisioner) planMerge(v *mergeView) *IssuePlan {
	m := v.Merge
	verb := map[string]string{CmdDecommission: "decommissioning", CmdResize: "the resize", CmdRotate: "the rotation"}[v.Op]
	if verb == "" {
		verb = "provisioning"
	}
	mp := &MergePlan{Op: v.Op, Merge: m,
		Line: fmt.Sprintf("%s %s merged by @%s (%s) as `%s`; %s has started", v.Op, m.URL, m.By, m.Approved(), m.Short(), verb)}
	if len(v.Stores) == 1 {
		mp.Store = v.Stores[0]
	}
	if v.Op == CmdDecommission {
		// The name stays this issue's until the watcher reports the
		// Namespace gone, whatever becomes of the issue or the branch.
		mp.Holds = v.Stores
	} else if m.Commit != "" {
		// The deployment of each store's own cluster: its watcher
		// reports there.
		for _, store := range v.Stores {
			mp.Deployments = append(mp.Deployments, apply.Deployment{Environment: v.Environments[store], SHA: m.Commit, Description: deploymentDescription(v.Op, store), LogURL: p.storePage(store)})
		}
	}
	return &IssuePlan{
		Merge:  mp,
		Labels: LabelChange{Add: []string{v1alpha1.LabelProvisioning}, Remove: []string{v1alpha1.LabelPendingReview, v1alpha1.LabelReady, v1alpha1.LabelFailed}},
	}
}

// recordMerge notes who merged and approved a Purrvision pull request and
// its merge commit on the store's issue, and labels it provisioning. It
// reads (readMerge), plans (planMerge), then applies (applyIssue): the
// labels and deployments, then the store issue's one ledger commit (the
// merge in its state, the delivered credentials live), then its comments.
func (p *Provisioner) recordMerge(ctx context.Context, pr *forge.PullRequest) error {
	log := logctx.From(ctx)
	log.Debug("handling a merge", "stage", stageRead, "pull", pr.Number)
	v, err := p.readMerge(ctx, pr)
	if err != nil || v == nil {
		return err
	}
	log.Debug("handling a merge", "stage", stagePlan)
	plan := p.planMerge(v)
	log.Debug("handling a merge", "stage", stageApply)
	if err := p.applyIssue(ctx, v.requestView, plan, ""); err != nil {
		return err
	}
	if p.moved != nil {
		p.moved(ctx)
	}
	if p.nudge != nil {
		if err := p.nudge(ctx); err != nil {
			log.Warn("asking Flux to fetch the tenants repo now", "error", err)
		}
	}
	return nil
}
