package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

// ReconcileRequest brings a store-request issue to its desired state:
// invalid requests get one comment listing what to fix and the label
// store/invalid; valid ones get the branch store/<name> with the rendered
// store, one pull request, the label store/pending-review, a status comment
// linking the pull request, and the owner's credentials. Stores already
// merged are left to commands.
func (p *Provisioner) ReconcileRequest(ctx context.Context, ref forge.IssueRef) error {
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	if !issue.Open || !issue.HasLabel(v1alpha1.LabelRequest) {
		return nil
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	req, problems := checkRequest(p.cfg, issue.Body, issue.Author)
	if len(problems) > 0 {
		return p.reportInvalid(ctx, issue, t, problems)
	}
	name := req.Metadata.Name
	ctx, log := logctx.With(ctx, "issue", ref.String(), "store", name)
	unlock := p.locks.Lock(name)
	defer unlock()

	heldBy, err := p.ledger.Held(ctx, name, false) // fetched with the thread
	if err != nil {
		return err
	}
	var plan *RequestPlan
	var baseAt tenants.Hash
	res, err := p.repo.Update(ctx, v1alpha1.Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		var err error
		baseAt = s.BaseHead
		plan, err = PlanRequest(RequestInput{Common: p.common(s, base, cur), Request: req, Issue: ref, Author: issue.Author,
			Delivered: t.credentialsID(), Claims: func(owner string) (bool, error) { return p.claims(ctx, owner, name) }, Recorded: t.recorded(), HeldBy: heldBy})
		if err != nil {
			return nil, err
		}
		return p.commit(s, plan.Commit), nil
	})
	if err != nil {
		return fmt.Errorf("committing store %s: %w", name, err)
	}
	if plan.Decommissioned {
		return nil // final: the watcher closes the issue once the store is gone
	}
	if plan.Renamed != "" {
		return p.upsert(ctx, t, ledger.KindValidation, renamedComment(issue.Author, plan.Renamed))
	}
	if plan.Moved != "" {
		return p.upsert(ctx, t, ledger.KindValidation, movedComment(issue.Author, plan.Moved))
	}
	if plan.Unplaced != nil {
		if err := p.closeOwnPull(ctx, t, name); err != nil {
			return err
		}
		return p.reportInvalid(ctx, issue, t, []FieldError{*plan.Unplaced})
	}
	if plan.TakenBy != "" {
		if err := p.closeOwnPull(ctx, t, name); err != nil {
			return err
		}
		msg := fmt.Sprintf("%q is already taken by the request in %s; choose another name", name, plan.TakenBy)
		if plan.Draining {
			msg = fmt.Sprintf("%q belonged to the store of %s, which is being decommissioned; the name is free again once that store's Namespace is gone. Choose another name, or edit this form again later", name, plan.TakenBy)
		}
		return p.reportInvalid(ctx, issue, t, []FieldError{{Field: FormName, Msg: msg}})
	}
	if err := p.clearInvalid(ctx, issue, t); err != nil {
		return err
	}
	if plan.Merged {
		return nil
	}
	if res.Pushed {
		log.Info("store branch pushed", "commit", res.Commit.String())
	}
	if err := p.closeSuperseded(ctx, t, name); err != nil {
		return err
	}
	pr, err := p.ensurePull(ctx, plan.Pull)
	if err != nil {
		return err
	}
	if err := p.setLabels(ctx, ref, issue.Labels, plan.Labels); err != nil {
		return err
	}
	if err := p.putStatus(ctx, t, func(st *storestatus.State) {
		st.Store, st.Cluster, st.Pull, st.PullURL, st.Operation = name, plan.Cluster, pr.Number, pr.URL, v1alpha1.OpProvision
		st.URL = plan.URL
		st.Branch = res.Commit.String()
		st.Record(v1alpha1.PhasePendingReview, fmt.Sprintf("the request is valid; pull request %s creates the store", pr.URL), "github", p.now())
	}); err != nil {
		return err
	}
	if plan.Seal != nil {
		if err := p.deliverCredentials(ctx, t, issue.Author, *plan.Seal, pr.URL); err != nil {
			return err
		}
	} else if err := p.showCredentials(ctx, t, name, issue.Author, pr.URL); err != nil {
		// Sealed and recorded, but the comment may not have been posted
		// (a failure in between): show it from the ledger.
		return err
	}
	// Last: what the requester needs does not wait on the Checks API.
	return p.reportStoreCheck(ctx, baseAt, res.Commit, v1alpha1.OpProvision, name, plan.Placement)
}

// common is what every planner reads of the tenants repo, from one
// attempt of tenants.Update.
func (p *Provisioner) common(s tenants.State, base, cur *tenants.Snapshot) Common {
	c := Common{Config: p.cfg, Base: base, BaseHead: s.BaseHead.String(), Rand: p.rand, Now: p.now(), Placer: p.placer.At(base, s.BaseHead)}
	if s.BranchExists {
		c.Branch = BranchView{Exists: true, Head: s.BranchHead.String(), Tree: cur,
			Trailers: tenants.Trailers(cur.Message()), Merged: p.mergedInto(base, cur)}
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

// closeOwnPull closes the bot's open pull request of store name that this
// issue opened: the name is another request's now.
func (p *Provisioner) closeOwnPull(ctx context.Context, t *thread, name string) error {
	pr, err := p.applier().ClosePull(ctx, p.gh, v1alpha1.Branch(name), func(pr *forge.PullRequest) bool {
		ref, _, ok := ParsePullMarker(pr.Body)
		return !ok || ref != t.Ref
	})
	if err == nil && pr != nil {
		logctx.From(ctx).Info("closed the pull request of a name another request took", "pull", pr.Number)
	}
	return err
}

// closeSuperseded closes the bot's open pull request for the store an
// issue asked for before its name was edited (before any merge): one issue
// has one pull request, and an old name is not held.
func (p *Provisioner) closeSuperseded(ctx context.Context, t *thread, name string) error {
	rec := t.recorded()
	if rec.Store == "" || rec.Store == name || rec.MergedOp != "" {
		return nil
	}
	return p.closeOwnPull(ctx, t, rec.Store)
}

func (p *Provisioner) reportInvalid(ctx context.Context, issue *forge.Issue, t *thread, problems []FieldError) error {
	if err := p.upsert(ctx, t, ledger.KindValidation, invalidRequestComment(issue.Author, problems)); err != nil {
		return err
	}
	return p.setLabels(ctx, issue.Ref, issue.Labels, LabelChange{Add: []string{v1alpha1.LabelInvalid}})
}

// clearInvalid marks an earlier validation comment resolved and drops the
// store/invalid label.
func (p *Provisioner) clearInvalid(ctx context.Context, issue *forge.Issue, t *thread) error {
	if c, ok := t.Own[ledger.KindValidation]; ok && !strings.Contains(c.Body, "resolved") {
		if err := p.upsert(ctx, t, ledger.KindValidation, v1alpha1.MarkerValidation+"\nThe request is valid now (resolved)."); err != nil {
			return err
		}
	}
	return p.setLabels(ctx, issue.Ref, issue.Labels, LabelChange{Remove: []string{v1alpha1.LabelInvalid}})
}
