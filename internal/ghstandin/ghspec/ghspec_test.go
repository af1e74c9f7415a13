package ghspec_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ghstandin/ghspec"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/templates"
)

func load(t *testing.T) *ghspec.Spec {
	t.Helper()
	spec, err := ghspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestRoutes_AreGitHubOperations: every route of the stand-in's table is
// an operation of GitHub's REST API, with GitHub's parameter names.
func TestRoutes_AreGitHubOperations(t *testing.T) {
	spec := load(t)
	for _, r := range ghstandin.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if spec.Operation(method, path) == nil {
			t.Errorf("the stand-in serves %s, which is not an operation of GitHub's REST API", r)
		}
	}
}

// TestProductOperations_InSpecAndStandIn: every go-github call in
// internal/ghclient is listed in ProductOperations, and each operation
// listed is GitHub's and served by the stand-in.
func TestProductOperations_InSpecAndStandIn(t *testing.T) {
	spec := load(t)
	routes := ghstandin.Routes()
	calls, err := ghspec.GoGitHubCalls(filepath.Join("..", "..", "ghclient"))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 10 {
		t.Fatalf("found only %d go-github calls in internal/ghclient: %v", len(calls), calls)
	}
	for _, c := range calls {
		if _, ok := ghspec.ProductOperations[c]; !ok {
			t.Errorf("internal/ghclient calls go-github's %s: add the operation it makes to ghspec.ProductOperations", c)
		}
	}
	for call, op := range ghspec.ProductOperations {
		method, path, _ := strings.Cut(op, " ")
		if spec.Operation(method, path) == nil {
			t.Errorf("%s: %s is not an operation of GitHub's REST API", call, op)
		}
		if !slices.Contains(routes, op) {
			t.Errorf("%s: the stand-in does not serve %s", call, op)
		}
	}
}

// TestTour_FitsDescription: a call of every route, with the webhooks they
// send, as GitHub describes them.
func TestTour_FitsDescription(t *testing.T) {
	gh, c := standIn(t)
	tour(t, gh)
	for _, p := range c.Problems() {
		t.Error(p)
	}
	if n := len(gh.Deliveries()); n < 10 {
		t.Errorf("%d webhooks sent, want the tour's", n)
	}
}

// TestDroppedField_Fails: the checks see a required field missing from any
// resource the stand-in sends, in an answer or a webhook.
func TestDroppedField_Fails(t *testing.T) {
	drops := map[string]string{
		ghstandin.ResUser: "login", ghstandin.ResRepository: "full_name", ghstandin.ResLabel: "color",
		ghstandin.ResIssue: "node_id", ghstandin.ResComment: "html_url", ghstandin.ResPull: "merged",
		ghstandin.ResReview: "state", ghstandin.ResStatus: "context", ghstandin.ResCombinedStatus: "total_count",
		ghstandin.ResDeployment: "sha", ghstandin.ResDeploymentStatus: "deployment_url", ghstandin.ResReaction: "content",
		ghstandin.ResKey: "key", ghstandin.ResPermission: "role_name", ghstandin.ResMembership: "state",
		ghstandin.ResToken: "token", ghstandin.ResCommit: "sha", ghstandin.ResFile: "filename", ghstandin.ResMergeResult: "merged",
		ghstandin.ResCheckRun: "head_sha", ghstandin.ResApp: "events",
		ghstandin.ResProtection: "url", ghstandin.ResTeam: "slug", ghstandin.ResRuleset: "enforcement",
		ghstandin.ResAppFromManifest: "pem", ghstandin.ResPublicUser: "public_repos",
	}
	for resource, field := range drops {
		t.Run(resource, func(t *testing.T) {
			gh, c := standIn(t)
			gh.SetObjectHook(func(r string, o map[string]any) {
				if r == resource {
					delete(o, field)
				}
			})
			tour(t, gh)
			problems := c.Problems()
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, field)
			}
			if !found {
				t.Errorf("%s without %q passed the checks; problems: %v", resource, field, problems)
			}
		})
	}
}

// TestDroppedDeliveryHeader_Fails: a webhook without one of GitHub's
// delivery headers fails the checks.
func TestDroppedDeliveryHeader_Fails(t *testing.T) {
	spec := load(t)
	gh, _ := standIn(t)
	gh.OpenIssue("acme/stores", "octocat", "t", "b")
	gh.WaitDeliveries()
	ds := gh.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	if err := spec.CheckDelivery(ds[0]); err != nil {
		t.Fatalf("the delivery as sent: %v", err)
	}
	for _, h := range []string{"X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "User-Agent", "X-GitHub-Hook-ID"} {
		d := ds[0]
		d.Header = d.Header.Clone()
		d.Header.Del(h)
		if err := spec.CheckDelivery(d); err == nil {
			t.Errorf("a delivery without %s passed", h)
		}
	}
}

// TestRefusedRequest_Fails: a body the description refuses, and a call of
// an operation GitHub does not have, fail the checks, whatever the
// stand-in answers.
func TestRefusedRequest_Fails(t *testing.T) {
	tests := []struct {
		name, method, path, body, want string
	}{
		{"status state not in the enum", "POST", "/repos/acme/stores/statuses/abc", `{"state":"great"}`, "request does not fit"},
		{"comment body a number", "POST", "/repos/acme/stores/issues/1/comments", `{"body":5}`, "request does not fit"},
		{"issue without a title", "POST", "/repos/acme/stores/issues", `{"body":"x"}`, "request does not fit"},
		{"per_page not a number", "GET", "/repos/acme/stores/issues?per_page=many", ``, "request does not fit"},
		{"no such operation", "GET", "/repos/acme/stores/purrs", ``, "no such operation"},
		{"an operation the stand-in does not serve", "GET", "/repos/acme/stores/branches", ``, "does not serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, c := standIn(t)
			gh.OpenIssue("acme/stores", "octocat", "t", "b")
			call(t, gh, tt.method, tt.path, "", tt.body)
			problems := c.Problems()
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %v, want one that says %q", problems, tt.want)
			}
		})
	}
}

// standIn is a stand-in with the repository acme/stores on a real git
// repository (main, and a branch "feature" one commit ahead), a webhook
// receiver, and a checker.
func standIn(t *testing.T) (*ghstandin.Server, *ghspec.Checker) {
	t.Helper()
	gh, err := ghstandin.New()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ghspec.Watch(gh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	t.Cleanup(hook.Close)
	gh.SetWebhook(ghstandin.Webhook{URL: hook.URL, Secret: []byte("s")})
	gh.AddRepo("acme/stores", "main", gitRepo(t))
	return gh, c
}

func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bare, work := filepath.Join(dir, "repo.git"), filepath.Join(dir, "work")
	run := func(in string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = in
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Octo Cat", "GIT_AUTHOR_EMAIL=1+octocat@users.noreply.github.com",
			"GIT_COMMITTER_NAME=Octo Cat", "GIT_COMMITTER_EMAIL=1+octocat@users.noreply.github.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	run(dir, "init", "-q", "--bare", "-b", "main", bare)
	run(dir, "clone", "-q", bare, work)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "stores\n")
	run(work, "add", ".")
	run(work, "commit", "-q", "-m", "first")
	run(work, "push", "-q", "origin", "main")
	run(work, "checkout", "-q", "-b", "feature")
	write("README.md", "stores\nand more\n")
	write("new.txt", "new\n")
	run(work, "add", ".")
	run(work, "commit", "-q", "-m", "second\n\nWith a body.")
	run(work, "push", "-q", "origin", "feature")
	return bare
}

// call makes one call as login ("" for the bot) and decodes a JSON object
// answer.
func call(t *testing.T, gh *ghstandin.Server, method, path, login, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(gh.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "token t")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if login != "" {
		req.Header.Set(ghstandin.ActAsHeader, login)
	}
	if path == "/app" {
		req.Header.Set("Authorization", "Bearer e30.eyJpc3MiOiIxIn0.c2ln") // iss "1": the stand-in's App
	} else if strings.Contains(path, "/access_tokens") {
		req.Header.Set("Authorization", "Bearer a.b.c")
	}
	_, answer := testutil.Do(t, req)
	data := []byte(answer)
	var out map[string]any
	if bytes.HasPrefix(data, []byte("{")) {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sshKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// tour calls every route of the stand-in, as the bot and as people.
func tour(t *testing.T, gh *ghstandin.Server) {
	t.Helper()
	const repo = "/repos/acme/stores"
	gh.SetPermission("acme/stores", "octocat", "write")
	gh.AddTeamMember("acme/platform", "octocat")
	gh.SetKeys("octocat", sshKey(t))

	is := call(t, gh, "POST", repo+"/issues", "octocat", `{"title":"Store","body":"please","labels":["store/requested"]}`)
	n := int(is["number"].(float64))
	call(t, gh, "GET", repo+"/issues?state=all&labels=store/requested&per_page=1", "", "")
	call(t, gh, "GET", fmt.Sprintf("%s/issues/%d", repo, n), "", "")
	call(t, gh, "PATCH", fmt.Sprintf("%s/issues/%d", repo, n), "", `{"title":"Store cat-cafe","body":"edited"}`)
	c := call(t, gh, "POST", fmt.Sprintf("%s/issues/%d/comments", repo, n), "", `{"body":"hello"}`)
	id := int64(c["id"].(float64))
	call(t, gh, "GET", fmt.Sprintf("%s/issues/%d/comments?per_page=100", repo, n), "", "")
	call(t, gh, "GET", repo+"/issues/comments?sort=created&direction=asc&since=2000-01-01T00:00:00Z", "", "")
	call(t, gh, "PATCH", fmt.Sprintf("%s/issues/comments/%d", repo, id), "", `{"body":"hello again"}`)
	call(t, gh, "POST", fmt.Sprintf("%s/issues/comments/%d/reactions", repo, id), "", `{"content":"+1"}`)
	call(t, gh, "POST", fmt.Sprintf("%s/issues/%d/labels", repo, n), "", `{"labels":["store/valid"]}`)
	call(t, gh, "DELETE", fmt.Sprintf("%s/issues/%d/labels/store%%2Fvalid", repo, n), "", "")

	pr := call(t, gh, "POST", repo+"/pulls", "octocat", `{"title":"Add a store","head":"feature","base":"main","body":"adds"}`)
	p := int(pr["number"].(float64))
	sha := pr["head"].(map[string]any)["sha"].(string)
	call(t, gh, "GET", repo+"/pulls?state=open&head=acme:feature", "", "")
	call(t, gh, "GET", fmt.Sprintf("%s/pulls/%d", repo, p), "", "")
	call(t, gh, "PATCH", fmt.Sprintf("%s/pulls/%d", repo, p), "", `{"body":"adds a store"}`)
	call(t, gh, "GET", fmt.Sprintf("%s/pulls/%d/files", repo, p), "", "")
	call(t, gh, "GET", fmt.Sprintf("%s/pulls/%d/commits", repo, p), "", "")
	gh.Approve("acme/stores", p, "octocat")
	call(t, gh, "GET", fmt.Sprintf("%s/pulls/%d/reviews", repo, p), "", "")
	call(t, gh, "POST", repo+"/statuses/"+sha, "", `{"state":"success","context":"purrvision/validate","description":"Valid","target_url":"https://status.example/"}`)
	call(t, gh, "GET", repo+"/commits/"+sha+"/statuses", "", "")
	call(t, gh, "GET", repo+"/commits/"+sha+"/status", "", "")
	d := call(t, gh, "POST", repo+"/deployments", "", `{"ref":"`+sha+`","environment":"store-cat-cafe","auto_merge":false,"required_contexts":[]}`)
	did := int64(d["id"].(float64))
	call(t, gh, "GET", repo+"/deployments?environment=store-cat-cafe", "", "")
	call(t, gh, "POST", fmt.Sprintf("%s/deployments/%d/statuses", repo, did), "", `{"state":"success","description":"Ready","log_url":"https://status.example/stores/cat-cafe","environment_url":"https://cat-cafe.example"}`)
	call(t, gh, "GET", fmt.Sprintf("%s/deployments/%d/statuses", repo, did), "", "")
	call(t, gh, "GET", repo+"/collaborators/octocat/permission", "", "")
	call(t, gh, "GET", "/orgs/acme/teams/platform/memberships/octocat", "", "")
	call(t, gh, "GET", "/users/octocat/keys", "", "")
	call(t, gh, "POST", "/user/keys", "hubot", `{"title":"laptop","key":"`+sshKey(t)+`"}`)
	call(t, gh, "POST", "/app/installations/7/access_tokens", "", "")
	call(t, gh, "GET", "/app", "", "")
	call(t, gh, "GET", "/user", "octocat", "")
	code, err := gh.CreateAppFromManifest(templates.AppManifest, "acme")
	if err != nil {
		t.Fatal(err)
	}
	call(t, gh, "POST", "/app-manifests/"+code+"/conversions", "", "")
	cr := call(t, gh, "POST", repo+"/check-runs", "", `{"name":"purrvision/plan","head_sha":"`+sha+`","status":"completed","conclusion":"success",`+
		`"details_url":"https://status.example/","output":{"title":"1 store","summary":"**cat-cafe**","text":"| a | b |"}}`)
	call(t, gh, "PATCH", fmt.Sprintf("%s/check-runs/%d", repo, int64(cr["id"].(float64))), "",
		`{"name":"purrvision/plan","status":"completed","conclusion":"failure","output":{"title":"1 problem","summary":"fix it"}}`)
	gh.AddCheckRun("acme/stores", "other-ci", "purrvision/plan", sha, "success", "not ours")
	call(t, gh, "GET", repo+"/commits/"+sha+"/check-runs?check_name=purrvision%2Fplan&filter=all&per_page=1", "", "")
	call(t, gh, "GET", repo+"/commits/"+sha+"/check-runs", "", "")
	call(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", repo, p), "hubot", `{"event":"APPROVE"}`)
	call(t, gh, "PUT", repo+"/branches/main/protection", "", protection(strictCheck, oneApproval, `{"users":["octocat"],"teams":["platform"],"apps":["purrvision"]}`, true))
	call(t, gh, "GET", repo+"/branches/main/protection", "", "")
	call(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/update-branch", repo, p), "", `{"expected_head_sha":"`+sha+`"}`) // 422: nothing new on main
	call(t, gh, "DELETE", repo+"/branches/main/protection", "", "")
	rs := call(t, gh, "POST", repo+"/rulesets", "", storeRules)
	rid := int64(rs["id"].(float64))
	call(t, gh, "GET", repo+"/rulesets", "", "")
	call(t, gh, "GET", fmt.Sprintf("%s/rulesets/%d", repo, rid), "", "")
	call(t, gh, "PUT", fmt.Sprintf("%s/rulesets/%d", repo, rid), "", `{"enforcement":"evaluate"}`)
	call(t, gh, "DELETE", fmt.Sprintf("%s/rulesets/%d", repo, rid), "", "")
	call(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", repo, p), "octocat", `{}`)
	call(t, gh, "DELETE", fmt.Sprintf("%s/issues/comments/%d", repo, id), "", "")
	call(t, gh, "PATCH", fmt.Sprintf("%s/issues/%d", repo, n), "", `{"state":"closed"}`)
	gh.WaitDeliveries()
}
