package statuspage

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// RepoCommentLister is what the status page reads of GitHub.
type RepoCommentLister interface {
	// ListRepoComments returns the comments of repo updated at or after
	// since, least recently updated first.
	ListRepoComments(ctx context.Context, repo forge.Repo, since time.Time) ([]forge.Comment, error)
}

// RepoSource lists the stores on the tenants repo's branch, with what
// Purrvision recorded in each store's progress comment: the same data as
// `purrvision audit`.
//
// Its cost does not grow with the number of stores. The store list is read
// again only when the branch moves, and the progress comments come from an
// index per request repository that each refresh brings up to date with one
// listing of the comments changed since the last one: one GitHub call per
// repository, plus a page for every further 100 changed comments. The first
// refresh reads every comment of each repository once, and so does a refresh
// every RelistEvery, to forget deleted comments.
type RepoSource struct {
	Config *config.Config
	Repo   *tenants.Repo
	// Ledger is the service's ledger, on Repo; a record it refuses leaves
	// the store's row as the tenants repo has it, and is listed on its own.
	Ledger *ledger.Ledger
	GitHub RepoCommentLister
	// Bot is the login the bot acts as, which the service learns at
	// start: only its comments mark a rollout's tracking issue.
	Bot *forge.Identity
	// RelistEvery is how often the index is read again from scratch, which
	// forgets deleted comments (a listing by update time cannot show them);
	// 6 hours when 0.
	RelistEvery time.Duration
	// Now is time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	head    tenants.Hash      // the tenants commit rows were read from
	snap    *tenants.Snapshot // its tree
	rows    []row
	indexes map[forge.Repo]*commentIndex
	// indexedAs is the bot's login the indexes were read as: they are
	// read again from scratch when it changes (learned at start).
	indexedAs string
	// pending are the requests in progress the ledger recorded at
	// pendingHead (Requests).
	pending     []pending
	pendingHead tenants.Hash
	// tracker follows each cluster's use along the branch (Clusters).
	tracker *placement.Tracker
	// trackedTree, when set, wraps the tree the tracker reads (tests
	// count its reads).
	trackedTree func(renderer.Tree) renderer.Tree
}

// row is a store as the tenants repo has it.
type row struct {
	store Store
	issue forge.IssueRef // zero when the request names no issue
}

// commentIndex is what a request repository's comments say of its stores.
type commentIndex struct {
	// since is where the next listing starts: a little before the newest
	// comment listed by GitHub's clock, so nothing updated in the same
	// second, or listed a little late, is missed (reading a comment again is
	// harmless); it stays put while nothing changes.
	since    time.Time
	issueURL map[int]string // each issue's page, from any comment on it
	listed   time.Time      // when it was last read from scratch, by our clock
	// rollouts are the tracking issues of rollouts: those the bot's table
	// of waves is on.
	rollouts map[int]bool
}

func newIndex() *commentIndex {
	return &commentIndex{issueURL: map[int]string{}, rollouts: map[int]bool{}}
}

// overlap is how far before the last listing the next one starts.
const overlap = time.Minute

// Stores implements Source.
func (s *RepoSource) Stores(ctx context.Context) ([]Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.readRows(ctx)
	if err != nil {
		return nil, err
	}
	if bot := s.Bot.Login(); s.indexes == nil || bot != s.indexedAs {
		s.indexes, s.indexedAs = map[forge.Repo]*commentIndex{}, bot
	}
	for _, r := range rows {
		if r.issue.Number == 0 || s.indexes[r.issue.Repo] != nil {
			continue
		}
		s.indexes[r.issue.Repo] = newIndex()
	}
	// The requests repo holds the rollouts' tracking issues, with or
	// without stores.
	if requests, err := forge.ParseRepo(s.Config.GitHub.Repo); err == nil && s.indexes[requests] == nil {
		s.indexes[requests] = newIndex()
	}
	if s.GitHub != nil {
		for repo, idx := range s.indexes {
			if err := s.refresh(ctx, repo, idx); err != nil {
				return nil, err
			}
		}
	}
	out := make([]Store, len(rows))
	for i, r := range rows {
		out[i] = r.store
		if r.issue.Number != 0 {
			if err := s.fill(ctx, &out[i], r.issue); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readRows lists the stores on the branch, reusing the last list while the
// branch has not moved.
func (s *RepoSource) readRows(ctx context.Context) ([]row, error) {
	if err := s.Repo.Fetch(ctx); err != nil {
		return nil, err
	}
	head, ok, err := s.Repo.Head(s.Config.TenantsRepo.Branch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	if head == s.head && s.rows != nil {
		return s.rows, nil
	}
	snap, err := s.Repo.Snapshot(head)
	if err != nil {
		return nil, err
	}
	rows := []row{}
	for _, cl := range s.Config.ClusterNames() {
		domain := s.Config.ClusterSettings(cl).BaseDomain
		dirs, err := renderer.StoreDirs(s.Config, snap, cl)
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			req, err := renderer.RequestCopy(snap, dir)
			if err != nil {
				return nil, err
			}
			if req == nil {
				continue
			}
			// The store is its folder's (what Flux applies there); a copy
			// that names another store says nothing of that one.
			name := path.Base(dir)
			r := row{store: Store{Name: name, Cluster: cl, Plan: req.Spec.Plan, Requester: req.Spec.Owner,
				URL: v1alpha1.URL(name, domain), Phase: v1alpha1.PhaseUnknown}}
			if req.Metadata.Name != name {
				r.store.Note = fmt.Sprintf("its request copy names store %q, not its folder's", forge.KeepStart(req.Metadata.Name, 64))
			} else if ref, err := forge.ParseIssueRef(req.Metadata.Annotations[v1alpha1.AnnotationIssue]); err == nil {
				r.issue = ref
				r.store.Issue = ref.String()
			}
			rows = append(rows, r)
		}
	}
	s.head, s.snap, s.rows = head, snap, rows
	return rows, nil
}

// refresh brings idx up to date with the comments of repo changed since
// the last refresh. On an error idx keeps what it had, and the next refresh
// asks for the same comments again.
func (s *RepoSource) refresh(ctx context.Context, repo forge.Repo, idx *commentIndex) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	every := s.RelistEvery
	if every == 0 {
		every = 6 * time.Hour
	}
	since := idx.since
	if !idx.listed.IsZero() && now().Sub(idx.listed) >= every {
		since = time.Time{}
	}
	comments, err := s.GitHub.ListRepoComments(ctx, repo, since)
	if err != nil {
		return err
	}
	if since.IsZero() {
		*idx = *newIndex()
		idx.listed = now()
	}
	var newest time.Time
	for _, c := range comments {
		if c.Issue == 0 {
			continue
		}
		if u, _, _ := strings.Cut(c.URL, "#"); u != "" {
			idx.issueURL[c.Issue] = u
		}
		if bot := s.indexedAs; c.Author == bot && bot != "" && v1alpha1.Marked(c.Body, v1alpha1.MarkerRollout) {
			idx.rollouts[c.Issue] = true
		}
		if c.UpdatedAt.After(newest) {
			newest = c.UpdatedAt
		}
	}
	// The next listing starts a little before the newest comment listed,
	// not before the time of this listing: while nothing changes it asks
	// the same question, which GitHub answers 304 Not Modified from the
	// client's ETag, at no cost to the rate limit.
	if since := newest.Add(-overlap); !newest.IsZero() && since.After(idx.since) {
		idx.since = since
	}
	return nil
}

// fill adds to st what the progress comment of its issue says: the one
// whose ID the ledger recorded, as fetched with the tenants repo.
func (s *RepoSource) fill(ctx context.Context, st *Store, issue forge.IssueRef) error {
	idx := s.indexes[issue.Repo]
	if idx == nil {
		return nil
	}
	st.IssueURL = idx.issueURL[issue.Number]
	rec, _, err := s.Ledger.Read(ctx, issue, false)
	if refused := (*ledger.RefusedError)(nil); errors.As(err, &refused) {
		return nil // listed by Refused
	}
	if err != nil || rec.Status == nil {
		return err
	}
	state := *rec.Status
	if why := notItsRecord(st, state); why != "" {
		// A request copy names the issue, but the bot's record of that
		// issue is of another store: a copy merged by hand, or a store
		// put back after its decommission. A store is its issue, not its
		// name, and one store's timeline is never shown as another's.
		st.Note = why
		return nil
	}
	if state.Phase != "" {
		st.Phase = state.Phase
	}
	st.PullURL = state.PullURL
	st.Timeline = state.Timeline
	st.Omitted = state.Omitted
	if e := state.Bounded().LastError; e != nil {
		st.LastError = e.Text()
	}
	return nil
}

// notItsRecord says why the bot's record of a store's issue is not of the
// store a request copy on the base branch names it for; "" when it is.
func notItsRecord(st *Store, rec storestatus.State) string {
	switch {
	case rec.Store != "" && rec.Store != st.Name:
		return fmt.Sprintf("Purrvision recorded issue %s for store %s, not this one", st.Issue, forge.KeepStart(rec.Store, 64))
	case rec.Phase == v1alpha1.PhaseDecommissioned || rec.Operation == v1alpha1.OpDecommission:
		return fmt.Sprintf("Purrvision recorded the store of issue %s as decommissioned; this folder is not its record", st.Issue)
	}
	return ""
}

// Refused lists the ledger files the service refused to read as state.
func (s *RepoSource) Refused() []Refused {
	var out []Refused
	for _, r := range s.Ledger.Refused() {
		out = append(out, Refused{File: r.File, Reason: r.Reason.Describe()})
	}
	return out
}
