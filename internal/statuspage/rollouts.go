package statuspage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
)

// MaxRollouts is how many rollouts the page shows: the newest, open or
// ended.
const MaxRollouts = 5

// Rollout is a fleet rollout as the page shows it.
type Rollout struct {
	ID    string
	Title string
	// Phase is running, paused, done or aborted.
	Phase  string
	Reason string
	// Error is the rollout's last failed write, until it succeeds: "could
	// not open the pull request of wave 2: ..., retrying"; "" when none.
	Error    string
	Issue    string
	IssueURL string
	Started  time.Time
	// Stores is how many stores the plan changed at the start.
	Stores int
	Waves  []Wave
}

// Wave is one wave of a rollout.
type Wave struct {
	Number int
	// State is open, merged (being gated), settled or closed (without
	// merge).
	State   string
	Stores  int
	Ready   int
	Failed  []string
	Pull    int
	PullURL string
}

// RolloutLister lists the newest rollouts, newest first. A Source that is
// one gets a rollouts section on the page.
type RolloutLister interface {
	Rollouts(ctx context.Context) ([]Rollout, error)
}

// Rollouts implements RolloutLister. It reads what the ledger records
// under the newest MaxRollouts tracking issues of the requests repo; the
// tracking issues are those the comment index saw the bot's table of waves
// on. It asks GitHub nothing itself: Stores, which the page calls first,
// brings the index and the tenants clone up to date.
func (s *RepoSource) Rollouts(ctx context.Context) ([]Rollout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	requests, err := forge.ParseRepo(s.Config.GitHub.Repo)
	if err != nil {
		return nil, fmt.Errorf("listing rollouts: github.repo: %w", err)
	}
	idx := s.indexes[requests]
	if idx == nil {
		return []Rollout{}, nil
	}
	issues := make([]int, 0, len(idx.rollouts))
	for n := range idx.rollouts {
		issues = append(issues, n)
	}
	slices.Sort(issues)
	slices.Reverse(issues)
	out := []Rollout{}
	for _, n := range issues {
		if len(out) == MaxRollouts {
			break
		}
		ref := forge.IssueRef{Repo: requests, Number: n}
		rec, _, err := s.Ledger.Read(ctx, ref, false)
		if refused := (*ledger.RefusedError)(nil); errors.As(err, &refused) {
			continue // listed by Refused
		} else if err != nil {
			return nil, err
		}
		st, err := fleet.Decode(rec)
		if err != nil {
			return nil, err
		}
		if st == nil || st.ID == "" {
			continue
		}
		out = append(out, rolloutOf(st, ref, idx.issueURL[n]))
	}
	return out, nil
}

func rolloutOf(st *rollout.State, ref forge.IssueRef, url string) Rollout {
	r := Rollout{ID: st.ID, Title: st.Title, Phase: phaseName(st.Phase), Reason: st.Reason, Issue: ref.String(), IssueURL: url,
		Started: st.Started, Stores: len(st.Fleet)}
	if st.LastError != nil {
		r.Error = st.LastError.String()
	}
	for _, w := range st.WaveList {
		v := Wave{Number: w.Number, Stores: len(w.Stores), Ready: w.Ready, Pull: w.Pull, PullURL: w.URL}
		for _, f := range w.Failed {
			v.Failed = append(v.Failed, f.Store)
		}
		switch {
		case w.Closed:
			v.State = "closed"
		case w.MergeCommit == "":
			v.State = "open"
		case w.Settled.IsZero():
			v.State = "merged"
		default:
			v.State = "settled"
		}
		r.Waves = append(r.Waves, v)
	}
	return r
}

// phaseName is how the page names a rollout's phase.
func phaseName(p rollout.Phase) string {
	if p == rollout.Active {
		return "running"
	}
	return string(p)
}
