package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/tenants"
)

// reportCheck makes the check run purrvision/plan of sha in the tenants
// repo say what plan says. The bot's own run is the one GitHub records as
// created by its App; a run of the same name by another App is never
// taken for it. A redelivered event finds the run as it should be and
// changes nothing; a run that says something else is updated, and a
// commit without one gets it.
func (p *Provisioner) reportCheck(ctx context.Context, sha string, plan *CheckPlan) error {
	err := p.writeCheck(ctx, sha, plan)
	if errors.Is(err, forge.ErrForbidden) {
		// A token, or an App without checks: write: the check run is the
		// plan's view; the commit status purrvision/validate, which branch
		// protection requires, is set already. The rest of the work goes on.
		logctx.From(ctx).Warn("the check run purrvision/plan cannot be written: grant the GitHub App checks: write", "sha", sha, "error", err)
		return nil
	}
	return err
}

func (p *Provisioner) writeCheck(ctx context.Context, sha string, plan *CheckPlan) error {
	return forge.WriteCheckRun(ctx, p.gh, p.tenants, p.bot, plan.Run(sha))
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

// reportStoreCheck reports the plan of the bot's own store pull request,
// at its branch head.
func (p *Provisioner) reportStoreCheck(ctx context.Context, base, head tenants.Hash, op, store, why string) error {
	plan, err := p.checkPlan(base, head, op, []string{store}, map[string]string{store: why})
	if err != nil {
		return err
	}
	return p.reportCheck(ctx, head.String(), plan)
}
