package apply_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
)

func botPull(n int, branch string) forge.PullRequest {
	return forge.PullRequest{Repo: tenants, Number: n, Head: branch, HeadRepo: tenants, HeadSHA: "pushed", Base: "main", Open: true,
		Author: bot.Login, Title: "t", Body: "b"}
}

func TestOwns_Cases(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   func(*forge.PullRequest)
		pushed string
		want   bool
	}{
		{name: "the bot's", want: true},
		{name: "the bot's at the commit it pushed", pushed: "pushed", want: true},
		{name: "someone else's on the bot's branch", edit: func(p *forge.PullRequest) { p.Author = "mallory" }},
		{name: "the bot's name with another case", edit: func(p *forge.PullRequest) { p.Author = "Purrvision[bot]" }},
		{name: "from a fork", edit: func(p *forge.PullRequest) { p.HeadRepo = fork }},
		{name: "head repo unknown to GitHub", edit: func(p *forge.PullRequest) { p.HeadRepo = forge.Repo{} }},
		{name: "in another repository", edit: func(p *forge.PullRequest) { p.Repo = fork }},
		{name: "pushed to by hand", edit: func(p *forge.PullRequest) { p.HeadSHA = "other" }, pushed: "pushed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr := botPull(1, "store/cat-cafe")
			if tt.edit != nil {
				tt.edit(&pr)
			}
			if got := bot.Owns(&pr, tt.pushed); got != tt.want {
				t.Errorf("Owns = %v, want %v", got, tt.want)
			}
		})
	}
	if bot.Owns(nil, "") || (apply.Bot{Tenants: tenants}).Owns(&forge.PullRequest{Repo: tenants, HeadRepo: tenants}, "") {
		t.Error("a nil pull request, or a bot of no login, owns something")
	}
}

func TestEnsurePull_Cases(t *testing.T) {
	want := apply.Pull{Branch: "store/cat-cafe", Base: "main", Title: "Provision store cat-cafe", Body: "body"}
	lookalike := func(edit func(*forge.PullRequest)) []forge.PullRequest {
		pr := botPull(7, want.Branch)
		edit(&pr)
		return []forge.PullRequest{pr}
	}
	for _, tt := range []struct {
		name       string
		prs        []forge.PullRequest
		pushed     string
		wantNumber int // 0: a new one
		writes     []string
	}{
		{name: "none: opened", writes: []string{"create store/cat-cafe"}},
		{name: "the bot's as wanted: nothing written", prs: func() []forge.PullRequest {
			pr := botPull(7, want.Branch)
			pr.Title, pr.Body = want.Title, want.Body
			return []forge.PullRequest{pr}
		}(), wantNumber: 7},
		{name: "the bot's with another title: edited", prs: []forge.PullRequest{botPull(7, want.Branch)}, wantNumber: 7, writes: []string{"edit"}},
		{name: "a fork's of the same branch name: not adopted", prs: lookalike(func(p *forge.PullRequest) { p.HeadRepo = fork }), writes: []string{"create store/cat-cafe"}},
		{name: "the bot's closed one: a new one", prs: lookalike(func(p *forge.PullRequest) { p.Open = false }), writes: []string{"create store/cat-cafe"}},
		{name: "the bot's merged at the commit it pushed: found", pushed: "pushed",
			prs: lookalike(func(p *forge.PullRequest) { p.Open, p.Merged = false, true }), wantNumber: 7},
		{name: "the bot's merged at another commit: a new one", pushed: "mine",
			prs: lookalike(func(p *forge.PullRequest) { p.Open, p.Merged = false, true }), writes: []string{"create store/cat-cafe"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := &pulls{prs: tt.prs}
			w := want
			w.Pushed = tt.pushed
			pr, err := bot.EnsurePull(ctx, gh, w)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNumber != 0 && pr.Number != tt.wantNumber {
				t.Errorf("pull request %d, want %d", pr.Number, tt.wantNumber)
			}
			if tt.wantNumber == 0 && (pr.Author != bot.Login || pr.Title != want.Title || pr.Body != want.Body) {
				t.Errorf("opened %+v", pr)
			}
			if !slices.Equal(gh.writes, tt.writes) {
				t.Errorf("writes %q, want %q", gh.writes, tt.writes)
			}
			// Idempotent: a second run writes nothing.
			gh.writes = nil
			again, err := bot.EnsurePull(ctx, gh, w)
			if err != nil {
				t.Fatal(err)
			}
			if again.Number != pr.Number || len(gh.writes) != 0 {
				t.Errorf("second run: pull request %d (first %d), writes %q", again.Number, pr.Number, gh.writes)
			}
		})
	}
}

func TestEnsurePull_SomeoneElsesIsNotAdopted(t *testing.T) {
	// Someone with write access opened a pull request of the bot's
	// branch: GitHub refuses a second one, and the bot neither adopts nor
	// edits theirs.
	theirs := botPull(7, "store/cat-cafe")
	theirs.Author = "mallory"
	gh := &pulls{prs: []forge.PullRequest{theirs}}
	pr, err := bot.EnsurePull(ctx, gh, apply.Pull{Branch: "store/cat-cafe", Base: "main", Title: "Provision store cat-cafe", Body: "body"})
	if err == nil || pr != nil {
		t.Fatalf("EnsurePull = %+v, %v; want an error", pr, err)
	}
	if len(gh.writes) != 0 || gh.prs[0].Title != "t" {
		t.Errorf("wrote %q; their pull request is %+v", gh.writes, gh.prs[0])
	}
}

func TestEnsurePull_AlreadyExistsFindsIt(t *testing.T) {
	// Opened before a lost answer: GitHub refuses the second, and the
	// bot's is found again.
	gh := &pulls{fail: forge.ErrAlreadyExists}
	gh.prs = []forge.PullRequest{botPull(9, "rollout/x/wave-1")}
	gh.prs[0].Author = "mallory" // not the bot's: looked past
	_, err := bot.EnsurePull(ctx, gh, apply.Pull{Branch: "rollout/x/wave-1", Base: "main", Title: "t", Body: "b"})
	if err == nil {
		t.Fatal("no error when GitHub says the pull request exists and none of the bot's is listed")
	}
	gh.prs[0].Author = bot.Login
	gh.fail = forge.ErrAlreadyExists
	if _, err := bot.EnsurePull(ctx, &failFirstFind{pulls: gh}, apply.Pull{Branch: "rollout/x/wave-1", Base: "main", Title: "t", Body: "b"}); err != nil {
		t.Fatal(err)
	}
}

// failFirstFind lists nothing the first time, as GitHub's listing may lag
// behind a pull request just opened.
type failFirstFind struct {
	*pulls
	listed bool
}

func (f *failFirstFind) ListPulls(c context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error) {
	if !f.listed {
		f.listed = true
		return nil, nil
	}
	return f.pulls.ListPulls(c, repo, head)
}

func TestClosePull_OnlyTheBots(t *testing.T) {
	mine := botPull(3, "store/cat-cafe")
	theirs := botPull(4, "store/cat-cafe")
	theirs.Author = "mallory"
	gh := &pulls{prs: []forge.PullRequest{theirs, mine}}
	closed, err := bot.ClosePull(ctx, gh, "store/cat-cafe", nil)
	if err != nil {
		t.Fatal(err)
	}
	if closed == nil || closed.Number != 3 || !gh.prs[0].Open || gh.prs[1].Open {
		t.Fatalf("closed %+v; pull requests %+v", closed, gh.prs)
	}
	gh.writes = nil
	if closed, err = bot.ClosePull(ctx, gh, "store/cat-cafe", nil); err != nil || closed != nil || len(gh.writes) != 0 {
		t.Errorf("second run: closed %v, writes %q, %v", closed, gh.writes, err)
	}
	gh.prs[1].Open = true
	if closed, err = bot.ClosePull(ctx, gh, "store/cat-cafe", func(*forge.PullRequest) bool { return true }); err != nil || closed != nil || !gh.prs[1].Open {
		t.Errorf("kept: closed %v, %v", closed, err)
	}
}

func TestWriteCheck_Cases(t *testing.T) {
	want := forge.CheckRun{Name: "purrvision/plan", HeadSHA: "abc", Conclusion: "success", Output: forge.CheckOutput{Title: "plan", Summary: "s"}}
	other := want
	other.ID, other.App = 1, "mallory-app[bot]"
	stale := want
	stale.ID, stale.App, stale.Conclusion = 2, bot.Login, "failure"
	olderCommit := want
	olderCommit.ID, olderCommit.App, olderCommit.HeadSHA = 3, bot.Login, "old"
	for _, tt := range []struct {
		name   string
		runs   []forge.CheckRun
		writes []string
	}{
		{name: "none: created", writes: []string{"create"}},
		{name: "another App's of the same name: not taken", runs: []forge.CheckRun{other}, writes: []string{"create"}},
		{name: "the bot's saying something else: updated", runs: []forge.CheckRun{other, stale}, writes: []string{"update"}},
		{name: "the bot's on another commit: created", runs: []forge.CheckRun{olderCommit}, writes: []string{"create"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := &checks{runs: tt.runs}
			if err := bot.WriteCheck(ctx, gh, want); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gh.writes, tt.writes) {
				t.Errorf("writes %q, want %q", gh.writes, tt.writes)
			}
			gh.writes = nil
			if err := bot.WriteCheck(ctx, gh, want); err != nil || len(gh.writes) != 0 {
				t.Errorf("second run wrote %q, %v", gh.writes, err)
			}
		})
	}
}

func TestReportCheck_ForbiddenGoesOn(t *testing.T) {
	gh := &checks{fail: forge.ErrForbidden}
	run := forge.CheckRun{Name: "purrvision/plan", HeadSHA: "abc"}
	if err := bot.ReportCheck(ctx, gh, run); err != nil {
		t.Errorf("ReportCheck = %v, want nil on 403", err)
	}
	gh.fail = errors.New("boom")
	if err := bot.ReportCheck(ctx, gh, run); err == nil {
		t.Error("ReportCheck = nil on another error")
	}
}

func TestEnsureDeployments_Cases(t *testing.T) {
	ds := []apply.Deployment{
		{Environment: "purrvision-a", SHA: "m1", Description: "provision of store a", LogURL: "https://status.example.com/#store-a"},
		{Environment: "purrvision-b", SHA: "m1", Description: "provision of store b"},
	}
	for _, tt := range []struct {
		name   string
		have   []forge.Deployment
		sts    map[int64][]forge.DeploymentStatus
		writes []string
	}{
		{name: "none: created, queued", writes: []string{"deploy purrvision-a", "status queued", "deploy purrvision-b", "status queued"}},
		{name: "someone else's of the same commit: not the bot's",
			have:   []forge.Deployment{{ID: 50, SHA: "m1", Environment: "purrvision-a", Creator: "mallory"}},
			sts:    map[int64][]forge.DeploymentStatus{50: {{State: "success", Creator: "mallory"}}},
			writes: []string{"deploy purrvision-a", "status queued", "deploy purrvision-b", "status queued"}},
		{name: "the bot's with a status: left",
			have:   []forge.Deployment{{ID: 50, SHA: "m1", Environment: "purrvision-a", Creator: bot.Login}},
			sts:    map[int64][]forge.DeploymentStatus{50: {{State: "success", Creator: bot.Login}}},
			writes: []string{"deploy purrvision-b", "status queued"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := &deploys{ds: tt.have, statuses: tt.sts}
			if err := bot.EnsureDeployments(ctx, gh, ds); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gh.writes, tt.writes) {
				t.Errorf("writes %q, want %q", gh.writes, tt.writes)
			}
			for _, d := range gh.ds {
				if d.Environment == "purrvision-a" && d.Creator == bot.Login {
					if st := gh.statuses[d.ID]; st[0].State == apply.Queued && st[0].LogURL != ds[0].LogURL {
						t.Errorf("queued status has log_url %q, want %q", st[0].LogURL, ds[0].LogURL)
					}
				}
			}
			gh.writes = nil
			if err := bot.EnsureDeployments(ctx, gh, ds); err != nil || len(gh.writes) != 0 {
				t.Errorf("second run wrote %q, %v", gh.writes, err)
			}
		})
	}
}

func TestReadMerge_OnlyWritersApprove(t *testing.T) {
	gh := &reviews{approvers: []string{"alice", "mallory", "bob"}, perms: map[string]string{"alice": forge.PermissionWrite, "bob": forge.PermissionAdmin, "mallory": forge.PermissionRead}}
	pr := botPull(5, "store/cat-cafe")
	pr.Open, pr.Merged, pr.MergeCommitSHA, pr.MergedBy, pr.URL = false, true, "0123456789abcdef", "alice", "https://github.com/acme/tenants/pull/5"
	m, err := apply.ReadMerge(ctx, gh, &pr)
	if err != nil {
		t.Fatal(err)
	}
	want := apply.Merge{Pull: 5, URL: pr.URL, Commit: pr.MergeCommitSHA, By: "alice", Approvers: []string{"alice", "bob"}}
	if m.Pull != want.Pull || m.URL != want.URL || m.Commit != want.Commit || m.By != want.By || !slices.Equal(m.Approvers, want.Approvers) {
		t.Errorf("ReadMerge = %+v, want %+v", m, want)
	}
	if m.Approved() != "approved by @alice, @bob" || m.Short() != "0123456789ab" {
		t.Errorf("Approved %q, Short %q", m.Approved(), m.Short())
	}
	pr.Merged = false
	if _, err := apply.ReadMerge(ctx, gh, &pr); err == nil {
		t.Error("ReadMerge of an unmerged pull request: no error")
	}
}

func TestLabelDiff_Cases(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		have, add, remove        []string
		wantAdding, wantRemoving []string
	}{
		{name: "nothing to do", have: []string{"a"}, add: []string{"a"}, remove: []string{"b"}},
		{name: "add missing", have: []string{"a"}, add: []string{"a", "b", "b"}, wantAdding: []string{"b"}},
		{name: "remove present", have: []string{"a", "b"}, remove: []string{"b", "c"}, wantRemoving: []string{"b"}},
		{name: "in both: kept", have: []string{"a"}, add: []string{"a"}, remove: []string{"a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			adding, removing := apply.LabelDiff(tt.have, tt.add, tt.remove)
			if !slices.Equal(adding, tt.wantAdding) || !slices.Equal(removing, tt.wantRemoving) {
				t.Errorf("LabelDiff = %q, %q; want %q, %q", adding, removing, tt.wantAdding, tt.wantRemoving)
			}
		})
	}
}

func TestSetLabels_Idempotent(t *testing.T) {
	gh := &labels{have: []string{"purrvision/pending-review", "bug"}}
	ref := forge.IssueRef{Repo: tenants, Number: 1}
	if err := apply.SetLabels(ctx, gh, ref, gh.have, []string{"purrvision/provisioning"}, []string{"purrvision/pending-review"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gh.have, []string{"bug", "purrvision/provisioning"}) {
		t.Errorf("labels %q", gh.have)
	}
	gh.writes = nil
	if err := apply.SetLabels(ctx, gh, ref, gh.have, []string{"purrvision/provisioning"}, []string{"purrvision/pending-review"}); err != nil || len(gh.writes) != 0 {
		t.Errorf("second run wrote %q, %v", gh.writes, err)
	}
}

func TestCommandWords_Cases(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       []string
		ok         bool
	}{
		{name: "a command", body: "/purrvision resize large\nthanks", want: []string{"resize", "large"}, ok: true},
		{name: "the prefix alone", body: "  /purrvision  ", want: []string{}, ok: true},
		{name: "a rollout command", body: "/purrvision rollout revert 2", want: []string{"rollout", "revert", "2"}, ok: true},
		{name: "not on the first line", body: "please\n/purrvision decommission"},
		{name: "a look-alike prefix", body: "/purrvisionx abort"},
		{name: "in a quote", body: "> /purrvision decommission"},
		{name: "empty", body: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := apply.CommandWords(tt.body)
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("CommandWords(%q) = %q, %v; want %q, %v", tt.body, got, ok, tt.want, tt.ok)
			}
		})
	}
}
