package ghstandin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.AddRepo("acme/stores", "main", "")
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *Server, method, path, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token t")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(data)}
}

// TestLimits_Refused: each limit of GitHub's, one character past it, is
// refused with GitHub's 422 naming the resource and the field; at the
// limit it is taken.
func TestLimits_Refused(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	type call struct{ method, path, body string }
	tests := []struct {
		name            string
		at, over        call
		resource, field string
	}{
		{"label name", call{"POST", "/repos/acme/stores/issues/1/labels", `{"labels":["` + long(forge.MaxLabel) + `"]}`},
			call{"POST", "/repos/acme/stores/issues/1/labels", `{"labels":["` + long(forge.MaxLabel+1) + `"]}`}, "Label", "name"},
		{"comment body", call{"POST", "/repos/acme/stores/issues/1/comments", `{"body":"` + long(forge.MaxBody) + `"}`},
			call{"POST", "/repos/acme/stores/issues/1/comments", `{"body":"` + long(forge.MaxBody+1) + `"}`}, "IssueComment", "body"},
		{"edited comment body", call{"PATCH", "/repos/acme/stores/issues/comments/{comment}", `{"body":"` + long(forge.MaxBody) + `"}`},
			call{"PATCH", "/repos/acme/stores/issues/comments/{comment}", `{"body":"` + long(forge.MaxBody+1) + `"}`}, "IssueComment", "body"},
		{"issue body", call{"POST", "/repos/acme/stores/issues", `{"title":"t","body":"` + long(forge.MaxBody) + `"}`},
			call{"POST", "/repos/acme/stores/issues", `{"title":"t","body":"` + long(forge.MaxBody+1) + `"}`}, "Issue", "body"},
		{"issue title", call{"POST", "/repos/acme/stores/issues", `{"title":"` + long(forge.MaxTitle) + `"}`},
			call{"POST", "/repos/acme/stores/issues", `{"title":"` + long(forge.MaxTitle+1) + `"}`}, "Issue", "title"},
		{"edited issue title", call{"PATCH", "/repos/acme/stores/issues/1", `{"title":"` + long(forge.MaxTitle) + `"}`},
			call{"PATCH", "/repos/acme/stores/issues/1", `{"title":"` + long(forge.MaxTitle+1) + `"}`}, "Issue", "title"},
		{"pull request body", call{"PATCH", "/repos/acme/stores/pulls/{pull}", `{"body":"` + long(forge.MaxBody) + `"}`},
			call{"PATCH", "/repos/acme/stores/pulls/{pull}", `{"body":"` + long(forge.MaxBody+1) + `"}`}, "PullRequest", "body"},
		{"pull request title", call{"PATCH", "/repos/acme/stores/pulls/{pull}", `{"title":"` + long(forge.MaxTitle) + `"}`},
			call{"PATCH", "/repos/acme/stores/pulls/{pull}", `{"title":"` + long(forge.MaxTitle+1) + `"}`}, "PullRequest", "title"},
		{"new pull request title", call{"POST", "/repos/acme/stores/pulls", `{"title":"` + long(forge.MaxTitle) + `","head":"feature","base":"main"}`},
			call{"POST", "/repos/acme/stores/pulls", `{"title":"` + long(forge.MaxTitle+1) + `","head":"feature","base":"main"}`}, "PullRequest", "title"},
		{"commit status description", call{"POST", "/repos/acme/stores/statuses/abc", `{"state":"success","description":"` + long(forge.MaxStatusDescription) + `"}`},
			call{"POST", "/repos/acme/stores/statuses/abc", `{"state":"success","description":"` + long(forge.MaxStatusDescription+1) + `"}`}, "Status", "description"},
		{"deployment status description", call{"POST", "/repos/acme/stores/deployments/{deployment}/statuses", `{"state":"success","description":"` + long(forge.MaxStatusDescription) + `"}`},
			call{"POST", "/repos/acme/stores/deployments/{deployment}/statuses", `{"state":"success","description":"` + long(forge.MaxStatusDescription+1) + `"}`}, "DeploymentStatus", "description"},
		{"deployment environment", call{"POST", "/repos/acme/stores/deployments", `{"ref":"main","environment":"` + long(forge.MaxEnvironment) + `"}`},
			call{"POST", "/repos/acme/stores/deployments", `{"ref":"main","environment":"` + long(forge.MaxEnvironment+1) + `"}`}, "Deployment", "environment"},
		{"deployment status environment", call{"POST", "/repos/acme/stores/deployments/{deployment}/statuses", `{"state":"success","environment":"` + long(forge.MaxEnvironment) + `"}`},
			call{"POST", "/repos/acme/stores/deployments/{deployment}/statuses", `{"state":"success","environment":"` + long(forge.MaxEnvironment+1) + `"}`}, "Deployment", "environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.repos["acme/stores"].gitDir = gitRepo(t)
			n := s.OpenIssue("acme/stores", "octocat", "t", "b")
			comment := s.Comment("acme/stores", n, BotLogin, "c")
			if _, err := s.OpenPull("acme/stores", "octocat", "feature", "main", "p", ""); err != nil {
				t.Fatal(err)
			}
			dep := do(t, s, "POST", "/repos/acme/stores/deployments", `{"ref":"main","environment":"e"}`)
			var d struct{ ID int64 }
			if err := json.Unmarshal([]byte(dep.body), &d); err != nil || dep.status != http.StatusCreated {
				t.Fatalf("creating a deployment: %d %s", dep.status, dep.body)
			}
			fill := func(p string) string {
				p = strings.ReplaceAll(p, "{comment}", fmt.Sprint(comment))
				p = strings.ReplaceAll(p, "{deployment}", fmt.Sprint(d.ID))
				p = strings.ReplaceAll(p, "{pull}", "2")
				return p
			}
			got := do(t, s, tt.over.method, fill(tt.over.path), tt.over.body)
			if got.status != http.StatusUnprocessableEntity {
				t.Fatalf("over the limit: %d %s, want 422", got.status, got.body)
			}
			var e struct {
				Message string
				Errors  []struct{ Resource, Code, Field, Message string }
				DocURL  string `json:"documentation_url"`
			}
			if err := json.Unmarshal([]byte(got.body), &e); err != nil {
				t.Fatal(err)
			}
			if e.Message != "Validation Failed" || len(e.Errors) != 1 || e.Errors[0].Resource != tt.resource || e.Errors[0].Field != tt.field ||
				e.Errors[0].Code != "custom" || !strings.Contains(e.Errors[0].Message, "is too long (maximum is") || e.DocURL == "" {
				t.Errorf("422 body %s, want GitHub's shape for %s %s", got.body, tt.resource, tt.field)
			}
			if tt.name == "new pull request title" || tt.name == "pull request body" || tt.name == "pull request title" {
				return // a pull request at the limit is the pull request above
			}
			if got := do(t, s, tt.at.method, fill(tt.at.path), tt.at.body); got.status >= 300 {
				t.Errorf("at the limit: %d %.300s", got.status, got.body)
			}
		})
	}
}

// gitRepo is a bare repository with main and a branch "feature" one
// commit ahead.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bare := dir + "/repo.git"
	if _, err := git(dir, "init", "-q", "--bare", "-b", "main", bare); err != nil {
		t.Fatal(err)
	}
	tree, err := git(bare, "hash-object", "-t", "tree", "-w", "--stdin")
	if err != nil {
		t.Fatal(err)
	}
	first, err := git(bare, "commit-tree", tree, "-m", "first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := git(bare, "commit-tree", tree, "-p", first, "-m", "second")
	if err != nil {
		t.Fatal(err)
	}
	for ref, sha := range map[string]string{"refs/heads/main": first, "refs/heads/feature": second} {
		if _, err := git(bare, "update-ref", ref, sha); err != nil {
			t.Fatal(err)
		}
	}
	return bare
}

// TestPagination_LinkOnEveryList: per_page (30 by default, at most 100)
// and page cut every list, with Link's next, last, first and prev.
func TestPagination_LinkOnEveryList(t *testing.T) {
	s := newServer(t)
	for i := range 250 {
		s.OpenIssue("acme/stores", "octocat", fmt.Sprint("issue ", i), "")
	}
	count := func(a answer) int {
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(a.body), &items); err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	first := do(t, s, "GET", "/repos/acme/stores/issues", "")
	if n := count(first); n != 30 {
		t.Errorf("default page: %d issues, want 30", n)
	}
	if l := first.header.Get("Link"); !strings.Contains(l, `page=2>; rel="next"`) || !strings.Contains(l, `page=9>; rel="last"`) || strings.Contains(l, "prev") {
		t.Errorf("first page Link %q", l)
	}
	big := do(t, s, "GET", "/repos/acme/stores/issues?per_page=500", "")
	if n := count(big); n != 100 {
		t.Errorf("per_page=500: %d issues, want GitHub's most, 100", n)
	}
	mid := do(t, s, "GET", "/repos/acme/stores/issues?per_page=100&page=2", "")
	if l := mid.header.Get("Link"); !strings.Contains(l, `rel="next"`) || !strings.Contains(l, `page=1&per_page=100>; rel="first"`) || !strings.Contains(l, `page=1&per_page=100>; rel="prev"`) {
		t.Errorf("middle page Link %q", l)
	}
	last := do(t, s, "GET", "/repos/acme/stores/issues?per_page=100&page=3", "")
	if n := count(last); n != 50 {
		t.Errorf("last page: %d issues, want 50", n)
	}
	if l := last.header.Get("Link"); strings.Contains(l, "next") || !strings.Contains(l, `page=2&per_page=100>; rel="prev"`) {
		t.Errorf("last page Link %q", l)
	}
	// Every list route pages.
	s.SetKeys("octocat", "k1", "k2", "k3")
	for _, path := range []string{"/users/octocat/keys", "/repos/acme/stores/issues/1/comments", "/repos/acme/stores/commits/abc/statuses", "/repos/acme/stores/deployments"} {
		if got := do(t, s, "GET", path+"?per_page=1", ""); path == "/users/octocat/keys" && !strings.Contains(got.header.Get("Link"), `rel="next"`) {
			t.Errorf("%s?per_page=1: Link %q, want a next page", path, got.header.Get("Link"))
		}
	}
}

// TestEmptyLists_AreArrays: an empty list is [], never null.
func TestEmptyLists_AreArrays(t *testing.T) {
	s := newServer(t)
	s.OpenIssue("acme/stores", "octocat", "t", "b")
	for _, path := range []string{"/repos/acme/stores/issues/1/comments", "/repos/acme/stores/issues/comments", "/repos/acme/stores/pulls",
		"/repos/acme/stores/commits/abc/statuses", "/repos/acme/stores/deployments", "/users/nobody/keys", "/repos/acme/stores/issues?state=closed"} {
		if got := do(t, s, "GET", path, ""); strings.TrimSpace(got.body) != "[]" {
			t.Errorf("GET %s = %s, want []", path, got.body)
		}
	}
	if got := do(t, s, "GET", "/repos/acme/stores/issues/1", ""); !strings.Contains(got.body, `"labels":[]`) || !strings.Contains(got.body, `"assignees":[]`) {
		t.Errorf("an issue without labels: %s", got.body)
	}
}

// TestConditionalRequests_304: a GET answers with an ETag; the same GET
// with If-None-Match is 304 without a body and does not count against the
// rate limit; a change makes a new ETag.
func TestConditionalRequests_304(t *testing.T) {
	s := newServer(t)
	n := s.OpenIssue("acme/stores", "octocat", "t", "b")
	path := fmt.Sprintf("/repos/acme/stores/issues/%d/comments", n)
	first := do(t, s, "GET", path, "")
	tag := first.header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	remaining := first.header.Get("X-RateLimit-Remaining")
	again := do(t, s, "GET", path, "", "If-None-Match", tag)
	if again.status != http.StatusNotModified || again.body != "" {
		t.Fatalf("If-None-Match: %d %q, want 304 without a body", again.status, again.body)
	}
	if got := again.header.Get("X-RateLimit-Remaining"); got != remaining {
		t.Errorf("a 304 counted against the rate limit: remaining %s, was %s", got, remaining)
	}
	if got := do(t, s, "GET", path, "", "If-None-Match", `"other"`); got.status != http.StatusOK {
		t.Errorf("another ETag: %d, want 200", got.status)
	}
	s.Comment("acme/stores", n, "octocat", "new")
	changed := do(t, s, "GET", path, "", "If-None-Match", tag)
	if changed.status != http.StatusOK || changed.header.Get("ETag") == tag {
		t.Errorf("after a change: %d, ETag %s (was %s), want 200 and a new ETag", changed.status, changed.header.Get("ETag"), tag)
	}
	before, _ := strconv.Atoi(changed.header.Get("X-RateLimit-Remaining"))
	after, _ := strconv.Atoi(do(t, s, "GET", path, "").header.Get("X-RateLimit-Remaining"))
	if after != before-1 {
		t.Errorf("a 200 did not count: remaining %d after %d", after, before)
	}
}

// TestFaults_RateLimits: the injected rate limits are 403s and 429s, each
// with Retry-After, as GitHub sends both.
func TestFaults_RateLimits(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{Rate: 1, RateLimitShare: 1, Seed: 7})
	seen := map[int]bool{}
	for range 40 {
		got := do(t, s, "GET", "/repos/acme/stores/issues", "")
		if got.header.Get("Retry-After") == "" {
			t.Fatalf("%d without Retry-After", got.status)
		}
		seen[got.status] = true
	}
	if !seen[http.StatusForbidden] || !seen[http.StatusTooManyRequests] || len(seen) != 2 {
		t.Errorf("statuses %v, want 403 and 429", seen)
	}
}
