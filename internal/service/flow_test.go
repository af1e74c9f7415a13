package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

var ghQueueOptions = webhook.QueueOptions{Workers: 4, BaseBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 12}

func secretValue(t testing.TB, plain []byte, key string) string {
	t.Helper()
	var s corev1.Secret
	if err := yaml.Unmarshal(plain, &s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data[key])
}

// TestFlow_IssueToPullToMerge: a valid request gets one pull request with
// the rendered store, credentials only its owner can read, and after the
// merge the approver, the merge commit and the label store/provisioning.
func TestFlow_IssueToPullToMerge(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()

	prs := h.pulls()["store/cat-cafe"]
	if len(prs) != 1 {
		t.Fatalf("%d pull requests for store/cat-cafe, want 1", len(prs))
	}
	pr := prs[0]
	if pr.GetTitle() != "Provision store cat-cafe" {
		t.Errorf("title = %q", pr.GetTitle())
	}
	for _, s := range []string{fmt.Sprintf("%s#%d", requestsRepo, n), "store-cat-cafe", "`small`", "https://cat-cafe.shop.example.com/", "0.1.0"} {
		if !strings.Contains(pr.GetBody(), s) {
			t.Errorf("pull request body lacks %q:\n%s", s, pr.GetBody())
		}
	}
	labels := h.gh.Labels(requestsRepo, n)
	if !slices.Contains(labels, v1alpha1.LabelPendingReview) || slices.Contains(labels, v1alpha1.LabelInvalid) {
		t.Errorf("labels = %v", labels)
	}
	status := h.botComments(n, "purrvision:status")
	if len(status) != 1 || !strings.Contains(status[0].GetBody(), pr.GetHTMLURL()) {
		t.Fatalf("status comments = %d, want one linking %s", len(status), pr.GetHTMLURL())
	}
	// The owner decrypts the credentials with their SSH key, and they are
	// the ones Flux will decrypt from the branch.
	if got, want := h.ownerPassword(n), h.branchPassword("store/cat-cafe", "cat-cafe"); got != want {
		t.Error("the credentials sent to the owner are not the ones in the Secret")
	}
	msg := h.git_("log", "-1", "--format=%B", "store/cat-cafe")
	tr := tenants.Trailers(msg)
	if tr["Store"] != "cat-cafe" || tr["Requested-by"] != "octocat" || tr["Issue"] != fmt.Sprintf("%s#%d", requestsRepo, n) {
		t.Errorf("commit trailers = %v", tr)
	}

	h.gh.Approve(tenantsRepo, pr.GetNumber(), "reviewer")
	sha, err := h.gh.Merge(tenantsRepo, pr.GetNumber(), "maintainer")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	labels = h.gh.Labels(requestsRepo, n)
	if !slices.Contains(labels, v1alpha1.LabelProvisioning) || slices.Contains(labels, v1alpha1.LabelPendingReview) {
		t.Errorf("labels after merge = %v", labels)
	}
	status = h.botComments(n, "purrvision:status")
	body := status[0].GetBody()
	for _, s := range []string{"merged by @maintainer", "approved by @reviewer", "provisioning has started", sha[:12], `"mergeCommit":"` + sha + `"`} {
		if !strings.Contains(body, s) {
			t.Errorf("status comment lacks %q:\n%s", s, body)
		}
	}
	if states := h.gh.DeploymentStates(tenantsRepo)["store-cat-cafe"]; len(states) != 1 || states[0] != "queued" {
		t.Errorf("deployment statuses of store-cat-cafe = %v, want [queued]", states)
	}
	if files := h.git_("ls-tree", "-r", "--name-only", "main"); !strings.Contains(files, storeDir("cat-cafe")+"/manifests/helmrelease.yaml") {
		t.Errorf("main lacks the store after the merge:\n%s", files)
	}
	// Nothing more happens on another pass.
	before := len(h.gh.Comments(requestsRepo, n))
	h.svc.Queue.Add(webhook.Intent{Kind: webhook.ReconcileRequest, Issue: forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}})
	h.settle()
	if after := len(h.gh.Comments(requestsRepo, n)); after != before {
		t.Errorf("a reconcile after the merge posted %d comments", after-before)
	}
}

// TestFlow_InvalidThenEdited: an invalid request gets one comment saying
// what to fix and no branch; the edit that fixes it gets the pull request.
func TestFlow_InvalidThenEdited(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.gh.OpenIssue(requestsRepo, "octocat", "Store", formBody("Cat Cafe", "xl", "nope"), v1alpha1.LabelRequest)
	h.settle()
	v := h.botComments(n, "purrvision:validation")
	if len(v) != 1 {
		t.Fatalf("%d validation comments, want 1", len(v))
	}
	for _, s := range []string{"**Store name**", "**Plan**", `"xl"`, "**Admin email**", "owner@example.com"} {
		if !strings.Contains(v[0].GetBody(), s) {
			t.Errorf("validation comment lacks %q:\n%s", s, v[0].GetBody())
		}
	}
	if !slices.Contains(h.gh.Labels(requestsRepo, n), v1alpha1.LabelInvalid) {
		t.Error("no store/invalid label")
	}
	if len(h.gh.Pulls(tenantsRepo)) != 0 || strings.Contains(h.git_("branch", "--list"), "store/") {
		t.Fatal("an invalid request made a branch or a pull request")
	}
	// A second invalid edit updates the same comment.
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "xl", "owner@example.com"))
	h.settle()
	if v := h.botComments(n, "purrvision:validation"); len(v) != 1 || strings.Contains(v[0].GetBody(), "Store name") {
		t.Fatalf("after the second edit: %d validation comments, want 1 about the plan only", len(v))
	}
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "medium", "owner@example.com"))
	h.settle()
	if len(h.pulls()["store/cat-cafe"]) != 1 {
		t.Fatal("no pull request after the fix")
	}
	if slices.Contains(h.gh.Labels(requestsRepo, n), v1alpha1.LabelInvalid) {
		t.Error("store/invalid stayed after the fix")
	}
	if v := h.botComments(n, "purrvision:validation"); len(v) != 1 || !strings.Contains(v[0].GetBody(), "resolved") {
		t.Error("the validation comment was not marked resolved")
	}
}

// TestFlow_SameDelivery50Times: redelivering one delivery 50 times, at
// once, makes one pull request and one of each comment.
func TestFlow_SameDelivery50Times(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.gh.SetWebhook(ghstandin.Webhook{}) // hold deliveries back
	n := h.request("octocat", "cat-cafe", "small")
	_ = n
	issue := h.gh.Issue(requestsRepo, n)
	payload := fmt.Sprintf(`{"action":"opened","issue":{"number":%d,"title":%q,"labels":[{"name":"store-request"}],"user":{"login":"octocat"}},"repository":{"full_name":%q},"sender":{"login":"octocat"}}`,
		n, issue.GetTitle(), requestsRepo)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := post(t, h.url+"/webhook", "issues", "delivery-1", []byte(payload), webhookSecret)
			if code != http.StatusAccepted {
				t.Errorf("delivery answered %d", code)
			}
		}()
	}
	wg.Wait()
	h.gh.SetWebhook(ghstandin.Webhook{URL: h.url + "/webhook", Secret: webhookSecret})
	h.settle()
	if prs := h.gh.Pulls(tenantsRepo); len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	// All 50 were taken as work, not dropped at the door.
	m := h.get("/metrics")
	if got := grepLines(m, `deliveries_total{event="issues",outcome="queued"}`); !strings.HasSuffix(got, "} 50") {
		t.Errorf("the 50 deliveries were not all queued:\n%s", grepLines(m, "deliveries_total"))
	}
	for _, m := range []string{"purrvision:status", "purrvision:credentials"} {
		if c := h.botComments(n, m); len(c) != 1 {
			t.Errorf("%d %s comments, want 1", len(c), m)
		}
	}
	if commits := strings.Count(h.git_("log", "--format=%H", "main..store/cat-cafe"), "\n"); commits != 1 {
		t.Errorf("%d commits on the branch, want 1", commits)
	}
}

// TestFlow_50ConcurrentRequests: 50 requests with distinct names at once
// make 50 pull requests, each branch holding its whole store.
func TestFlow_50ConcurrentRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	issues := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("shop-%02d", i)
			n := h.request("octocat", name, "small")
			mu.Lock()
			issues[name] = n
			mu.Unlock()
		}()
	}
	wg.Wait()
	h.settle()
	prs := h.pulls()
	want := storeFileCount(t)
	for name, n := range issues {
		if len(prs["store/"+name]) != 1 {
			t.Errorf("%s: %d pull requests, want 1", name, len(prs["store/"+name]))
			continue
		}
		files := h.git_("ls-tree", "-r", "--name-only", "store/"+name)
		if got := strings.Count(files, storeDir(name)+"/"); got != want {
			t.Errorf("%s: branch holds %d store files, want %d", name, got, want)
		}
		if len(h.botComments(n, "purrvision:status")) != 1 {
			t.Errorf("%s: not exactly one status comment", name)
		}
	}
	if len(h.gh.Pulls(tenantsRepo)) != 50 {
		t.Errorf("%d pull requests in all, want 50", len(h.gh.Pulls(tenantsRepo)))
	}
}

// TestFlow_10RequestsOneName: ten requests for one name make one pull
// request; the other nine are told the name is taken.
func TestFlow_10RequestsOneName(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var wg sync.WaitGroup
	numbers := make([]int, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			numbers[i] = h.request("octocat", "cat-cafe", "small")
		}()
	}
	wg.Wait()
	h.settle()
	if prs := h.gh.Pulls(tenantsRepo); len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pending, taken := 0, 0
	for _, n := range numbers {
		labels := h.gh.Labels(requestsRepo, n)
		switch {
		case slices.Contains(labels, v1alpha1.LabelPendingReview):
			pending++
		case slices.Contains(labels, v1alpha1.LabelInvalid):
			if v := h.botComments(n, "purrvision:validation"); len(v) == 1 && strings.Contains(v[0].GetBody(), "already taken") {
				taken++
			}
		}
	}
	if pending != 1 || taken != 9 {
		t.Errorf("%d pending and %d told the name is taken, want 1 and 9", pending, taken)
	}
}

// TestFlow_Faults: with 502s and secondary rate limits on 20% of the
// GitHub calls, every request still completes, without duplicates.
func TestFlow_Faults(t *testing.T) {
	h := newHarness(t, harnessOptions{faults: ghstandin.Faults{Rate: 0.2, RateLimitShare: 0.15, Seed: 7}})
	issues := map[string]int{}
	for i := range 10 {
		name := fmt.Sprintf("faulty-%d", i)
		issues[name] = h.request("octocat", name, "small")
	}
	h.settle()
	if h.gh.Failed() == 0 {
		t.Fatal("no call failed: the faults are not on")
	}
	prs := h.pulls()
	for name, n := range issues {
		if len(prs["store/"+name]) != 1 {
			t.Errorf("%s: %d pull requests, want 1", name, len(prs["store/"+name]))
		}
		for _, m := range []string{"purrvision:status", "purrvision:credentials"} {
			if c := h.botComments(n, m); len(c) != 1 {
				t.Errorf("%s: %d %s comments, want 1", name, len(c), m)
			}
		}
		if got, want := h.ownerPassword(n), h.branchPassword("store/"+name, name); got != want {
			t.Errorf("%s: delivered credentials differ from the branch's", name)
		}
	}
	t.Logf("%d GitHub calls failed on purpose", h.gh.Failed())
}

// crashBeforePull stands in for a process that dies after pushing the
// branch and before opening the pull request.
type crashBeforePull struct {
	app.GitHub
	mu      sync.Mutex
	crashed bool
	onCrash func()
}

var errCrash = errors.New("process killed")

func (c *crashBeforePull) CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error) {
	c.mu.Lock()
	first := !c.crashed
	c.crashed = true
	c.mu.Unlock()
	if first {
		go c.onCrash()
		<-ctx.Done()
		return nil, errCrash
	}
	return c.GitHub.CreatePull(ctx, repo, pr)
}

// TestFlow_KilledBetweenCommitAndPull: the service dies after pushing the
// branch; a new instance converges on one pull request with credentials.
func TestFlow_KilledBetweenCommitAndPull(t *testing.T) {
	crash := &crashBeforePull{}
	h := newHarness(t, harnessOptions{wrap: func(c app.GitHub) app.GitHub { crash.GitHub = c; return crash }})
	killed := make(chan struct{})
	crash.onCrash = func() {
		// Cancel everything the instance is doing, as a SIGKILL would.
		h.gh.SetWebhook(ghstandin.Webhook{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = h.svc.Shutdown(ctx)
		close(killed)
	}
	n := h.request("octocat", "cat-cafe", "small")
	select {
	case <-killed:
	case <-time.After(time.Minute):
		t.Fatal("the instance never reached CreatePull")
	}
	h.gh.WaitDeliveries()
	if !strings.Contains(h.git_("branch", "--list"), "store/cat-cafe") {
		t.Fatal("the branch was not pushed before the crash")
	}
	if len(h.gh.Pulls(tenantsRepo)) != 0 {
		t.Fatal("a pull request exists although the instance died before opening it")
	}
	h.stop()
	h.start() // a new process: it resyncs open requests at start
	h.settle()
	if prs := h.gh.Pulls(tenantsRepo); len(prs) != 1 {
		t.Fatalf("%d pull requests after the restart, want 1", len(prs))
	}
	if got, want := h.ownerPassword(n), h.branchPassword("store/cat-cafe", "cat-cafe"); got != want {
		t.Error("the delivered credentials are not the ones on the branch")
	}
}

func post(t *testing.T, url, event, delivery string, body, secret []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("Content-Type", "application/json")
	if secret != nil {
		req.Header.Set("X-Hub-Signature-256", ghstandin.Sign(secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestService_Metrics: /metrics exposes deliveries by event and outcome,
// work attempts and the queue depth.
func TestService_Metrics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	metrics := h.get("/metrics")
	for _, s := range []string{
		`purrvision_webhook_deliveries_total{event="issues",outcome="queued"}`,
		`purrvision_work_attempts_total{intent="reconcile-request",result="ok"}`,
		`purrvision_work_queue_depth 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		h.get(path) // fails the test unless 200
	}
}

// TestService_StatusPage: GET / lists a merged store with its phase,
// requester, plan and links, from the tenants repo and its issue.
func TestService_StatusPage(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.provisioned("cat-cafe")
	page, header := h.getWithHeader("/")
	for _, s := range []string{`id="store-cat-cafe"`, "Merged", "octocat", "small", "https://cat-cafe.shop.example.com/", "/acme/tenants/pull/1", "/acme/stores/issues/1"} {
		if !strings.Contains(page, s) {
			t.Errorf("status page lacks %q", s)
		}
	}
	if ct := header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
