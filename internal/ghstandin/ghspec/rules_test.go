package ghspec_test

// GitHub's protection model in the stand-in, held to the description as
// every test here is: branch protection and rulesets refuse merges and
// pushes as GitHub does, and an unprotected repository behaves as before.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ghstandin/ghspec"
	"github.com/purrvision/purrvision/internal/gitserver"
)

const (
	stores = "/repos/acme/stores"
	appID  = 1 // the stand-in's App
)

// gitIn runs git in dir as Octo Cat, with no credentials but those in URLs.
func gitIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Octo Cat", "GIT_AUTHOR_EMAIL=1+octocat@users.noreply.github.com",
		"GIT_COMMITTER_NAME=Octo Cat", "GIT_COMMITTER_EMAIL=1+octocat@users.noreply.github.com")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitIn(t, dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return out
}

// commitTo adds a commit writing file to branch of the bare repository
// and returns it.
func commitTo(t *testing.T, bare, branch, file, text string) string {
	t.Helper()
	work := t.TempDir()
	mustGit(t, work, "clone", "-q", "-b", branch, bare, ".")
	if err := os.MkdirAll(filepath.Dir(filepath.Join(work, file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, file), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, work, "add", ".")
	mustGit(t, work, "commit", "-q", "-m", "change "+file)
	mustGit(t, work, "push", "-q", "origin", branch)
	return mustGit(t, work, "rev-parse", "HEAD")
}

// bareOf is the git directory of acme/stores in a stand-in from standIn.
func bareOf(t *testing.T, gh *ghstandin.Server) string {
	t.Helper()
	bare := gitRepo(t)
	gh.AddRepo("acme/stores", "main", bare) // anew, on a repository the test knows
	return bare
}

// put calls the API as login and fails the test unless it answers want.
func put(t *testing.T, gh *ghstandin.Server, method, path, login, body string, want int) string {
	t.Helper()
	code, out := do(t, gh, method, path, login, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// protection is a body of "Update branch protection".
func protection(checks, reviews, restrictions string, enforceAdmins bool) string {
	return fmt.Sprintf(`{"required_status_checks":%s,"enforce_admins":%v,"required_pull_request_reviews":%s,"restrictions":%s}`,
		checks, enforceAdmins, reviews, restrictions)
}

const (
	planCheck    = `{"strict":false,"contexts":[],"checks":[{"context":"purrvision/plan","app_id":1}]}`
	strictCheck  = `{"strict":true,"contexts":[],"checks":[{"context":"purrvision/plan","app_id":1}]}`
	oneApproval  = `{"required_approving_review_count":1,"dismiss_stale_reviews":true,"require_code_owner_reviews":false}`
	codeOwners   = `{"required_approving_review_count":1,"dismiss_stale_reviews":false,"require_code_owner_reviews":true}`
	onlyTheApp   = `{"users":[],"teams":[],"apps":["purrvision"]}`
	outOfDate    = "Head branch is out of date. Review and try the merge again."
	checkMissing = `Required status check "purrvision/plan" is expected.`
)

// planRun puts the App's successful purrvision/plan on sha.
func planRun(t *testing.T, gh *ghstandin.Server, sha string) {
	t.Helper()
	put(t, gh, "POST", stores+"/check-runs", "", `{"name":"purrvision/plan","head_sha":"`+sha+`","conclusion":"success","output":{"title":"t","summary":"s"}}`, http.StatusCreated)
}

// TestMerge_UnderProtection: each setting of the base branch's protection
// refuses the merge that does not meet it with GitHub's status and words,
// and allows the one that does.
func TestMerge_UnderProtection(t *testing.T) {
	tests := []struct {
		name       string
		protection string
		prepare    func(t *testing.T, gh *ghstandin.Server, bare string, n int, head string)
		by, body   string
		want       int
		message    string
	}{
		{name: "no protection: as before", by: "maint", want: http.StatusOK},
		{name: "required check missing", protection: protection(planCheck, "null", "null", true), by: "maint",
			want: http.StatusMethodNotAllowed, message: checkMissing},
		{name: "required check by another App", protection: protection(planCheck, "null", "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, _ int, head string) {
				gh.AddCheckRun("acme/stores", "other-ci", "purrvision/plan", head, "success", "not ours")
			}, want: http.StatusMethodNotAllowed, message: checkMissing},
		{name: "required check by a person's status", protection: protection(planCheck, "null", "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, _ int, head string) {
				put(t, gh, "POST", stores+"/statuses/"+head, "mallory", `{"state":"success","context":"purrvision/plan"}`, http.StatusCreated)
			}, want: http.StatusMethodNotAllowed, message: checkMissing},
		{name: "required check failing", protection: protection(planCheck, "null", "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, _ int, head string) {
				put(t, gh, "POST", stores+"/check-runs", "", `{"name":"purrvision/plan","head_sha":"`+head+`","conclusion":"failure","output":{"title":"t","summary":"s"}}`, http.StatusCreated)
			}, want: http.StatusMethodNotAllowed, message: `Required status check "purrvision/plan" is failing.`},
		{name: "required check by the App", protection: protection(planCheck, "null", "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, _ int, head string) { planRun(t, gh, head) }, want: http.StatusOK},
		{name: "head behind the base under strict", protection: protection(strictCheck, "null", "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, bare string, _ int, head string) {
				planRun(t, gh, head)
				commitTo(t, bare, "main", "other.txt", "moved on\n")
			}, want: http.StatusMethodNotAllowed, message: outOfDate},
		{name: "head SHA moved", by: "maint", body: `{"sha":"1111111111111111111111111111111111111111"}`,
			want: http.StatusConflict, message: "Head branch was modified. Review and try the merge again."},
		{name: "no approval", protection: protection("null", oneApproval, "null", true), by: "maint",
			want: http.StatusMethodNotAllowed, message: "At least 1 approving review is required by reviewers with write access."},
		{name: "approval without write access", protection: protection("null", oneApproval, "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, n int, _ string) {
				put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, n), "reader", `{"event":"APPROVE"}`, http.StatusOK)
			}, want: http.StatusMethodNotAllowed, message: "At least 1 approving review is required by reviewers with write access."},
		{name: "approval", protection: protection("null", oneApproval, "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, n int, _ string) {
				put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, n), "writer", `{"event":"APPROVE"}`, http.StatusOK)
			}, want: http.StatusOK},
		{name: "approval dismissed by a push", protection: protection("null", oneApproval, "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, bare string, n int, _ string) {
				put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, n), "writer", `{"event":"APPROVE"}`, http.StatusOK)
				commitTo(t, bare, "feature", "late.txt", "after the approval\n")
			}, body: `{}`, want: http.StatusMethodNotAllowed, message: "At least 1 approving review is required by reviewers with write access."},
		{name: "code owner missing", protection: protection("null", codeOwners, "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, n int, _ string) {
				put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, n), "writer", `{"event":"APPROVE"}`, http.StatusOK)
			}, want: http.StatusMethodNotAllowed, message: "Waiting on code owner review from @acme/platform."},
		{name: "code owner approves", protection: protection("null", codeOwners, "null", true), by: "maint",
			prepare: func(t *testing.T, gh *ghstandin.Server, _ string, n int, _ string) {
				put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, n), "owner", `{"event":"APPROVE"}`, http.StatusOK)
			}, want: http.StatusOK},
		{name: "push restrictions leave a maintainer out", protection: protection("null", "null", onlyTheApp, true), by: "maint",
			want: http.StatusMethodNotAllowed, message: "You're not authorized to push to this branch."},
		{name: "push restrictions let the App in", protection: protection("null", "null", onlyTheApp, true), by: "", want: http.StatusOK},
		{name: "an admin bypasses without enforce_admins", protection: protection(planCheck, "null", "null", false), by: "boss", want: http.StatusOK},
		{name: "enforce_admins holds an admin", protection: protection(planCheck, "null", "null", true), by: "boss",
			want: http.StatusMethodNotAllowed, message: checkMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, c := standIn(t)
			bare := bareOf(t, gh)
			for login, p := range map[string]string{"maint": "maintain", "writer": "write", "owner": "write", "reader": "read", "boss": "admin"} {
				gh.SetPermission("acme/stores", login, p)
			}
			gh.AddTeamMember("acme/platform", "owner")
			commitTo(t, bare, "main", ".github/CODEOWNERS", "# who owns what\n*.md @writer\n* @acme/platform\n")
			if tt.protection != "" {
				put(t, gh, "PUT", stores+"/branches/main/protection", "boss", tt.protection, http.StatusOK)
			}
			n, err := gh.OpenPull("acme/stores", "octocat", "feature", "main", "Add", "")
			if err != nil {
				t.Fatal(err)
			}
			head := gh.Pulls("acme/stores")[0].GetHead().GetSHA()
			if tt.prepare != nil {
				tt.prepare(t, gh, bare, n, head)
			}
			body := tt.body
			if body == "" {
				body = `{"sha":"` + gh.Pulls("acme/stores")[0].GetHead().GetSHA() + `"}`
			}
			code, out := do(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", stores, n), tt.by, body)
			var answer struct{ Message string }
			if err := json.Unmarshal([]byte(out), &answer); err != nil {
				t.Fatal(err)
			}
			if code != tt.want || !strings.Contains(answer.Message, tt.message) {
				t.Fatalf("merge by %q: %d %s, want %d %q", tt.by, code, out, tt.want, tt.message)
			}
			if merged := gh.Pulls("acme/stores")[0].GetMerged(); merged != (tt.want == http.StatusOK) {
				t.Errorf("merged = %v after %d", merged, code)
			}
			problems(t, c)
		})
	}
}

// problems fails t with what the description refuses, but the statuses
// of refusals it leaves out of some operations.
func problems(t *testing.T, c interface{ Problems() []string }) {
	t.Helper()
	for _, p := range c.Problems() {
		t.Error(p)
	}
}

// TestCodeOwners_Requested: opening a pull request asks the code owners
// of what it changes for a review, and the owner's review answers it.
func TestCodeOwners_Requested(t *testing.T) {
	gh, c := standIn(t)
	bare := bareOf(t, gh)
	gh.SetPermission("acme/stores", "owner", "write")
	gh.AddTeamMember("acme/platform", "owner")
	commitTo(t, bare, "main", "CODEOWNERS", "*.txt @acme/platform\nREADME.md @writer @octocat\n")
	out := put(t, gh, "POST", stores+"/pulls", "octocat", `{"title":"Add","head":"feature","base":"main"}`, http.StatusCreated)
	var pr struct {
		Number    int
		Reviewers []struct{ Login string } `json:"requested_reviewers"`
		Teams     []struct{ Slug string }  `json:"requested_teams"`
	}
	if err := json.Unmarshal([]byte(out), &pr); err != nil {
		t.Fatal(err)
	}
	if len(pr.Reviewers) != 1 || pr.Reviewers[0].Login != "writer" || len(pr.Teams) != 1 || pr.Teams[0].Slug != "platform" {
		t.Fatalf("requested %+v and %+v, want writer (not the author) and platform", pr.Reviewers, pr.Teams)
	}
	put(t, gh, "POST", fmt.Sprintf("%s/pulls/%d/reviews", stores, pr.Number), "owner", `{"event":"APPROVE"}`, http.StatusOK)
	out = put(t, gh, "GET", fmt.Sprintf("%s/pulls/%d", stores, pr.Number), "", "", http.StatusOK)
	if strings.Contains(out, `"slug":"platform"`) {
		t.Errorf("the team is still asked after its member's review: %s", out)
	}
	problems(t, c)
}

// TestProtection_RoundTrip: what is put is what is read, in GitHub's
// shapes; a branch without protection is 404 "Branch not protected".
func TestProtection_RoundTrip(t *testing.T) {
	gh, c := standIn(t)
	gh.AddTeamMember("acme/platform", "owner")
	put(t, gh, "GET", stores+"/branches/main/protection", "", "", http.StatusNotFound)
	body := protection(strictCheck, `{"required_approving_review_count":2,"dismiss_stale_reviews":true,"require_code_owner_reviews":true}`,
		`{"users":["octocat"],"teams":["platform"],"apps":["purrvision"]}`, true)
	put(t, gh, "PUT", stores+"/branches/main/protection", "", body, http.StatusOK)
	out := put(t, gh, "GET", stores+"/branches/main/protection", "", "", http.StatusOK)
	var got struct {
		Checks struct {
			Strict bool
			Checks []struct {
				Context string
				AppID   int `json:"app_id"`
			}
		} `json:"required_status_checks"`
		Reviews struct {
			Count      int  `json:"required_approving_review_count"`
			Stale      bool `json:"dismiss_stale_reviews"`
			CodeOwners bool `json:"require_code_owner_reviews"`
		} `json:"required_pull_request_reviews"`
		Admins       struct{ Enabled bool } `json:"enforce_admins"`
		Restrictions struct {
			Users []struct{ Login string }
			Teams []struct{ Slug string }
			Apps  []struct{ Slug string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Checks.Strict || len(got.Checks.Checks) != 1 || got.Checks.Checks[0].AppID != appID || got.Reviews.Count != 2 ||
		!got.Reviews.Stale || !got.Reviews.CodeOwners || !got.Admins.Enabled || len(got.Restrictions.Users) != 1 ||
		len(got.Restrictions.Teams) != 1 || got.Restrictions.Apps[0].Slug != "purrvision" {
		t.Errorf("read back %+v", got)
	}
	put(t, gh, "PUT", stores+"/branches/main/protection", "", `{"enforce_admins":true}`, http.StatusUnprocessableEntity)
	put(t, gh, "DELETE", stores+"/branches/main/protection", "", "", http.StatusNoContent)
	put(t, gh, "GET", stores+"/branches/main/protection", "", "", http.StatusNotFound)
	for _, p := range c.Problems() {
		if !strings.Contains(p, `property "required_status_checks" is missing`) { // a body the description refuses too
			t.Error(p)
		}
	}
}

// storeRules is the ruleset issue 18 asks for: only the App creates,
// updates, force-pushes or deletes store/*, rollout/* and the ledger.
const storeRules = `{"name":"bot branches","target":"branch","enforcement":"active",
 "bypass_actors":[{"actor_id":1,"actor_type":"Integration","bypass_mode":"always"}],
 "conditions":{"ref_name":{"include":["refs/heads/store/**","refs/heads/rollout/**","refs/heads/purrvision/ledger"],"exclude":[]}},
 "rules":[{"type":"creation"},{"type":"update"},{"type":"deletion"},{"type":"non_fast_forward"}]}`

// TestRulesets_CRUD: create, list, get, update and delete, in GitHub's
// shapes.
func TestRulesets_CRUD(t *testing.T) {
	gh, c := standIn(t)
	out := put(t, gh, "POST", stores+"/rulesets", "", storeRules, http.StatusCreated)
	var rs struct {
		ID          int64
		Enforcement string
		Can         string `json:"current_user_can_bypass"`
		Rules       []struct{ Type string }
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 4 || rs.Can != "always" {
		t.Errorf("created %+v, want 4 rules the App bypasses", rs)
	}
	put(t, gh, "POST", stores+"/rulesets", "", storeRules, http.StatusUnprocessableEntity) // names are unique
	put(t, gh, "GET", stores+"/rulesets", "", "", http.StatusOK)
	path := fmt.Sprintf("%s/rulesets/%d", stores, rs.ID)
	if out := put(t, gh, "GET", path, "maint", "", http.StatusOK); !strings.Contains(out, `"current_user_can_bypass":"never"`) {
		t.Errorf("a person can bypass: %s", out)
	}
	out = put(t, gh, "PUT", path, "", `{"enforcement":"disabled"}`, http.StatusOK)
	if !strings.Contains(out, `"enforcement":"disabled"`) || !strings.Contains(out, `"non_fast_forward"`) {
		t.Errorf("update changed more than it said: %s", out)
	}
	put(t, gh, "DELETE", path, "", "", http.StatusNoContent)
	put(t, gh, "GET", path, "", "", http.StatusNotFound)
	for _, p := range c.Problems() {
		if !strings.Contains(p, "422") {
			t.Error(p)
		}
	}
}

// TestUpdateBranch: it merges the base into the head, as GitHub does,
// once the head is what the caller expects and is behind; then a strict
// merge passes with the check on the new head.
func TestUpdateBranch(t *testing.T) {
	gh, c := standIn(t)
	bare := bareOf(t, gh)
	gh.SetPermission("acme/stores", "maint", "maintain")
	put(t, gh, "PUT", stores+"/branches/main/protection", "", protection(strictCheck, "null", "null", true), http.StatusOK)
	n, err := gh.OpenPull("acme/stores", "octocat", "feature", "main", "Add", "")
	if err != nil {
		t.Fatal(err)
	}
	head := gh.Pulls("acme/stores")[0].GetHead().GetSHA()
	planRun(t, gh, head)
	update := fmt.Sprintf("%s/pulls/%d/update-branch", stores, n)
	if out := put(t, gh, "PUT", update, "", `{"expected_head_sha":"`+head+`"}`, http.StatusUnprocessableEntity); !strings.Contains(out, "There are no new commits on the base branch.") {
		t.Errorf("update of a head that has the base: %s", out)
	}
	base := commitTo(t, bare, "main", "other.txt", "moved on\n")
	put(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", stores, n), "maint", `{}`, http.StatusMethodNotAllowed)
	if out := put(t, gh, "PUT", update, "", `{"expected_head_sha":"`+base+`"}`, http.StatusUnprocessableEntity); !strings.Contains(out, "expected head sha") {
		t.Errorf("update with the wrong head: %s", out)
	}
	put(t, gh, "PUT", update, "", `{"expected_head_sha":"`+head+`"}`, http.StatusAccepted)
	next := gh.Pulls("acme/stores")[0].GetHead().GetSHA()
	if next == head || mustGit(t, bare, "merge-base", "--is-ancestor", base, next) != "" {
		t.Fatalf("head %s after the update", next)
	}
	put(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", stores, n), "maint", `{}`, http.StatusMethodNotAllowed) // the check was on the old head
	planRun(t, gh, next)
	put(t, gh, "PUT", fmt.Sprintf("%s/pulls/%d/merge", stores, n), "maint", `{"sha":"`+next+`"}`, http.StatusOK)
	for _, p := range c.Problems() {
		if !strings.Contains(p, "405") && !strings.Contains(p, "422") {
			t.Error(p)
		}
	}
}

// TestUpdateBranch_BotBranch: on a branch only the App may update, a
// person's update-branch is refused and the App's goes through.
func TestUpdateBranch_BotBranch(t *testing.T) {
	gh, _ := standIn(t)
	bare := bareOf(t, gh)
	gh.SetPermission("acme/stores", "maint", "maintain")
	rules := strings.ReplaceAll(storeRules, `"refs/heads/purrvision/ledger"`, `"refs/heads/feature"`)
	put(t, gh, "POST", stores+"/rulesets", "", rules, http.StatusCreated)
	n, err := gh.OpenPull("acme/stores", "octocat", "feature", "main", "Add", "")
	if err != nil {
		t.Fatal(err)
	}
	commitTo(t, bare, "main", "other.txt", "moved on\n")
	update := fmt.Sprintf("%s/pulls/%d/update-branch", stores, n)
	if out := put(t, gh, "PUT", update, "maint", `{}`, http.StatusUnprocessableEntity); !strings.Contains(out, "Cannot update this protected ref.") {
		t.Errorf("a person's update of a bot branch: %s", out)
	}
	put(t, gh, "PUT", update, "", `{}`, http.StatusAccepted)
}

// guarded is a stand-in whose acme/stores is served by a git server that
// asks it about every push, and a clone of it to push from.
func guarded(t *testing.T) (*ghstandin.Server, *gitserver.Server, string, string) {
	t.Helper()
	gh, _, srv, bare, work := guardedChecked(t)
	return gh, srv, bare, work
}

// guardedChecked is guarded, with the checker of what the stand-in sent.
func guardedChecked(t *testing.T) (*ghstandin.Server, *ghspec.Checker, *gitserver.Server, string, string) {
	t.Helper()
	gh, c := standIn(t)
	bare := bareOf(t, gh)
	srv, err := gitserver.New(filepath.Dir(bare))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.Protect(gh, "x-access-token", gh.Token(ghstandin.BotLogin))
	work := t.TempDir()
	mustGit(t, work, "clone", "-q", srv.URLAs("repo", "", ""), ".")
	for login, p := range map[string]string{"maint": "maintain", "boss": "admin"} {
		gh.SetPermission("acme/stores", login, p)
	}
	return gh, c, srv, bare, work
}

// TestPush_SynchronizesItsPulls: a push that moves an open pull request's
// head sends pull_request "synchronize" as GitHub does, with the heads
// before and after and the pusher as its sender, in the shape GitHub's
// webhook description gives; a refused push sends nothing.
func TestPush_SynchronizesItsPulls(t *testing.T) {
	gh, c, srv, bare, work := guardedChecked(t)
	commitTo(t, bare, "main", "first.txt", "x\n")
	mustGit(t, work, "pull", "-q", srv.URLAs("repo", "", ""), "main")
	push := func(who, refspec string) error {
		if err := os.WriteFile(filepath.Join(work, "f.txt"), []byte(who+refspec+time.Now().String()), 0o644); err != nil {
			t.Fatal(err)
		}
		mustGit(t, work, "add", ".")
		mustGit(t, work, "commit", "-q", "-m", "change by "+who)
		out, err := gitIn(t, work, "push", srv.URLAs("repo", who, gh.Token(who)), refspec)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := push("maint", "HEAD:refs/heads/topic-sync"); err != nil {
		t.Fatal(err)
	}
	n, err := gh.OpenPull("acme/stores", "maint", "topic-sync", "main", "A topic", "")
	if err != nil {
		t.Fatal(err)
	}
	before := mustGit(t, bare, "rev-parse", "topic-sync")
	if err := push("maint", "HEAD:refs/heads/topic-sync"); err != nil {
		t.Fatal(err)
	}
	after := mustGit(t, bare, "rev-parse", "topic-sync")
	gh.WaitDeliveries()
	var syncs []map[string]any
	for _, d := range gh.Deliveries() {
		var p map[string]any
		if err := json.Unmarshal(d.Body, &p); err != nil {
			t.Fatal(err)
		}
		if d.Event == "pull_request" && p["action"] == "synchronize" {
			syncs = append(syncs, p)
		}
	}
	if len(syncs) != 1 {
		t.Fatalf("%d synchronize events, want 1", len(syncs))
	}
	p := syncs[0]
	if p["before"] != before || p["after"] != after || p["number"] != float64(n) || p["sender"].(map[string]any)["login"] != "maint" {
		t.Errorf("synchronize: before %v after %v number %v sender %v; want %s %s %d maint", p["before"], p["after"], p["number"], p["sender"], before, after, n)
	}
	if head := p["pull_request"].(map[string]any)["head"].(map[string]any)["sha"]; head != after {
		t.Errorf("the pull request's head is %v, want %s", head, after)
	}

	// A refused push moves nothing and tells nobody.
	put(t, gh, "POST", stores+"/rulesets", "", `{"name":"frozen","target":"branch","enforcement":"active","conditions":{"ref_name":{"include":["refs/heads/topic-sync"],"exclude":[]}},"rules":[{"type":"update"}]}`, http.StatusCreated)
	if err := push("maint", "HEAD:refs/heads/topic-sync"); err == nil {
		t.Fatal("the push to a frozen branch went through")
	}
	gh.WaitDeliveries()
	count := 0
	for _, d := range gh.Deliveries() {
		if d.Event == "pull_request" && strings.Contains(string(d.Body), `"synchronize"`) {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d synchronize events after a refused push, want still 1", count)
	}
	problems(t, c)
}

// TestPush_Attacker: a maintainer's push to the protected base branch, and
// a person's push to store/*, rollout/* or the ledger, are refused with
// GitHub's words and change nothing; the App's pushes go through.
func TestPush_Attacker(t *testing.T) {
	tests := []struct {
		name, who, refspec string
		force              bool
		want               string // "" for a push that goes through
	}{
		{"maintainer to the base branch", "maint", "HEAD:refs/heads/main", false,
			"GH006: Protected branch update failed for refs/heads/main.\nremote: error: Changes must be made through a pull request."},
		{"admin to the base branch under enforce_admins", "boss", "HEAD:refs/heads/main", false, "GH006: Protected branch update failed"},
		{"the App to the base branch, without a bypass", "bot", "HEAD:refs/heads/main", false, "GH006: Protected branch update failed"},
		{"maintainer creates store/*", "maint", "HEAD:refs/heads/store/cat-cafe", false,
			"GH013: Repository rule violations found for refs/heads/store/cat-cafe."},
		{"maintainer updates store/*", "maint", "HEAD:refs/heads/store/existing", false, "Cannot update this protected ref."},
		{"maintainer force-pushes store/*", "maint", "HEAD~1:refs/heads/store/existing", true, "Cannot force-push to this branch"},
		{"maintainer deletes store/*", "maint", ":refs/heads/store/existing", false, "Cannot delete this protected ref."},
		{"maintainer to rollout/*", "maint", "HEAD:refs/heads/rollout/wave-1", false, "GH013"},
		{"maintainer to the ledger", "maint", "HEAD:refs/heads/purrvision/ledger", false, "GH013"},
		{"the App creates store/*", "bot", "HEAD:refs/heads/store/cat-cafe", false, ""},
		{"the App updates store/*", "bot", "HEAD:refs/heads/store/existing", false, ""},
		{"the App force-pushes store/*", "bot", "HEAD~1:refs/heads/store/existing", true, ""},
		{"the App to the ledger", "bot", "HEAD:refs/heads/purrvision/ledger", false, ""},
		{"maintainer to a branch of their own", "maint", "HEAD:refs/heads/feature-2", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, srv, bare, work := guarded(t)
			commitTo(t, bare, "main", "first.txt", "x\n")
			existing := commitTo(t, bare, "main", "second.txt", "y\n")
			mustGit(t, bare, "branch", "store/existing", existing)
			put(t, gh, "PUT", stores+"/branches/main/protection", "", protection("null", oneApproval, "null", true), http.StatusOK)
			put(t, gh, "POST", stores+"/rulesets", "", storeRules, http.StatusCreated)
			mustGit(t, work, "pull", "-q", srv.URLAs("repo", "", ""), "main")
			if !strings.HasPrefix(tt.refspec, "HEAD~1") && !strings.HasPrefix(tt.refspec, ":") {
				if err := os.WriteFile(filepath.Join(work, "new.txt"), []byte(tt.name), 0o644); err != nil {
					t.Fatal(err)
				}
				mustGit(t, work, "add", ".")
				mustGit(t, work, "commit", "-q", "-m", tt.name)
			}
			url := srv.URL("repo")
			if tt.who != "bot" {
				url = srv.URLAs("repo", tt.who, gh.Token(tt.who))
			}
			ref := tt.refspec[strings.Index(tt.refspec, ":")+1:]
			before, _ := gitIn(t, bare, "rev-parse", "--verify", "-q", ref)
			args := []string{"push", url, tt.refspec}
			if tt.force {
				args = append(args, "--force")
			}
			out, err := gitIn(t, work, args...)
			out = regexp.MustCompile(`[ \t]+\n`).ReplaceAllString(out, "\n") // git pads "remote:" lines
			after, _ := gitIn(t, bare, "rev-parse", "--verify", "-q", ref)
			if tt.want == "" {
				if err != nil || after == before {
					t.Fatalf("the push was refused: %v: %s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("push: %v:\n%s\nwant a refusal with %q", err, out, tt.want)
			}
			if after != before {
				t.Errorf("%s moved from %q to %q after a refused push", ref, before, after)
			}
		})
	}
}
