package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

// fakeHistory is a base branch: its commits that changed the store's
// folders, oldest first, and the store's request copy at each.
type fakeHistory struct {
	commits []tenants.CommitInfo
	at      map[tenants.Hash]Identity
}

var _ History = (*fakeHistory)(nil)

func (h *fakeHistory) Changes(string) ([]tenants.CommitInfo, error) {
	out := make([]tenants.CommitInfo, len(h.commits))
	for i, c := range h.commits { // newest first, as tenants.Repo.Log
		out[len(h.commits)-1-i] = c
	}
	return out, nil
}

func (h *fakeHistory) StoreAt(c tenants.Hash, _ string) (Identity, error) { return h.at[c], nil }

// fakeRecords is the ledger: each issue's status and the commits the bot
// recorded pushing to its branch, and the rollouts.
type fakeRecords struct {
	status   map[string]*storestatus.State
	pushed   map[string][]string
	rollouts []rollout.State
	err      error
}

var _ Records = (*fakeRecords)(nil)

func (r *fakeRecords) Status(_ context.Context, issue string) (*storestatus.State, error) {
	return r.status[issue], r.err
}

func (r *fakeRecords) Pushed(_ context.Context, issue string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range r.pushed[issue] {
		out[c] = true
	}
	return out, nil
}

func (r *fakeRecords) Rollouts(context.Context) ([]rollout.State, error) { return r.rollouts, nil }

const (
	issue1 = "acme/stores#1"
	issue2 = "acme/stores#2"
)

var (
	first  = Identity{Issue: issue1, Owner: "octocat", Cluster: "default"}
	second = Identity{Issue: issue2, Owner: "mallory", Cluster: "default"}
	t0     = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
)

// hash is a commit hash of 40 characters made of s.
func hash(s string) tenants.Hash { return tenants.Hash(strings.Repeat(s, 40/len(s))[:40]) }

// botMessage is a commit message with the trailers the bot writes for
// store cat-cafe of issue.
func botMessage(subject, op, issue string) string {
	return tenants.Message(subject, "",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: "cat-cafe"},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: op},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: "octocat"},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: issue})
}

// merged is a merge at minute m of a branch at head, with one commit
// that changed the store's folder.
func merged(m int, merge, head, subject, message string) []tenants.CommitInfo {
	return []tenants.CommitInfo{
		{Hash: hash(head), When: t0.Add(time.Duration(m) * time.Minute), Subject: subject, Message: message, Parents: 1, Merge: hash(merge)},
		{Hash: hash(merge), When: t0.Add(time.Duration(m+1) * time.Minute), Subject: "Merge pull request", Message: "Merge pull request\n", Parents: 2, MergedHead: hash(head)},
	}
}

func recorded(issue string, at int, commits ...string) *storestatus.State {
	st := &storestatus.State{Store: "cat-cafe"}
	for i, c := range commits {
		st.RecordMerge("provision merged by @maintainer (approved by @reviewer)", string(hash(c)), t0.Add(time.Duration(at+i)*time.Minute))
	}
	return st
}

func identities1(commits []tenants.CommitInfo, id Identity) map[tenants.Hash]Identity {
	out := map[tenants.Hash]Identity{}
	for _, c := range commits {
		out[c.Hash] = id
	}
	return out
}

func TestOf(t *testing.T) {
	provision := merged(0, "a1", "a0", "Provision store cat-cafe", botMessage("Provision store cat-cafe", v1alpha1.OpProvision, issue1))
	forged := botMessage("Resize store cat-cafe to large", v1alpha1.OpResize, issue1) + "Approved-By: boss\n"
	person := merged(10, "b1", "b0", "Resize store cat-cafe to large", forged)
	wave := merged(20, "c1", "c0", "Roll out chart 0.2.0", "Roll out chart 0.2.0\n")
	waveOf := func(stores []string, pushed string) []rollout.State {
		return []rollout.State{{ID: "r-1", WaveList: []rollout.WaveState{{Number: 1, Stores: stores,
			PullState: rollout.PullState{Pushed: pushed}, MergeCommit: string(hash("c1"))}}}}
	}
	for _, tt := range []struct {
		name    string
		commits []tenants.CommitInfo
		records *fakeRecords
		want    []string // in the text, in this order
		not     []string
	}{
		{
			name:    "recorded merge",
			commits: provision,
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}},
			want:    []string{"# the store of issue acme/stores#1, owned by octocat", "Provision store cat-cafe (operation provision, requested-by octocat, issue acme/stores#1)", "Merge pull request  [a1a1", "Merged: provision merged"},
			not:     []string{"did not"},
		},
		{
			name:    "unrecorded merge: a person's pull request with forged trailers",
			commits: append(append([]tenants.CommitInfo{}, provision...), person...),
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}},
			want:    []string{"Provision store cat-cafe (operation provision", "Resize store cat-cafe to large (brought in by a merge Purrvision did not record for this store)", "Merge pull request (a merge Purrvision did not record as one of this store's pull requests)"},
			not:     []string{"operation resize", "boss"},
		},
		{
			name:    "a recorded merge of a branch whose head the bot did not push",
			commits: provision,
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("99"))}}},
			want:    []string{"Provision store cat-cafe (brought in by a merge Purrvision did not record", "Merge pull request (a merge of a branch whose head Purrvision did not push)"},
			not:     []string{"operation provision"},
		},
		{
			name:    "a request pull request's merge: recorded, no push of the bot's to compare",
			commits: provision,
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}},
			want:    []string{"Provision store cat-cafe (operation provision", "Merge pull request  [a1a1"},
			not:     []string{"did not"},
		},
		{
			name:    "a rollout wave that recorded this store",
			commits: append(append([]tenants.CommitInfo{}, provision...), wave...),
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}, rollouts: waveOf([]string{"dog-diner", "cat-cafe"}, string(hash("c0")))},
			want:    []string{"Roll out chart 0.2.0  [", "Merge pull request (rollout r-1 wave 1, recorded by Purrvision)"},
			not:     []string{"did not"},
		},
		{
			name:    "a rollout wave that recorded other stores",
			commits: append(append([]tenants.CommitInfo{}, provision...), wave...),
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}, rollouts: waveOf([]string{"dog-diner"}, string(hash("c0")))},
			want:    []string{"Roll out chart 0.2.0 (brought in by a merge Purrvision did not record for this store)", "Merge pull request (rollout r-1 wave 1, which Purrvision did not record changing this store)"},
			not:     []string{"recorded by Purrvision"},
		},
		{
			name:    "a rollout wave merged at a head the bot did not push",
			commits: append(append([]tenants.CommitInfo{}, provision...), wave...),
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}, rollouts: waveOf([]string{"cat-cafe"}, string(hash("98")))},
			want:    []string{"Merge pull request (rollout r-1 wave 1, merged at a head Purrvision did not push)"},
			not:     []string{"recorded by Purrvision"},
		},
		{
			name: "a forged trailer typed into a commit pushed directly, and into an earlier commit of a recorded merge",
			commits: append([]tenants.CommitInfo{
				{Hash: hash("d0"), When: t0.Add(-2 * time.Minute), Subject: "Resize store cat-cafe to large", Message: forged, Parents: 1},
				{Hash: hash("d1"), When: t0.Add(-time.Minute), Subject: "Decommission store cat-cafe", Message: botMessage("Decommission store cat-cafe", v1alpha1.OpDecommission, issue1), Parents: 1, Merge: hash("a1")},
			}, provision...),
			records: &fakeRecords{status: map[string]*storestatus.State{issue1: recorded(issue1, 5, "a1")}, pushed: map[string][]string{issue1: {string(hash("a0"))}}},
			want:    []string{"Resize store cat-cafe to large (pushed to the branch directly, not through a pull request)", "Decommission store cat-cafe (an earlier commit of the merged pull request; its trailers are not Purrvision's record)", "Provision store cat-cafe (operation provision"},
			not:     []string{"operation resize", "operation decommission", "boss"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHistory{commits: tt.commits, at: identities1(tt.commits, first)}
			entries, err := Of(context.Background(), h, tt.records, "cat-cafe")
			if err != nil {
				t.Fatal(err)
			}
			text := Text(entries)
			rest := text
			for _, s := range tt.want {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("the timeline lacks %q (after what came before):\n%s", s, text)
					continue
				}
				rest = rest[i+len(s):]
			}
			for _, s := range tt.not {
				if strings.Contains(text, s) {
					t.Errorf("the timeline holds %q:\n%s", s, text)
				}
			}
		})
	}
}

// TestOf_ReusedName: a name decommissioned and given to another store
// shows each store apart, under its own issue and owner, and the first
// store's records (even one naming a merge of the second store's) never
// reach the second.
func TestOf_ReusedName(t *testing.T) {
	first1 := merged(0, "a1", "a0", "Provision store cat-cafe", botMessage("Provision store cat-cafe", v1alpha1.OpProvision, issue1))
	decommission := merged(10, "b1", "b0", "Decommission store cat-cafe", botMessage("Decommission store cat-cafe", v1alpha1.OpDecommission, issue1))
	second1 := merged(30, "c1", "c0", "Provision store cat-cafe", botMessage("Provision store cat-cafe", v1alpha1.OpProvision, issue2))
	commits := append(append(append([]tenants.CommitInfo{}, first1...), decommission...), second1...)
	at := map[tenants.Hash]Identity{}
	for _, c := range first1 {
		at[c.Hash] = first
	}
	// The decommission removed the request copy: no store at b0 and b1.
	for _, c := range second1 {
		at[c.Hash] = second
	}
	old := recorded(issue1, 2, "a1", "b1")
	old.RecordOn("default", v1alpha1.PhaseDecommissioned, "", t0.Add(40*time.Minute)) // reported after the second store's merge
	// The first store's record also claims the second store's merge.
	old.RecordMerge("resize merged by @maintainer", string(hash("c1")), t0.Add(45*time.Minute))
	records := &fakeRecords{
		status: map[string]*storestatus.State{issue1: old, issue2: recorded(issue2, 35, "c1")},
		pushed: map[string][]string{issue1: {string(hash("a0")), string(hash("b0"))}, issue2: {string(hash("c0"))}},
	}
	entries, err := Of(context.Background(), &fakeHistory{commits: commits, at: at}, records, "cat-cafe")
	if err != nil {
		t.Fatal(err)
	}
	text := Text(entries)
	var issues []string
	for _, e := range entries {
		if n := len(issues); n == 0 || issues[n-1] != e.Issue {
			issues = append(issues, e.Issue)
		}
		switch e.Ref {
		case string(hash("c1"))[:12], string(hash("c0"))[:12]:
			if e.Issue != issue2 || e.Owner != "mallory" {
				t.Errorf("the second store's commit %s is credited to %s of %s", e.Ref, e.Issue, e.Owner)
			}
		case string(hash("b1"))[:12], string(hash("b0"))[:12]:
			if e.Issue != issue1 {
				t.Errorf("the first store's decommission %s is credited to %s", e.Ref, e.Issue)
			}
		}
	}
	if len(issues) != 2 || issues[0] != issue1 || issues[1] != issue2 {
		t.Errorf("the stores' entries are mixed: %v\n%s", issues, text)
	}
	for _, s := range []string{"# the store of issue acme/stores#1, owned by octocat", "# the store of issue acme/stores#2, owned by mallory"} {
		if strings.Count(text, s) != 1 {
			t.Errorf("the timeline does not show %q once:\n%s", s, text)
		}
	}
	if strings.Contains(text, "did not") {
		t.Errorf("a recorded merge of one of the name's stores is shown as unrecorded:\n%s", text)
	}
	if _, second, _ := strings.Cut(text, "acme/stores#2, owned by mallory"); strings.Contains(second, "acme/stores#1") || strings.Contains(second, "resize merged") || strings.Contains(second, "Decommissioned") {
		t.Errorf("the second store's history holds the first's:\n%s", text)
	}
}

// TestOf_RecordsOfTheOtherStoreDoNotCount: a merge that only the first
// store's record names is not the second store's, even though the first
// store bore the same name: the merge's store is the one its request copy
// names.
func TestOf_RecordsOfTheOtherStoreDoNotCount(t *testing.T) {
	second1 := merged(30, "c1", "c0", "Provision store cat-cafe", botMessage("Provision store cat-cafe", v1alpha1.OpProvision, issue2))
	first1 := merged(0, "a1", "a0", "Provision store cat-cafe", botMessage("Provision store cat-cafe", v1alpha1.OpProvision, issue1))
	commits := append(append([]tenants.CommitInfo{}, first1...), second1...)
	at := identities1(first1, first)
	for _, c := range second1 {
		at[c.Hash] = second
	}
	records := &fakeRecords{
		status: map[string]*storestatus.State{issue1: recorded(issue1, 2, "a1", "c1")},
		pushed: map[string][]string{issue1: {string(hash("a0")), string(hash("c0"))}},
	}
	entries, err := Of(context.Background(), &fakeHistory{commits: commits, at: at}, records, "cat-cafe")
	if err != nil {
		t.Fatal(err)
	}
	text := Text(entries)
	if !strings.Contains(text, "Merge pull request (a merge Purrvision did not record as one of this store's pull requests)  ["+string(hash("c1"))[:12]) {
		t.Errorf("the second store's merge, recorded only for the first, is credited:\n%s", text)
	}
}

func TestOf_Errors(t *testing.T) {
	if _, err := Of(context.Background(), &fakeHistory{}, &fakeRecords{}, "no-such-store"); err == nil || !strings.Contains(err.Error(), `store "no-such-store" has no history`) {
		t.Errorf("a store with no history: %v", err)
	}
	c := merged(0, "a1", "a0", "Provision store cat-cafe", "Provision store cat-cafe\n")
	boom := errors.New("boom")
	_, err := Of(context.Background(), &fakeHistory{commits: c, at: identities1(c, first)}, &fakeRecords{err: boom}, "cat-cafe")
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading the record of acme/stores#1") {
		t.Errorf("a ledger that cannot be read: %v", err)
	}
}
