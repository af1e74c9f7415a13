package provision

import (
	"context"
	"fmt"

	"github.com/purrvision/purrvision/tenants"
)

// reportCheck makes the check run purrvision/plan of sha in the tenants
// repo say what plan says (apply.Bot.ReportCheck: the bot's own run,
// written only when it says something else). Without checks: write the
// run is skipped: the commit status purrvision/validate, which branch
// protection requires, is set already.
func (p *Provisioner) reportCheck(ctx context.Context, sha string, plan *CheckPlan) error {
	return p.applier().ReportCheck(ctx, p.gh, plan.Run(sha))
}

// checkPlan reads the base branch and head from the tenants clone and
// plans the check of what merging head would do to stores.
func (p *Provisioner) checkPlan(base, head tenants.Hash, op string, stores []string, placed map[string]string) (*CheckPlan, error) {
	baseTree, err := p.repo.Snapshot(base)
	if err != nil {
		return nil, fmt.Errorf("reading the base branch at %s for the check: %w", base, err)
	}
	headTree, err := p.repo.Snapshot(head)
	if err != nil {
		return nil, fmt.Errorf("reading %s for the check: %w", head, err)
	}
	return PlanCheck(CheckInput{Config: p.cfg, Base: baseTree, Head: headTree, Op: op, Stores: stores, StatusPage: p.cfg.StatusPage.URL, Placed: placed})
}
