// Package audit joins a store's history into one timeline: the commits of
// the tenants repo that touched it (who requested, who approved, what
// changed) and what Purrvision recorded on its issue from GitHub and the
// cluster, each with its time and source.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/renderer"
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
}

// Timeline builds the timeline of store name from the tenants repo: its
// history, and what the bot recorded of the store in its ledger.
func Timeline(ctx context.Context, cfg *config.Config, repo *tenants.Repo, name string) ([]Entry, error) {
	if err := repo.Fetch(ctx); err != nil {
		return nil, err
	}
	var prefixes []string
	for _, cl := range cfg.ClusterNames() {
		prefixes = append(prefixes, renderer.StoreDir(cfg, cl, name)+"/")
	}
	commits, err := repo.Log(cfg.TenantsRepo.Branch, prefixes...)
	if err != nil {
		return nil, err
	}
	if len(commits) == 0 {
		return nil, fmt.Errorf("store %q has no history on %s of the tenants repo", name, cfg.TenantsRepo.Branch)
	}
	// A commit's issue is the one the store's request copy names at that
	// commit (or, where a decommission removed it, just before): never a
	// trailer, which anyone writing a commit can set. A name reused after a
	// decommission has one issue per store that bore it.
	issueAt, clusterAt, issues, err := issuesOf(repo, cfg, name, commits)
	if err != nil {
		return nil, err
	}
	var out []Entry
	merges := map[string]bool{} // the merges the stores' records hold
	keys, err := ledger.LoadKeys(cfg.Ledger.SigningKeyFiles)
	if err != nil {
		return nil, err
	}
	l := ledger.New(repo, keys)
	for _, issue := range issues {
		entries, m, err := issueTimeline(ctx, l, issue)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
		for sha := range m {
			merges[sha] = true
		}
	}
	// The merges of rollout waves and their reverts, as the bot recorded
	// them on the rollouts' tracking issues, are the store's too.
	rollouts, err := rolloutMerges(l)
	if err != nil {
		return nil, err
	}
	for sha := range rollouts {
		merges[sha] = true
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
		e := commitEntry(commits[i], name, issueAt[commits[i].Hash], merges, last[commits[i].Hash], true)
		if what := rollouts[commits[i].Hash.String()]; what != "" {
			e.Summary += " (" + what + ", recorded by Purrvision)"
		}
		e.Cluster = clusterAt[commits[i].Hash]
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// rolloutMerges are the merge commits of every rollout's waves and
// reverts, from the bot's records of the tracking issues, with what each
// was: "rollout r-1 wave 2", "the revert of rollout r-1 wave 1".
func rolloutMerges(l *ledger.Ledger) (map[string]string, error) {
	out := map[string]string{}
	err := l.Each(`"rollout"`, func(ref string, rec ledger.Record) error {
		if len(rec.Rollout) == 0 {
			return nil
		}
		var st rollout.State
		if err := json.Unmarshal(rec.Rollout, &st); err != nil {
			return fmt.Errorf("reading the rollout of %s: %w", ref, err)
		}
		for _, w := range st.WaveList {
			if w.MergeCommit != "" {
				out[w.MergeCommit] = fmt.Sprintf("rollout %s wave %d", st.ID, w.Number)
			}
		}
		for n, rv := range st.Reverts {
			if rv.MergeCommit != "" {
				out[rv.MergeCommit] = fmt.Sprintf("the revert of rollout %s wave %s", st.ID, n)
			}
		}
		return nil
	})
	return out, err
}

// issueTimeline reads what the bot recorded of the store's issue in its
// ledger: the timeline, and the merges it recorded there.
func issueTimeline(ctx context.Context, l *ledger.Ledger, issue string) ([]Entry, map[string]bool, error) {
	ref, err := forge.ParseIssueRef(issue)
	if err != nil {
		return nil, nil, fmt.Errorf("reading issue %s: %w", issue, err)
	}
	rec, _, err := l.Read(ctx, ref, false)
	if err != nil {
		return nil, nil, err
	}
	var out []Entry
	merges := map[string]bool{}
	if rec.Status != nil {
		st := *rec.Status
		for sha := range st.Merges() {
			merges[sha] = true
		}
		for _, ev := range st.Timeline {
			src := ev.Source
			if src == "" {
				src = "github"
			}
			out = append(out, Entry{Time: ev.At.UTC(), Source: src, Kind: string(ev.Phase), Summary: ev.Phase.Title() + detail(ev.Detail), Ref: issue, Cluster: st.Cluster})
		}
	}
	return out, merges, nil
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

// issuesOf reads, oldest commit first, the issue the store's request copy
// names at each commit, and the cluster whose folder holds it; a commit
// where the copy is gone (a decommission) keeps the issue and cluster
// before it. It also returns each issue once, oldest first.
func issuesOf(repo *tenants.Repo, cfg *config.Config, name string, commits []tenants.CommitInfo) (map[tenants.Hash]string, map[tenants.Hash]string, []string, error) {
	at, clusterAt := map[tenants.Hash]string{}, map[tenants.Hash]string{}
	var order []string
	current, cluster := "", ""
	for i := len(commits) - 1; i >= 0; i-- {
		c := commits[i]
		snap, err := repo.Snapshot(c.Hash)
		if err != nil {
			return nil, nil, nil, err
		}
		req, cl, err := renderer.FindStore(cfg, snap, name)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the request copy of store %s at %s: %w", name, c.Hash, err)
		}
		if req != nil {
			current, cluster = req.Metadata.Annotations[v1alpha1.AnnotationIssue], cl
		}
		at[c.Hash], clusterAt[c.Hash] = current, cluster
		if current != "" && !slices.Contains(order, current) {
			order = append(order, current)
		}
	}
	return at, clusterAt, order, nil
}

// commitEntry is one commit of the store's history. Its trailers are shown
// only when they say they are about this store and its issue; approvals
// are not taken from trailers at all (the timeline's merges carry them, from
// GitHub's reviews).
//
// With the store's status read (verified), it also says which commits did
// not come through a merge the bot recorded for this store: merges of other
// pull requests, their commits, and commits pushed to the branch directly.
func commitEntry(c tenants.CommitInfo, store, issue string, merges map[string]bool, last, verified bool) Entry {
	e := Entry{Time: c.When.UTC(), Source: "git", Kind: "commit", Ref: c.Hash.String()[:12], Summary: c.Subject}
	switch {
	case c.Parents > 1:
		e.Kind = "merge"
		if verified && !merges[c.Hash.String()] {
			e.Summary += " (a merge Purrvision did not record as one of this store's pull requests)"
		}
		return e
	case verified && c.Merge == "":
		e.Summary += " (pushed to the branch directly, not through a pull request)"
		return e
	case verified && !merges[c.Merge.String()]:
		e.Summary += " (brought in by a merge Purrvision did not record for this store)"
		return e
	case verified && !last:
		e.Summary += " (an earlier commit of the merged pull request; its trailers are not Purrvision's record)"
		return e
	}
	tr := tenants.Trailers(c.Message)
	if tr[v1alpha1.TrailerStore] == "" {
		return e
	}
	if !slices.Contains(strings.Split(tr[v1alpha1.TrailerStore], ", "), store) || tr[v1alpha1.TrailerIssue] != issue {
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

// Text writes the timeline for people.
func Text(entries []Entry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %-7s  %-10s  %-14s  %s", e.Time.Format(time.RFC3339), e.Source, e.Cluster, e.Kind, e.Summary)
		if e.Ref != "" {
			fmt.Fprintf(&b, "  [%s]", e.Ref)
		}
		b.WriteString("\n")
	}
	return b.String()
}
