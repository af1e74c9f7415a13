package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/tenants"
)

// ErrUnread is returned by a planner asked about something its read model
// did not read (the branch moved to another request between the read and
// the plan): the handling is tried again, reading afresh.
var ErrUnread = errors.New("not read before planning: handled again")

// requestView is what one handling of a store-request issue reads, up
// front and read-only, in the spirit of policy-bot's pull.Context: the
// issue, its ledger record and the bot's own comments, the name's hold,
// the other requests a store branch names, the owner's keys, the open
// pull requests of the store and the requester's other open requests.
// The planners read it and nothing else of GitHub; a compare-and-swap
// retry of the push re-reads only the tenants tree.
type requestView struct {
	Issue *forge.Issue
	T     *thread
	// Resolved are the pending posts of earlier handlings found on the
	// issue, by key: recorded by this handling's commit.
	Resolved map[string]forge.Comment
	Request  *v1alpha1.StoreRequest
	Problems []FieldError
	HeldBy   string
	// Claimed says of the request the store's branch names whether it
	// still asks for the store (see RequestInput.Claimed).
	Claimed map[string]bool
	// Keys are the owner's public SSH keys on GitHub.
	Keys []string
	// Pull is the open pull request of the store's branch; Superseded the
	// one of the name the issue asked for before. Nil when none.
	Pull, Superseded *forge.PullRequest
	// Earlier counts the requester's store requests open and not merged,
	// filed before this one (GitHub's record of who opened them).
	Earlier int
	// posted are the kinds of comment this handling tried to post: one
	// that failed may have reached GitHub all the same, so it is not
	// posted again before the next handling looks for it by its nonce.
	posted map[string]bool
}

// readIssue reads the issue, its ledger record, the bot's comments it
// names and the pending posts of earlier handlings; nil when the issue is
// not an open store request.
func (p *Provisioner) readIssue(ctx context.Context, ref forge.IssueRef) (*requestView, error) {
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !issue.Open {
		return nil, nil
	}
	return p.readRequest(ctx, issue, nil)
}

// readRequest reads what readIssue does of an issue read already, open or
// closed; nil when it is not a store request. It resolves the pending
// posts whose key want accepts (nil: all of them).
func (p *Provisioner) readRequest(ctx context.Context, issue *forge.Issue, want func(key string) bool) (*requestView, error) {
	if !issue.HasLabel(v1alpha1.LabelRequest) {
		return nil, nil
	}
	v, err := p.readRecord(ctx, issue, want)
	if err != nil {
		return nil, err
	}
	v.Request, v.Problems = checkRequest(p.cfg, issue.Body, issue.Author)
	return v, nil
}

// readRecord reads an issue's (or pull request's) ledger record, the
// bot's comments it names, and the pending posts whose key want accepts
// (nil: all of them): the read model of any handling that writes it.
func (p *Provisioner) readRecord(ctx context.Context, issue *forge.Issue, want func(key string) bool) (*requestView, error) {
	t, err := p.readThread(ctx, issue.Ref)
	if err != nil {
		return nil, err
	}
	resolved, err := p.ledger.ResolveOnly(ctx, p.gh, t.Thread, want)
	if err != nil {
		return nil, err
	}
	if resolved == nil {
		resolved = map[string]forge.Comment{} // the applier adds the posts it makes
	}
	return &requestView{Issue: issue, T: t, Resolved: resolved, Claimed: map[string]bool{}}, nil
}

// readStore reads what planning the valid request of v needs of GitHub
// and the ledger, under the store's lock.
func (p *Provisioner) readStore(ctx context.Context, v *requestView) error {
	name := v.Request.Metadata.Name
	var err error
	if v.HeldBy, err = p.ledger.Held(ctx, name, false); err != nil { // fetched with the thread
		return err
	}
	if v.Earlier, err = p.earlierRequests(ctx, v.Issue); err != nil {
		return err
	}
	head, ok, err := p.repo.Head(v1alpha1.Branch(name))
	if err != nil {
		return err
	}
	if ok {
		snap, err := p.repo.Snapshot(head)
		if err != nil {
			return fmt.Errorf("reading branch %s: %w", v1alpha1.Branch(name), err)
		}
		if owner := tenants.Trailers(snap.Message())[v1alpha1.TrailerIssue]; owner != v.Issue.Ref.String() {
			if v.Claimed[owner], err = p.claims(ctx, owner, name); err != nil {
				return err
			}
		}
	}
	if v.Pull, err = p.applier().FindPull(ctx, p.gh, v1alpha1.Branch(name), ""); err != nil {
		return err
	}
	if rec := v.T.recorded(); rec.Store != "" && rec.Store != name && rec.MergedOp == "" {
		if v.Superseded, err = p.applier().FindPull(ctx, p.gh, v1alpha1.Branch(rec.Store), ""); err != nil {
			return err
		}
	}
	if v.Keys, err = p.gh.SSHKeys(ctx, v.Issue.Author); err != nil {
		return err
	}
	return nil
}

// earlierRequests counts the requester's store requests that are open,
// not merged (as the ledger records), and filed before issue; 0 without
// a limit to check.
func (p *Provisioner) earlierRequests(ctx context.Context, issue *forge.Issue) (int, error) {
	if p.cfg.Limits.OpenRequests() == 0 {
		return 0, nil
	}
	open, err := p.gh.ListOpenIssues(ctx, p.requests, v1alpha1.LabelRequest)
	if err != nil {
		return 0, fmt.Errorf("counting the open requests of %s: %w", issue.Author, err)
	}
	n := 0
	for _, is := range open {
		if is.Author != issue.Author || is.Ref.Repo != issue.Ref.Repo || is.Ref.Number >= issue.Ref.Number {
			continue
		}
		rec, _, err := p.ledger.Read(ctx, is.Ref, false)
		if err != nil {
			return 0, err
		}
		if rec.State().MergeCommit == "" {
			n++
		}
	}
	return n, nil
}
