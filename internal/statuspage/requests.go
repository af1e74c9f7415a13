package statuspage

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
)

// MaxRequests is how many requests in progress the page shows, the
// oldest issues first.
const MaxRequests = 100

// Request is a store request the bot is working on: recorded in the
// ledger, its store not on the base branch yet.
type Request struct {
	Issue    string
	IssueURL string
	Store    string
	Cluster  string
	// Phase is pending-review once its pull request is open; "" before.
	Phase   v1alpha1.Phase
	PullURL string
	// LastError is the bot's write that keeps failing ("could not open
	// the pull request: ..., retrying"); "" when none.
	LastError string
}

// RequestLister lists the requests in progress. A Source that is one gets
// a section of them on the page.
type RequestLister interface {
	// Requests returns at most MaxRequests of them and how many there are.
	Requests(ctx context.Context) ([]Request, int, error)
}

// pending is a request in progress as the ledger records it.
type pending struct {
	ref forge.IssueRef
	req Request
}

// Requests implements RequestLister: the ledger's records of store
// requests not merged yet (no phase, or pending review) whose issue no
// store on the base branch names. It asks GitHub nothing itself: Stores,
// which the page calls first, brings the index and the tenants clone up to
// date, and the records are read again only when the ledger branch moves.
//
// The bot does not record that an issue was closed: a request closed
// without a merge stays listed until its record says otherwise.
func (s *RepoSource) Requests(ctx context.Context) ([]Request, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok, err := s.Repo.Head(v1alpha1.LedgerBranch)
	if err != nil {
		return nil, 0, fmt.Errorf("listing the requests in progress: %w", err)
	}
	if !ok {
		return []Request{}, 0, nil
	}
	if head != s.pendingHead || s.pending == nil {
		if s.pending, err = s.readPending(); err != nil {
			return nil, 0, fmt.Errorf("listing the requests in progress: %w", err)
		}
		s.pendingHead = head
	}
	merged := map[string]bool{}
	for _, r := range s.rows {
		if r.issue.Number != 0 {
			merged[r.issue.String()] = true
		}
	}
	out, n := []Request{}, 0
	for _, p := range s.pending {
		if merged[p.req.Issue] {
			continue
		}
		if n++; len(out) == MaxRequests {
			continue
		}
		r := p.req
		if idx := s.indexes[p.ref.Repo]; idx != nil {
			r.IssueURL = idx.issueURL[p.ref.Number]
		}
		out = append(out, r)
	}
	return out, n, nil
}

// readPending reads every record of a request not merged from the ledger,
// as last fetched, by issue.
func (s *RepoSource) readPending() ([]pending, error) {
	out := []pending{}
	err := s.Ledger.Each(`"status"`, func(ref string, rec ledger.Record) error {
		st := rec.Status
		if st == nil || len(rec.Rollout) > 0 || st.Store == "" || (st.Phase != "" && st.Phase != v1alpha1.PhasePendingReview) {
			return nil
		}
		r, err := forge.ParseIssueRef(ref)
		if err != nil {
			return nil // not a file the bot names
		}
		p := pending{ref: r, req: Request{Issue: ref, Store: st.Store, Cluster: st.Cluster, Phase: st.Phase, PullURL: st.PullURL}}
		if e := st.Bounded().LastError; e != nil {
			p.req.LastError = e.Text()
		}
		out = append(out, p)
		return nil
	})
	slices.SortFunc(out, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.ref.Repo.String(), b.ref.Repo.String()), cmp.Compare(a.ref.Number, b.ref.Number))
	})
	return out, err
}
