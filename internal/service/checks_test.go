package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

// botCheckRuns are the check runs purrvision/plan the bot's App created on
// a commit.
func (h *harness) botCheckRuns(sha string) []ghstandin.CheckRun {
	return h.botRuns(sha, v1alpha1.CheckName)
}

// storeRequest is a StoreRequest file of owner's.
func storeRequest(name, plan, owner string) string {
	return "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: " + name + "\nspec:\n  plan: " + plan + "\n  owner: " + owner + "\n  adminEmail: owner@example.com\n"
}

// TestChecks_RequestPull: a request pull request with two stores gets, on
// the exact commit the bot validated (its render on top of the branch),
// the status purrvision/validate and the check run purrvision/plan with
// the plan in Markdown: each store, its plan, quota and hostname, the
// objects it creates, a diff line per file. A redelivery changes nothing;
// another App's check run of the same name is never taken for the bot's.
func TestChecks_RequestPull(t *testing.T) {
	h := newHarness(t, harnessOptions{statusPage: "https://status.example.com/"})
	pushAsPerson(t, h, "request/two-shops", map[string]string{
		"requests/dog-diner.yaml":  storeRequest("dog-diner", "medium", "octocat"),
		"requests/emu-eatery.yaml": storeRequest("emu-eatery", "large", "octocat"),
	})
	if _, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/two-shops", "main", "Two shops", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "request/two-shops"))
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) != 1 || sts[0].GetState() != "success" || sts[0].GetContext() != v1alpha1.StatusContext {
		t.Fatalf("statuses on the validated head %s: %v", head, sts)
	}
	runs := h.botCheckRuns(head)
	if len(runs) != 1 {
		t.Fatalf("%d check runs of the bot on the validated head, want 1: %+v", len(runs), h.gh.CheckRuns(tenantsRepo, head))
	}
	run := runs[0]
	if run.Status != "completed" || run.Conclusion != "success" || run.Title != "Provision: dog-diner and emu-eatery" || len(run.PullRequests) != 1 {
		t.Errorf("check run: %+v", run)
	}
	for _, want := range []string{
		"| `dog-diner` | added | `default` | `medium` | 2 CPU, 2Gi memory, 20Gi storage, 6 pods, internet egress (443) | `dog-diner.shop.example.com` |",
		"| `emu-eatery` | added | `default` | `large` | 4 CPU, 8Gi memory, 100Gi storage, 10 pods",
	} {
		if !strings.Contains(run.Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, run.Summary)
		}
	}
	for _, want := range []string{
		"### `dog-diner`: added", "### `emu-eatery`: added", "| Namespace `store-dog-diner` | created |",
		"| ResourceQuota `store-emu-eatery/store-quota` | created |", "| `manifests/quota.yaml` | added, 45 lines |",
	} {
		if !strings.Contains(run.Text, want) {
			t.Errorf("the details lack %q:\n%s", want, run.Text)
		}
	}
	if run.DetailsURL != "https://status.example.com/" {
		t.Errorf("details_url = %q, want the status page", run.DetailsURL)
	}
	// The request's own commit, before the bot's render, has none.
	if rs := h.botCheckRuns(strings.TrimSpace(h.git_("rev-parse", "request/two-shops~1"))); len(rs) != 0 {
		t.Errorf("check runs on the commit before the render: %+v", rs)
	}

	// Another App's run of the same name on the same commit, then every
	// delivery again: the bot finds its own run by the App GitHub
	// records, as it should be, and neither adds nor changes one.
	h.gh.AddCheckRun(tenantsRepo, "other-ci", v1alpha1.CheckName, head, "failure", "not Purrvision's")
	calls := h.gh.Calls()
	for _, d := range h.gh.Deliveries() {
		h.gh.Redeliver(d)
	}
	h.settle()
	after := h.gh.Calls()
	for _, route := range []string{"POST /repos/{owner}/{repo}/check-runs", "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"} {
		if after[route] != calls[route] {
			t.Errorf("a redelivery called %s %d times", route, after[route]-calls[route])
		}
	}
	var rs []ghstandin.CheckRun // purrvision/plan's, newest first; purrvision/ready beside them
	for _, r := range h.gh.CheckRuns(tenantsRepo, head) {
		if r.Name == v1alpha1.CheckName {
			rs = append(rs, r)
		}
	}
	if len(rs) != 2 || rs[0].Updated || rs[1].Conclusion != "failure" || rs[1].Updated {
		t.Errorf("check runs after the redelivery: %+v", rs)
	}
	if ready := h.readyRuns(head); len(ready) != 1 || ready[0].Updated || ready[0].Conclusion != "success" {
		t.Errorf("purrvision/ready after the redelivery: %+v", ready)
	}
}

// TestChecks_InvalidRequestPull: a request pull request with problems
// fails the check run on its head, with what to fix, quoted as the
// comment quotes it.
func TestChecks_InvalidRequestPull(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	head := pushAsPerson(t, h, "request/bad", map[string]string{
		"requests/dog-diner.yaml": storeRequest("dog-diner", "xl", "octocat"),
		"README.md":               "# hi @octocat <!-- x -->\n",
	})
	if _, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/bad", "main", "Bad", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	runs := h.botCheckRuns(head)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].Title != "2 problems to fix" {
		t.Fatalf("check runs on the invalid head: %+v", runs)
	}
	if s := runs[0].Summary; !strings.Contains(s, "`requests/dog-diner.yaml`: spec.plan") || !strings.Contains(s, "`README.md`: is not a store request") {
		t.Errorf("the summary does not list the problems:\n%s", s)
	}
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) != 1 || sts[0].GetState() != "failure" {
		t.Errorf("statuses: %v", sts)
	}
	// purrvision/ready is the same verdict, with what to fix quoted as
	// purrvision/plan quotes it.
	if ready := h.readyRuns(head); len(ready) != 1 || ready[0].Conclusion != "failure" || !strings.Contains(ready[0].Summary, "`README.md`: is not a store request") ||
		strings.Contains(ready[0].Summary, "@octocat <!--") {
		t.Errorf("purrvision/ready on the invalid head: %+v", ready)
	}
}

// TestChecks_StorePull: the bot's own store pull request gets the check
// run on its branch head: the store's plan when it is requested, and
// again on the new head when a command changes it.
func TestChecks_StorePull(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	merged := strings.TrimSpace(h.git_("rev-parse", "store/cat-cafe"))
	runs := h.botCheckRuns(merged)
	if len(runs) != 1 || runs[0].Conclusion != "success" || runs[0].Title != "Provision: cat-cafe" {
		t.Fatalf("check runs on the store pull request's head: %+v", runs)
	}
	if !strings.Contains(runs[0].Summary, "| `cat-cafe` | added | `default` | `small` | 1 CPU, 1Gi memory, 5Gi storage, 4 pods | `cat-cafe.shop.example.com` |") ||
		!strings.Contains(runs[0].Text, "| HelmRelease `store-cat-cafe/woocommerce` | created |") {
		t.Errorf("the provision check:\n%s\n%s", runs[0].Summary, runs[0].Text)
	}

	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	var head string
	for _, p := range h.gh.Pulls(tenantsRepo) {
		if p.GetNumber() == pr {
			head = p.GetHead().GetSHA()
		}
	}
	if got := strings.TrimSpace(h.git_("rev-parse", "store/cat-cafe")); got != head {
		t.Fatalf("the pull request's head %s is not the branch's %s", head, got)
	}
	runs = h.botCheckRuns(head)
	if len(runs) != 1 || runs[0].Conclusion != "success" || runs[0].Title != "Resize: cat-cafe" || len(runs[0].PullRequests) != 1 || runs[0].PullRequests[0] != pr {
		t.Fatalf("check runs on the resize's head: %+v", runs)
	}
	for _, want := range []string{"| `cat-cafe` | changed | `default` | `small → medium` |", "| ResourceQuota `store-cat-cafe/store-quota` | changed |",
		"| `manifests/quota.yaml` | changed, +"} {
		if !strings.Contains(runs[0].Summary+runs[0].Text, want) {
			t.Errorf("the resize check lacks %q:\n%s\n%s", want, runs[0].Summary, runs[0].Text)
		}
	}
}

// noChecks is GitHub for a token, or an App without checks: write.
type noChecks struct{ app.GitHub }

func (noChecks) CreateCheckRun(ctx context.Context, repo forge.Repo, run forge.CheckRun) (forge.CheckRun, error) {
	return forge.CheckRun{}, fmt.Errorf("creating a check run: %w: Resource not accessible by personal access token", forge.ErrForbidden)
}

// TestChecks_WithoutThePermissionTheRestGoesOn: when GitHub refuses the
// check run for want of checks: write, the request and a command still
// complete (pull request, commit status, reply); only the check is
// missing, with a warning saying what to grant. Without the required
// check, setup's protection refuses the merge, as it says; an admin who
// lifts it merges.
func TestChecks_WithoutThePermissionTheRestGoesOn(t *testing.T) {
	h := newHarness(t, harnessOptions{wrap: func(c app.GitHub) app.GitHub { return noChecks{c} }})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	_, err := devenv.ApproveAndMerge(context.Background(), h.gh.URL(), tenantsRepo, pr, reviewer, maintainer)
	if status, msg, ok := devenv.Refused(err); !ok || status != http.StatusMethodNotAllowed || !strings.Contains(msg, v1alpha1.ReadyCheckName) {
		t.Fatalf("merging without purrvision/ready: %v, want 405 naming the check", err)
	}
	h.mergePastTheRules(pr)
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Resize store cat-cafe to medium" {
		t.Fatalf("open pull request %q, want the resize", title)
	}
	if r := h.replies(n); len(r) != 1 || !strings.Contains(r[0], "waits for a reviewer") {
		t.Errorf("replies %q, want the command answered", r)
	}
	if !strings.Contains(h.logs.String(), "grant the GitHub App checks: write") {
		t.Error("no warning says what to grant")
	}
	if !strings.Contains(h.logs.String(), "branch protection blocks the merge of the bot's pull requests") {
		t.Error("no warning says the required check is missing, so merges are blocked")
	}
}
