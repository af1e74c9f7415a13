package ghspec_test

// What the stand-in does as GitHub does, held to the description as
// every test here is: who a write is recorded as, who may merge, and who
// may create and change check runs.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testutil"
)

// do makes one call as login ("" for the bot) and returns the status and
// the body.
func do(t *testing.T, gh *ghstandin.Server, method, path, login, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(gh.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token t")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if login != "" {
		req.Header.Set(ghstandin.ActAsHeader, login)
	}
	return testutil.Do(t, req)
}

// login reads a user field's login out of a JSON object at a dotted path.
func login(t *testing.T, body, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	m, _ := v.(map[string]any)
	s, _ := m["login"].(string)
	return s
}

// TestWrites_AttributedToTheCaller: every write is recorded as the user
// who made it, in what GitHub answers and in the webhook it sends.
func TestWrites_AttributedToTheCaller(t *testing.T) {
	const repo = "/repos/acme/stores"
	gh, c := standIn(t)
	gh.SetPermission("acme/stores", "maint", "maintain")
	_, is := do(t, gh, "POST", repo+"/issues", "alice", `{"title":"Store","body":"please"}`)
	_, cm := do(t, gh, "POST", repo+"/issues/1/comments", "bob", `{"body":"hi"}`)
	var comment struct{ ID int64 }
	if err := json.Unmarshal([]byte(cm), &comment); err != nil {
		t.Fatal(err)
	}
	_, pr := do(t, gh, "POST", repo+"/pulls", "carol", `{"title":"Add","head":"feature","base":"main"}`)
	var pull struct {
		Number int
		Head   struct{ SHA string }
	}
	if err := json.Unmarshal([]byte(pr), &pull); err != nil {
		t.Fatal(err)
	}
	answers := []struct {
		what, login, body, path string
	}{
		{"issue", "alice", is, "user"},
		{"comment", "bob", cm, "user"},
		{"pull request", "carol", pr, "user"},
	}
	for _, w := range []struct{ what, who, method, path, body, field string }{
		{"reaction", "dave", "POST", fmt.Sprintf("%s/issues/comments/%d/reactions", repo, comment.ID), `{"content":"+1"}`, "user"},
		{"review", "erin", "POST", fmt.Sprintf("%s/pulls/%d/reviews", repo, pull.Number), `{"event":"APPROVE"}`, "user"},
		{"status", "frank", "POST", repo + "/statuses/" + pull.Head.SHA, `{"state":"success","context":"ci"}`, "creator"},
		{"deployment", "grace", "POST", repo + "/deployments", `{"ref":"` + pull.Head.SHA + `","environment":"e","auto_merge":false,"required_contexts":[]}`, "creator"},
	} {
		_, body := do(t, gh, w.method, w.path, w.who, w.body)
		answers = append(answers, struct{ what, login, body, path string }{w.what, w.who, body, w.field})
	}
	for _, a := range answers {
		if got := login(t, a.body, a.path); got != a.login {
			t.Errorf("%s: %s is %q, want %q", a.what, a.path, got, a.login)
		}
	}
	// Edits, labels, deletions and the merge: the webhook's sender.
	do(t, gh, "PATCH", repo+"/issues/1", "heidi", `{"body":"edited"}`)
	do(t, gh, "POST", repo+"/issues/1/labels", "ivan", `{"labels":["x"]}`)
	do(t, gh, "DELETE", repo+"/issues/1/labels/x", "judy", "")
	do(t, gh, "PATCH", fmt.Sprintf("%s/issues/comments/%d", repo, comment.ID), "ken", `{"body":"edited"}`)
	do(t, gh, "DELETE", fmt.Sprintf("%s/issues/comments/%d", repo, comment.ID), "lena", "")
	if code, body := do(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", repo, pull.Number), "maint", `{}`); code != http.StatusOK {
		t.Fatalf("merge by a maintainer: %d %s", code, body)
	}
	do(t, gh, "PATCH", repo+"/issues/1", "mike", `{"state":"closed"}`)
	gh.WaitDeliveries()
	want := map[string]string{
		"issues opened": "alice", "issue_comment created": "bob", "pull_request opened": "carol", "issues edited": "heidi",
		"issues labeled": "ivan", "issues unlabeled": "judy", "issue_comment edited": "ken", "issue_comment deleted": "lena",
		"pull_request closed": "maint", "issues closed": "mike",
	}
	got := map[string]string{}
	for _, d := range gh.Deliveries() {
		var p struct {
			Action string
			Sender struct{ Login string }
		}
		if err := json.Unmarshal(d.Body, &p); err != nil {
			t.Fatal(err)
		}
		got[d.Event+" "+p.Action] = p.Sender.Login
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("webhook %s sent by %q, want %q", k, got[k], v)
		}
	}
	for _, p := range gh.Pulls("acme/stores") {
		if p.GetMergedBy().GetLogin() != "maint" {
			t.Errorf("merged_by = %q, want maint", p.GetMergedBy().GetLogin())
		}
	}
	for _, p := range c.Problems() {
		t.Error(p)
	}
}

// TestMerge_NeedsWriteAccess: as on GitHub, merging needs write, maintain
// or admin permission on the repository; anyone else gets 403 and nothing
// is merged. The stand-in's App may (contents: write).
func TestMerge_NeedsWriteAccess(t *testing.T) {
	tests := []struct {
		who, permission string
		want            int
	}{
		{"stranger", "", http.StatusForbidden},
		{"reader", "read", http.StatusForbidden},
		{"triager", "triage", http.StatusForbidden},
		{"writer", "write", http.StatusOK},
		{"maintainer", "maintain", http.StatusOK},
		{"admin", "admin", http.StatusOK},
		{"", "", http.StatusOK}, // the bot
	}
	for _, tt := range tests {
		t.Run(tt.who+tt.permission, func(t *testing.T) {
			gh, c := standIn(t)
			if tt.permission != "" {
				gh.SetPermission("acme/stores", tt.who, tt.permission)
			}
			n, err := gh.OpenPull("acme/stores", "octocat", "feature", "main", "Add", "")
			if err != nil {
				t.Fatal(err)
			}
			code, body := do(t, gh, "PUT", fmt.Sprintf("/repos/acme/stores/pulls/%d/merge", n), tt.who, `{}`)
			if code != tt.want {
				t.Fatalf("merge by %q (%q): %d %s, want %d", tt.who, tt.permission, code, body, tt.want)
			}
			merged := gh.Pulls("acme/stores")[0].GetMerged()
			if merged != (tt.want == http.StatusOK) {
				t.Errorf("merged = %v after %d", merged, code)
			}
			if code == http.StatusForbidden && !strings.Contains(body, `"message"`) {
				t.Errorf("403 without GitHub's message: %s", body)
			}
			if code == http.StatusForbidden {
				if _, err := gh.Merge("acme/stores", n, tt.who); err == nil || !strings.Contains(err.Error(), "403") {
					t.Errorf("the Go helper Merge by %q: %v, want a 403", tt.who, err)
				}
			}
			for _, p := range c.Problems() {
				t.Error(p)
			}
		})
	}
}

// TestCheckRuns_OnlyTheirApp: only a GitHub App creates check runs, and
// only the App that created one changes it; GitHub records the App on
// each, and lists the latest of each App and name unless asked for all.
func TestCheckRuns_OnlyTheirApp(t *testing.T) {
	const repo = "/repos/acme/stores"
	gh, c := standIn(t)
	n, err := gh.OpenPull("acme/stores", "octocat", "feature", "main", "Add", "")
	if err != nil {
		t.Fatal(err)
	}
	sha := gh.Pulls("acme/stores")[0].GetHead().GetSHA()
	create := `{"name":"purrvision/plan","head_sha":"` + sha + `","conclusion":"success","output":{"title":"t","summary":"s"}}`
	if code, _ := do(t, gh, "POST", repo+"/check-runs", "octocat", create); code != http.StatusForbidden {
		t.Errorf("a person created a check run: %d", code)
	}
	code, body := do(t, gh, "POST", repo+"/check-runs", "", create)
	if code != http.StatusCreated {
		t.Fatalf("the App's check run: %d %s", code, body)
	}
	var run struct {
		ID  int64
		App struct {
			Slug string
			ID   int64
		}
		PullRequests []struct{ Number int } `json:"pull_requests"`
	}
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if run.App.Slug+"[bot]" != ghstandin.BotLogin || len(run.PullRequests) != 1 || run.PullRequests[0].Number != n {
		t.Errorf("check run = %+v, want the bot's App and pull request %d", run, n)
	}
	gh.AddCheckRun("acme/stores", "other-ci", "purrvision/plan", sha, "failure", "theirs")
	others := gh.CheckRuns("acme/stores", sha)
	if len(others) != 2 || others[1].App != "other-ci" {
		t.Fatalf("check runs = %+v", others)
	}
	if code, _ := do(t, gh, "PATCH", fmt.Sprintf("%s/check-runs/%d", repo, others[1].ID), "", `{"conclusion":"success"}`); code != http.StatusForbidden {
		t.Errorf("the bot changed another App's check run: %d", code)
	}
	long := strings.Repeat("x", 65536)
	if code, _ := do(t, gh, "PATCH", fmt.Sprintf("%s/check-runs/%d", repo, run.ID), "", `{"output":{"title":"t","summary":"`+long+`"}}`); code != http.StatusUnprocessableEntity {
		t.Errorf("a summary of 65,536 characters: %d, want 422", code)
	}
	if code, _ := do(t, gh, "PATCH", fmt.Sprintf("%s/check-runs/%d", repo, run.ID), "", `{"conclusion":"failure","output":{"title":"t","summary":"s2"}}`); code != http.StatusOK {
		t.Errorf("the App's update of its own run: %d", code)
	}
	if got := gh.CheckRuns("acme/stores", sha)[0]; got.Conclusion != "failure" || got.Summary != "s2" || !got.Updated {
		t.Errorf("after the update: %+v", got)
	}
	list := func(query string) int {
		_, body := do(t, gh, "GET", repo+"/commits/"+sha+"/check-runs"+query, "", "")
		var res struct {
			Total int `json:"total_count"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	if got := list("?check_name=purrvision%2Fplan&app_id=1"); got != 1 {
		t.Errorf("the bot App's runs: %d, want 1", got)
	}
	do(t, gh, "POST", repo+"/check-runs", "", create)
	if got, all := list(""), list("?filter=all"); got != 2 || all != 3 {
		t.Errorf("latest %d (want one per App), all %d (want 3)", got, all)
	}
	for _, p := range c.Problems() {
		// The refusals are deliberate: their statuses are not in the
		// description, and the summary past the limit is what it refuses.
		if !strings.Contains(p, "403") && !strings.Contains(p, "422") && !strings.Contains(p, "maximum string length") {
			t.Error(p)
		}
	}
}
