package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// ReconcileRequest brings a store-request issue to its desired state:
// invalid requests get one comment listing what to fix and the label
// store/invalid; valid ones get the branch store/<name> with the rendered
// store, one pull request, the label store/pending-review, a status comment
// linking the pull request, and the owner's credentials. Stores already
// merged are left to commands.
//
// A handling reads (readIssue, readStore), plans (PlanRequest and
// planIssue, inside the compare-and-swap push of the store's branch,
// which re-reads only the tenants tree), then applies (applyIssue), with
// no call to GitHub while it plans and one ledger commit.
func (p *Provisioner) ReconcileRequest(ctx context.Context, ref forge.IssueRef) error {
	log := logctx.From(ctx)
	log.Debug("handling a request", "stage", stageRead, "issue", ref.String())
	v, err := p.readIssue(ctx, ref)
	if err != nil || v == nil {
		return err
	}
	return p.reconcile(ctx, v, extra{})
}

// extra is what a command adds to the handling of its request (retry,
// rotate-credentials before the merge): its answer, recorded by the
// handling's one commit, and whether the credentials delivered are
// forgotten first.
type extra struct {
	Answer *AnswerPlan
	Forget bool
}

func (x extra) onto(plan *IssuePlan) *IssuePlan {
	plan.Answer, plan.Forget = x.Answer, x.Forget
	return plan
}

// reconcile plans and applies the handling of the request v read.
func (p *Provisioner) reconcile(ctx context.Context, v *requestView, x extra) error {
	log := logctx.From(ctx)
	ref := v.Issue.Ref
	if len(v.Problems) > 0 {
		log.Debug("handling a request", "stage", stageApply, "issue", ref.String())
		return p.applyIssue(ctx, v, x.onto(&IssuePlan{Validation: invalidRequestComment(v.Issue.Author, v.Problems), Labels: LabelChange{Add: []string{v1alpha1.LabelInvalid}}}), "")
	}
	name := v.Request.Metadata.Name
	ctx, log = logctx.With(ctx, "issue", ref.String(), "store", name)
	unlock := p.locks.Lock(name)
	defer unlock()
	if err := p.readStore(ctx, v); err != nil {
		return err
	}
	if refused := overLimit(v, p.cfg.Limits.OpenRequests()); refused != nil {
		// Not rendered: the store's branch is left as it is.
		log.Info("a request beyond its requester's limit of open requests", "requester", v.Issue.Author, "earlier", v.Earlier)
		log.Debug("handling a request", "stage", stageApply)
		return p.applyIssue(ctx, v, x.onto(refusedIssue(v, p.bot.Login(), []FieldError{*refused})), "")
	}
	log.Debug("handling a request", "stage", stagePlan)
	delivered := v.T.credentialsID()
	if x.Forget {
		delivered = ""
	}
	var plan *IssuePlan
	caughtUp := false
	res, err := p.repo.Update(ctx, v1alpha1.Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		caughtUp = false
		c := p.common(s, base, cur)
		rp, err := PlanRequest(RequestInput{Common: c, Request: v.Request, Issue: ref, Author: v.Issue.Author,
			Delivered: delivered, Claimed: v.Claimed, Recorded: v.T.recorded(), HeldBy: v.HeldBy})
		if err != nil {
			return nil, err
		}
		if plan, err = planIssue(v, rp, p.bot.Login()); err != nil {
			return nil, err
		}
		x.onto(plan)
		if rp.Merged && rp.Moved == "" {
			// A command's open branch the base moved past is brought
			// up to date with it.
			cu, err := PlanCatchUp(CatchUpInput{Common: c, Store: name, Issue: ref, Recorded: v.T.recorded(), Open: v.Pull != nil})
			if err != nil || cu == nil {
				return nil, err
			}
			pull := cu.Pull
			plan.Pull, caughtUp = &pull, true
			if plan.Check, err = PlanCheck(CheckInput{Config: p.cfg, Base: base, Head: headTree(s, base, cur, cu.Commit), Op: cu.Op, Stores: []string{name},
				StatusPage: p.cfg.StatusPage.URL, Placed: map[string]string{name: ""}}); err != nil {
				return nil, err
			}
			return p.commit(s, cu.Commit), nil
		}
		if plan.Pull != nil {
			head := headTree(s, base, cur, rp.Commit)
			if plan.Check, err = PlanCheck(CheckInput{Config: p.cfg, Base: base, Head: head, Op: v1alpha1.OpProvision, Stores: []string{name},
				StatusPage: p.cfg.StatusPage.URL, Placed: map[string]string{name: rp.Placement}}); err != nil {
				return nil, err
			}
		}
		return p.commit(s, rp.Commit), nil
	})
	if err != nil {
		return fmt.Errorf("committing store %s: %w", name, err)
	}
	log.Debug("handling a request", "stage", stageApply)
	if res.Pushed {
		log.Info("store branch pushed", "commit", res.Commit.String())
	}
	if plan.Status != nil {
		plan.Status.Branch = res.Commit.String()
	}
	plan.Ready = storeReady(res, v.T.recorded().Branch, plan.Pull)
	if caughtUp && res.Pushed {
		plan.Branch = res.Commit.String() // the command's branch, as the bot pushed it
	}
	return p.applyIssue(ctx, v, plan, res.Commit.String())
}

// The stages of a handling, as its debug log names them.
const (
	stageRead  = "read"
	stagePlan  = "plan"
	stageApply = "apply"
)

// headTree is the store branch's head once c is pushed: c's changes on
// its parent, or the branch as it is when there is no commit.
func headTree(s tenants.State, base, cur *tenants.Snapshot, c *CommitPlan) renderer.Tree {
	var parent renderer.Tree
	switch {
	case c != nil && !c.OnBranch:
		parent = base
	case s.BranchExists && cur != nil:
		parent = cur
	}
	if c == nil {
		return planned{Tree: parent}
	}
	return planned{Tree: parent, changes: c.Changes}
}

// common is what every planner reads of the tenants repo, from one
// attempt of tenants.Update.
func (p *Provisioner) common(s tenants.State, base, cur *tenants.Snapshot) Common {
	c := Common{Config: p.cfg, Base: base, BaseHead: s.BaseHead.String(), Rand: p.rand, Now: p.now(), Placer: p.placer.At(base, s.BaseHead),
		BackupCredentials: p.backupCreds}
	if s.BranchExists {
		c.Branch = BranchView{Exists: true, Head: s.BranchHead.String(), Tree: cur,
			Subject: subject(cur.Message()), Trailers: tenants.Trailers(cur.Message()), Merged: p.mergedInto(base, cur), Behind: behind(base, cur)}
	}
	return c
}

// commit turns a planned commit into a tenants.Plan on the right parent.
func (p *Provisioner) commit(s tenants.State, c *CommitPlan) *tenants.Plan {
	if c == nil {
		return nil
	}
	parent := s.BaseHead
	if c.OnBranch {
		parent = s.BranchHead
	}
	return &tenants.Plan{Parent: parent, Changes: c.Changes, Message: c.Message}
}

// mergedInto reports whether the branch head is already part of base.
func (p *Provisioner) mergedInto(base, branch *tenants.Snapshot) bool {
	if base.Hash() == "" || branch.Hash() == "" {
		return false
	}
	ok, err := branch.IsAncestorOf(base)
	return err == nil && ok
}

// subject is a commit message's first line.
func subject(message string) string {
	s, _, _ := strings.Cut(message, "\n")
	return s
}

// behind reports whether base's head is not part of branch: the base
// moved past it. Unknown (an empty snapshot, an error) is not behind.
func behind(base, branch *tenants.Snapshot) bool {
	if base.Hash() == "" || branch.Hash() == "" {
		return false
	}
	ok, err := base.IsAncestorOf(branch)
	return err == nil && !ok
}

// claims reports whether the issue ref still asks for store name: open,
// a store request, and its form naming the store.
func (p *Provisioner) claims(ctx context.Context, ref, name string) (bool, error) {
	r, err := forge.ParseIssueRef(ref)
	if err != nil {
		return false, nil // not ours to honour
	}
	is, err := p.gh.GetIssue(ctx, r)
	if errors.Is(err, forge.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !is.Open {
		return false, nil
	}
	if !is.HasLabel(v1alpha1.LabelRequest) {
		return true, nil // a request pull request's branch: its own
	}
	req, _ := ParseForm(is.Body, is.Author)
	return req != nil && req.Metadata.Name == name, nil
}
