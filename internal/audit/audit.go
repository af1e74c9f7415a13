// Package audit joins a store's history into one timeline: the commits of
// the tenants repo that touched it (who requested, who approved, what
// changed) and what Purrvision recorded on its issue from GitHub and the
// cluster, each with its time and source.
//
// A store is its issue and owner, not its name: a name reused after a
// decommission is another store. The audit of a name shows each store that
// bore it apart, under its own issue, and credits a merge to a store only
// for what the bot recorded that merge doing to that store, at the commit
// the bot pushed.
package audit

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

// Entry is one line of the timeline.
type Entry struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"` // git, github or cluster
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
	Ref     string    `json:"ref,omitempty"` // commit or issue
	// Cluster is the cluster the store was on: where the commit's folder
	// is, or what the bot recorded.
	Cluster string `json:"cluster,omitempty"`
	// Issue is the store the entry is of: the issue its request copy
	// names ("" for commits before any request copy of the name).
	Issue string `json:"issue,omitempty"`
	// Owner is that store's owner, as its request copy names it.
	Owner string `json:"owner,omitempty"`
}

// Identity is who a store is at one commit of the tenants repo, from its
// request copy there: its issue and owner, and the cluster whose folder
// holds it.
type Identity struct {
	Issue, Owner, Cluster string
}

// History is what the audit reads of the tenants repo's base branch.
type History interface {
	// Changes lists, newest first, the commits that changed the folders
	// of store name (tenants.Repo.Log).
	Changes(name string) ([]tenants.CommitInfo, error)
	// StoreAt is the store of that name at commit, from its request copy;
	// the zero Identity when there is none.
	StoreAt(commit tenants.Hash, name string) (Identity, error)
}

// Records is what the audit reads of the bot's ledger.
type Records interface {
	// Status is what the bot recorded of issue's store; nil when nothing.
	Status(ctx context.Context, issue string) (*storestatus.State, error)
	// Pushed are the commits the bot ever recorded pushing to the
	// branch of issue's store; empty when it never pushed one (a request
	// pull request's store).
	Pushed(ctx context.Context, issue string) (map[string]bool, error)
	// Rollouts are the states of every rollout the bot recorded.
	Rollouts(ctx context.Context) ([]rollout.State, error)
}

// Of builds the timeline of the stores named name: their commits of the
// base branch and what the bot recorded of each, store by store (oldest
// first), each in time order.
func Of(ctx context.Context, h History, rec Records, name string) ([]Entry, error) {
	commits, err := h.Changes(name)
	if err != nil {
		return nil, err
	}
	if len(commits) == 0 {
		return nil, fmt.Errorf("store %q has no history on the base branch of the tenants repo", name)
	}
	// A commit's store is the one the name's request copy names at that
	// commit (or, where a decommission removed it, just before): never a
	// trailer, which anyone writing a commit can set.
	ids, order, err := identities(h, name, commits)
	if err != nil {
		return nil, err
	}
	rollouts, err := rec.Rollouts(ctx)
	if err != nil {
		return nil, err
	}
	stores := map[string]*store{}
	var out []Entry
	for _, id := range order {
		s, entries, err := readStore(ctx, rec, id)
		if err != nil {
			return nil, err
		}
		stores[id.Issue] = s
		out = append(out, entries...)
	}
	// Which merges are whose: a merge counts for the store it was merged
	// into only when the bot recorded that merge doing that.
	credits := map[tenants.Hash]credit{}
	for _, c := range commits {
		if c.Parents > 1 {
			credits[c.Hash] = creditOf(c, name, ids[c.Hash], stores[ids[c.Hash].Issue], rollouts)
		}
	}
	// The newest commit of a merged side that changed the folder is the
	// bot's last render (it renders on top of whatever was pushed, before
	// the branch validates); the ones before it may be anyone's.
	last := map[tenants.Hash]bool{}
	seen := map[tenants.Hash]bool{}
	for _, c := range commits { // newest first
		if c.Merge != "" && !seen[c.Merge] {
			seen[c.Merge], last[c.Hash] = true, true
		}
	}
	for i := len(commits) - 1; i >= 0; i-- { // oldest first
		c := commits[i]
		id := ids[c.Hash]
		e := commitEntry(c, name, id.Issue, credits, last[c.Hash])
		e.Cluster, e.Issue, e.Owner = id.Cluster, id.Issue, id.Owner
		out = append(out, e)
	}
	rank := map[string]int{}
	for i, id := range order {
		rank[id.Issue] = i + 1 // "" (no store yet) first
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank[out[i].Issue], rank[out[j].Issue]; ri != rj {
			return ri < rj
		}
		return out[i].Time.Before(out[j].Time)
	})
	return out, nil
}

// store is what the bot recorded of one store.
type store struct {
	merges map[string]bool // the merges its status records
	pushed map[string]bool // the commits it recorded pushing to its branch
}

// readStore reads what the bot recorded of store id: the merges, the
// pushes and the timeline.
func readStore(ctx context.Context, rec Records, id Identity) (*store, []Entry, error) {
	st, err := rec.Status(ctx, id.Issue)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the record of %s: %w", id.Issue, err)
	}
	pushed, err := rec.Pushed(ctx, id.Issue)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the pushes recorded for %s: %w", id.Issue, err)
	}
	s := &store{merges: map[string]bool{}, pushed: pushed}
	if st == nil {
		return s, nil, nil
	}
	s.merges = st.Merges()
	var out []Entry
	for _, ev := range st.Timeline {
		src := ev.Source
		if src == "" {
			src = "github"
		}
		out = append(out, Entry{Time: ev.At.UTC(), Source: src, Kind: string(ev.Phase), Summary: ev.Phase.Title() + detail(ev.Detail), Ref: id.Issue, Cluster: st.Cluster, Issue: id.Issue, Owner: id.Owner})
	}
	return s, out, nil
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

// identities reads, oldest commit first, the store the name's request
// copy names at each commit; a commit where the copy is gone (a
// decommission) keeps the store before it. It also returns each store
// once, oldest first.
func identities(h History, name string, commits []tenants.CommitInfo) (map[tenants.Hash]Identity, []Identity, error) {
	at := map[tenants.Hash]Identity{}
	var order []Identity
	var current Identity
	for i := len(commits) - 1; i >= 0; i-- {
		c := commits[i]
		id, err := h.StoreAt(c.Hash, name)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the request copy of store %s at %s: %w", name, c.Hash, err)
		}
		if id != (Identity{}) {
			current = id
		}
		at[c.Hash] = current
		if current.Issue != "" && !slices.ContainsFunc(order, func(o Identity) bool { return o.Issue == current.Issue }) {
			order = append(order, current)
		}
	}
	return at, order, nil
}

// credit is what the bot recorded a merge doing to the store.
type credit struct {
	// ok: the merge is the store's own, as the bot recorded it.
	ok bool
	// what the merge was ("rollout r-1 wave 2"), when a rollout's.
	what string
	// why it is not the store's, when not ok.
	why string
}

// creditOf decides whether merge c counts for store name (of issue id):
// a merge of the store's own pull request that the store's status records,
// merged at a commit the bot recorded pushing to the store's branch; or a
// rollout wave's (or its revert's) merge, at the commit the rollout
// recorded pushing, whose wave recorded this store.
func creditOf(c tenants.CommitInfo, name string, id Identity, s *store, rollouts []rollout.State) credit {
	if s != nil && s.merges[c.Hash.String()] {
		if len(s.pushed) > 0 && !s.pushed[c.MergedHead.String()] {
			return credit{why: "a merge of a branch whose head Purrvision did not push"}
		}
		return credit{ok: true}
	}
	for _, st := range rollouts {
		for _, w := range st.WaveList {
			if w.MergeCommit == c.Hash.String() {
				return waveCredit(c, name, id, w.PullState, w.Stores, fmt.Sprintf("rollout %s wave %d", st.ID, w.Number))
			}
		}
		for n, rv := range st.Reverts {
			if rv.MergeCommit != c.Hash.String() {
				continue
			}
			var stores []string
			for _, w := range st.WaveList {
				if fmt.Sprint(w.Number) == n {
					stores = w.Stores
				}
			}
			return waveCredit(c, name, id, rv, stores, fmt.Sprintf("the revert of rollout %s wave %s", st.ID, n))
		}
	}
	return credit{why: "a merge Purrvision did not record as one of this store's pull requests"}
}

// waveCredit credits a rollout's merge to the store when the wave recorded
// it and the merge is of the commit the bot pushed. The wave records
// stores by name, at its merge: the name's store there is the one whose
// request copy the merge commit holds (id).
func waveCredit(c tenants.CommitInfo, name string, id Identity, pull rollout.PullState, stores []string, what string) credit {
	switch {
	case id == (Identity{}) || !slices.Contains(stores, name):
		return credit{why: what + ", which Purrvision did not record changing this store"}
	case pull.Pushed != "" && pull.Pushed != c.MergedHead.String():
		return credit{why: what + ", merged at a head Purrvision did not push"}
	}
	return credit{ok: true, what: what}
}

// commitEntry is one commit of the store's history. Its trailers are shown
// only when the merge that brought it is credited to the store, it is that
// merge's last commit to change the folder, and the trailers say they are
// about this store and its issue; approvals are not taken from trailers at
// all (the timeline's merges carry them, from GitHub's reviews). Every
// other commit says what it is: a merge the bot did not record for this
// store, a commit such a merge brought in, or one pushed directly.
func commitEntry(c tenants.CommitInfo, name, issue string, credits map[tenants.Hash]credit, last bool) Entry {
	e := Entry{Time: c.When.UTC(), Source: "git", Kind: "commit", Ref: c.Hash.String()[:12], Summary: c.Subject}
	switch {
	case c.Parents > 1:
		e.Kind = "merge"
		switch cr := credits[c.Hash]; {
		case !cr.ok:
			e.Summary += " (" + cr.why + ")"
		case cr.what != "":
			e.Summary += " (" + cr.what + ", recorded by Purrvision)"
		}
		return e
	case c.Merge == "":
		e.Summary += " (pushed to the branch directly, not through a pull request)"
		return e
	case !credits[c.Merge].ok:
		e.Summary += " (brought in by a merge Purrvision did not record for this store)"
		return e
	case !last:
		e.Summary += " (an earlier commit of the merged pull request; its trailers are not Purrvision's record)"
		return e
	}
	tr := tenants.Trailers(c.Message)
	if tr[v1alpha1.TrailerStore] == "" {
		return e
	}
	if !slices.Contains(strings.Split(tr[v1alpha1.TrailerStore], ", "), name) || tr[v1alpha1.TrailerIssue] != issue {
		e.Summary += " (changed this store's folder, but is not a Purrvision commit for it)"
		return e
	}
	var details []string
	for _, k := range []string{v1alpha1.TrailerOperation, v1alpha1.TrailerRequestedBy, v1alpha1.TrailerIssue} {
		if v := tr[k]; v != "" {
			details = append(details, strings.ToLower(k)+" "+v)
		}
	}
	if len(details) > 0 {
		e.Summary += " (" + strings.Join(details, ", ") + ")"
	}
	return e
}

// Text writes the timeline for people: each store of the name under a
// line that says which store it is.
func Text(entries []Entry) string {
	var b strings.Builder
	group := "\x00"
	for _, e := range entries {
		if e.Issue+"\x00"+e.Owner != group {
			group = e.Issue + "\x00" + e.Owner
			switch {
			case e.Issue == "" && e.Owner != "":
				fmt.Fprintf(&b, "# a store of this name whose request copy names no issue, owned by %s\n", e.Owner)
			case e.Issue == "":
				b.WriteString("# before any request copy of this name\n")
			case e.Owner != "":
				fmt.Fprintf(&b, "# the store of issue %s, owned by %s\n", e.Issue, e.Owner)
			default:
				fmt.Fprintf(&b, "# the store of issue %s\n", e.Issue)
			}
		}
		fmt.Fprintf(&b, "%s  %-7s  %-10s  %-14s  %s", e.Time.Format(time.RFC3339), e.Source, e.Cluster, e.Kind, e.Summary)
		if e.Ref != "" {
			fmt.Fprintf(&b, "  [%s]", e.Ref)
		}
		b.WriteString("\n")
	}
	return b.String()
}
