package service_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// provisioned requests a store and merges its pull request.
func (h *harness) provisioned(name string) int {
	h.t.Helper()
	n := h.request("octocat", name, "small")
	h.settle()
	prs := h.pulls()["store/"+name]
	if len(prs) != 1 {
		h.t.Fatalf("%d pull requests for %s", len(prs), name)
	}
	h.merge(prs[0].GetNumber())
	return n
}

// openPull returns the one open pull request of a store's branch.
func (h *harness) openPull(name string) (int, string) {
	h.t.Helper()
	var open []int
	var title string
	for _, p := range h.pulls()["store/"+name] {
		if p.GetState() == "open" {
			open = append(open, p.GetNumber())
			title = p.GetTitle()
		}
	}
	if len(open) != 1 {
		h.t.Fatalf("%d open pull requests for %s, want 1", len(open), name)
	}
	return open[0], title
}

func (h *harness) replies(n int) []string {
	var out []string
	for _, c := range h.botComments(n, "purrvision:reply") {
		out = append(out, c.GetBody())
	}
	return out
}

func changedFiles(h *harness, name string) string {
	return h.git_("diff", "--name-only", "main...store/"+name)
}

func TestCommands_ResizeRotateDecommission(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	firstPassword := h.branchPassword("main", "cat-cafe")

	// Someone without rights is refused, once, and nothing changes.
	h.gh.Comment(requestsRepo, n, "eve", "/purrvision decommission")
	h.settle()
	if r := h.replies(n); len(r) != 1 || !strings.Contains(r[0], "only the requester") {
		t.Fatalf("replies = %v", r)
	}
	if open := h.pulls()["store/cat-cafe"]; len(open) != 1 || open[0].GetState() != "closed" {
		t.Fatal("a refused command changed the pull requests")
	}

	// The requester resizes: quota and values change, the Secret does not.
	id := h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	pr, title := h.openPull("cat-cafe")
	if title != "Resize store cat-cafe to medium" {
		t.Errorf("title = %q", title)
	}
	files := changedFiles(h, "cat-cafe")
	for _, f := range []string{renderer.FileQuota, renderer.FileHelmRelease, renderer.FileRequest} {
		if !strings.Contains(files, storeDir("cat-cafe")+"/"+f) {
			t.Errorf("resize did not change %s:\n%s", f, files)
		}
	}
	if strings.Contains(files, renderer.FileSecret) || strings.Contains(files, renderer.FileDatabaseSecret) {
		t.Error("resize changed a Secret")
	}
	if q := h.git_("show", "store/cat-cafe:"+storeDir("cat-cafe")+"/manifests/quota.yaml"); !strings.Contains(q, "limits.cpu: \"2\"") {
		t.Errorf("quota after resize:\n%s", q)
	}
	// The same comment delivered again is not carried out again.
	for _, d := range h.gh.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Body), fmt.Sprintf(`"id":%d`, id)) {
			h.gh.Redeliver(d)
		}
	}
	h.settle()
	if c := strings.Count(h.git_("log", "--format=%H", "main..store/cat-cafe"), "\n"); c != 1 {
		t.Errorf("%d commits after a redelivered resize, want 1", c)
	}
	if r := h.replies(n); len(r) != 2 {
		t.Errorf("%d replies, want 2", len(r))
	}
	h.merge(pr)

	// A collaborator with write access rotates the credentials: only the
	// admin Secret changes, with a new password and revision (the database
	// passwords stay, as MariaDB keeps them), and the owner gets the new
	// password.
	h.gh.SetPermission(requestsRepo, "maint", "write")
	h.gh.Comment(requestsRepo, n, "maint", "/purrvision rotate-credentials")
	h.settle()
	pr, title = h.openPull("cat-cafe")
	if title != "Rotate credentials of store cat-cafe" {
		t.Errorf("title = %q", title)
	}
	if files := strings.TrimSpace(changedFiles(h, "cat-cafe")); files != storeDir("cat-cafe")+"/"+renderer.FileSecret {
		t.Errorf("rotation changed more than the admin Secret:\n%s", files)
	}
	if a, b := h.branchValue("main", "cat-cafe", renderer.KeyRevision), h.branchValue("store/cat-cafe", "cat-cafe", renderer.KeyRevision); a == "" || a == b {
		t.Errorf("credentials revision %q before the rotation and %q after: want a new one", a, b)
	}
	rotated := h.branchPassword("store/cat-cafe", "cat-cafe")
	if rotated == firstPassword {
		t.Error("rotation kept the password")
	}
	if h.ownerPassword(n) != rotated {
		t.Error("the owner did not get the rotated password")
	}
	h.merge(pr)

	// A member of a configured team decommissions: the directory goes.
	h.gh.AddTeamMember("acme/platform", "pat")
	h.gh.Comment(requestsRepo, n, "pat", "/purrvision decommission")
	h.settle()
	pr, title = h.openPull("cat-cafe")
	if title != "Decommission store cat-cafe" {
		t.Errorf("title = %q", title)
	}
	h.merge(pr)
	if files := h.git_("ls-tree", "-r", "--name-only", "main"); strings.Contains(files, storeDir("cat-cafe")+"/") {
		t.Errorf("the store is still on main after decommission:\n%s", files)
	}
	if !strings.Contains(h.botComments(n, "purrvision:status")[0].GetBody(), "decommissioning has started") {
		t.Error("the status comment does not say decommissioning started")
	}
}

func TestCommands_BeforeMerge(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	before := h.branchPassword("store/cat-cafe", "cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize large")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision dance")
	h.settle()
	r := strings.Join(h.replies(n), "\n")
	for _, s := range []string{"not provisioned yet", "New credentials", "Purrvision knows"} {
		if !strings.Contains(r, s) {
			t.Errorf("replies lack %q:\n%s", s, r)
		}
	}
	after := h.branchPassword("store/cat-cafe", "cat-cafe")
	if after == before || h.ownerPassword(n) != after {
		t.Error("rotation before the merge did not reseal and redeliver the credentials")
	}
	if len(h.gh.Pulls(tenantsRepo)) != 1 {
		t.Errorf("%d pull requests, want 1", len(h.gh.Pulls(tenantsRepo)))
	}
}

// TestCommands_OlderLayoutIsRefused: a store rendered before the database
// passwords had their own Secret cannot be resized or rotated (a new
// database Secret would not match what MariaDB keeps); the command gets a
// reply saying so, and nothing is committed. Decommission still works.
func TestCommands_OlderLayoutIsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	repo := h.tenantsClone()
	if _, err := repo.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "as an older Purrvision rendered it",
			Changes: []tenants.Change{{Path: storeDir("cat-cafe") + "/" + renderer.FileDatabaseSecret, Delete: true}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The store's branches; the ledger records the replies.
	branches := h.git_("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main", "refs/heads/store/")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.settle()
	r := h.replies(n)
	if len(r) != 2 {
		t.Fatalf("%d replies, want 2:\n%s", len(r), strings.Join(r, "\n"))
	}
	for _, body := range r {
		if !strings.Contains(body, "older Purrvision") || !strings.Contains(body, renderer.FileDatabaseSecret) {
			t.Errorf("reply does not say why:\n%s", body)
		}
	}
	if after := h.git_("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main", "refs/heads/store/"); after != branches {
		t.Errorf("refs changed:\n%s\nthen\n%s", branches, after)
	}
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision decommission")
	h.settle()
	if _, title := h.openPull("cat-cafe"); title != "Decommission store cat-cafe" {
		t.Errorf("decommission pull request %q", title)
	}
}

// TestFlow_NoPlaintextLeaks: after a store's whole request life, no
// password generated for it appears in any git object, log line, comment,
// pull request or webhook body, in plaintext or base64.
func TestFlow_NoPlaintextLeaks(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.settle()

	var secrets []string
	for _, commit := range strings.Fields(h.git_("rev-list", "--all")) {
		for file, keys := range map[string][]string{
			renderer.FileSecret:         {renderer.KeyAdminPassword},
			renderer.FileDatabaseSecret: {renderer.KeyDatabasePassword, renderer.KeyDatabaseRootPassword},
		} {
			out, err := gitShow(h, commit+":"+storeDir("cat-cafe")+"/"+file)
			if err != nil {
				continue
			}
			plain := decrypt(t, h, out)
			for _, k := range keys {
				secrets = append(secrets, secretValue(t, plain, k))
			}
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("found %d generated passwords in history, want at least 4 (three with the request, one rotated)", len(secrets))
	}
	var haystacks []string
	haystacks = append(haystacks, h.git_("cat-file", "--batch-all-objects", "--batch"))
	haystacks = append(haystacks, h.logs.String())
	for _, repo := range []string{requestsRepo, tenantsRepo} {
		for i := 1; i < 10; i++ {
			for _, c := range h.gh.Comments(repo, i) {
				haystacks = append(haystacks, c.GetBody())
			}
		}
		for _, p := range h.gh.Pulls(repo) {
			haystacks = append(haystacks, p.GetBody(), p.GetTitle())
		}
	}
	for _, d := range h.gh.Deliveries() {
		haystacks = append(haystacks, string(d.Body))
	}
	for _, path := range []string{"/", "/metrics"} {
		haystacks = append(haystacks, h.get(path))
	}
	all := strings.Join(haystacks, "\n")
	if len(all) < 10000 {
		t.Fatalf("only %d bytes scanned; the scan is not looking at anything", len(all))
	}
	for _, s := range secrets {
		for _, enc := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(all, enc) {
				t.Errorf("a generated password appears in plaintext or base64")
			}
		}
	}
}

func gitShow(h *harness, spec string) (string, error) {
	out, err := gitserverGit(h.bare, "show", spec)
	return string(out), err
}

// TestFlow_RequestByPullRequest: a pull request adding requests/<name>.yaml
// gets the rendered store pushed onto its branch and a passing status; a bad
// one gets a failing status that says why.
func TestFlow_RequestByPullRequest(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	user := h.tenantsClone()
	push := func(branch, file, content string) {
		t.Helper()
		if _, err := user.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: file, Data: []byte(content)}}, Message: "request a store\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	good := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: dog-diner\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: owner@example.com\n"
	push("request/dog-diner", "requests/dog-diner.yaml", good)
	prN, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/dog-diner", "main", "Request dog-diner", "please")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "request/dog-diner"))
	sts := h.gh.Statuses(tenantsRepo, head)
	if len(sts) == 0 || sts[0].GetState() != "success" || sts[0].GetContext() != v1alpha1.StatusContext {
		t.Fatalf("statuses on %s = %v", head, sts)
	}
	if files := h.git_("ls-tree", "-r", "--name-only", "request/dog-diner"); strings.Count(files, storeDir("dog-diner")+"/") != storeFileCount(t) {
		t.Errorf("the rendered store was not pushed onto the branch:\n%s", files)
	}
	creds := 0
	for _, c := range h.gh.Comments(tenantsRepo, prN) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin && strings.Contains(c.GetBody(), "BEGIN AGE ENCRYPTED FILE") {
			creds++
		}
	}
	if creds != 1 {
		t.Errorf("%d credentials comments on the pull request, want 1", creds)
	}

	bad := strings.Replace(strings.Replace(good, "dog-diner", "cat-barn", 1), "plan: small", "plan: xl", 1)
	push("request/cat-barn", "requests/cat-barn.yaml", bad)
	badN, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/cat-barn", "main", "Request cat-barn", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head = strings.TrimSpace(h.git_("rev-parse", "request/cat-barn"))
	sts = h.gh.Statuses(tenantsRepo, head)
	if len(sts) == 0 || sts[0].GetState() != "failure" || !strings.Contains(sts[0].GetDescription(), "spec.plan") {
		t.Fatalf("statuses on the bad request = %v", sts)
	}
	found := false
	for _, c := range h.gh.Comments(tenantsRepo, badN) {
		found = found || strings.Contains(c.GetBody(), `Unsupported value: "xl"`)
	}
	if !found {
		t.Error("no comment explains the failing status")
	}
	if files := h.git_("ls-tree", "-r", "--name-only", "request/cat-barn"); strings.Contains(files, "tenants/") {
		t.Error("an invalid request was rendered onto its branch")
	}
}

// TestCommands_RotationShowsBothUntilMerged: a rotation's new credentials
// are in use only once its pull request merges; until then the comment
// shows the new generation and the one in use, each saying so, and after
// the merge only the new one (the newcomer's finding: the comment was
// replaced when the pull request opened).
func TestCommands_RotationShowsBothUntilMerged(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	live := h.ownerPassword(n)
	if got := h.branchPassword("main", "cat-cafe"); got != live {
		t.Fatalf("the merged store's password is not the delivered one")
	}
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision rotate-credentials")
	h.settle()
	pws := h.ownerPasswords(n)
	if len(pws) != 2 || pws[1] != live || pws[0] == live || pws[0] != h.branchPassword("store/cat-cafe", "cat-cafe") {
		t.Fatalf("before the merge the comment shows %d generations; want the new one (the branch's), then the one in use", len(pws))
	}
	if body := h.botComments(n, "purrvision:credentials")[0].GetBody(); !strings.Contains(body, "in use now") || !strings.Contains(body, "in use once") {
		t.Errorf("the comment does not say which is in use:\n%.600s", body)
	}
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)
	if pws2 := h.ownerPasswords(n); len(pws2) != 1 || pws2[0] != pws[0] || pws2[0] != h.branchPassword("main", "cat-cafe") {
		t.Errorf("after the merge the comment shows %d generations, want the new one alone", len(pws2))
	}
}
