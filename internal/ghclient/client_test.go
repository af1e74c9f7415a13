package ghclient_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testutil"
)

func setup(t *testing.T) (*ghstandin.Server, *ghclient.Client) {
	t.Helper()
	return testutil.GitHub(t, "acme/stores")
}

var stores = forge.Repo{Owner: "acme", Name: "stores"}

func TestClient_IssuesCommentsLabels(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	n := s.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: stores, Number: n}
	is, err := c.GetIssue(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if is.Author != "octocat" || !is.HasLabel("store-request") || !is.Open || is.Body != "body" {
		t.Errorf("GetIssue = %+v", is)
	}
	if _, err := c.GetIssue(ctx, forge.IssueRef{Repo: stores, Number: 999}); !errors.Is(err, forge.ErrNotFound) {
		t.Errorf("missing issue: err = %v, want ErrNotFound", err)
	}
	for i := range 130 {
		if _, err := c.CreateComment(ctx, ref, "comment"); err != nil {
			t.Fatalf("comment %d: %v", i, err)
		}
	}
	cs, err := c.ListComments(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 130 {
		t.Fatalf("ListComments returned %d comments over pages, want 130", len(cs))
	}
	if err := c.EditComment(ctx, stores, cs[0].ID, "edited"); err != nil {
		t.Fatal(err)
	}
	if got := s.Comments("acme/stores", n)[0].GetBody(); got != "edited" {
		t.Errorf("edited body = %q", got)
	}
	if err := c.AddLabels(ctx, ref, "store/invalid"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveLabel(ctx, ref, "store/invalid"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveLabel(ctx, ref, "never-there"); err != nil {
		t.Errorf("removing an absent label: %v", err)
	}
	if got := s.Labels("acme/stores", n); len(got) != 1 || got[0] != "store-request" {
		t.Errorf("labels = %v", got)
	}
}

func TestClient_ListRepoComments(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	a := s.OpenIssue("acme/stores", "octocat", "a", "body")
	b := s.OpenIssue("acme/stores", "octocat", "b", "body")
	var ids []int64
	for i := range 120 {
		ids = append(ids, s.Comment("acme/stores", []int{a, b}[i%2], "octocat", fmt.Sprint("comment ", i)))
	}
	all, err := c.ListRepoComments(ctx, stores, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 120 {
		t.Fatalf("listed %d comments over pages, want 120", len(all))
	}
	for i, cm := range all {
		if cm.ID != ids[i] || cm.Issue != []int{a, b}[i%2] || cm.Author != "octocat" || cm.UpdatedAt.IsZero() {
			t.Fatalf("comment %d = %+v", i, cm)
		}
	}
	// Editing the first comment moves it to the end of the update order,
	// and a listing since then returns only it.
	newest := all[len(all)-1].UpdatedAt
	// GitHub's timestamps are to the second: the edit is dated two seconds
	// after the newest comment by the stand-in's clock.
	s.SetClock(func() time.Time { return newest.Add(2 * time.Second) })
	if err := c.EditComment(ctx, stores, ids[0], "edited"); err != nil {
		t.Fatal(err)
	}
	changed, err := c.ListRepoComments(ctx, stores, newest.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].ID != ids[0] || changed[0].Body != "edited" || changed[0].Issue != a {
		t.Errorf("comments changed since the edit: %+v", changed)
	}
}

func TestClient_UsersAndPermissions(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.SetKeys("octocat", "ssh-ed25519 AAAA1", "ssh-rsa AAAA2")
	keys, err := c.SSHKeys(ctx, "octocat")
	if err != nil || len(keys) != 2 {
		t.Errorf("SSHKeys = %v, %v", keys, err)
	}
	s.SetPermission("acme/stores", "admin1", "admin")
	s.SetPermission("acme/stores", "maint", "maintain")
	for login, want := range map[string]string{"admin1": "admin", "maint": "write", "stranger": "read"} {
		got, err := c.Permission(ctx, stores, login)
		if err != nil || got != want {
			t.Errorf("Permission(%s) = %q, %v; want %q", login, got, err, want)
		}
	}
	s.AddTeamMember("acme/platform", "pat")
	if ok, err := c.IsTeamMember(ctx, "acme", "platform", "pat"); !ok || err != nil {
		t.Errorf("IsTeamMember(pat) = %v, %v", ok, err)
	}
	if ok, err := c.IsTeamMember(ctx, "acme", "platform", "eve"); ok || err != nil {
		t.Errorf("IsTeamMember(eve) = %v, %v", ok, err)
	}
}

// TestClient_RetriesFaults: with a fifth of the calls failing with 502s and
// secondary rate limits, reads and idempotent writes still succeed.
func TestClient_RetriesFaults(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	n := s.OpenIssue("acme/stores", "octocat", "t", "b")
	ref := forge.IssueRef{Repo: stores, Number: n}
	s.SetFaults(ghstandin.Faults{Rate: 0.2, RateLimitShare: 0.1, Seed: 42})
	for i := range 40 {
		if _, err := c.GetIssue(ctx, ref); err != nil {
			t.Fatalf("GetIssue %d: %v", i, err)
		}
		if err := c.AddLabels(ctx, ref, "x"); err != nil && !isPostFailure(err) {
			t.Fatalf("AddLabels %d: %v", i, err)
		}
	}
	if s.Failed() == 0 {
		t.Fatal("no call failed: the fault injection is not on")
	}
}

// isPostFailure: a POST that failed with a 5xx is not retried, by design.
func isPostFailure(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || containsStatus(err.Error(), "502"))
}

func containsStatus(s, code string) bool {
	for i := 0; i+len(code) <= len(s); i++ {
		if s[i:i+len(code)] == code {
			return true
		}
	}
	return false
}

// TestClient_CheckRuns: a check run is created completed, with its output;
// it is listed with the App GitHub records, as its bot's login, among
// every run of the name on the commit (over pages), newest first; an
// update replaces its conclusion and output.
func TestClient_CheckRuns(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for i := range 120 {
		s.AddCheckRun("acme/stores", fmt.Sprintf("ci-%d", i), "purrvision/plan", sha, "neutral", "other")
	}
	s.AddCheckRun("acme/stores", "ci-x", "another/check", sha, "success", "another check")
	run := forge.CheckRun{Name: "purrvision/plan", HeadSHA: sha, Conclusion: "success", DetailsURL: "https://status.example/",
		Output: forge.CheckOutput{Title: "Provision: cat-cafe", Summary: "| a | b |", Text: "details"}}
	created, err := c.CreateCheckRun(ctx, stores, run)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.App != ghstandin.BotLogin || created.Output != run.Output || created.Conclusion != "success" {
		t.Errorf("created %+v", created)
	}
	runs, err := c.ListCheckRuns(ctx, stores, sha, "purrvision/plan")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 121 || runs[0].ID != created.ID || runs[0].App != ghstandin.BotLogin || runs[1].App != "ci-119[bot]" || runs[0].DetailsURL != run.DetailsURL {
		t.Fatalf("listed %d runs, first %+v", len(runs), runs[0])
	}
	run.Conclusion, run.Output = "failure", forge.CheckOutput{Title: "1 problem to fix", Summary: "fix it"}
	if err := c.UpdateCheckRun(ctx, stores, created.ID, run); err != nil {
		t.Fatal(err)
	}
	if runs, err = c.ListCheckRuns(ctx, stores, sha, "purrvision/plan"); err != nil || runs[0].Conclusion != "failure" || runs[0].Output != run.Output {
		t.Errorf("after the update: %+v, %v", runs[0], err)
	}
}
