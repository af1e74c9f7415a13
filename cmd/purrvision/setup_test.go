package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/setup"
	"github.com/purrvision/purrvision/internal/testutil"
)

func gitOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return out
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// setupWorld is a stand-in with acme/stores and acme/tenants on a git
// server that asks it about every push (not yet protected), each with a
// first commit on main, a config for them, and a clone of the tenants repo.
type setupWorld struct {
	gh     *ghstandin.Server
	client *ghclient.Client
	git    *gitserver.Server
	cfg    string
	work   string
}

func newSetupWorld(t *testing.T) *setupWorld {
	t.Helper()
	srv, tenantsURL, tenantsDir := testutil.GitRepo(t, "tenants", "main")
	storesDir, err := srv.Init("stores", "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tenants", "stores"} {
		w := t.TempDir()
		gitOK(t, w, "init", "-q", "-b", "main")
		if err := os.WriteFile(filepath.Join(w, "README.md"), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitOK(t, w, "add", ".")
		gitOK(t, w, "commit", "-q", "-m", "first")
		gitOK(t, w, "push", "-q", srv.URL(name), "HEAD:refs/heads/main")
	}
	gh, client := testutil.GitHub(t)
	gh.AddRepo("acme/stores", "main", storesDir)
	gh.AddRepo("acme/tenants", "main", tenantsDir)
	gh.SetPermission("acme/tenants", "maint", "maintain")
	gh.AddTeamMember("acme/platform", "maint")
	srv.Protect(gh, "x-access-token", gh.Token(ghstandin.BotLogin))
	cfg := rolloutConfig(t, tenantsURL, "0.1.0")
	text := strings.Replace(readFile(t, cfg), "  branch: main\n", "  branch: main\n  repo: acme/tenants\n", 1) + strings.Join([]string{
		"github:", "  apiURL: " + gh.URL(), "  token: test-token", "  repo: acme/stores",
		"  botLogin: " + ghstandin.BotLogin, "  platformTeam: acme/platform", ""}, "\n")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gitOK(t, work, "clone", "-q", srv.URLAs("tenants", "", ""), ".")
	return &setupWorld{gh: gh, client: client, git: srv, cfg: cfg, work: work}
}

func (w *setupWorld) setup(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, "", append([]string{"setup", "--config", w.cfg, "--app-id", "1"}, args...)...)
}

// pull is the open pull request of head in repo.
func (w *setupWorld) pull(t *testing.T, repo, head string) int {
	t.Helper()
	for _, p := range w.gh.Pulls(repo) {
		if p.GetHead().GetRef() == head && p.GetState() == "open" {
			return p.GetNumber()
		}
	}
	t.Fatalf("no open pull request from %s in %s", head, repo)
	return 0
}

// api calls the stand-in as a person with write access would (the drift).
func (w *setupWorld) api(t *testing.T, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(w.gh.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token test-token")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

// checkEverySetting: a dry run on a fresh stand-in prints every setting
// setup writes, for App 1.
func checkEverySetting(t *testing.T, stdout string) {
	t.Helper()
	want := []string{
		"protect main: required checks " + v1alpha1.ReadyCheckName + " (app 1), up to date true, 1 approving review(s), dismiss stale reviews true, code owner reviews true, enforce for admins true",
		`create ruleset "` + setup.RulesetStore + `": creation, deletion, non_fast_forward, update on refs/heads/store/**, bypassed only by Integration 1 (always)`,
		`create ruleset "` + setup.RulesetRollout + `"`, `create ruleset "` + setup.RulesetLedger + `": creation, deletion, non_fast_forward, update on refs/heads/purrvision/ledger`,
		"acme/tenants: propose .github/CODEOWNERS in a pull request from purrvision/setup into main",
		"acme/stores: propose .github/ISSUE_TEMPLATE/request-store.yml in a pull request from purrvision/setup into main",
	}
	for _, l := range v1alpha1.BotLabels {
		want = append(want, `acme/stores: create label "`+l.Name+`" (#`+l.Color)
	}
	for _, s := range want {
		if !strings.Contains(stdout, "would: ") || !strings.Contains(stdout, s) {
			t.Errorf("the dry run does not print %q:\n%s", s, stdout)
		}
	}
}

// mergeProposals merges setup's two pull requests as their reviewers
// would: the requests repo's as it is, the tenants repo's only once the
// App's check passed and the platform team approved (each refused merge
// on the way names what it lacks).
func (w *setupWorld) mergeProposals(t *testing.T) {
	t.Helper()
	if _, err := w.gh.Merge("acme/stores", w.pull(t, "acme/stores", setup.ProposalBranch), "acme"); err != nil {
		t.Fatal(err)
	}
	n := w.pull(t, "acme/tenants", setup.ProposalBranch)
	head := w.gh.Pulls("acme/tenants")[0].GetHead().GetSHA()
	if _, err := w.gh.Merge("acme/tenants", n, "maint"); err == nil || !strings.Contains(err.Error(), v1alpha1.ReadyCheckName) {
		t.Fatalf("a merge without the required check: %v", err)
	}
	w.gh.AddCheckRun("acme/tenants", "purrvision", v1alpha1.ReadyCheckName, head, "success", "ready")
	if _, err := w.gh.Merge("acme/tenants", n, "maint"); err == nil || !strings.Contains(err.Error(), "approving review") {
		t.Fatalf("a merge without an approval: %v", err)
	}
	w.gh.Approve("acme/tenants", n, "maint")
	if _, err := w.gh.Merge("acme/tenants", n, "maint"); err != nil {
		t.Fatalf("a merge with the check and an approval: %v", err)
	}
}

// lowerApprovals is someone with admin rights lowering the tenants repo's
// required approvals to 0: the drift --check names.
func (w *setupWorld) lowerApprovals(t *testing.T) {
	t.Helper()
	w.api(t, "PUT", "/repos/acme/tenants/branches/main/protection", `{"required_status_checks":{"strict":true,"contexts":[],"checks":[{"context":"`+v1alpha1.ReadyCheckName+`","app_id":1}]},`+
		`"enforce_admins":true,"required_pull_request_reviews":{"required_approving_review_count":0,"dismiss_stale_reviews":true,"require_code_owner_reviews":true},"restrictions":null}`)
}

// approvalsDrift is what --check prints of lowerApprovals.
const approvalsDrift = "drift: acme/tenants main: required approving reviews 0, want 1\n"

// TestSetup_Scenario: against a fresh stand-in, --check lists the drift and
// --dry-run prints every setting and writes nothing; a run applies them and
// proposes the files; a second run changes nothing; once the proposals
// are merged through the rules --check is clean; a lowered approval count
// and a deleted ruleset make --check exit 3 naming each, and a run mends
// them.
func TestSetup_Scenario(t *testing.T) {
	w := newSetupWorld(t)
	if r := w.setup(t, "--check"); r.code != exitDrift || !strings.Contains(r.stdout, "drift: acme/tenants main: not protected") {
		t.Fatalf("check on a fresh stand-in: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dry := w.setup(t, "--dry-run")
	if dry.code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	checkEverySetting(t, dry.stdout)
	if len(w.gh.Pulls("acme/tenants")) != 0 || len(w.gh.Pulls("acme/stores")) != 0 {
		t.Fatal("the dry run opened a pull request")
	}
	if r := w.setup(t); r.code != 0 || !strings.Contains(r.stdout, "changes made.") {
		t.Fatalf("setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	again := w.setup(t)
	if again.code != 0 || !strings.Contains(again.stdout, "Nothing to change") || !strings.Contains(again.stdout, "waiting: acme/tenants main: .github/CODEOWNERS missing (proposed in ") {
		t.Fatalf("a second run: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}

	w.mergeProposals(t)
	if r := w.setup(t, "--check"); r.code != 0 || !strings.Contains(r.stdout, "No drift") {
		t.Fatalf("check after setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Someone lowers the approvals and deletes a ruleset.
	w.lowerApprovals(t)
	rulesets, err := w.client.ListRulesets(context.Background(), forge.Repo{Owner: "acme", Name: "tenants"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rulesets {
		if rs.Name == setup.RulesetLedger {
			w.api(t, "DELETE", "/repos/acme/tenants/rulesets/"+strconv.FormatInt(rs.ID, 10), "")
		}
	}
	r := w.setup(t, "--check")
	if r.code != exitDrift || !strings.Contains(r.stdout, approvalsDrift) ||
		!strings.Contains(r.stdout, `drift: acme/tenants ruleset "`+setup.RulesetLedger+`": missing`) || strings.Count(r.stdout, "drift:") != 2 {
		t.Fatalf("check after drift: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := w.setup(t); r.code != 0 || strings.Count(r.stdout, "done:") != 2 {
		t.Fatalf("mending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := w.setup(t, "--check"); r.code != 0 {
		t.Fatalf("check after mending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestSetup_Attacker: under setup's rules a maintainer cannot push to the
// base branch, a person cannot push to store/*, rollout/* or the ledger,
// and the App can.
func TestSetup_Attacker(t *testing.T) {
	w := newSetupWorld(t)
	if r := w.setup(t); r.code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(w.work, "evil.yaml"), []byte("kind: Evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOK(t, w.work, "add", ".")
	gitOK(t, w.work, "commit", "-q", "-m", "evil")
	maint := w.git.URLAs("tenants", "maint", w.gh.Token("maint"))
	for _, tt := range []struct{ name, url, ref, want string }{
		{"maintainer to the base branch", maint, "main", "GH006: Protected branch update failed"},
		{"maintainer to store/*", maint, v1alpha1.Branch("cat-cafe"), "GH013: Repository rule violations found"},
		{"maintainer to rollout/*", maint, v1alpha1.RolloutBranchPrefix + "r1/wave-1", "GH013"},
		{"maintainer to the ledger", maint, v1alpha1.LedgerBranch, "GH013"},
		{"the App to store/*", w.git.URL("tenants"), v1alpha1.Branch("dog-diner"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := gitOut(w.work, "push", tt.url, "HEAD:refs/heads/"+tt.ref)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("the App's push was refused: %s", out)
				}
				return
			}
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("push: %v, want refused with %q:\n%s", err, tt.want, out)
			}
		})
	}
}
