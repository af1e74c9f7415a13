package service_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/rollout"
)

// The attacker tests of `purrvision setup`'s rules (issue 18), on the
// branches the product really writes: a store request's branch, a
// rollout's wave branch, the ledger branch, and the base, under every
// rule, as every scenario runs.

// pushAs clones the tenants repo's branch from as a person, through the
// git server with login's token, commits a file on it and pushes the
// commit to ref; it returns git's output and whether the push went
// through.
func (h *harness) pushAs(login, from, ref string) (string, bool) {
	h.t.Helper()
	work := h.t.TempDir()
	run := func(args ...string) (string, error) {
		out, err := gitserverGit(work, args...)
		return string(out), err
	}
	url := h.git.URLAs("tenants", login, h.gh.Token(login))
	if out, err := run("clone", "-q", "--branch", from, url, "."); err != nil {
		h.t.Fatalf("cloning %s as %s: %v\n%s", from, login, err, out)
	}
	if err := os.WriteFile(filepath.Join(work, "by-hand.txt"), []byte("pushed by "+login+"\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "by-hand.txt"}, {"commit", "-q", "-m", "by hand"}} {
		if out, err := run(args...); err != nil {
			h.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := run("push", "origin", "HEAD:refs/heads/"+ref)
	return out, err == nil
}

// head is a branch's head in the tenants repo.
func (h *harness) head(branch string) string {
	h.t.Helper()
	return strings.TrimSpace(h.git_("rev-parse", "refs/heads/"+branch))
}

// TestRules_OnlyTheBotPushesItsBranches: the service's own pushes (a store
// request's branch, a rollout's wave, the ledger) go through the protected
// git server with the App's token; a maintainer's push to the base branch
// is refused with GH006, and a person's push to the store branch, a new
// store/* branch, the wave's branch and the ledger with GH013.
// Guards: the base branch's protection (required reviews) and the three
// rulesets with the App as their only bypass actor (setup.Desired), held
// by the stand-in's pre-receive check.
func TestRules_OnlyTheBotPushesItsBranches(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("dog-deli")
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	started := h.startRollout("100%", "0")
	wave := rollout.WaveBranch(started.State.ID, 1)
	store := v1alpha1.Branch("cat-cafe")
	for _, b := range []string{store, wave, v1alpha1.LedgerBranch} {
		if h.head(b) == "" {
			t.Fatalf("the bot's push of %s did not go through", b)
		}
	}
	if len(h.pulls()[store]) != 1 || len(h.pulls()[wave]) != 1 {
		t.Fatalf("pull requests: %d of %s, %d of %s, want one each", len(h.pulls()[store]), store, len(h.pulls()[wave]), wave)
	}

	for _, tt := range []struct{ name, login, from, ref, want string }{
		{"a maintainer to the base branch", maintainer, "main", "main", "GH006: Protected branch update failed for refs/heads/main."},
		{"a code owner to the base branch", reviewer, "main", "main", "Changes must be made through a pull request."},
		{"a maintainer to the store's branch", maintainer, store, store, "GH013: Repository rule violations found for refs/heads/" + store + "."},
		{"a maintainer creating a store branch", maintainer, "main", v1alpha1.Branch("dog-diner"), "Cannot create ref due to creations being restricted."},
		{"a maintainer to the wave's branch", maintainer, wave, wave, "GH013: Repository rule violations found for refs/heads/" + wave + "."},
		{"a code owner to the ledger", reviewer, v1alpha1.LedgerBranch, v1alpha1.LedgerBranch, "GH013: Repository rule violations found for refs/heads/" + v1alpha1.LedgerBranch + "."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := ""
			if tt.from == tt.ref {
				before = h.head(tt.ref)
			}
			out, ok := h.pushAs(tt.login, tt.from, tt.ref)
			if ok || !strings.Contains(out, tt.want) {
				t.Fatalf("push as %s to %s: went through %v, want refused with %q:\n%s", tt.login, tt.ref, ok, tt.want, out)
			}
			if before != "" && h.head(tt.ref) != before {
				t.Errorf("%s moved to %s", tt.ref, h.head(tt.ref))
			}
		})
	}
}

// TestRules_MergesAsGitHubRefuses: merges through the merge API, as
// people make them, are refused with GitHub's status and message under
// setup's rules: a person's pull request with another App's
// purrvision/ready (the required check is bound to Purrvision's App);
// the store request's pull request without an approval, with only a
// writer's approval (not a code owner's), with a head SHA that is not
// its head, and once the base moved past it (strict).
// Guards: the required check with its app_id, required approvals, code
// owner reviews, strict (setup.Desired), and the merge API's sha.
func TestRules_MergesAsGitHubRefuses(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	merge := func(n int, sha string) (int, string) {
		t.Helper()
		_, err := devenv.Merge(ctx, h.gh.URL(), tenantsRepo, n, maintainer, sha)
		status, msg, ok := devenv.Refused(err)
		if err != nil && !ok {
			t.Fatal(err)
		}
		if err == nil {
			status = http.StatusOK
		}
		return status, msg
	}
	refused := func(what string, n int, sha string, wantStatus int, want string) {
		t.Helper()
		if status, msg := merge(n, sha); status != wantStatus || !strings.Contains(msg, want) {
			t.Fatalf("a merge %s: %d %q, want %d with %q", what, status, msg, wantStatus, want)
		}
	}

	// A person's pull request, approved by a code owner, with another
	// App's check of the required name.
	if _, ok := h.pushAs(maintainer, "main", "tweak"); !ok {
		t.Fatal("a maintainer could not push a branch of their own")
	}
	tweak, err := h.gh.OpenPull(tenantsRepo, maintainer, "tweak", "main", "Tweak", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.gh.AddCheckRun(tenantsRepo, "other-ci", v1alpha1.ReadyCheckName, h.head("tweak"), "success", "looks fine to me")
	if err := devenv.Approve(ctx, h.gh.URL(), tenantsRepo, tweak, reviewer); err != nil {
		t.Fatal(err)
	}
	refused("with another App's "+v1alpha1.ReadyCheckName, tweak, "", http.StatusMethodNotAllowed, `Required status check "`+v1alpha1.ReadyCheckName+`" is`)

	// The store request's pull request, with Purrvision's check on its
	// head, as the bot posts it.
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	store := v1alpha1.Branch("cat-cafe")
	head := h.head(store)
	h.gh.AddCheckRun(tenantsRepo, strings.TrimSuffix(ghstandin.BotLogin, "[bot]"), v1alpha1.ReadyCheckName, head, "success", "ready")
	refused("without an approval", pr, "", http.StatusMethodNotAllowed, "At least 1 approving review is required by reviewers with write access.")
	if err := devenv.Approve(ctx, h.gh.URL(), tenantsRepo, pr, maintainer); err != nil {
		t.Fatal(err)
	}
	refused("approved by a writer who owns no code", pr, "", http.StatusMethodNotAllowed, "Waiting on code owner review from @"+codeOwnersTeam+".")
	if err := devenv.Approve(ctx, h.gh.URL(), tenantsRepo, pr, reviewer); err != nil {
		t.Fatal(err)
	}
	refused("of a head that moved", pr, h.head("main"), http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	h.commitFile("docs/elsewhere.md", "the base moves on\n")
	refused("behind its base", pr, head, http.StatusMethodNotAllowed, "Head branch is out of date. Review and try the merge again.")
	for _, p := range h.gh.Pulls(tenantsRepo) {
		if p.GetMerged() {
			t.Errorf("#%d merged", p.GetNumber())
		}
	}
}
