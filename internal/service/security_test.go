package service_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/audit"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

// Adversarial scenarios of issue 10, through the real webhook handler and
// the GitHub stand-in. Each plays someone who may not change a store, and
// fails when the guard it names is removed.

// statusComments are the bot's comments that count as the status comment.
func statusComments(h *harness, n int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin && v1alpha1.Marked(c.GetBody(), v1alpha1.MarkerStatus) {
			out = append(out, c)
		}
	}
	return out
}

// foreignHTMLComments reports whether a body of the bot's carries an HTML
// comment anywhere but its marker line (and, in the status comment, the
// state line under it), and the nonce line a new comment ends with.
func foreignHTMLComments(body string) bool {
	_, rest, _ := strings.Cut(body, "\n")
	if v1alpha1.Marked(body, v1alpha1.MarkerStatus) {
		_, rest, _ = strings.Cut(rest, "\n")
	}
	if i := strings.LastIndex(rest, "\n"); i >= 0 && regexp.MustCompile(`^<!-- purrvision:post [0-9a-f]{24} -->$`).MatchString(rest[i+1:]) {
		rest = rest[:i]
	}
	return strings.Contains(rest, "<!--") || strings.Contains(rest, "-->")
}

// TestSecurity_ForgedBotState (class 3): the bot quotes what people write
// (a refused command's first line, a heading it does not know). Planted
// markers and HTML in that text must not become the bot's state: the
// status comment stays the one the bot wrote as such, and no bot comment
// carries an HTML comment or a mention taken from user text.
// Guards: markers count only on a bot comment's first line
// (v1alpha1.Marked, storestatus.Parse), and quoteUser/neutralize.
func TestSecurity_ForgedBotState(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	forged := "/purrvision resize " + v1alpha1.MarkerStatus + " <!-- purrvision:state {\"store\":\"cat-cafe\",\"phase\":\"ready\",\"url\":\"https://evil.example/\"} --> Ready: log in at https://evil.example @admin"
	// An invalid request (unknown plan), with a heading of the attacker's.
	body := formBody("cat-cafe", "xl", "owner@example.com") + "\n\n### " + v1alpha1.MarkerStatus + " @admin\n\nx"
	n := h.gh.OpenIssue(requestsRepo, "octocat", "Store: cat-cafe", body, v1alpha1.LabelRequest)
	h.settle()
	// The requester's own command is answered while the request is invalid,
	// quoting its first line.
	h.gh.Comment(requestsRepo, n, "octocat", forged)
	h.settle()
	// The request is fixed: the bot must now post its own status comment.
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "small", "owner@example.com"))
	h.settle()

	st := statusComments(h, n)
	if len(st) != 1 {
		t.Fatalf("%d status comments, want the one the bot wrote", len(st))
	}
	state := storestatus.Parse(st[0].GetBody())
	if state.Phase != v1alpha1.PhasePendingReview || strings.Contains(state.URL, "evil") {
		t.Errorf("status state %+v, want pending review at the store's own URL", state)
	}
	replies := h.replies(n)
	if len(replies) != 1 || !strings.Contains(replies[0], "not valid") {
		t.Fatalf("replies %q, want the one refusal of the command", replies)
	}
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() != ghstandin.BotLogin {
			continue
		}
		if foreignHTMLComments(c.GetBody()) {
			t.Errorf("bot comment carries an HTML comment from user text:\n%s", c.GetBody())
		}
		if strings.Contains(c.GetBody(), " @admin") {
			t.Errorf("bot comment repeats a mention from user text:\n%s", c.GetBody())
		}
	}
}

// TestSecurity_StatusCommentByRecordedID (class 3): the bot's status
// comment is the one whose ID it recorded in its ledger, never one found
// by searching the thread: a comment in the bot's name with a status
// marker on its first line and a forged state (one of an old bug, or of a
// leaked token) is not taken for it, though it comes first.
// Guard: ledger.Thread, which reads only the recorded IDs.
func TestSecurity_StatusCommentByRecordedID(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// An invalid request: the bot writes its validation comment only.
	n := h.gh.OpenIssue(requestsRepo, "octocat", "Store: cat-cafe", formBody("cat-cafe", "xl", "owner@example.com"), v1alpha1.LabelRequest)
	h.settle()
	forged := storestatus.State{Store: "cat-cafe", Phase: v1alpha1.PhaseReady, URL: "https://evil.example/",
		Operation: v1alpha1.OpDecommission, MergeCommit: strings.Repeat("ab", 20)}
	forged.RecordMerge("decommission approved by @admin", forged.MergeCommit, time.Now())
	plantedID := h.gh.Comment(requestsRepo, n, ghstandin.BotLogin, storestatus.Body(forged, ""))
	planted := h.gh.Comments(requestsRepo, n)[len(h.gh.Comments(requestsRepo, n))-1].GetBody()

	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "small", "owner@example.com"))
	h.settle()
	if prs := h.pulls()["store/cat-cafe"]; len(prs) != 1 || prs[0].GetTitle() != "Provision store cat-cafe" {
		t.Fatalf("pull requests %v, want the store's provisioning: the forged state (decommissioned) was read", prs)
	}
	var own *github.IssueComment
	for _, c := range statusComments(h, n) {
		switch c.GetID() {
		case plantedID:
			if c.GetBody() != planted {
				t.Errorf("the bot edited a status comment it did not record:\n%s", c.GetBody())
			}
		default:
			own = c
		}
	}
	if own == nil {
		t.Fatal("the bot posted no status comment of its own")
	}
	if st := storestatus.Parse(own.GetBody()); st.Phase != v1alpha1.PhasePendingReview || strings.Contains(st.URL, "evil") || len(st.Merges()) != 0 {
		t.Errorf("status %+v, want pending review, no merge, the store's own URL", st)
	}
	// A command reads the recorded state: the store is not "decommissioned".
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.settle()
	if r := h.replies(n); len(r) != 1 || strings.Contains(r[0], "decommissioned") {
		t.Errorf("replies %q, want one that does not take the store for decommissioned", r)
	}
	// Nor does the status page show it, or the audit print its history.
	h.merge(h.pulls()["store/cat-cafe"][0].GetNumber())
	if page := h.get("/"); strings.Contains(page, "approved by @admin") || !strings.Contains(page, "cat-cafe") {
		t.Errorf("the status page shows a status comment the bot did not record:\n%.2000s", page)
	}
	if text := audit.Text(auditOf(t, h, h.tenantsClone(), "cat-cafe")); strings.Contains(text, "approved by @admin") || !strings.Contains(text, "Waiting for review") {
		t.Errorf("the audit reads a status comment the bot did not record:\n%s", text)
	}
}

// TestSecurity_StatusCommentEditedOrDeleted (class 3, 5): GitHub lets
// anyone with write access edit or delete any comment, the bot's included,
// and the author stays the bot. The store's state lives in the ledger, so
// an edit of the status comment's hidden state changes nothing the bot
// decides or shows, and deleting it after a decommission does not bring
// the store back.
// Guard: ledger.Record.Status (nothing is read back from a comment).
func TestSecurity_StatusCommentEditedOrDeleted(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	stores := forge.Repo{Owner: "acme", Name: "stores"}
	n := h.provisioned("cat-cafe")
	st := statusComments(h, n)
	if len(st) != 1 {
		t.Fatalf("%d status comments", len(st))
	}
	forged := storestatus.Parse(st[0].GetBody())
	forged.Operation, forged.Store = v1alpha1.OpDecommission, "dog-diner"
	forged.RecordMerge("decommission approved by @cto", strings.Repeat("cd", 20), time.Now())
	if err := h.client.EditComment(ctx, stores, st[0].GetID(), storestatus.Body(forged, "")); err != nil {
		t.Fatal(err)
	}
	// The store is not taken for decommissioned or renamed: a resize works.
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Resize store cat-cafe to medium" {
		t.Fatalf("open pull request %q, want the resize: the edited state was read", title)
	}
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)
	if text := audit.Text(auditOf(t, h, h.tenantsClone(), "cat-cafe")); strings.Contains(text, "@cto") {
		t.Errorf("the audit prints an edited status comment:\n%s", text)
	}

	// Decommissioned, then the status comment deleted: nothing comes back.
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	h.settle()
	pr, _ = h.openPull("cat-cafe")
	h.merge(pr)
	before := len(h.gh.Pulls(tenantsRepo))
	for _, c := range statusComments(h, n) {
		if err := h.client.DeleteComment(ctx, stores, c.GetID()); err != nil {
			t.Fatal(err)
		}
	}
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "small", "owner@example.com"))
	h.settle()
	if after := len(h.gh.Pulls(tenantsRepo)); after != before {
		t.Errorf("%d pull requests after the status comment was deleted, want %d: the store came back", after, before)
	}
}

// TestSecurity_NameHeldUntilNamespaceGone (class 5): after a decommission
// merges, the name stays its issue's until the watcher reports the
// Namespace gone, even when GitHub deletes the store's branch at the merge
// and the requester closes the issue meanwhile. Then it is free.
// Guard: ledger.Hold at the decommission merge, Release at the report.
func TestSecurity_NameHeldUntilNamespaceGone(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)
	old := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	h.git_("branch", "-D", "store/cat-cafe") // "automatically delete head branches"
	if err := h.client.CloseIssue(ctx, old); err != nil {
		t.Fatal(err)
	}

	m := h.request("mallory", "cat-cafe", "small")
	h.settle()
	for _, p := range h.pulls()["store/cat-cafe"] {
		if p.GetState() == "open" {
			t.Fatalf("a request for the name opened %q while the old Namespace may still hold data", p.GetTitle())
		}
	}
	if v := h.botComments(m, "purrvision:validation"); len(v) != 1 || !strings.Contains(v[0].GetBody(), "being decommissioned") {
		t.Fatalf("the request is not told why: %v", v)
	}

	// The watcher reports the Namespace gone: the name is free.
	rep := &reconcile.GitHubReporter{GitHub: h.client, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: ledger.New(h.tenantsClone(), testutil.LedgerKeys())}
	if err := rep.Report(ctx, reconcile.Report{Store: "cat-cafe", Issue: old, Observation: reconcile.Observation{Phase: v1alpha1.PhaseDecommissioned}}); err != nil {
		t.Fatal(err)
	}
	h.gh.EditIssueBody(requestsRepo, m, "mallory", formBody("cat-cafe", "medium", "owner@example.com"))
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Provision store cat-cafe" {
		t.Errorf("open pull request %q once the name is free, want the new store's", title)
	}
}

// TestSecurity_CommandCostFlat (class 7): handling a command costs the
// same API calls on a thread of 3 comments as on one of 250: the bot
// reads its ledger, not the thread.
// Guard: ledger.Thread (no listing of the issue's comments).
func TestSecurity_CommandCostFlat(t *testing.T) {
	cost := func(filler int) int {
		h := newHarness(t, harnessOptions{})
		n := h.provisioned("cat-cafe")
		h.gh.Comment(requestsRepo, n, "eve", "/purrvision decommission")
		h.settle()
		for i := 0; i < filler; i++ {
			h.gh.Comment(requestsRepo, n, "octocat", "thanks!")
		}
		h.settle()
		before := total(h.gh.Calls())
		h.gh.Comment(requestsRepo, n, "eve", "/purrvision decommission")
		h.settle()
		return total(h.gh.Calls()) - before
	}
	short, long := cost(0), cost(250)
	if short != long || short > 8 {
		t.Errorf("a refused command cost %d API calls on a short thread and %d on a 250-comment one; want the same few", short, long)
	}
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// TestSecurity_UnauthorizedCommandsQuiet (class 7): someone without rights
// gets one reply per issue, then only a reaction; the reply repeats none
// of the mentions in the command.
func TestSecurity_UnauthorizedCommandsQuiet(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	var ids []int64
	for _, cmd := range []string{"/purrvision decommission @mallory @acme/platform", "/purrvision decommission", "/purrvision rotate-credentials"} {
		ids = append(ids, h.gh.Comment(requestsRepo, n, "eve", cmd))
		h.settle()
	}
	replies := h.replies(n)
	if len(replies) != 1 {
		t.Fatalf("%d replies to eve's commands, want 1:\n%s", len(replies), strings.Join(replies, "\n---\n"))
	}
	if strings.Contains(replies[0], " @mallory") || strings.Contains(replies[0], " @acme/platform") {
		t.Errorf("the reply repeats the command's mentions:\n%s", replies[0])
	}
	for _, id := range ids[1:] {
		if r := h.gh.Reactions(id); len(r) != 1 || r[0] != ghstandin.BotLogin+":-1" {
			t.Errorf("reactions on a repeated refused command = %v, want the bot's -1", r)
		}
	}
	// Another person without rights gets their one reply too.
	h.gh.Comment(requestsRepo, n, "mallory", "/purrvision decommission")
	h.settle()
	if got := len(h.replies(n)); got != 2 {
		t.Errorf("%d replies after a second person's command, want 2", got)
	}
	if open := h.pulls()["store/cat-cafe"]; len(open) != 1 || open[0].GetState() != "closed" {
		t.Error("a refused command changed the pull requests")
	}
}

// TestSecurity_DecommissionIsFinal (class 5): once a decommission merges,
// nothing brings the store back from its issue: not a resync, an edit of
// the form, or /purrvision retry. (The watcher closes the issue when the
// store is gone: reconcile's TestReporter_DecommissionClosesTheIssue.)
func TestSecurity_DecommissionIsFinal(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)
	before := len(h.gh.Pulls(tenantsRepo))

	h.stop() // a restart resyncs every open request
	h.start()
	h.settle()
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "medium", "owner@example.com"))
	h.settle()
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision retry")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.settle()

	if after := len(h.gh.Pulls(tenantsRepo)); after != before {
		t.Errorf("%d pull requests after the decommission, want %d: the store came back", after, before)
	}
	for _, p := range h.pulls()["store/cat-cafe"] {
		if p.GetState() == "open" {
			t.Errorf("pull request #%d %q is open after the decommission", p.GetNumber(), p.GetTitle())
		}
	}
	if files := h.git_("ls-tree", "-r", "--name-only", "store/cat-cafe"); strings.Contains(files, storeDir("cat-cafe")+"/") {
		t.Error("the store's branch holds the store again")
	}
	r := h.replies(n)
	if len(r) < 2 || !strings.Contains(r[len(r)-1], "decommissioned") || !strings.Contains(r[len(r)-2], "decommissioned") {
		t.Errorf("the last replies do not say the store was decommissioned:\n%s", strings.Join(r, "\n---\n"))
	}
}

// TestSecurity_RenameAfterMerge (class 8): after the first merge an issue's
// store name is fixed. An edit that changes it gets a reply and nothing
// else, and commands keep to the merged store.
func TestSecurity_RenameAfterMerge(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("dog-diner", "small", "owner@example.com"))
	h.settle()
	if prs := h.pulls()["store/dog-diner"]; len(prs) != 0 {
		t.Fatalf("renaming the merged store opened %d pull requests for a second store", len(prs))
	}
	v := h.botComments(n, "purrvision:validation")
	if len(v) != 1 || !strings.Contains(v[0].GetBody(), "cannot change once it is merged") || !strings.Contains(v[0].GetBody(), "**cat-cafe**") {
		t.Fatalf("validation comments = %d, want one saying the name is fixed", len(v))
	}
	if slices.Contains(h.gh.Labels(requestsRepo, n), v1alpha1.LabelInvalid) {
		t.Error("the rename labelled the provisioned store invalid")
	}
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	if r := h.replies(n); len(r) != 1 || !strings.Contains(r[0], "name cannot change") {
		t.Errorf("replies %q, want one saying the name is fixed", r)
	}
	for _, p := range h.pulls()["store/cat-cafe"] {
		if p.GetState() == "open" {
			t.Errorf("a command under the new name opened %q", p.GetTitle())
		}
	}
	// Putting the name back makes the store manageable again.
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "small", "owner@example.com"))
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Resize store cat-cafe to medium" {
		t.Errorf("after the name was put back, title %q", title)
	}
}

// TestSecurity_OnlyStoreMergesAreRecorded (class 4): a merged pull request
// counts as a store merge only when it is the bot's own store pull request
// or a request pull request the bot validated. An ordinary ops pull
// request, with or without a planted marker, changes no store's issue and
// starts no deployment.
func TestSecurity_OnlyStoreMergesAreRecorded(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	statusBefore := statusComments(h, n)[0].GetBody()
	labelsBefore := strings.Join(h.gh.Labels(requestsRepo, n), ",")
	deploymentsBefore := len(h.gh.DeploymentStates(tenantsRepo))

	user := h.tenantsClone()
	ops := func(branch, body string) int {
		t.Helper()
		if _, err := user.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "docs/" + branch + ".md", Data: []byte("ops\n")}}, Message: "ops change\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		pr, err := h.gh.OpenPull(tenantsRepo, "maint", branch, "main", "Ops: "+branch, body)
		if err != nil {
			t.Fatal(err)
		}
		h.settle()
		h.mergePastTheRules(pr)
		return pr
	}
	issueRef := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	planted := ops("ops-planted", provision.PullMarker(issueRef, v1alpha1.OpDecommission)+"\nTidy the docs.")
	plain := ops("ops-plain", "Tidy the docs.")

	if got := statusComments(h, n)[0].GetBody(); got != statusBefore {
		t.Errorf("an ops pull request changed the store's status comment:\n%s", got)
	}
	if got := strings.Join(h.gh.Labels(requestsRepo, n), ","); got != labelsBefore {
		t.Errorf("labels %s after ops merges, want %s", got, labelsBefore)
	}
	if got := len(h.gh.DeploymentStates(tenantsRepo)); got != deploymentsBefore {
		t.Errorf("%d deployment environments after ops merges, want %d: %v", got, deploymentsBefore, h.gh.DeploymentStates(tenantsRepo))
	}
	for _, pr := range []int{planted, plain} {
		for _, c := range h.gh.Comments(tenantsRepo, pr) {
			if c.GetUser().GetLogin() == ghstandin.BotLogin {
				t.Errorf("the bot commented on ops pull request #%d:\n%s", pr, c.GetBody())
			}
		}
		if l := h.gh.Labels(tenantsRepo, pr); len(l) != 0 {
			t.Errorf("ops pull request #%d labelled %v", pr, l)
		}
	}
}

// TestSecurity_PullRequestsActedOn (class 2): the bot validates and pushes
// only to a request pull request's own branch in the tenants repo, into
// the base branch. A fork is refused with a reason; a pull request whose
// head is the base branch never makes the bot push there.
func TestSecurity_PullRequestsActedOn(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	admin := h.tenantsClone()
	request := func(name, owner string) string {
		return "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: " + name + "\nspec:\n  plan: small\n  owner: " + owner + "\n  adminEmail: owner@example.com\n"
	}
	push := func(branch, parent, file, content string) {
		t.Helper()
		if _, err := admin.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			p := s.BaseHead
			if parent == "branch" {
				p = s.BranchHead
			}
			return &tenants.Plan{Parent: p, Changes: []tenants.Change{{Path: file, Data: []byte(content)}}, Message: "change\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	rev := func(ref string) string { return strings.TrimSpace(h.git_("rev-parse", ref)) }

	// A fork's pull request: its head is kept in the tenants repo's git, as
	// GitHub keeps it.
	h.gh.AddRepo("eve/tenants", "main", "")
	push("eve-request", "", "requests/eve-shop.yaml", request("eve-shop", "eve"))
	forkHead := rev("eve-request")
	fork, err := h.gh.OpenForkPull(tenantsRepo, "eve/tenants", "eve", "eve-request", "main", "Request eve-shop", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := rev("eve-request"); got != forkHead {
		t.Error("the bot pushed onto a fork pull request's branch")
	}
	if sts := h.gh.Statuses(tenantsRepo, forkHead); len(sts) != 0 {
		t.Errorf("statuses on the fork's commit: %v", sts)
	}
	// The check run says why, neutral: it marks nothing valid.
	if runs := h.botCheckRuns(forkHead); len(runs) != 1 || runs[0].Conclusion != "neutral" || !strings.Contains(runs[0].Summary, "forks are not validated") {
		t.Errorf("check runs on the fork's commit: %+v", runs)
	}
	var said string
	for _, c := range h.gh.Comments(tenantsRepo, fork) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin {
			said += c.GetBody()
		}
	}
	if !strings.Contains(said, "forks are not validated") {
		t.Errorf("the fork pull request got no reason:\n%s", said)
	}

	// A pull request whose head is the base branch, into another branch.
	push("staging", "", "docs/staging.md", "staging\n")
	push("main", "branch", "requests/main-shop.yaml", request("main-shop", "maint"))
	mainHead := rev("main")
	if _, err := h.gh.OpenPull(tenantsRepo, "maint", "main", "staging", "Main into staging", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := rev("main"); got != mainHead {
		t.Errorf("the bot pushed to main:\n%s", h.git_("log", "--format=%s", mainHead+"..main"))
	}
	if sts := h.gh.Statuses(tenantsRepo, mainHead); len(sts) != 0 {
		t.Errorf("statuses on main's head: %v", sts)
	}
}

// pushAsPerson commits files (path -> content; content "->target" makes a
// symbolic link, a path ending in ".sh" is executable) on a new branch from
// main with the git CLI, as a person would, and pushes it.
func pushAsPerson(t *testing.T, h *harness, branch string, files map[string]string) string {
	t.Helper()
	return pushAs(t, h, "Octocat", "octocat@example.com", branch, files)
}

// pushAs is pushAsPerson with the commit's author name and e-mail.
func pushAs(t *testing.T, h *harness, name, email, branch string, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := gitserverGit(work, args...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("clone", "-q", h.bare, ".")
	run("checkout", "-q", "-b", branch)
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		run("add", p)
		if strings.HasSuffix(p, ".sh") {
			run("update-index", "--chmod=+x", p)
		}
	}
	run("commit", "-q", "--author", name+" <"+email+">", "-m", "request a store")
	run("push", "-q", "origin", branch)
	return run("rev-parse", "HEAD")
}

// TestSecurity_RequestPullDoesOnlyThat (class 1): a request pull request
// that also changes anything else (the SOPS rules, manifests where the
// cluster's Kustomizations read, another store, a link, an executable)
// fails purrvision/validate on its head, with a comment listing each path,
// and nothing is pushed. One that brings its own Secret for its store gets
// new credentials instead: a Secret the bot did not write is never kept.
func TestSecurity_RequestPullDoesOnlyThat(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	request := func(name string) string {
		return "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: " + name + "\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: owner@example.com\n"
	}
	crb := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwn\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: User\n  name: octocat\n"
	smuggled := map[string]string{
		".sops.yaml":                      "creation_rules: []\n",
		"tenants/default/pwn.yaml":        crb,
		storeDir("fox-den") + "/x":        "other store\n",
		"requests/link.yaml":              "->/etc/passwd",
		storeDir("dog-diner") + "/run.sh": "#!/bin/sh\n",
	}
	files := map[string]string{"requests/dog-diner.yaml": request("dog-diner")}
	for p, c := range smuggled {
		files[p] = c
	}
	head := pushAsPerson(t, h, "request/dog-diner", files)
	pr, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/dog-diner", "main", "Request dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := strings.TrimSpace(h.git_("rev-parse", "request/dog-diner")); got != head {
		t.Errorf("the bot pushed onto a pull request that smuggles files:\n%s", h.git_("log", "--format=%s", head+"..request/dog-diner"))
	}
	sts := h.gh.Statuses(tenantsRepo, head)
	if len(sts) == 0 || sts[0].GetState() != "failure" || sts[0].GetContext() != v1alpha1.StatusContext {
		t.Fatalf("statuses on the head = %v, want purrvision/validate failure", sts)
	}
	var said string
	for _, c := range h.gh.Comments(tenantsRepo, pr) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin {
			said += c.GetBody()
		}
	}
	for p := range smuggled {
		if !strings.Contains(said, p) {
			t.Errorf("the comment does not name %s:\n%s", p, said)
		}
	}

	// Its own "encrypted" Secret, and a file the bot does not render, in
	// the requested store's folder.
	mine := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: woocommerce-credentials\nstringData:\n  wordpress-admin-password: known-to-the-attacker\n"
	head = pushAsPerson(t, h, "request/cat-barn", map[string]string{
		"requests/cat-barn.yaml":                                 request("cat-barn"),
		storeDir("cat-barn") + "/" + renderer.FileSecret:         mine,
		storeDir("cat-barn") + "/" + renderer.FileDatabaseSecret: mine,
		storeDir("cat-barn") + "/manifests/extra.yaml":           crb,
	})
	if _, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/cat-barn", "main", "Request cat-barn", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	rendered := strings.TrimSpace(h.git_("rev-parse", "request/cat-barn"))
	if rendered == head {
		t.Fatal("the bot did not render the store")
	}
	if sts := h.gh.Statuses(tenantsRepo, rendered); len(sts) == 0 || sts[0].GetState() != "success" {
		t.Fatalf("statuses on the render = %v, want success", sts)
	}
	secret, err := gitShow(h, "request/cat-barn:"+storeDir("cat-barn")+"/"+renderer.FileSecret)
	if err != nil || secret == mine || !strings.Contains(secret, "ENC[") {
		t.Errorf("the Secret on the branch is not one the bot encrypted:\n%s", secret)
	}
	if _, err := gitShow(h, "request/cat-barn:"+storeDir("cat-barn")+"/manifests/extra.yaml"); err == nil {
		t.Error("a file the bot did not render stays in the store's folder")
	}
}

// gatedGitHub holds every GetIssue until open is closed, so the queue's
// one worker stays busy and the queue stays full.
type gatedGitHub struct {
	app.GitHub
	open chan struct{}
}

func (g *gatedGitHub) GetIssue(ctx context.Context, ref forge.IssueRef) (*forge.Issue, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.GitHub.GetIssue(ctx, ref)
}

// TestSecurity_FullQueueLosesNothing (class 11): when the webhook queue is
// full the service answers 503 and GitHub does not redeliver; the resync
// still does the work (docs/operations.md says how long it may take).
func TestSecurity_FullQueueLosesNothing(t *testing.T) {
	gate := &gatedGitHub{open: make(chan struct{})}
	h := newHarness(t, harnessOptions{
		wrap:   func(c app.GitHub) app.GitHub { gate.GitHub = c; return gate },
		queue:  &webhook.QueueOptions{Workers: 1, MaxPending: 1, BaseBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 12},
		resync: 500 * time.Millisecond,
	})
	first := h.request("octocat", "cat-cafe", "small")
	h.gh.WaitDeliveries()
	second := h.request("octocat", "dog-diner", "small")
	h.gh.WaitDeliveries()
	refused := 0
	for _, d := range h.gh.Deliveries() {
		if d.Status == http.StatusServiceUnavailable {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no delivery was refused with 503: the queue was not full, so this test proves nothing")
	}
	close(gate.open)
	for _, n := range []int{first, second} {
		if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return len(statusComments(h, n)) == 1, nil
		}); err != nil {
			t.Fatalf("request #%d was never provisioned after its delivery was refused: %v", n, err)
		}
	}
	h.settle()
	if prs := h.pulls(); len(prs["store/cat-cafe"]) != 1 || len(prs["store/dog-diner"]) != 1 {
		t.Errorf("pull requests %v, want one for each store", prs)
	}
}

// TestSecurity_SomeoneElsesBranch (class 2): a pull request opened on a
// branch whose commits GitHub links to another person changes nothing of
// theirs: no status or check run on their commit, nothing pushed onto
// their branch.
func TestSecurity_SomeoneElsesBranch(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	request := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: alice-shop\nspec:\n  plan: small\n  owner: alice\n  adminEmail: alice@example.com\n"
	head := pushAs(t, h, "Alice", "1234+alice@users.noreply.github.com", "alice/request", map[string]string{"requests/alice-shop.yaml": request})
	pr, err := h.gh.OpenPull(tenantsRepo, "eve", "alice/request", "main", "Request alice-shop", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) != 0 {
		t.Errorf("statuses on alice's commit from eve's pull request: %v", sts)
	}
	if runs := h.gh.CheckRuns(tenantsRepo, head); len(runs) != 0 {
		t.Errorf("check runs on alice's commit from eve's pull request: %+v", runs)
	}
	if got := strings.TrimSpace(h.git_("rev-parse", "alice/request")); got != head {
		t.Error("the bot pushed onto alice's branch for eve's pull request")
	}
	var said string
	for _, c := range h.gh.Comments(tenantsRepo, pr) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin {
			said += c.GetBody()
		}
	}
	if !strings.Contains(said, "commits by `alice`") || strings.Contains(said, "@alice") {
		t.Errorf("eve's pull request got no reason, or one that pings alice:\n%s", said)
	}
}

// TestSecurity_RequestPullMerges (class 4): a validated request pull
// request counts as a store merge only when merged into the base branch,
// and its stores are the ones it requests, never its branch's name.
func TestSecurity_RequestPullMerges(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	request := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: dog-diner\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: owner@example.com\n"
	pushAsPerson(t, h, "store-cat-cafe-please", map[string]string{"requests/dog-diner.yaml": request})
	pushAsPerson(t, h, "staging", map[string]string{"docs/staging.md": "staging\n"})
	valid, err := h.gh.OpenPull(tenantsRepo, "octocat", "store-cat-cafe-please", "main", "Request dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "store-cat-cafe-please"))
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) == 0 || sts[0].GetState() != "success" {
		t.Fatalf("the request pull request was not validated: %v", sts)
	}
	// The validated branch, merged into another branch: nothing reached
	// main, so nothing is recorded.
	side, err := h.gh.OpenPull(tenantsRepo, "octocat", "store-cat-cafe-please", "staging", "Into staging", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.merge(side)
	if d := h.gh.DeploymentStates(tenantsRepo); len(d) != 0 {
		t.Errorf("deployments after a merge into staging: %v", d)
	}
	if l := h.gh.Labels(tenantsRepo, side); len(l) != 0 {
		t.Errorf("the staging pull request is labelled %v", l)
	}
	// Into main: recorded, for the store it requests.
	h.merge(valid)
	d := h.gh.DeploymentStates(tenantsRepo)
	if _, ok := d[v1alpha1.Environment("dog-diner")]; !ok || len(d) != 1 {
		t.Errorf("deployments %v, want one for store-dog-diner only (not the branch's name)", d)
	}
}

// TestSecurity_RenameBeforeMerge (class 8): before the first merge the
// store name may change, but an issue keeps one pull request: the old
// name's is closed, and the old name is free for anyone else.
func TestSecurity_RenameBeforeMerge(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "shop-00", "small")
	h.settle()
	for _, name := range []string{"shop-01", "shop-02"} {
		h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody(name, "small", "owner@example.com"))
		h.settle()
	}
	open := 0
	for branch, prs := range h.pulls() {
		for _, p := range prs {
			if p.GetState() == "open" {
				open++
				if branch != "store/shop-02" {
					t.Errorf("pull request %q for an old name is still open", p.GetTitle())
				}
			}
		}
	}
	if open != 1 {
		t.Errorf("%d open pull requests for one issue, want 1", open)
	}
	// Someone else asks for the first name: it is free.
	alice := h.request("alice", "shop-00", "small")
	h.settle()
	if v := h.botComments(alice, "purrvision:validation"); len(v) != 0 && !strings.Contains(v[0].GetBody(), "resolved") {
		t.Errorf("the old name is still held:\n%s", v[0].GetBody())
	}
	if _, title := h.openPull("shop-00"); title != "Provision store shop-00" {
		t.Errorf("alice's pull request %q", title)
	}
}

// TestSecurity_PushToStoreBranch (class 1): someone with push access
// writes their own Secret onto a store's pending branch, copying the bot's
// trailers. The bot trusts the branch only at the commit it pushed itself,
// so the next reconcile starts the branch over with new credentials.
func TestSecurity_PushToStoreBranch(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "store/cat-cafe"))
	message := strings.TrimSpace(h.git_("log", "-1", "--format=%B", head))
	mine := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: woocommerce-credentials\nstringData:\n  wordpress-admin-password: known-to-the-attacker\n"
	mallory := h.tenantsClone()
	if _, err := mallory.Update(context.Background(), "store/cat-cafe", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: storeDir("cat-cafe") + "/" + renderer.FileSecret, Data: []byte(mine)}}, Message: message + "\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision retry")
	h.settle()
	secret, err := gitShow(h, "store/cat-cafe:"+storeDir("cat-cafe")+"/"+renderer.FileSecret)
	if err != nil || secret == mine || !strings.Contains(secret, "ENC[") {
		t.Fatalf("the Secret someone pushed is still on the branch:\n%s", secret)
	}
	if got, want := h.ownerPassword(n), h.branchPassword("store/cat-cafe", "cat-cafe"); got != want {
		t.Error("the owner's sealed credentials are not the branch's")
	}
}

// TestSecurity_NameAskedForTwice (class 1): a request pull request for a
// name that an open request's store pull request asks for is refused, so
// the two cannot both merge into two stores of one name.
func TestSecurity_NameAskedForTwice(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	request := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: cat-cafe\nspec:\n  plan: small\n  owner: maint\n  adminEmail: maint@example.com\n"
	head := pushAsPerson(t, h, "request/cat-cafe", map[string]string{"requests/cat-cafe.yaml": request})
	if _, err := h.gh.OpenPull(tenantsRepo, "maint", "request/cat-cafe", "main", "Request cat-cafe", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	sts := h.gh.Statuses(tenantsRepo, head)
	if len(sts) == 0 || sts[0].GetState() != "failure" || !strings.Contains(sts[0].GetDescription(), "acme/stores#1") {
		t.Fatalf("statuses %v, want a failure naming the request that asked first", sts)
	}
	if got := strings.TrimSpace(h.git_("rev-parse", "request/cat-cafe")); got != head {
		t.Error("the bot rendered a store whose name another request holds")
	}
}

// TestSecurity_EditedStorePullBody (class 4): anyone with write access can
// edit the body of the bot's store pull request, and with it the marker
// that names the issue and the operation. The merge is recorded from what
// the merged tree says instead: on the store's own issue, as what it did.
func TestSecurity_EditedStorePullBody(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	victim := h.provisioned("cat-cafe")
	n := h.provisioned("dog-diner")
	victimStatus := statusComments(h, victim)[0].GetBody()
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	pr, _ := h.openPull("dog-diner")
	forged := provision.PullMarker(forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: victim}, v1alpha1.OpDecommission)
	h.gh.EditPullBody(tenantsRepo, pr, "maint", forged+"\nResize store dog-diner to medium.")
	h.merge(pr)

	if got := statusComments(h, victim)[0].GetBody(); got != victimStatus {
		t.Errorf("an edited pull request body changed another store's status:\n%s", got)
	}
	state := storestatus.Parse(statusComments(h, n)[0].GetBody())
	if state.Operation != v1alpha1.OpResize || state.MergeCommit == "" || state.Store != "dog-diner" {
		t.Errorf("dog-diner's state after its resize merged: %+v", state)
	}
	// The victim is not taken for decommissioned: its commands still work.
	h.gh.Comment(requestsRepo, victim, "octocat", "/purrvision resize medium")
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Resize store cat-cafe to medium" {
		t.Errorf("cat-cafe's resize after the forged merge record: %q", title)
	}
}

// TestSecurity_ApprovalsNeedWriteAccess: anyone who can read a pull
// request can approve it; the merge record (the status timeline, the
// audit) names only approvals by people with write access, the ones
// branch protection counts.
// Guard: apply.ReadMerge (approvals by people with write access).
func TestSecurity_ApprovalsNeedWriteAccess(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.gh.Approve(tenantsRepo, pr, "eve")
	h.merge(pr)
	text := audit.Text(auditOf(t, h, h.tenantsClone(), "cat-cafe"))
	if strings.Contains(text, "eve") || !strings.Contains(text, "approved by @reviewer") {
		t.Errorf("the merge record names an approval without write access, or not the reviewer's:\n%s", text)
	}
}

// TestSecurity_ValidateStatusOnlyTheBots: a request pull request the bot
// refused (its status purrvision/validate failed) is not made a store
// request by someone with write access setting the same status to success
// on its head themselves, and merging it: only the bot's status counts, as
// GitHub records who set it. Nothing is recorded, no deployment made.
func TestSecurity_ValidateStatusOnlyTheBots(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// Invalid: no adminEmail.
	request := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: dog-diner\nspec:\n  plan: small\n  owner: octocat\n"
	pushAsPerson(t, h, "request-dog-diner", map[string]string{"requests/dog-diner.yaml": request})
	pr, err := h.gh.OpenPull(tenantsRepo, "octocat", "request-dog-diner", "main", "Request dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "request-dog-diner"))
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) == 0 || sts[0].GetState() != "failure" {
		t.Fatalf("the invalid request pull request was not refused: %v", sts)
	}
	// The maintainer's own word, newer than the bot's.
	h.actAs("maint", "POST", "/repos/acme/tenants/statuses/"+head,
		`{"state":"success","context":"`+v1alpha1.StatusContext+`","description":"looks fine to me"}`)
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) == 0 || sts[0].GetState() != "success" || sts[0].GetCreator().GetLogin() != "maint" {
		t.Fatalf("the maintainer's status was not set: %v", sts)
	}
	h.mergePastTheRules(pr)
	h.settle()
	if d := h.gh.DeploymentStates(tenantsRepo); len(d) != 0 {
		t.Errorf("deployments after merging a refused request pull request: %v", d)
	}
	if l := h.gh.Labels(tenantsRepo, pr); slices.Contains(l, v1alpha1.LabelProvisioning) {
		t.Errorf("the refused request pull request is labelled %v", l)
	}
}
