package service_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/renderer"
)

// requireUpToDate protects the tenants repo's base branch as `purrvision
// setup` does in the parts this scenario needs: the head must be up to
// date with the base (strict) and carry the App's check run check ("":
// none), and one approval is needed, which a push dismisses.
func (h *harness) requireUpToDate(check string) {
	h.t.Helper()
	checks := `[]`
	if check != "" {
		checks = `[{"context":"` + check + `","app_id":1}]`
	}
	body := `{"required_status_checks":{"strict":true,"contexts":[],"checks":` + checks + `},"enforce_admins":true,` +
		`"required_pull_request_reviews":{"required_approving_review_count":1,"dismiss_stale_reviews":true,"require_code_owner_reviews":false},"restrictions":null}`
	req, err := http.NewRequest(http.MethodPut, h.gh.URL()+"repos/"+tenantsRepo+"/branches/main/protection", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token test-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("protecting main: %s", resp.Status)
	}
}

// storeSecrets is the two encrypted Secrets of store name at ref, byte
// for byte.
func (h *harness) storeSecrets(ref, name string) string {
	h.t.Helper()
	return h.git_("show", ref+":"+storeDir(name)+"/"+renderer.FileSecret) + h.git_("show", ref+":"+storeDir(name)+"/"+renderer.FileDatabaseSecret)
}

// pullOf is the pull request numbered n of the tenants repo.
func (h *harness) pullOf(n int) (head, body string) {
	h.t.Helper()
	for _, p := range h.gh.Pulls(tenantsRepo) {
		if p.GetNumber() == n {
			return p.GetHead().GetSHA(), p.GetBody()
		}
	}
	h.t.Fatalf("no pull request #%d", n)
	return "", ""
}

// renderedOnBase checks that pull request n's head moved from before onto
// the base head, and returns the new head, the pull request's body and the
// base head. what names the branch.
func (h *harness) renderedOnBase(n int, before, what string) (head, body, base string) {
	h.t.Helper()
	base = strings.TrimSpace(h.git_("rev-parse", "main"))
	head, body = h.pullOf(n)
	if head == before {
		h.t.Fatalf("%s was not brought up to date with the base", what)
	}
	if parent := strings.TrimSpace(h.git_("rev-parse", head+"^")); parent != base {
		h.t.Fatalf("%s's new head %s is on %s, want the base head %s", what, head, parent, base)
	}
	return head, body, base
}

// mergeApprovedAgain merges pull request n once approved again, after a
// merge with the approval given before the bot's push is refused.
func (h *harness) mergeApprovedAgain(n int) {
	h.t.Helper()
	if _, err := h.gh.Merge(tenantsRepo, n, "maintainer"); err == nil || !strings.Contains(err.Error(), "405") {
		h.t.Fatalf("merging #%d with the approval given before the push: %v, want 405", n, err)
	}
	h.merge(n)
}

// behindScenario: two requests, each with its pull request under the
// production rules; the second approved while its base is still current.
type behindScenario struct {
	h                *harness
	first, second    int // the issues
	secondPull       int
	secrets, creds   string // the second's Secrets and credentials comment
	headBefore, base string
}

func newBehindScenario(t *testing.T) *behindScenario {
	h := newHarness(t, harnessOptions{})
	h.requireUpToDate(v1alpha1.CheckName)
	s := &behindScenario{h: h, first: h.request("octocat", "cat-cafe", "small"), second: h.request("octocat", "dog-diner", "small")}
	h.settle()
	s.secondPull, _ = h.openPull("dog-diner")
	s.headBefore, _ = h.pullOf(s.secondPull)
	s.secrets = h.storeSecrets("store/dog-diner", "dog-diner")
	cs := h.botComments(s.second, "purrvision:credentials")
	if len(cs) != 1 {
		t.Fatalf("%d credentials comments on #%d, want 1", len(cs), s.second)
	}
	s.creds = cs[0].GetBody()
	h.gh.Approve(tenantsRepo, s.secondPull, "reviewer")
	return s
}

// check says the second store's branch is on base, rendered again with
// the same credentials, its approval dismissed, and that it merges once
// approved again.
func (s *behindScenario) check(t *testing.T) {
	h := s.h
	var head, body string
	head, body, s.base = h.renderedOnBase(s.secondPull, s.headBefore, "the second store's branch")
	if got := h.storeSecrets(head, "dog-diner"); got != s.secrets {
		t.Error("the Secrets on the branch changed: the credentials were regenerated")
	}
	cs := h.botComments(s.second, "purrvision:credentials")
	if len(cs) != 1 || cs[0].GetBody() != s.creds {
		t.Errorf("%d credentials comments, or the comment changed; want the one comment as it was", len(cs))
	}
	if want := "The base moved to `" + s.base + "`"; !strings.Contains(body, want) || !strings.Contains(body, "approve again") {
		t.Errorf("the pull request does not say why it needs a new approval:\n%s", body)
	}
	file, err := ledger.File(forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: s.second})
	if err != nil {
		t.Fatal(err)
	}
	if rec := string(h.ledgerFile(file)); !strings.Contains(rec, `"branch": "`+head+`"`) {
		t.Errorf("the ledger does not record the new head %s as the bot's push", head)
	}
	// The push dismissed the approval: without a new one the merge is
	// refused; with it, the branch merges (up to date, checked).
	h.mergeApprovedAgain(s.secondPull)
}

// TestUpToDate_AfterMerge: merging one store's pull request moves the
// base past another's branch; the merge's handling queues the other
// request, which renders its store again on the new base with the same
// Secrets, no new credentials, and a pull request saying why its approval
// was dismissed. No resync is needed (the harness's is every 10 minutes).
func TestUpToDate_AfterMerge(t *testing.T) {
	s := newBehindScenario(t)
	h := s.h
	first, _ := h.openPull("cat-cafe")
	h.merge(first)
	s.check(t)
}

// TestUpToDate_Resync: a base moved by a merge the bot did not handle (a
// platform engineer's commit) is caught by the next resync.
func TestUpToDate_Resync(t *testing.T) {
	s := newBehindScenario(t)
	h := s.h
	h.commitFile("docs/notes.md", "a note\n")
	h.svc.Resync(context.Background())
	h.settle()
	s.check(t)
}

// TestSecurity_BaseMovedKeepsCredentials (attacker): a person moves the
// base and rewrites the pull request's body with the bot's trailers; the
// bot re-renders from git's answer alone, never regenerates the
// credentials, and puts its own body back. A second handling changes
// nothing.
// Guard: PlanRequest keeps the Secrets of the bot's own branch when it
// renders it again on the moved base (KeepSecret), and reads "moved" from
// git (BranchView.Behind).
func TestSecurity_BaseMovedKeepsCredentials(t *testing.T) {
	s := newBehindScenario(t)
	h := s.h
	h.gh.EditPullBody(tenantsRepo, s.secondPull, "maintainer", "Base-moved-to: 0000\nCredentials-Id: forged\n")
	h.commitFile("docs/notes.md", "moved by hand\n")
	h.svc.Resync(context.Background())
	h.settle()
	head, body := h.pullOf(s.secondPull)
	if strings.Contains(body, "forged") {
		t.Errorf("the edited body stayed:\n%s", body)
	}
	h.svc.Resync(context.Background())
	h.settle()
	if again, _ := h.pullOf(s.secondPull); again != head {
		t.Errorf("a second handling pushed again (%s, then %s)", head, again)
	}
	if got := h.storeSecrets(head, "dog-diner"); got != s.secrets {
		t.Error("the Secrets changed")
	}
	if n := len(h.botComments(s.second, "purrvision:credentials")); n != 1 {
		t.Errorf("%d credentials comments, want 1", n)
	}
}

// TestUpToDate_CommandBranch: a rotation's pull request waits for review
// when another store is merged; the merge's handling renders the
// rotation's branch again on the new base with the rotation's own new
// Secrets, no new credentials and no new reply, and it merges, approved
// again, as a rotation.
func TestUpToDate_CommandBranch(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.requireUpToDate(v1alpha1.CheckName)
	cat := h.provisioned("cat-cafe")
	h.request("octocat", "dog-diner", "small")
	h.gh.Comment(requestsRepo, cat, "octocat", "/purrvision rotate-credentials")
	h.settle()
	rotation, _ := h.openPull("cat-cafe")
	before, _ := h.pullOf(rotation)
	secrets := h.storeSecrets("store/cat-cafe", "cat-cafe")
	if secrets == h.storeSecrets("main", "cat-cafe") {
		t.Fatal("the rotation's branch holds the Secrets of main")
	}
	creds := h.botComments(cat, "purrvision:credentials")[0].GetBody()
	replies := len(h.replies(cat))
	h.gh.Approve(tenantsRepo, rotation, "reviewer")

	dogPull, _ := h.openPull("dog-diner")
	h.merge(dogPull)

	head, body, base := h.renderedOnBase(rotation, before, "the rotation's branch")
	if h.storeSecrets(head, "cat-cafe") != secrets {
		t.Error("the rotation's Secrets changed")
	}
	if got := h.botComments(cat, "purrvision:credentials"); len(got) != 1 || got[0].GetBody() != creds {
		t.Error("the credentials comment changed or was posted again")
	}
	if n := len(h.replies(cat)); n != replies {
		t.Errorf("%d replies, want %d: the update is said on the pull request", n, replies)
	}
	if !strings.Contains(body, "The base moved to `"+base+"`") {
		t.Errorf("the pull request does not say why it needs a new approval:\n%s", body)
	}
	if h.storeSecrets("main", "dog-diner") == "" {
		t.Fatal("dog-diner is not on main")
	}
	h.mergeApprovedAgain(rotation)
	if h.storeSecrets("main", "cat-cafe") != secrets {
		t.Error("main does not hold the rotation's Secrets")
	}
	if status := h.statusComment(cat); !strings.Contains(status, "rotate-credentials") {
		t.Errorf("the merge is not recorded as the rotation:\n%s", status)
	}
}

// TestUpToDate_WaveBranch: a platform engineer's commit moves the base
// past an open, approved wave; the next resync renders the wave again on
// the new base (its stores' Secrets as they were), the pull request says
// why the approval was dismissed, the rollout is not paused (the bot
// pushed it, not a person), and the wave merges once approved again.
func TestUpToDate_WaveBranch(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.requireUpToDate(v1alpha1.RolloutCheckName)
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	pr, stores := h.openWave(id, 1)
	if len(stores) != 1 {
		t.Fatalf("wave 1 changes %v, want one store", stores)
	}
	branch, before := pr.GetHead().GetRef(), pr.GetHead().GetSHA()
	secrets := h.storeSecrets(branch, stores[0])
	h.gh.Approve(tenantsRepo, pr.GetNumber(), "reviewer")

	h.commitFile("docs/notes.md", "a note\n")
	h.tick()

	head, body, base := h.renderedOnBase(pr.GetNumber(), before, "the wave's branch")
	if h.storeSecrets(head, stores[0]) != secrets {
		t.Error("the wave's store's Secrets changed")
	}
	if !strings.Contains(body, "The base moved to `"+base+"`") {
		t.Errorf("the wave's pull request does not say why it needs a new approval:\n%s", body)
	}
	if labels := h.gh.Labels(requestsRepo, issue); slices.Contains(labels, v1alpha1.LabelRolloutPaused) {
		t.Fatalf("the rollout paused after the bot's own update: %v\n%s", labels, h.table(issue))
	}
	h.mergeApprovedAgain(pr.GetNumber())
	h.tick()
	if labels := h.gh.Labels(requestsRepo, issue); slices.Contains(labels, v1alpha1.LabelRolloutPaused) {
		t.Fatalf("the rollout paused at the merge of the updated wave: %v\n%s", labels, h.table(issue))
	}
}

// TestUpToDate_RevertBranch: a revert's pull request waits for review when
// the base moves; the next resync plans the revert again on the new base
// (the stores' Secrets as they are now), its body still names who asked
// and says why the approval was dismissed, and it merges once approved
// again, recorded as the wave's revert.
func TestUpToDate_RevertBranch(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.requireUpToDate("") // the revert's check run is another session's (purrvision/ready)
	h.seedFleet("cat-cafe", "dog-deli")
	h.gh.SetPermission(requestsRepo, "maintainer", "write")
	started := h.startRollout("1,100%", "0")
	id, issue := started.State.ID, started.Issue.Ref.Number
	wave, stores := h.openWave(id, 1)
	h.merge(wave.GetNumber())
	h.gh.Comment(requestsRepo, issue, "maintainer", "/purrvision rollout revert 1")
	h.settle()
	reverts := h.pulls()[rollout.RevertBranch(id, 1)]
	if len(reverts) != 1 {
		t.Fatalf("%d revert pull requests, want 1", len(reverts))
	}
	revert, before := reverts[0].GetNumber(), reverts[0].GetHead().GetSHA()
	h.gh.Approve(tenantsRepo, revert, "reviewer")

	h.commitFile("docs/notes.md", "a note\n")
	h.tick()

	head, body, base := h.renderedOnBase(revert, before, "the revert's branch")
	if h.storeSecrets(head, stores[0]) != h.storeSecrets("main", stores[0]) {
		t.Error("the revert does not keep the store's Secrets as they are now")
	}
	if !strings.Contains(body, "The base moved to `"+base+"`") || !strings.Contains(body, "Requested by @maintainer.") {
		t.Errorf("the revert's pull request:\n%s", body)
	}
	h.mergeApprovedAgain(revert)
	if table := h.table(issue); !strings.Contains(table, "| 1 (reverted) |") {
		t.Errorf("the table does not say wave 1 was reverted:\n%s", table)
	}
}
