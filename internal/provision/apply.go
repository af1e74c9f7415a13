package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// The applier of a request issue's plan. It writes on GitHub what is
// idempotent by itself first (closing pull requests, the pull request,
// labels, the check runs: each found and compared before it is written),
// then makes the handling's one ledger commit, write-ahead: the new
// state, the sealed credentials, the IDs of the posts earlier handlings
// made, and the nonces of the comments it is about to post; then it edits
// and posts the comments. A write that fails is recorded as the store's
// last error, shown on the status comment and the status page, and the
// handling is retried; the next commit that follows a success clears it.

// commentWrite is a comment of the bot's to edit (ID set) or post (with
// Nonce), or a reaction React to comment ID.
type commentWrite struct {
	Kind, Body string
	ID         int64
	Nonce      string
	React      string
}

// applyIssue writes plan, planned from v; sha is the store branch's head
// the check run goes on.
func (p *Provisioner) applyIssue(ctx context.Context, v *requestView, plan *IssuePlan, sha string) error {
	store := ""
	if v.Request != nil {
		store = v.Request.Metadata.Name
	}
	if plan.Merge != nil && plan.Merge.Store != "" {
		store = plan.Merge.Store
	}
	if plan.Merge != nil {
		for _, name := range plan.Merge.Holds {
			if err := p.ledger.Hold(ctx, name, v.Issue.Ref.String()); err != nil {
				return p.failed(ctx, v, store, "hold the name "+name, err)
			}
		}
	}
	for _, n := range plan.Close {
		logctx.From(ctx).Info("closing the pull request of a name another request took, or left", "pull", n)
		if err := p.gh.ClosePull(ctx, p.tenants, n); err != nil {
			return p.failed(ctx, v, store, "close pull request #"+fmt.Sprint(n), err)
		}
	}
	var pr *forge.PullRequest
	if plan.Pull != nil {
		var err error
		if pr, err = p.ensurePull(ctx, *plan.Pull); err != nil {
			return p.failed(ctx, v, store, "open the pull request", err)
		}
	}
	if err := p.setLabels(ctx, v.Issue.Ref, v.Issue.Labels, plan.Labels); err != nil {
		return p.failed(ctx, v, store, "label the issue", err)
	}
	if plan.CommitStatus != nil {
		// Before the check runs: earlier installs' branch protection
		// requires it.
		if err := p.applier().WriteStatus(ctx, p.gh, v.Issue.Ref.Repo, *plan.CommitStatus); err != nil {
			return p.failed(ctx, v, store, "set the status "+v1alpha1.StatusContext, err)
		}
	}
	if plan.Check != nil && sha != "" {
		if err := p.reportCheck(ctx, sha, plan.Check); err != nil {
			return p.failed(ctx, v, store, "report the check run", err)
		}
	}
	if plan.Ready != nil {
		if err := p.applier().WriteReady(ctx, p.gh, *plan.Ready); err != nil {
			return p.failed(ctx, v, store, "report the check run "+v1alpha1.ReadyCheckName, err)
		}
	}
	if plan.Merge != nil && len(plan.Merge.Deployments) > 0 {
		if err := p.applier().EnsureDeployments(ctx, p.gh, plan.Merge.Deployments); err != nil {
			return p.failed(ctx, v, store, "record the deployments", err)
		}
	}
	writes, err := p.commitIssue(ctx, v, plan, pr, nil)
	if err != nil {
		return err
	}
	if err := p.writeComments(ctx, v, writes); err != nil {
		return p.failed(ctx, v, store, "update its comments", err)
	}
	return nil
}

// failed records err, the failure of action, as the store's last error
// and shows it on the status comment; it returns err, so the handling is
// retried.
func (p *Provisioner) failed(ctx context.Context, v *requestView, store, action string, err error) error {
	last := &storestatus.LastError{Action: action, Message: forge.KeepStart(neutralize(forge.Message(err)), storestatus.MaxErrorMessage), At: p.now().UTC()}
	writes, cerr := p.commitIssue(ctx, v, &IssuePlan{Status: nil}, nil, &lastError{store: store, err: last})
	if cerr == nil {
		cerr = p.writeComments(ctx, v, writes)
	}
	if cerr != nil {
		logctx.From(ctx).Warn("recording the last error", "action", action, "error", cerr)
	}
	return fmt.Errorf("trying to %s: %w", action, err)
}

type lastError struct {
	store string
	err   *storestatus.LastError
}

// commitIssue makes the handling's one ledger commit (none when nothing
// changes) and returns the comment writes that follow it.
func (p *Provisioner) commitIssue(ctx context.Context, v *requestView, plan *IssuePlan, pr *forge.PullRequest, fail *lastError) ([]commentWrite, error) {
	t := v.T
	var writes []commentWrite
	rec, err := p.ledger.Update(ctx, t.Ref, func(r *ledger.Record) (string, error) {
		writes = nil
		before, err := json.Marshal(r)
		if err != nil {
			return "", err
		}
		var why []string
		for key, c := range v.Resolved {
			if _, pending := r.Pending[key]; pending {
				r.EndPost(key, c)
				why = append(why, fmt.Sprintf("its %s post is comment %d", key, c.ID))
			}
		}
		if plan.Forget {
			r.Forget()
			why = append(why, "credentials rotated before the merge: new ones follow")
		}
		st, hadStatus := r.State(), r.Status != nil
		showStatus, liveNow := false, ""
		if plan.Branch != "" && st.Store != "" && st.Branch != plan.Branch {
			// What the bot pushed, so the next change builds on it only
			// if nobody else pushed since.
			st.Branch = plan.Branch
			showStatus = true
		}
		switch {
		case fail != nil:
			if st.Store == "" {
				st.Store = fail.store
			}
			st.LastError = fail.err
			showStatus = st.Store != ""
			why = append(why, "could not "+fail.err.Action)
		case plan.Merge != nil:
			m := plan.Merge
			st.Pull, st.PullURL, st.Operation, st.MergeCommit, st.MergedBy, st.ApprovedBy = m.Merge.Pull, m.Merge.URL, m.Op, m.Merge.Commit, m.Merge.By, m.Merge.Approvers
			if m.Store != "" {
				st.Store = m.Store
			}
			if !st.Merges()[m.Merge.Commit] {
				st.RecordMerge(m.Line, m.Merge.Commit, p.now())
			}
			st.LastError = nil
			showStatus = true
			if c := r.Credentials; m.Op != CmdDecommission && c != nil && c.Delivered != "" && c.Live != c.Delivered {
				// The delivered credentials are the ones in use from this
				// merge on.
				r.Merged()
				why = append(why, fmt.Sprintf("credentials %s of %s in use: merged", c.Delivered, t.Ref))
				liveNow = st.Store
			}
		case plan.Status != nil:
			s := plan.Status
			st.Store, st.Cluster, st.Operation, st.URL, st.Branch = s.Store, s.Cluster, v1alpha1.OpProvision, s.URL, s.Branch
			if pr != nil {
				st.Pull, st.PullURL = pr.Number, pr.URL
			}
			st.Record(v1alpha1.PhasePendingReview, fmt.Sprintf("the request is valid; pull request %s creates the store", st.PullURL), "github", p.now())
			st.LastError = nil
			showStatus = true
		case st.LastError != nil && !plan.KeepError:
			st.LastError = nil // every write of this handling so far succeeded
			showStatus = true
		}
		if showStatus || hadStatus {
			old, _ := json.Marshal(r.Status)
			next := st.Bounded()
			now, _ := json.Marshal(next)
			if !bytes.Equal(old, now) {
				why = append(why, r.SetStatus(next))
			}
		}
		pullURL := ""
		if pr != nil {
			pullURL = pr.URL
		}
		bodies := map[string]string{}
		if plan.Validation != "" {
			bodies[ledger.KindValidation] = plan.Validation
		}
		if r.Status != nil && (showStatus || plan.Status != nil) {
			bodies[ledger.KindStatus] = p.statusBody(*r.Status)
		}
		seals := plan.Seals
		if plan.Sealed != nil {
			seals = append(seals[:len(seals):len(seals)], plan.Sealed)
		}
		if len(seals) > 0 {
			for _, s := range seals {
				r.Seal(s.ID, s.Armored)
				why = append(why, fmt.Sprintf("credentials %s of store %s sealed to @%s", s.ID, s.Store, s.Owner))
			}
			s, pull := seals[len(seals)-1], pullURL
			if s.Pull != "" {
				pull = s.Pull
			}
			bodies[ledger.KindCredentials] = credentialsComment(r.Credentials, s.Store, s.Owner, s.AdminURL, s.To, pull)
		} else if _, shown := t.Own[ledger.KindCredentials]; plan.Forget && shown {
			bodies[ledger.KindCredentials] = v1alpha1.MarkerCredentials + " id=0 -->\nThese credentials were rotated; new ones follow."
		} else if c := r.Credentials; liveNow != "" && c.Sealed[c.Delivered] != "" {
			// Shown anew: the generation in use from the merge on.
			bodies[ledger.KindCredentials] = credentialsComment(c, liveNow, v.Issue.Author, p.adminURL(t, liveNow), "your SSH keys on GitHub", "")
		} else if plan.ShowCredentials && plan.Status != nil {
			if c := r.Credentials; c != nil && c.Sealed[c.Delivered] != "" {
				shown, ok := t.Own[ledger.KindCredentials]
				if !ok || pullURL == "" || !strings.HasPrefix(shown.Body, fmt.Sprintf("%s id=%s -->", v1alpha1.MarkerCredentials, c.Delivered)) {
					bodies[ledger.KindCredentials] = credentialsComment(c, plan.Status.Store, v.Issue.Author, p.adminURL(t, plan.Status.Store), "your SSH keys on GitHub", pullURL)
				}
			}
		}
		kinds := make([]string, 0, len(bodies))
		for k := range bodies {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, kind := range kinds {
			body := bodies[kind]
			if c, ok := t.Own[kind]; ok {
				if c.Body != body && !strings.HasPrefix(c.Body, body+"\n") {
					writes = append(writes, commentWrite{Kind: kind, Body: body, ID: c.ID})
				}
				continue
			}
			if id, ok := r.Comments[kind]; ok && id != t.Record.Comments[kind] {
				continue // another worker posted one meanwhile: the next handling edits it
			}
			if v.posted[kind] {
				continue // tried already: the next handling finds it by its nonce, or posts it
			}
			nonce, err := ledger.NewNonce()
			if err != nil {
				return "", err
			}
			nonce = r.BeginPost(kind, nonce, p.now())
			writes = append(writes, commentWrite{Kind: kind, Body: body, Nonce: nonce})
			why = append(why, "posting its "+kind+" comment")
		}
		if a := plan.Answer; a != nil {
			w, answered, err := p.answer(v, r, a, pullURL)
			if err != nil {
				return "", err
			}
			if w != nil {
				writes = append(writes, *w)
			}
			if answered != "" {
				why = append(why, answered)
			}
		}
		after, err := json.Marshal(r)
		if err != nil {
			return "", err
		}
		if bytes.Equal(before, after) {
			return "", ledger.ErrUnchanged
		}
		if len(why) == 0 {
			why = append(why, "its record")
		}
		return strings.Join(why, "; "), nil
	})
	if err != nil {
		return nil, err
	}
	t.Record = rec
	return writes, nil
}

// answer records the answer to a command comment in r, the freshest
// record, compare-and-swap: answered once, and a person told once that
// they may not run commands. It returns the write that follows the
// commit (nil none) and why the record changed ("" it did not).
func (p *Provisioner) answer(v *requestView, r *ledger.Record, a *AnswerPlan, pullURL string) (*commentWrite, string, error) {
	key := replyKey(a.Comment)
	switch nonce, pending := r.Pending[key]; {
	case r.IsAnswered(a.Comment):
		if pending && v.T.Record.IsAnswered(a.Comment) {
			// Answered by an earlier handling whose reply did not reach
			// GitHub (Resolve did not find it): made again, with its nonce.
			return &commentWrite{Kind: key, Body: replyBody(a, pullURL), Nonce: nonce}, "", nil
		}
		return nil, "", nil // answered by another handling meanwhile
	case a.Denial && r.IsDenied(a.Author):
		return &commentWrite{ID: a.Comment, React: "-1"}, "", nil
	}
	nonce, err := ledger.NewNonce()
	if err != nil {
		return nil, "", err
	}
	r.Answer(a.Comment)
	nonce = r.BeginPost(key, nonce, p.now())
	why := fmt.Sprintf("answering comment %d", a.Comment)
	if a.Denial {
		r.Deny(a.Author)
		why += fmt.Sprintf(", telling %s once that they may not run commands", a.Author)
	}
	return &commentWrite{Kind: key, Body: replyBody(a, pullURL), Nonce: nonce}, why, nil
}

// writeComments edits and posts the comments the ledger commit planned.
// A post carries its nonce; its ID is recorded by the next handling.
func (p *Provisioner) writeComments(ctx context.Context, v *requestView, writes []commentWrite) error {
	t := v.T
	var errs []error
	for _, w := range writes {
		if w.React != "" {
			if err := p.gh.React(ctx, t.Ref.Repo, w.ID, w.React); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if w.ID != 0 {
			if err := p.gh.EditComment(ctx, t.Ref.Repo, w.ID, w.Body); err != nil {
				errs = append(errs, err)
				continue
			}
			c := t.Own[w.Kind]
			c.Body = w.Body
			t.Own[w.Kind] = c
			continue
		}
		if v.posted == nil {
			v.posted = map[string]bool{}
		}
		v.posted[w.Kind] = true
		c, err := p.gh.CreateComment(ctx, t.Ref, ledger.Stamp(w.Body, w.Nonce))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, isKind := ledger.Markers[w.Kind]; isKind {
			t.Own[w.Kind] = c
		}
		if v.Resolved == nil {
			v.Resolved = map[string]forge.Comment{}
		}
		v.Resolved[w.Kind] = c
	}
	return errors.Join(errs...)
}
