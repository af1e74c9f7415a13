package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// writeFile writes a secret file for the config to name.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveConfig is the example config pointed at a stand-in and a tenants
// repo, with its secrets in files, as serve reads it.
func serveConfig(t *testing.T) *config.Config {
	t.Helper()
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	seed, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Update(context.Background(), "main", func(tenants.State, *tenants.Snapshot, *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "README.md", Data: []byte("# tenants\n")}}, Message: "Start the tenants repo\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	gh, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg := testutil.ExampleConfig(t)
	cfg.TenantsRepo.URL, cfg.TenantsRepo.Repo = url, "acme/tenants"
	cfg.GitHub = config.GitHub{APIURL: gh.URL(), TokenFile: writeFile(t, "token", "test-token"), Repo: "acme/stores", BotLogin: ghstandin.BotLogin,
		WebhookSecretFile: writeFile(t, "webhook-secret", "s3cret")}
	cfg.StatusPage.Auth = &config.StatusPageAuth{Username: "ops", PasswordFile: writeFile(t, "page-password", "page-pw")}
	return cfg
}

// serve runs a.Serve on a loopback port until ctx ends: its base URL, and
// where Serve's error comes.
func serve(ctx context.Context, t *testing.T, a *app.App) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln, 10*time.Second) }()
	return "http://" + ln.Addr().String(), done
}

// ready waits until /readyz answers 200: the start is done.
func ready(t *testing.T, base string) {
	t.Helper()
	testutil.Eventually(t, "/readyz answers 200", func() bool {
		code, _ := get(t, base+"/readyz", false)
		return code == http.StatusOK
	})
}

func get(t *testing.T, url string, auth bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth("ops", "page-pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestNew_FromConfig: with no parts given, the service is built from the
// config alone, as serve --watch=false runs it, and Serve stops when its
// context ends.
func TestNew_FromConfig(t *testing.T) {
	cfg := serveConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Parts{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.GitHub.(*ghclient.Client); !ok || a.Tenants == nil || a.Watcher != nil || a.Nudge != nil {
		t.Fatalf("app = GitHub %T, Tenants %v, Watcher %v, Nudge set %v; want a GitHub client and a clone, no watcher, no nudger", a.GitHub, a.Tenants, a.Watcher, a.Nudge != nil)
	}
	base, done := serve(ctx, t, a)
	ready(t, base)

	for _, tt := range []struct {
		name, path string
		auth       bool
		code       int
		body       string
	}{
		{name: "healthz", path: "/healthz", code: http.StatusOK, body: "ok"},
		{name: "readyz", path: "/readyz", code: http.StatusOK, body: "ok"},
		{name: "status page without the password", path: "/", code: http.StatusUnauthorized},
		{name: "status page", path: "/", auth: true, code: http.StatusOK, body: "<html"},
		// The call counter shows only after a first call, which the
		// background resync makes at a time of its own; the gauge shows
		// from registration.
		{name: "metrics: the GitHub client's are registered", path: "/metrics", code: http.StatusOK, body: "purrvision_github_rate_limit_remaining"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, base+tt.path, tt.auth)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s: %d, want %d with %q:\n%.300s", tt.path, code, tt.code, tt.body, body)
			}
		})
	}
	resp, err := http.Post(base+"/webhook", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unsigned delivery: %s, want 401", resp.Status)
	}
	// An attacker's headers past the bound are refused before any handler.
	big, err := http.NewRequest(http.MethodPost, base+"/webhook", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	big.Header.Set("X-Padding", strings.Repeat("x", 4*app.MaxHeaderBytes))
	if resp, err := http.DefaultClient.Do(big); err != nil {
		t.Errorf("a delivery with %d KiB of headers: %v", 4*app.MaxHeaderBytes>>10, err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a delivery with %d KiB of headers: %s, want 431", 4*app.MaxHeaderBytes>>10, resp.Status)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of its context ending")
	}
}

// TestNew_RefusesWhatServeRefuses: the config is checked as serve checks
// it, and an unreadable secret file is named.
func TestNew_RefusesWhatServeRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{name: "no webhook secret file", change: func(c *config.Config) { c.GitHub.WebhookSecretFile = "" }, want: "github.webhookSecretFile: required by serve"},
		{name: "webhook secret file missing", change: func(c *config.Config) { c.GitHub.WebhookSecretFile += ".gone" }, want: "reading github.webhookSecretFile"},
		{name: "previous webhook secret file missing", change: func(c *config.Config) { c.GitHub.WebhookSecretPreviousFile = c.GitHub.WebhookSecretFile + ".gone" }, want: "reading github.webhookSecretPreviousFile"},
		{name: "previous webhook secret is the current file", change: func(c *config.Config) { c.GitHub.WebhookSecretPreviousFile = c.GitHub.WebhookSecretFile },
			want: "github.webhookSecretPreviousFile: names the same file as github.webhookSecretFile"},
		{name: "status page password missing", change: func(c *config.Config) { c.StatusPage.Auth.PasswordFile += ".gone" }, want: "reading statusPage.auth.passwordFile"},
		{name: "no credentials", change: func(c *config.Config) { c.GitHub.TokenFile = "" }, want: "github: set github.tokenFile or github.app"},
		{name: "no ledger key", change: func(c *config.Config) { c.Ledger.SigningKeyFiles = nil }, want: "ledger.signingKeyFiles: required by serve; create a key with `purrvision ledger keygen -o FILE`"},
		{name: "ledger key file missing", change: func(c *config.Config) { c.Ledger.SigningKeyFiles = []string{c.Ledger.SigningKeyFiles[0] + ".gone"} },
			want: "ledger.signingKeyFiles[0]: reading the key file"},
		{name: "ledger key file not a key", change: func(c *config.Config) { c.Ledger.SigningKeyFiles = []string{c.GitHub.WebhookSecretFile} },
			want: "does not hold a key (base64 of 32 random bytes); create one with `purrvision ledger keygen -o FILE`"},
	}
	cfg := serveConfig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *cfg
			auth := *cfg.StatusPage.Auth
			c.StatusPage.Auth = &auth
			tt.change(&c)
			_, err := app.New(context.Background(), &c, app.Parts{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestNew_StartsTheLedgerOnce: the first start records what the bot wrote
// on the issues of the stores on the base branch (a closed issue among
// them) and on the open store issues; later starts change nothing.
func TestNew_StartsTheLedgerOnce(t *testing.T) {
	cfg := serveConfig(t)
	ctx := context.Background()
	srv, client := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.GitHub.APIURL = srv.URL()
	closed := srv.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "form", v1alpha1.LabelRequest)
	srv.Comment("acme/stores", closed, ghstandin.BotLogin, storestatus.Body(storestatus.State{Store: "cat-cafe", Phase: v1alpha1.PhaseReady}, ""))
	closedRef := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: closed}
	if err := client.CloseIssue(ctx, closedRef); err != nil {
		t.Fatal(err)
	}
	open := srv.OpenIssue("acme/stores", "octocat", "Store: dog-diner", "form", v1alpha1.LabelRequest)
	srv.Comment("acme/stores", open, ghstandin.BotLogin, storestatus.Body(storestatus.State{Store: "dog-diner", Phase: v1alpha1.PhasePendingReview}, ""))
	openRef := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: open}

	repo, err := tenants.Open(ctx, tenants.Options{URL: cfg.TenantsRepo.URL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	req := v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small", AdminEmail: "owner@example.com"})
	data := []byte(`apiVersion: purrvision.dev/v1alpha1
kind: StoreRequest
metadata:
  name: cat-cafe
  annotations:
    ` + v1alpha1.AnnotationIssue + `: ` + closedRef.String() + `
spec:
  plan: small
  owner: octocat
  adminEmail: owner@example.com
  title: A store
`)
	dir := renderer.StoreDir(cfg, renderer.ClusterOf(cfg, req), "cat-cafe")
	if _, err := repo.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: dir + "/" + renderer.FileRequest, Data: data}}, Message: "a store from before the ledger"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a, err := app.New(ctx, cfg, app.Parts{})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	l := ledger.New(repo, testutil.LedgerKeys())
	for ref, want := range map[forge.IssueRef]v1alpha1.Phase{closedRef: v1alpha1.PhaseReady, openRef: v1alpha1.PhasePendingReview} {
		rec, ok, err := l.Read(ctx, ref, true)
		if err != nil || !ok || rec.State().Phase != want {
			t.Errorf("%s: record %+v (%v, %v), want phase %s", ref, rec, ok, err, want)
		}
	}
	head, _, err := repo.Head(v1alpha1.LedgerBranch)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := repo.Snapshot(head)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(snap.Message(), "Ledger: start, with the records of 2 issues") {
		t.Errorf("the ledger's head is %q, want its one start, with both issues", snap.Message())
	}
}

// TestServe_GitHubDownAtStart: GitHub answering 502 to every call when the
// service starts (a restart during an outage) is not a crash: New makes no
// call, Serve serves, /readyz says not ready and why, and once GitHub
// answers the start finishes, /readyz says ready and the resync runs.
func TestServe_GitHubDownAtStart(t *testing.T) {
	cfg := serveConfig(t)
	srv, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.GitHub.APIURL = srv.URL()
	srv.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "form", v1alpha1.LabelRequest)
	srv.SetFaults(ghstandin.Faults{Rate: 1})
	client, err := ghclient.New(ghclient.Options{APIURL: srv.URL(), Token: "test-token", MaxRetries: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Parts{GitHub: client, StartBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("New with GitHub down: %v", err)
	}
	base, done := serve(ctx, t, a)

	testutil.Eventually(t, "/readyz says not ready because GitHub does not answer", func() bool {
		code, body := get(t, base+"/readyz", false)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "starting:") && strings.Contains(body, "502")
	})
	if code, _ := get(t, base+"/healthz", false); code != http.StatusOK {
		t.Errorf("/healthz while starting: %d, want 200 (alive, not ready)", code)
	}
	srv.SetFaults(ghstandin.Faults{})
	ready(t, base)
	testutil.Eventually(t, "the resync reconciled the open request", func() bool {
		_, body := get(t, base+"/metrics", false)
		return strings.Contains(body, `purrvision_work_attempts_total{intent="reconcile-request",result="ok"}`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestServe_BotLoginMustBeWhoGitHubSays: with a github.botLogin that is
// not who GitHub says the service acts as, the service does not start its
// work (the bot would not know its own writes, or take another's for its
// own): /readyz names the key and the login to set; fixed, it starts.
func TestServe_BotLoginMustBeWhoGitHubSays(t *testing.T) {
	cfg := serveConfig(t)
	srv, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.GitHub.APIURL = srv.URL()
	cfg.GitHub.BotLogin = "someone-else[bot]"
	n := srv.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "form", v1alpha1.LabelRequest)
	client, err := ghclient.New(ghclient.Options{APIURL: srv.URL(), Token: "test-token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Parts{GitHub: client, StartBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(ctx, t, a)
	want := `github.botLogin is "someone-else[bot]", but GitHub says the service acts as "` + ghstandin.BotLogin + `"`
	testutil.Eventually(t, "/readyz names the wrong github.botLogin", func() bool {
		code, body := get(t, base+"/readyz", false)
		return code == http.StatusServiceUnavailable && strings.Contains(body, want)
	})
	if c, l := srv.Comments("acme/stores", n), srv.Labels("acme/stores", n); len(c) != 0 || len(l) != 1 {
		t.Errorf("the service handled a request before it knew who it is: comments %d, labels %v", len(c), l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// actAs is a transport whose calls the stand-in makes as login: the bot
// of an App other than the stand-in's own, whose login the old default
// of github.botLogin ("purrvision[bot]") is not.
type actAs struct {
	login string
	base  http.RoundTripper
}

func (a actAs) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(ghstandin.ActAsHeader, a.login)
	return a.base.RoundTrip(r)
}

// learnedBot is the login the stand-in's GitHub says the service acts as
// in the tests of an unset github.botLogin.
const learnedBot = "acme-cats[bot]"

// validationComments are an issue's comments with the validation marker,
// by author.
func validationComments(srv *ghstandin.Server, n int) map[string][]string {
	out := map[string][]string{}
	for _, c := range srv.Comments("acme/stores", n) {
		if v1alpha1.Marked(c.GetBody(), v1alpha1.MarkerValidation) {
			out[c.GetUser().GetLogin()] = append(out[c.GetUser().GetLogin()], c.GetBody())
		}
	}
	return out
}

// TestServe_BotLoginLearnedFromGitHub: with github.botLogin unset, the
// service acts as the login GitHub says it acts as and knows its own
// comments by it: an invalid request gets one validation comment, which
// an edit of the request edits rather than adding a second; a comment
// with the same marker by the login the old default named is not taken
// for its own.
func TestServe_BotLoginLearnedFromGitHub(t *testing.T) {
	cfg := serveConfig(t)
	srv, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.GitHub.APIURL = srv.URL()
	cfg.GitHub.BotLogin = ""
	body := func(plan string) string {
		return provision.RenderForm(v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: plan, AdminEmail: "owner@example.com"}))
	}
	n := srv.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", body("xl"), v1alpha1.LabelRequest)
	// Another App's bot, named as the old default was, marks a comment as
	// a validation comment.
	const forged = v1alpha1.MarkerValidation + "\nNothing to fix: your store is on its way."
	srv.Comment("acme/stores", n, ghstandin.BotLogin, forged)
	client, err := ghclient.New(ghclient.Options{APIURL: srv.URL(), Token: "test-token", Transport: actAs{learnedBot, http.DefaultTransport}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Parts{GitHub: client, StartBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Identity.Login(); got != "" {
		t.Fatalf("before the start the bot is %q, want unknown", got)
	}
	base, done := serve(ctx, t, a)
	srv.SetWebhook(ghstandin.Webhook{URL: base + "/webhook", Secret: []byte("s3cret")})
	ready(t, base)
	if got := a.Identity.Login(); got != learnedBot {
		t.Errorf("the bot is %q, want %q, as GitHub says", got, learnedBot)
	}

	testutil.Eventually(t, "the bot's validation comment names the plan", func() bool {
		c := validationComments(srv, n)[learnedBot]
		return len(c) == 1 && strings.Contains(c[0], `"xl"`)
	})
	srv.EditIssueBody("acme/stores", n, "octocat", body("huge"))
	testutil.Eventually(t, "the bot's validation comment names the edited plan", func() bool {
		c := validationComments(srv, n)[learnedBot]
		return len(c) >= 1 && strings.Contains(c[len(c)-1], `"huge"`)
	})
	srv.WaitDeliveries()
	got := validationComments(srv, n)
	if len(got[learnedBot]) != 1 {
		t.Errorf("the bot's validation comments: %d, want 1, edited:\n%s", len(got[learnedBot]), strings.Join(got[learnedBot], "\n---\n"))
	}
	if c := got[ghstandin.BotLogin]; len(c) != 1 || c[0] != forged {
		t.Errorf("the other App's comment: %q, want it left as it was", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestServe_NothingDoneWhileTheBotIsUnknown: an attacker's writes made
// before the service knows its login are neither acted on nor taken for
// its own. While GitHub does not say who the service is, /readyz says so,
// the deliveries are taken but no part writes to GitHub; once it does, the
// request is handled as the learned bot, and a status comment that the
// login of the old default wrote (any App can be named Purrvision) is not
// taken into the ledger the first start writes as the bot's own.
func TestServe_NothingDoneWhileTheBotIsUnknown(t *testing.T) {
	cfg := serveConfig(t)
	srv, _ := testutil.GitHub(t, "acme/stores", "acme/tenants")
	cfg.GitHub.APIURL = srv.URL()
	cfg.GitHub.BotLogin = ""
	srv.FailRoute("GET /user", ghstandin.RouteFailure{Times: 1 << 30, Status: http.StatusBadGateway, Message: "Server Error"})
	var (
		mu     sync.Mutex
		writes []string
	)
	srv.Record(func(x ghstandin.Exchange) {
		if x.Request.Method != http.MethodGet && x.Request.Header.Get(ghstandin.ActAsHeader) == learnedBot {
			mu.Lock()
			writes = append(writes, x.Route)
			mu.Unlock()
		}
	})
	client, err := ghclient.New(ghclient.Options{APIURL: srv.URL(), Token: "test-token", MaxRetries: 1, Backoff: time.Millisecond,
		Transport: actAs{learnedBot, http.DefaultTransport}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Parts{GitHub: client, StartBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(ctx, t, a)
	srv.SetWebhook(ghstandin.Webhook{URL: base + "/webhook", Secret: []byte("s3cret")})

	n := srv.OpenIssue("acme/stores", "octocat", "Store: cat-cafe",
		provision.RenderForm(v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "xl", AdminEmail: "owner@example.com"})), v1alpha1.LabelRequest)
	forged := storestatus.Body(storestatus.State{Store: "cat-cafe", Phase: v1alpha1.PhaseReady}, "")
	forgedID := srv.Comment("acme/stores", n, ghstandin.BotLogin, forged)
	srv.WaitDeliveries()
	for _, d := range srv.Deliveries() {
		if d.Status != http.StatusAccepted {
			t.Errorf("delivery %s (%s) while the bot is unknown: %d, want 202: kept for when it is known", d.ID, d.Event, d.Status)
		}
	}
	testutil.Eventually(t, "/readyz says the bot's login is being learned", func() bool {
		code, body := get(t, base+"/readyz", false)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "learning the bot's login from GitHub (github.botLogin is unset)")
	})
	if code, _ := get(t, base+"/", true); code != http.StatusOK {
		t.Errorf("the status page while the bot is unknown: %d, want 200", code)
	}
	mu.Lock()
	if len(writes) != 0 {
		t.Errorf("writes to GitHub while the bot is unknown: %v", writes)
	}
	mu.Unlock()
	if got := a.Identity.Login(); got != "" {
		t.Errorf("the bot is %q while GitHub does not say, want unknown", got)
	}

	srv.FailRoute("GET /user", ghstandin.RouteFailure{})
	ready(t, base)
	testutil.Eventually(t, "the learned bot answered the request", func() bool {
		c := validationComments(srv, n)[learnedBot]
		return len(c) == 1 && strings.Contains(c[0], `"xl"`)
	})
	testutil.Eventually(t, "the request's work is done", func() bool {
		_, body := get(t, base+"/metrics", false)
		return strings.Contains(body, `purrvision_work_attempts_total{intent="reconcile-request",result="ok"}`) && a.Service.Queue.Idle()
	})
	rec, ok, err := ledger.New(a.Tenants, testutil.LedgerKeys()).Read(ctx, forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}, true)
	if err != nil || !ok {
		t.Fatalf("the request's record: %v, %v", ok, err)
	}
	for kind, id := range rec.Comments {
		if id == forgedID {
			t.Errorf("the ledger holds the other App's comment as the bot's %s comment", kind)
		}
	}
	if rec.State().Phase == v1alpha1.PhaseReady {
		t.Errorf("the ledger took the other App's status for the bot's: %+v", rec.State())
	}
	for _, c := range srv.Comments("acme/stores", n) {
		if c.GetID() == forgedID && c.GetBody() != forged {
			t.Errorf("the other App's comment was changed:\n%s", c.GetBody())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
