package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/rollout"
)

// StartOptions are the flags of `purrvision rollout start`.
type StartOptions struct {
	// Waves and MaxFailures are as the flags give them; the defaults when
	// empty.
	Waves       string
	MaxFailures string
	Title       string
	// By names who started it, for the record.
	By string
	// From is the comment that asked for it, when a person did on an
	// issue (RunCommand); "" from the CLI.
	From string
}

// DefaultTitle is the title of a rollout started without --title.
const DefaultTitle = "move every store to today's config and chart"

// ErrOpen is returned by Start while another rollout is open.
var ErrOpen = errors.New("another rollout is open")

// OpenError says which rollout is open, and where it is.
type OpenError struct {
	Issue  forge.Issue
	ID     string
	Reason string
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("starting a rollout: rollout %s is open (%s) at %s; one rollout runs at a time: "+
		"wait until it is done, or stop it with `purrvision rollout abort` or `/purrvision rollout abort` on its issue", e.ID, e.Reason, e.Issue.URL)
}

func (e *OpenError) Unwrap() error { return ErrOpen }

// ErrNoLedger is returned by Start before the service has ever run on
// the tenants repo.
var ErrNoLedger = errors.New("starting a rollout: the ledger branch " + v1alpha1.LedgerBranch +
	" of the tenants repo does not exist yet; the service starts it when it first runs (purrvision serve), and follows rollouts from there")

// ErrNothing is returned by Start when no store would change.
var ErrNothing = errors.New("no store would change: nothing to roll out")

// Started is what Start did.
type Started struct {
	Issue *forge.Issue
	State *rollout.State
	Plan  *rollout.Plan
}

// Start plans the rollout, refuses while another is open, opens the
// tracking issue with the grouped plan and records the rollout under it,
// then opens wave 1's pull request.
func (r *Roller) Start(ctx context.Context, o StartOptions) (*Started, error) {
	c, err := o.check()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start(ctx, o, c)
}

// checkedStart is a StartOptions read: the waves, the failure budget and
// the title, defaults filled in.
type checkedStart struct {
	waves   rollout.Waves
	maxFail rollout.MaxFailures
	title   string
}

func (o StartOptions) check() (checkedStart, error) {
	if o.Waves == "" {
		o.Waves = rollout.DefaultWaves
	}
	if o.MaxFailures == "" {
		o.MaxFailures = rollout.DefaultMaxFailures
	}
	waves, err := rollout.ParseWaves(o.Waves)
	if err != nil {
		return checkedStart{}, err
	}
	maxFail, err := rollout.ParseMaxFailures(o.MaxFailures)
	if err != nil {
		return checkedStart{}, err
	}
	title := strings.TrimSpace(o.Title)
	if title == "" {
		title = DefaultTitle
	}
	return checkedStart{waves: waves, maxFail: maxFail, title: title}, nil
}

// start is Start with the options checked, r.mu held.
func (r *Roller) start(ctx context.Context, o StartOptions, c checkedStart) (*Started, error) {
	waves, maxFail, title := c.waves, c.maxFail, c.title
	if err := r.refuseOpen(ctx); err != nil {
		return nil, err
	}
	plan, err := r.plan(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok, err := r.repo.Head(v1alpha1.LedgerBranch); err != nil {
		return nil, err
	} else if !ok {
		// The rollout's state lives there; without it the service could
		// not follow the rollout.
		return nil, ErrNoLedger
	}
	if len(plan.Changes) == 0 {
		return &Started{Plan: plan}, ErrNothing
	}
	id, err := r.newID()
	if err != nil {
		return nil, err
	}
	st := &rollout.State{ID: id, Title: title, Waves: waves.String(), MaxFailures: maxFail.String(), Phase: rollout.Active,
		Fleet: plan.StoreNames(), Changes: rollout.Signatures(plan), Started: r.now(), StartedBy: o.By, StartedFrom: o.From}
	issueTitle := forge.KeepStart("Rollout "+id+": "+title, forge.MaxTitle)
	is, err := r.gh.CreateIssue(ctx, r.requests, issueTitle, issueBody(st, plan), v1alpha1.LabelRollout)
	if err != nil {
		return nil, fmt.Errorf("opening the tracking issue of rollout %s: %w", id, err)
	}
	t, err := r.ledger.Thread(ctx, r.gh, r.bot(), is.Ref, true)
	if err != nil {
		return nil, err
	}
	tr := &tracking{issue: is, thread: t, st: st}
	if err := r.save(ctx, tr, func(cur *rollout.State) (string, error) {
		*cur = *st
		return "rollout " + id + " started", nil
	}); err != nil {
		return nil, err
	}
	if err := r.yieldToOlder(ctx, tr); err != nil {
		return &Started{Issue: is, State: tr.st, Plan: plan}, err
	}
	if err := r.noteError(ctx, tr, r.openNext(ctx, tr, plan)); err != nil {
		return &Started{Issue: is, State: tr.st, Plan: plan}, err
	}
	return &Started{Issue: is, State: tr.st, Plan: plan}, nil
}

// refuseOpen returns an OpenError while a rollout is open.
func (r *Roller) refuseOpen(ctx context.Context) error {
	open, err := r.Open(ctx)
	if err != nil || len(open) == 0 {
		return err
	}
	is := open[0]
	e := &OpenError{Issue: is, ID: "?", Reason: "its state is not recorded yet"}
	tr, err := r.load(ctx, is.Ref, true)
	if err != nil {
		return err
	}
	if tr != nil {
		e.ID, e.Reason = tr.st.ID, string(tr.st.Phase)
		if tr.st.Reason != "" {
			e.Reason += ": " + tr.st.Reason
		}
	}
	return e
}

// issueBody is the tracking issue's description: what the rollout does,
// its waves and budget, the commands, and the grouped plan.
func issueBody(st *rollout.State, p *rollout.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Purrvision rolls out a re-render of every store with today's config and chart, keeping each store's Secrets as they are.\n\n")
	fmt.Fprintf(&b, "- Waves: `%s` (each a pull request in the tenants repo, labelled `%s`); the next opens by itself once the stores of the last are Ready at its revision.\n", st.Waves, v1alpha1.LabelRollout)
	fmt.Fprintf(&b, "- At most `%s` failed stores a wave; over that the rollout pauses (label `%s`).\n", st.MaxFailures, v1alpha1.LabelRolloutPaused)
	fmt.Fprintf(&b, "- Commands here, for people with write access: `/purrvision rollout resume`, `/purrvision rollout abort`, `/purrvision rollout revert <wave>`.\n\n")
	fmt.Fprintf(&b, "### Plan\n\n")
	head := b.String()
	return head + rollout.Markdown(p, forge.MaxBody-len(head)-100)
}

// yieldToOlder closes the rollout just started when another tracking
// issue, opened before it, is open too: two starts at once each found
// none open, and the older one goes on alone.
func (r *Roller) yieldToOlder(ctx context.Context, tr *tracking) error {
	open, err := r.Open(ctx)
	if err != nil {
		return err
	}
	for _, other := range open {
		if other.Ref.Number >= tr.ref().Number {
			continue
		}
		reason := "another rollout was started at the same time, in " + other.URL
		if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
			st.Phase, st.Reason = rollout.Aborted, reason
			return "aborted: " + reason, nil
		}); err != nil {
			return err
		}
		if err := r.table(ctx, tr); err != nil {
			return err
		}
		if err := r.gh.CloseIssue(ctx, tr.ref()); err != nil {
			return err
		}
		e := &OpenError{Issue: other, ID: "?", Reason: "started at the same time as this one, which was closed"}
		if o, err := r.load(ctx, other.Ref, true); err == nil && o != nil {
			e.ID = o.st.ID
		}
		return e
	}
	return nil
}
