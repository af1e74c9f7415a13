package service_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/setup"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// withSetupCheck is the harness's config with what the drift check needs:
// the platform team, and the stand-in's App ID, the service acting with a
// token.
func withSetupCheck(c *config.Config) {
	c.GitHub.PlatformTeam = "acme/platform"
	c.GitHub.SetupAppID = 1
}

// requestsRepoWithGit gives the harness's requests repo, which has issues
// but no git repository, one with a first commit on main, as on GitHub,
// so that setup can propose its issue form there. It replaces the repo on
// the stand-in: call it before anything is filed.
func (h *harness) requestsRepoWithGit() {
	h.t.Helper()
	srv, _, dir := testutil.GitRepo(h.t, "stores", "main")
	seed, err := tenants.Open(context.Background(), tenants.Options{URL: srv.URL("stores"), Branch: "main"})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := seed.Update(context.Background(), "main", func(tenants.State, *tenants.Snapshot, *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "README.md", Data: []byte("# stores\n")}}, Message: "Start the requests repo\n"}, nil
	}); err != nil {
		h.t.Fatal(err)
	}
	h.gh.AddRepo(requestsRepo, "main", dir)
	h.gh.SetPermission(requestsRepo, "maintainer", "maintain")
	h.gh.SetPermission(requestsRepo, "reviewer", "write")
}

// applySetup runs what `purrvision setup` runs, as the bot, and merges the
// pull requests it proposes, the tenants one through its rules.
func (h *harness) applySetup() {
	h.t.Helper()
	ctx := context.Background()
	gh, err := ghclient.New(ghclient.Options{APIURL: h.gh.URL(), Token: "test-token", MaxWait: 5 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	want, err := setup.Desired(h.cfg, setup.Options{AppID: h.cfg.GitHub.SetupAppID})
	if err != nil {
		h.t.Fatal(err)
	}
	have, err := setup.Read(ctx, gh, want)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := setup.Apply(ctx, gh, setup.PlanChanges(want, have), nil); err != nil {
		h.t.Fatal(err)
	}
	for _, repo := range []string{requestsRepo, tenantsRepo} {
		for _, p := range h.gh.Pulls(repo) {
			if p.GetHead().GetRef() != setup.ProposalBranch || p.GetState() != "open" {
				continue
			}
			h.gh.AddCheckRun(repo, "purrvision", v1alpha1.ReadyCheckName, p.GetHead().GetSHA(), "success", "ready")
			h.gh.Approve(repo, p.GetNumber(), "reviewer")
			if _, err := h.gh.Merge(repo, p.GetNumber(), "maintainer"); err != nil {
				h.t.Fatalf("merging setup's pull request in %s: %v", repo, err)
			}
		}
	}
}

// asAdmin calls the stand-in's REST API as a repository admin would.
func (h *harness) asAdmin(method, path, body string) {
	h.t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(h.gh.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+h.gh.Token("admin"))
	req.Header.Set(ghstandin.ActAsHeader, "admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
}

// settingsSection is the status page's GitHub settings section.
func (h *harness) settingsSection() string {
	h.t.Helper()
	page := h.get("/")
	start := strings.Index(page, `<section id="github-settings"`)
	if start < 0 {
		h.t.Fatalf("the status page has no GitHub settings section:\n%s", page)
	}
	end := strings.Index(page[start:], "</section>")
	return page[start : start+end]
}

// metric is the value of an unlabelled gauge on /metrics.
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(h.get("/metrics"))
	if m == nil {
		h.t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// TestDrift_ReportedAfterResync: the service checks GitHub's settings at
// start (the harness applied setup's rules but for the requests repo's
// issue form, which its stand-in repo had no git to hold) and after each
// resync. Once setup
// is applied there is no drift; an admin lowering the approvals and
// rewriting a label's description with markup is listed after the next
// resync, escaped, with the metric at 2; setup run again clears it.
func TestDrift_ReportedAfterResync(t *testing.T) {
	h := newHarness(t, harnessOptions{configure: withSetupCheck})
	h.requestsRepoWithGit()
	h.gh.SetPermission(tenantsRepo, "admin", "admin")
	h.gh.SetPermission(requestsRepo, "admin", "admin")
	ctx := context.Background()

	testutil.Eventually(t, "the check at start lists the drift the harness's rules leave: the issue form", func() bool {
		return strings.Contains(h.settingsSection(), "<li>acme/stores main: .github/ISSUE_TEMPLATE/request-store.yml missing</li>")
	})
	if !strings.Contains(h.settingsSection(), "<code>purrvision setup --config purrvision.yaml --dry-run</code>") {
		t.Errorf("the section does not name the fix:\n%s", h.settingsSection())
	}

	h.applySetup()
	h.svc.Resync(ctx)
	if s := h.settingsSection(); !strings.Contains(s, "As <code>purrvision setup</code> writes them (checked ") {
		t.Fatalf("after setup:\n%s", s)
	}
	if d, ok := h.metric("purrvision_setup_drift_settings"), h.metric("purrvision_setup_check_success"); d != 0 || ok != 1 {
		t.Fatalf("after setup: drift %v, success %v", d, ok)
	}

	// An admin lowers the approvals, and someone who may edit labels puts
	// markup in a label's description.
	h.asAdmin("PUT", "/repos/"+tenantsRepo+"/branches/main/protection", `{"required_status_checks":{"strict":true,"contexts":[],"checks":[{"context":"`+v1alpha1.ReadyCheckName+`","app_id":1}]},`+
		`"enforce_admins":true,"required_pull_request_reviews":{"required_approving_review_count":0,"dismiss_stale_reviews":true,"require_code_owner_reviews":true},"restrictions":null}`)
	h.asAdmin("PATCH", "/repos/"+requestsRepo+"/labels/"+v1alpha1.LabelRequest, `{"description":"<script>alert(1)</script>"}`)
	h.svc.Resync(ctx)
	s := h.settingsSection()
	for _, want := range []string{
		"2 settings differ from what <code>purrvision setup</code> writes",
		"<li>acme/tenants main: required approving reviews 0, want 1</li>",
		`acme/stores label &#34;` + v1alpha1.LabelRequest + `&#34;: description &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("after the drift, the section lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(h.get("/"), "<script>alert") {
		t.Error("the label's description is on the page unescaped")
	}
	if d := h.metric("purrvision_setup_drift_settings"); d != 2 {
		t.Errorf("purrvision_setup_drift_settings %v, want 2", d)
	}

	h.applySetup()
	h.svc.Resync(ctx)
	if s := h.settingsSection(); !strings.Contains(s, "As <code>purrvision setup</code> writes them") {
		t.Errorf("after mending:\n%s", s)
	}
	if d := h.metric("purrvision_setup_drift_settings"); d != 0 {
		t.Errorf("after mending: purrvision_setup_drift_settings %v", d)
	}
}

// refuseProtection answers GitHub's 403 to an App without administration:
// read for every read of a branch's protection.
type refuseProtection struct{ http.RoundTripper }

func (r refuseProtection) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/protection") {
		body := `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/branches/branch-protection#get-branch-protection","status":"403"}`
		return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
	}
	return r.RoundTripper.RoundTrip(req)
}

// TestDrift_CannotRun: without administration: read the section names the
// permission, and without an App ID it names the setting; the metric says
// the check did not run, and the service is ready all along.
func TestDrift_CannotRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    harnessOptions
		want string
	}{
		{"no administration: read", harnessOptions{configure: withSetupCheck, transport: refuseProtection{http.DefaultTransport}},
			"administration: read on acme/tenants is needed to read the protection of main"},
		{"no App ID", harnessOptions{configure: func(c *config.Config) { c.GitHub.PlatformTeam = "acme/platform" }},
			"the check needs the GitHub App&#39;s ID: set github.app, or github.setupAppID when the service acts with a token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.o)
			h.svc.Resync(context.Background())
			if s := h.settingsSection(); !strings.Contains(s, "Unknown: the check at ") || !strings.Contains(s, tt.want) {
				t.Errorf("the section lacks %q:\n%s", tt.want, s)
			}
			if ok := h.metric("purrvision_setup_check_success"); ok != 0 {
				t.Errorf("purrvision_setup_check_success %v", ok)
			}
			if ready, why := h.svc.Readiness.IsReady(); !ready {
				t.Errorf("not ready: %s", why)
			}
		})
	}
}
