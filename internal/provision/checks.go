package provision

import (
	"context"
	"fmt"

	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/tenants"
)

// reportCheck makes the check run purrvision/plan of sha in the tenants
// repo say what plan says (apply.Bot.ReportCheck: the bot's own run,
// written only when it says something else). Without checks: write the
// run is skipped, and so is purrvision/ready (apply.Bot.WriteReady),
// which branch protection requires: the log says merges are blocked.
func (p *Provisioner) reportCheck(ctx context.Context, sha string, plan *CheckPlan) error {
	return p.applier().ReportCheck(ctx, p.gh, plan.Run(sha))
}

// requestReady is purrvision/ready of a request pull request's head: the
// very verdict of its status purrvision/validate, on the same commit
// (success iff the requests are valid and the head is the bot's render of
// them). A failure says what to fix with problems, the check's summary
// (neutralized: the status's description quotes paths as typed).
func requestReady(st forge.Status, problems string) *forge.CheckRun {
	if st.State != "success" {
		run := apply.Ready(st.SHA, false, "Not ready: the store requests are not valid", problems)
		return &run
	}
	run := apply.Ready(st.SHA, true, "Ready: "+st.Description,
		st.Description+". The head is exactly the store requests and Purrvision's render of them, as validated.")
	return &run
}

// refusedReady is purrvision/ready of a request pull request's head that
// is not validated at all (from a fork, too many commits): failure with
// the reason.
func refusedReady(sha, reason string) *forge.CheckRun {
	run := apply.Ready(sha, false, "Not ready: not validated", neutralize(reason))
	return &run
}

// storeReady is purrvision/ready of the head of a store's branch after a
// handling's compare-and-swap push: success only when it is the commit
// the bot recorded pushing there (recorded, from an earlier handling) or
// pushed just now (res); failure otherwise, saying so. pull is the store
// pull request the plan has; nil none, and so no verdict.
func storeReady(res tenants.Result, recorded string, pull *PullSpec) *forge.CheckRun {
	if pull == nil || res.Commit == "" {
		return nil
	}
	pushed := recorded
	if res.Pushed {
		pushed = res.Commit.String()
	}
	run := apply.BranchReady(res.Commit.String(), pushed, storeRender(pull.Store))
	return &run
}

// storeRender names what a store pull request's head is, the same for
// every handling, so a redelivery writes nothing.
func storeRender(store string) string { return "store " + store + "'s render" }

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
