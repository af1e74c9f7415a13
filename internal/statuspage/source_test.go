package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

const (
	requestRepo  = "acme/stores"
	listComments = "GET /repos/{owner}/{repo}/issues/comments"
)

// fixture is a tenants repo of stores whose requests are issues in the
// GitHub stand-in, each with a progress comment.
type fixture struct {
	clock  *clock
	gh     *ghstandin.Server
	client *ghclient.Client
	repo   *tenants.Repo
	source *statuspage.RepoSource
	issues map[string]int // store name to issue number
	status map[string]int64
	states map[string]storestatus.State
}

// clock is the stand-in's time, moved on by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func storeName(i int) string { return fmt.Sprintf("store-%05d", i) }

func requestFile(name, issue string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: purrvision.dev/v1alpha1
kind: StoreRequest
metadata:
  name: %s
  annotations:
    purrvision.dev/issue: %s
spec:
  plan: small
  owner: octocat
  adminEmail: owner@example.com
  title: A store
`, name, issue))
}

func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	_, tenantsURL, _ := testutil.GitRepo(t, "tenants", "main")
	gh, client := testutil.GitHub(t, requestRepo)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	gh.SetClock(clk.now)
	f := &fixture{clock: clk, gh: gh, client: client, issues: map[string]int{}, status: map[string]int64{}, states: map[string]storestatus.State{}}
	var changes []tenants.Change
	for i := range n {
		name := storeName(i)
		num := gh.OpenIssue(requestRepo, "octocat", "Store "+name, "a request")
		f.issues[name] = num
		gh.Comment(requestRepo, num, "octocat", "thanks!")
		st := storestatus.State{
			Store: name, Phase: v1alpha1.PhasePendingReview, PullURL: fmt.Sprintf("https://github.com/acme/tenants/pull/%d", num),
			Timeline: []storestatus.Event{{Phase: v1alpha1.PhasePendingReview, At: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}},
		}
		f.status[name] = gh.Comment(requestRepo, num, ghstandin.BotLogin, storestatus.Body(st, ""))
		f.states[name] = st
		changes = append(changes, tenants.Change{Path: "tenants/default/" + renderer.Shard(name) + "/" + name + "/store.yaml",
			Data: requestFile(name, fmt.Sprintf("%s#%d", requestRepo, num))})
	}
	// A store whose request names no issue (request by pull request from an
	// older version) is listed without one.
	changes = append(changes, tenants.Change{Path: "tenants/default/" + renderer.Shard("orphan") + "/orphan/store.yaml", Data: []byte(`apiVersion: purrvision.dev/v1alpha1
kind: StoreRequest
metadata:
  name: orphan
spec:
  plan: medium
  owner: hubot
  adminEmail: hubot@example.com
  title: Orphan
`)})
	var err error
	f.repo, err = tenants.Open(ctx, tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "seed stores"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.New(f.repo, testutil.LedgerKeys()).Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	for name, num := range f.issues {
		f.record(t, num, f.status[name], f.states[name])
	}
	clk.advance(time.Hour) // the stores were asked for an hour ago
	cfg := testutil.ExampleConfig(t)
	cfg.GitHub.Repo = requestRepo
	f.source = &statuspage.RepoSource{Config: cfg, Repo: f.repo, Ledger: ledger.New(f.repo, testutil.LedgerKeys()), GitHub: client, Bot: forge.NewIdentity(ghstandin.BotLogin)}
	return f
}

// record notes st, shown in comment id, as issue num's status in the
// ledger, as the bot does.
func (f *fixture) record(t testing.TB, num int, id int64, st storestatus.State) {
	t.Helper()
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: num}
	if _, err := ledger.New(f.repo, testutil.LedgerKeys()).Update(context.Background(), ref, func(r *ledger.Record) (string, error) {
		r.Comments = map[string]int64{ledger.KindStatus: id}
		r.Status = &st
		return "its status", nil
	}); err != nil {
		t.Fatal(err)
	}
}

// setPhase records a store's new phase in the ledger, then edits its
// progress comment through the API, as the watcher does.
func (f *fixture) setPhase(t testing.TB, name string, phase v1alpha1.Phase) {
	t.Helper()
	repo, _ := forge.ParseRepo(requestRepo)
	st := storestatus.State{Store: name, Phase: phase, PullURL: "https://github.com/acme/tenants/pull/1",
		Timeline: []storestatus.Event{{Phase: phase, At: time.Date(2026, 11, 25, 12, 5, 0, 0, time.UTC), Detail: "by the test"}}}
	f.record(t, f.issues[name], f.status[name], st)
	if err := f.client.EditComment(context.Background(), repo, f.status[name], storestatus.Body(st, "")); err != nil {
		t.Fatal(err)
	}
}

func byName(stores []statuspage.Store) map[string]statuspage.Store {
	m := map[string]statuspage.Store{}
	for _, s := range stores {
		m[s.Name] = s
	}
	return m
}

func TestRepoSource_ReadsStoresAndProgress(t *testing.T) {
	f := newFixture(t, 3)
	stores, err := f.source.Stores(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(stores) != 4 {
		t.Fatalf("%d stores, want 4: %+v", len(stores), stores)
	}
	m := byName(stores)
	s := m[storeName(1)]
	num := f.issues[storeName(1)]
	want := statuspage.Store{Name: storeName(1), Cluster: "default", Plan: "small", Requester: "octocat",
		Phase: v1alpha1.PhasePendingReview, URL: "https://" + storeName(1) + ".shop.example.com/",
		Issue: fmt.Sprintf("%s#%d", requestRepo, num), PullURL: fmt.Sprintf("https://github.com/acme/tenants/pull/%d", num)}
	if s.Name != want.Name || s.Cluster != want.Cluster || s.Plan != want.Plan || s.Requester != want.Requester ||
		s.Phase != want.Phase || s.URL != want.URL || s.Issue != want.Issue || s.PullURL != want.PullURL || len(s.Timeline) != 1 {
		t.Errorf("store:\n got %+v\nwant %+v", s, want)
	}
	if suffix := fmt.Sprintf("/%s/issues/%d", requestRepo, num); !strings.HasSuffix(s.IssueURL, suffix) {
		t.Errorf("issue URL %q does not end in %s", s.IssueURL, suffix)
	}
	if o := m["orphan"]; o.Phase != "unknown" || o.Issue != "" || o.IssueURL != "" || o.Plan != "medium" {
		t.Errorf("store without an issue: %+v", o)
	}
}

// TestRepoSource_RefreshCostsOneCall is the point of the index: however
// many stores there are, a refresh lists only the comments changed since
// the last one (and in the minute before, in case GitHub lists one late),
// in one call, and never reads issues one by one.
func TestRepoSource_RefreshCostsOneCall(t *testing.T) {
	f := newFixture(t, 120) // 240 comments: three pages on the first refresh
	ctx := context.Background()
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.gh.Calls()
	if first[listComments] != 3 {
		t.Errorf("first refresh listed %d pages of comments, want 3", first[listComments])
	}
	f.clock.advance(30 * time.Second)
	f.setPhase(t, storeName(3), v1alpha1.PhaseInstalling)
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(30 * time.Second)
	f.setPhase(t, storeName(7), v1alpha1.PhaseReady)
	// A second progress comment on an issue is not the one Purrvision keeps.
	f.gh.Comment(requestRepo, f.issues[storeName(8)], ghstandin.BotLogin, storestatus.Body(storestatus.State{Phase: v1alpha1.PhaseFailed}, ""))
	before := f.gh.Calls()
	stores, err := f.source.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := f.gh.Calls()
	for route, n := range after {
		if d := n - before[route]; d != 0 && route != listComments {
			t.Errorf("a refresh called %s %d times", route, d)
		}
	}
	if d := after[listComments] - before[listComments]; d != 1 {
		t.Errorf("a refresh listed comments %d times, want 1", d)
	}
	m := byName(stores)
	if s := m[storeName(7)]; s.Phase != v1alpha1.PhaseReady || len(s.Timeline) != 1 || s.Timeline[0].Detail != "by the test" {
		t.Errorf("edited store: %+v", s)
	}
	if s := m[storeName(8)]; s.Phase != v1alpha1.PhasePendingReview {
		t.Errorf("a second progress comment took over: %+v", s)
	}
	if s := m[storeName(3)]; s.Phase != v1alpha1.PhaseInstalling {
		t.Errorf("store changed on the refresh before: %+v", s)
	}
	if s := m[storeName(9)]; s.Phase != v1alpha1.PhasePendingReview {
		t.Errorf("unchanged store: %+v", s)
	}
}

// TestRepoSource_FollowsTheBranch: a store merged after the first refresh
// appears on the next one.
func TestRepoSource_FollowsTheBranch(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	num := f.gh.OpenIssue(requestRepo, "octocat", "late", "a request")
	late := storestatus.State{Store: "late", Phase: v1alpha1.PhaseMerged}
	f.record(t, num, f.gh.Comment(requestRepo, num, ghstandin.BotLogin, storestatus.Body(late, "")), late)
	if _, err := f.repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "merge late", Changes: []tenants.Change{{Path: "tenants/default/" + renderer.Shard("late") + "/late/store.yaml",
			Data: requestFile("late", fmt.Sprintf("%s#%d", requestRepo, num))}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	stores, err := f.source.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := byName(stores)["late"]; !ok || s.Phase != v1alpha1.PhaseMerged {
		t.Errorf("the merged store is %+v (listed: %v)", s, ok)
	}
}

// TestRepoSource_StateFromTheLedger: a store's phase comes from the
// ledger, never from its status comment, which people with write access
// can edit or delete: neither changes the page, before or after the
// relist (every RelistEvery) that reads the comments from scratch.
func TestRepoSource_StateFromTheLedger(t *testing.T) {
	f := newFixture(t, 2)
	ourClock := &clock{t: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)}
	f.source.Now, f.source.RelistEvery = ourClock.now, time.Hour
	ctx := context.Background()
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("%srepos/%s/issues/comments/%d", f.gh.URL(), requestRepo, f.status[storeName(0)]), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("deleting the comment: %s", resp.Status)
	}
	// Someone with write access edits the other store's comment.
	repo, _ := forge.ParseRepo(requestRepo)
	if err := f.client.EditComment(ctx, repo, f.status[storeName(1)], storestatus.Body(storestatus.State{Store: storeName(1), Phase: v1alpha1.PhaseReady}, "")); err != nil {
		t.Fatal(err)
	}
	phase := func() v1alpha1.Phase {
		t.Helper()
		stores, err := f.source.Stores(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return byName(stores)[storeName(0)].Phase
	}
	f.clock.advance(30 * time.Second)
	ourClock.advance(30 * time.Second)
	if p := phase(); p != v1alpha1.PhasePendingReview {
		t.Errorf("before the relist: %q, want the phase last read", p)
	}
	f.clock.advance(time.Hour)
	ourClock.advance(time.Hour)
	before := f.gh.Calls()[listComments]
	if p := phase(); p != v1alpha1.PhasePendingReview {
		t.Errorf("after the relist: %q, want the phase the ledger records", p)
	}
	if n := f.gh.Calls()[listComments] - before; n != 1 {
		t.Errorf("the relist took %d calls, want 1 (three comments)", n)
	}
	if p := byName(mustStores(t, f))[storeName(1)].Phase; p != v1alpha1.PhasePendingReview {
		t.Errorf("the other store after the relist: %q", p)
	}
}

func mustStores(t *testing.T, f *fixture) []statuspage.Store {
	t.Helper()
	stores, err := f.source.Stores(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stores
}

// BenchmarkStatusPageRefresh is one refresh of the status page's store
// list with 10,000 stores, after one progress comment changed.
func BenchmarkStatusPageRefresh(b *testing.B) {
	f := newFixture(b, 10000)
	ctx := context.Background()
	start := time.Now()
	if _, err := f.source.Stores(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := f.source.Clusters(ctx); err != nil {
		b.Fatal(err)
	}
	before := f.gh.Calls()
	b.Logf("first refresh: %d calls in %v", before[listComments], time.Since(start).Round(time.Millisecond))
	phases := []v1alpha1.Phase{v1alpha1.PhaseReady, v1alpha1.PhaseInstalling}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		f.clock.advance(30 * time.Second)
		f.setPhase(b, storeName(i%10000), phases[i%2])
		b.StartTimer()
		if _, err := f.source.Stores(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := f.source.Clusters(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.gh.Calls()[listComments]-before[listComments])/float64(b.N), "calls/refresh")
}

// sinceRecorder records the since of every listing.
type sinceRecorder struct {
	next   statuspage.RepoCommentLister
	mu     sync.Mutex
	sinces []time.Time
}

func (r *sinceRecorder) ListRepoComments(ctx context.Context, repo forge.Repo, since time.Time) ([]forge.Comment, error) {
	r.mu.Lock()
	r.sinces = append(r.sinces, since)
	r.mu.Unlock()
	return r.next.ListRepoComments(ctx, repo, since)
}

// TestRepoSource_UnchangedRefreshAsksTheSame: while no comment changes, a
// refresh asks GitHub the same question as the one before, which GitHub
// answers 304 to the client's If-None-Match; once one changes, the next
// listing still starts before it.
func TestRepoSource_UnchangedRefreshAsksTheSame(t *testing.T) {
	f := newFixture(t, 2)
	rec := &sinceRecorder{next: f.client}
	f.source.GitHub = rec
	ctx := context.Background()
	for range 3 {
		mustStores(t, f)
		f.clock.advance(30 * time.Second)
	}
	if len(rec.sinces) != 3 || !rec.sinces[0].IsZero() || rec.sinces[1].IsZero() || !rec.sinces[2].Equal(rec.sinces[1]) {
		t.Fatalf("listings since %v: want everything, then twice the same time", rec.sinces)
	}
	f.setPhase(t, storeName(1), v1alpha1.PhaseReady)
	edited := f.clock.now()
	f.clock.advance(30 * time.Second)
	if s := byName(mustStores(t, f))[storeName(1)]; s.Phase != v1alpha1.PhaseReady {
		t.Fatalf("the edited store: %+v", s)
	}
	f.clock.advance(30 * time.Second)
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	next := rec.sinces[len(rec.sinces)-1]
	if next.After(edited) || next.Equal(rec.sinces[2]) {
		t.Errorf("after an edit at %v the listing starts at %v: want it moved on, and before the edit", edited, next)
	}
}

// track opens a rollout's tracking issue as the bot does: the issue, the
// table of waves, and the state in the ledger record.
func (f *fixture) track(t testing.TB, st *rollout.State, tableBy string) int {
	t.Helper()
	n := f.gh.OpenIssue(requestRepo, ghstandin.BotLogin, "Rollout "+st.ID, "the plan", v1alpha1.LabelRollout)
	f.gh.Comment(requestRepo, n, tableBy, rollout.Table(st))
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	if _, err := ledger.New(f.repo, testutil.LedgerKeys()).Update(context.Background(), ref, func(r *ledger.Record) (string, error) {
		r.Rollout = data
		return "rollout started", nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRepoSource_Rollouts(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	started := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range statuspage.MaxRollouts {
		f.track(t, &rollout.State{ID: fmt.Sprintf("20261125-00000%d", i), Title: "old", Phase: rollout.Done, Fleet: []string{"a"}, Started: started}, ghstandin.BotLogin)
	}
	paused := &rollout.State{ID: "20261125-abcdef", Title: "chart 0.3.0", Phase: rollout.Paused, Reason: "wave 1 has 1 failed store",
		LastError: &rollout.Failure{Action: "open the pull request of wave 2", Message: "GitHub answered 502", Time: started},
		Fleet:     []string{"a", "b", "c"}, Started: started, WaveList: []rollout.WaveState{
			{Number: 1, PullState: rollout.PullState{Branch: "rollout/20261125-abcdef/wave-1", Pull: 7, URL: "https://github.com/acme/tenants/pull/7"},
				Stores: []string{"a"}, MergeCommit: "abc", Failed: []rollout.Result{{Store: "a", Outcome: rollout.Failed, Message: "licenseKey"}}},
		}}
	n := f.track(t, paused, ghstandin.BotLogin)
	// Someone else's comment that looks like the table makes no rollout.
	forged := f.track(t, &rollout.State{ID: "20261125-forged", Phase: rollout.Active}, "mallory")

	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	before := f.gh.Calls()
	rs, err := f.source.Rollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after := f.gh.Calls(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("Rollouts asked GitHub: %v, then %v", before, after)
	}
	if len(rs) != statuspage.MaxRollouts {
		t.Fatalf("%d rollouts, want the newest %d: %+v", len(rs), statuspage.MaxRollouts, rs)
	}
	got := rs[0]
	if got.ID != paused.ID || got.Phase != "paused" || got.Issue != fmt.Sprintf("%s#%d", requestRepo, n) || !strings.HasSuffix(got.IssueURL, fmt.Sprintf("/issues/%d", n)) || got.Stores != 3 {
		t.Errorf("newest rollout: %+v", got)
	}
	if got.Error != "could not open the pull request of wave 2: GitHub answered 502, retrying" {
		t.Errorf("newest rollout's error: %q", got.Error)
	}
	if len(got.Waves) != 1 || got.Waves[0].State != "merged" || got.Waves[0].Pull != 7 || fmt.Sprint(got.Waves[0].Failed) != "[a]" {
		t.Errorf("waves: %+v", got.Waves)
	}
	for _, r := range rs {
		if r.ID == "20261125-forged" || r.Issue == fmt.Sprintf("%s#%d", requestRepo, forged) {
			t.Errorf("a rollout from a comment not by the bot: %+v", r)
		}
	}
	if rs[len(rs)-1].ID != "20261125-000001" {
		t.Errorf("oldest shown: %s, want 20261125-000001 (the oldest left out)", rs[len(rs)-1].ID)
	}
}

// TestRepoSource_RolloutsOnceTheBotIsKnown: a page read before the
// service learned the bot's login shows no rollout (no comment is the
// bot's yet), and the first read after shows the bot's, from the comments
// read again, not from the index made while the login was unknown (whose
// next listing would start after those comments).
func TestRepoSource_RolloutsOnceTheBotIsKnown(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	id := &forge.Identity{}
	f.source.Bot = id
	st := &rollout.State{ID: "20261125-abcdef", Title: "chart 0.3.0", Phase: rollout.Active, Fleet: []string{"a"},
		Started: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.track(t, st, ghstandin.BotLogin)
	rollouts := func() []statuspage.Rollout {
		t.Helper()
		if _, err := f.source.Stores(ctx); err != nil {
			t.Fatal(err)
		}
		rs, err := f.source.Rollouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if rs := rollouts(); len(rs) != 0 {
		t.Errorf("rollouts while the bot is unknown: %+v, want none", rs)
	}
	id.Learn(ghstandin.BotLogin)
	if rs := rollouts(); len(rs) != 1 || rs[0].ID != st.ID {
		t.Errorf("rollouts once the bot is known: %+v, want %s", rs, st.ID)
	}
}

// TestRepoSource_AStoreIsItsIssue: the page shows the stores on the base
// branch, each by the issue its request copy names, with that issue's
// record only. A name reused after a decommission shows the second store
// alone, none of the first's timeline; a copy merged by hand that names
// another store's issue, or an issue whose store was decommissioned,
// shows no recorded state, and says why.
func TestRepoSource_AStoreIsItsIssue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3)
	reused, claimed, resurrected := storeName(0), storeName(1), storeName(2)
	// The first store of the name was decommissioned; a new issue asked
	// for the name again, and its store was merged.
	old := f.states[reused]
	old.Operation, old.Phase = v1alpha1.OpDecommission, v1alpha1.PhaseDecommissioned
	old.Timeline = append(old.Timeline, storestatus.Event{Phase: v1alpha1.PhaseDecommissioned, At: time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC), Detail: "the first store"})
	f.record(t, f.issues[reused], f.status[reused], old)
	n := f.gh.OpenIssue(requestRepo, "mallory", "Store "+reused, "a request")
	second := storestatus.State{Store: reused, Phase: v1alpha1.PhaseReady,
		Timeline: []storestatus.Event{{Phase: v1alpha1.PhaseReady, At: time.Date(2026, 11, 25, 12, 3, 0, 0, time.UTC), Detail: "the second store"}}}
	f.record(t, n, f.gh.Comment(requestRepo, n, ghstandin.BotLogin, storestatus.Body(second, "")), second)
	// The third store's record says decommissioned, yet its copy is on
	// the branch: put back by hand.
	gone := f.states[resurrected]
	gone.Operation = v1alpha1.OpDecommission
	f.record(t, f.issues[resurrected], f.status[resurrected], gone)
	dir := func(name string) string {
		return "tenants/default/" + renderer.Shard(name) + "/" + name + "/store.yaml"
	}
	if _, err := f.repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "the name again, and a copy by hand", Changes: []tenants.Change{
			{Path: dir(reused), Data: requestFile(reused, fmt.Sprintf("%s#%d", requestRepo, n))},
			{Path: dir("impostor"), Data: requestFile("impostor", fmt.Sprintf("%s#%d", requestRepo, f.issues[claimed]))},
			{Path: dir("renamed"), Data: requestFile(claimed, fmt.Sprintf("%s#%d", requestRepo, f.issues[claimed]))},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	stores, err := f.source.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(stores)
	if s := m[reused]; s.Issue != fmt.Sprintf("%s#%d", requestRepo, n) || s.Phase != v1alpha1.PhaseReady || len(s.Timeline) != 1 || s.Timeline[0].Detail != "the second store" || s.Note != "" {
		t.Errorf("the second store of a reused name: %+v", s)
	}
	if s := m["impostor"]; s.Phase != v1alpha1.PhaseUnknown || len(s.Timeline) != 0 || s.PullURL != "" || !strings.Contains(s.Note, "for store "+claimed+", not this one") {
		t.Errorf("a copy that names another store's issue: %+v", s)
	}
	if s := m["renamed"]; s.Phase != v1alpha1.PhaseUnknown || len(s.Timeline) != 0 || s.Issue != "" || !strings.Contains(s.Note, "names store \""+claimed+"\"") {
		t.Errorf("a copy whose name is another store's: %+v", s)
	}
	if len(stores) != 6 {
		t.Errorf("%d stores, want 6 (each folder once)", len(stores))
	}
	if s := m[claimed]; s.Phase != v1alpha1.PhasePendingReview || len(s.Timeline) != 1 || s.Note != "" {
		t.Errorf("the store whose issue another copy names: %+v", s)
	}
	if s := m[resurrected]; s.Phase != v1alpha1.PhaseUnknown || len(s.Timeline) != 0 || !strings.Contains(s.Note, "decommissioned") {
		t.Errorf("a store put back after its decommission: %+v", s)
	}
}
