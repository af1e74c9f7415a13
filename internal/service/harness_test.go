package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"github.com/google/go-github/v60/github"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/service"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
	"github.com/purrvision/purrvision/webhook"
)

const (
	requestsRepo = "acme/stores"
	tenantsRepo  = "acme/tenants"
)

var webhookSecret = []byte("test-webhook-secret")

// harness is a GitHub stand-in, a git server with the tenants repo and a
// Purrvision service wired to both through real HTTP.
type harness struct {
	t        testing.TB
	gh       *ghstandin.Server
	git      *gitserver.Server
	bare     string
	cfg      *config.Config
	ageID    *age.X25519Identity
	logs     *testutil.SyncBuffer
	svc      *service.Service
	url      string // where the running instance serves
	client   app.GitHub
	stopSvc  func()
	ownerKey ed25519.PrivateKey
	opts     harnessOptions
}

type harnessOptions struct {
	faults ghstandin.Faults
	// wrap, when set, wraps the GitHub client the service uses.
	wrap func(app.GitHub) app.GitHub
	// queue, when set, replaces ghQueueOptions; resync, when set, is how
	// often every open request is reconciled again.
	queue  *webhook.QueueOptions
	resync time.Duration
	// statusPage, when set, is the config's statusPage.url.
	statusPage string
	// configure, when set, changes the config before the service starts.
	configure func(*config.Config)
	// transport, when set, is the base transport of the service's GitHub
	// client; log, when set, receives the service's log instead of logs.
	transport http.RoundTripper
	log       slog.Handler
}

// Who acts on the tenants repo in the scenarios. Every scenario runs under
// `purrvision setup`'s rules (devenv.ApplyRules): reviewer is a code owner
// (a member of the config's platform team, codeOwnersTeam) with write
// access, maintainer merges; neither may push to main or to the bot's
// branches. admin administers the repository (mergePastTheRules).
const (
	reviewer       = "reviewer"
	maintainer     = "maintainer"
	admin          = "admin"
	codeOwnersTeam = "acme/tenant-owners"
)

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, logs: &testutil.SyncBuffer{}, ageID: testutil.AgeIdentity(t), opts: o}
	var err error
	h.git, _, h.bare = testutil.GitRepo(t, "tenants", "main")
	seed, err := tenants.Open(context.Background(), tenants.Options{URL: h.git.URL("tenants"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "README.md", Data: []byte("# tenants\n")}}, Message: "Start the tenants repo\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}

	h.gh, _ = testutil.GitHub(t, requestsRepo)
	h.gh.AddRepo(tenantsRepo, "main", h.bare)
	h.gh.SetPermission(tenantsRepo, maintainer, "maintain") // merges need write access
	h.gh.SetPermission(tenantsRepo, reviewer, "write")      // approvals count with write access
	h.gh.SetPermission(tenantsRepo, admin, "admin")

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	h.ownerKey = priv
	h.gh.SetKeys("octocat", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))))

	h.cfg = testutil.ExampleConfig(t)
	h.cfg.SOPS.AgeRecipients = []string{h.ageID.Recipient().String()}
	h.cfg.TenantsRepo.URL = h.git.URL("tenants")
	h.cfg.TenantsRepo.Repo = tenantsRepo
	h.cfg.StatusPage.URL = o.statusPage
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, webhookSecret, 0o600); err != nil {
		t.Fatal(err)
	}
	h.cfg.GitHub = config.GitHub{APIURL: h.gh.URL(), Token: "test-token", Repo: requestsRepo, BotLogin: ghstandin.BotLogin, CommandTeams: []string{"acme/platform"},
		WebhookSecretFile: secretFile, PlatformTeam: codeOwnersTeam}

	// The scenarios play one requester with many requests; the limit of
	// open requests has a scenario of its own.
	noLimit := 0
	h.cfg.Limits.OpenRequestsPerRequester = &noLimit
	if o.configure != nil {
		o.configure(h.cfg)
	}
	h.client, err = ghclient.New(ghclient.Options{APIURL: h.gh.URL(), Token: "test-token", MaxWait: 5 * time.Second, Transport: o.transport})
	if err != nil {
		t.Fatal(err)
	}
	if o.wrap != nil {
		h.client = o.wrap(h.client)
	}
	if err := devenv.ApplyRules(context.Background(), h.gh, h.git, h.cfg, devenv.RulesOptions{CodeOwners: []string{reviewer}}); err != nil {
		t.Fatal(err)
	}
	h.gh.SetFaults(o.faults)
	h.start()
	return h
}

// start starts a fresh service instance (a new process, as far as state
// goes: its own clone and queue), wired as serve wires it, without a
// cluster.
func (h *harness) start() {
	h.t.Helper()
	var handler slog.Handler = slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	if h.opts.log != nil {
		handler = h.opts.log
	}
	log := slog.New(handler)
	ctx, cancel := context.WithCancel(logctx.Into(context.Background(), log))
	queue := ghQueueOptions
	if h.opts.queue != nil {
		queue = *h.opts.queue
	}
	a, err := app.New(ctx, h.cfg, app.Parts{GitHub: h.client, Queue: queue, ResyncInterval: h.opts.resync, StatusPage: app.StatusPageOptions{TTL: time.Nanosecond}})
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.svc = a.Service
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Serve(ctx, ln, 30*time.Second); err != nil {
			h.t.Logf("the service stopped: %v", err)
		}
	}()
	h.stopSvc = func() { cancel(); <-done }
	h.gh.SetWebhook(ghstandin.Webhook{URL: h.url + "/webhook", Secret: webhookSecret})
	h.t.Cleanup(h.stop)
	// Started, and the first resync queued: settle waits for it from here.
	testutil.Eventually(h.t, "the service is ready", func() bool {
		ok, _ := a.Service.Readiness.IsReady()
		return ok
	})
}

// stop stops the running instance, finishing accepted work.
func (h *harness) stop() {
	if h.stopSvc == nil {
		return
	}
	h.stopSvc()
	h.stopSvc = nil
}

// settle waits until no webhook is in flight and the queue is idle, three
// checks in a row, since work sends webhooks that make more work.
func (h *harness) settle() {
	h.t.Helper()
	stable := 0
	settled := func(context.Context) (bool, error) {
		h.gh.WaitDeliveries()
		if h.svc.Queue.Idle() {
			stable++
		} else {
			stable = 0
		}
		return stable >= 3, nil
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 3*time.Minute, true, settled); err != nil {
		h.t.Fatalf("the service did not settle within 3 minutes (queue depth %d): %v", h.svc.Queue.Depth(), err)
	}
}

// merge approves pr as a code owner and merges it through the merge API,
// under the rules.
func (h *harness) merge(pr int) {
	h.t.Helper()
	if _, err := devenv.ApproveAndMerge(context.Background(), h.gh.URL(), tenantsRepo, pr, reviewer, maintainer); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

// mergePastTheRules merges pr as an admin who lifts the base branch's
// protection for it and puts it back at once (`purrvision setup`'s rules,
// as ApplyRules writes them): the scenarios of a merge the rules refuse,
// which the product must still read truthfully (a hand-edited wave, a pull
// request whose check could not be written, a person's own pull request).
func (h *harness) mergePastTheRules(pr int) {
	h.t.Helper()
	ctx := context.Background()
	if err := devenv.Call(ctx, h.gh.URL(), http.MethodDelete, "repos/"+tenantsRepo+"/branches/main/protection", admin, nil, nil); err != nil {
		h.t.Fatalf("lifting the protection of main: %v", err)
	}
	if _, err := devenv.Merge(ctx, h.gh.URL(), tenantsRepo, pr, admin, ""); err != nil {
		h.t.Fatal(err)
	}
	if err := devenv.ApplyRules(ctx, h.gh, h.git, h.cfg, devenv.RulesOptions{CodeOwners: []string{reviewer}}); err != nil {
		h.t.Fatalf("putting the rules back: %v", err)
	}
	h.settle()
}

// botClone is a clone of the tenants repo through the git server that
// pushes as the bot does, with the config's token, under the rules.
func (h *harness) botClone() *tenants.Repo {
	h.t.Helper()
	auth, err := ghclient.NewGitAuth(ghclient.Options{Token: h.cfg.GitHub.Token})
	if err != nil {
		h.t.Fatal(err)
	}
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: h.cfg.TenantsRepo.URL, Branch: "main", Auth: auth})
	if err != nil {
		h.t.Fatal(err)
	}
	return repo
}

func formBody(name, plan, email string) string {
	return provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: email}))
}

func (h *harness) request(author, name, plan string) int {
	return h.gh.OpenIssue(requestsRepo, author, "Store: "+name, formBody(name, plan, "owner@example.com"), v1alpha1.LabelRequest)
}

// pulls returns the pull requests of the tenants repo by head branch.
func (h *harness) pulls() map[string][]*github.PullRequest {
	out := map[string][]*github.PullRequest{}
	for _, p := range h.gh.Pulls(tenantsRepo) {
		out[p.GetHead().GetRef()] = append(out[p.GetHead().GetRef()], p)
	}
	return out
}

// botComments returns the bot's comments on an issue with a marker.
func (h *harness) botComments(n int, marker string) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin && strings.Contains(c.GetBody(), marker) {
			out = append(out, c)
		}
	}
	return out
}

func (h *harness) git_(args ...string) string {
	h.t.Helper()
	out, err := gitserver.Git(h.bare, args...)
	if err != nil {
		h.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// branchPassword decrypts the admin password of a store on a branch with
// Flux's age key.
func (h *harness) branchPassword(ref, name string) string {
	h.t.Helper()
	return h.branchValue(ref, name, renderer.KeyAdminPassword)
}

// branchValue decrypts one key of the admin Secret of a store on a branch.
func (h *harness) branchValue(ref, name, key string) string {
	h.t.Helper()
	enc := h.git_("show", ref+":"+storeDir(name)+"/"+renderer.FileSecret)
	plain, err := sopsage.Decrypt([]byte(enc), h.ageID.String())
	if err != nil {
		h.t.Fatalf("decrypting the Secret of %s on %s: %v", name, ref, err)
	}
	return secretValue(h.t, plain, key)
}

// ownerPassword decrypts the credentials comment with the owner's SSH key.
func (h *harness) ownerPassword(n int) string {
	h.t.Helper()
	return h.ownerPasswords(n)[0]
}

// ownerPasswords decrypts every generation the credentials comment shows,
// in its order, with the owner's key.
func (h *harness) ownerPasswords(n int) []string {
	h.t.Helper()
	cs := h.botComments(n, "purrvision:credentials")
	if len(cs) != 1 {
		h.t.Fatalf("%d credentials comments on #%d, want 1", len(cs), n)
	}
	body := cs[0].GetBody()
	id, err := agessh.NewEd25519Identity(h.ownerKey)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for {
		start := strings.Index(body, armor.Header)
		end := strings.Index(body, armor.Footer)
		if start < 0 || end < 0 {
			break
		}
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(body[start:end+len(armor.Footer)]+"\n")), id)
		if err != nil {
			h.t.Fatalf("decrypting the credentials with the owner's SSH key: %v", err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			h.t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(b.String(), "\n") {
			if p, ok := strings.CutPrefix(line, "password: "); ok {
				out, found = append(out, p), true
			}
		}
		if !found {
			h.t.Fatalf("no password line in the decrypted credentials")
		}
		body = body[end+len(armor.Footer):]
	}
	if len(out) == 0 {
		h.t.Fatalf("no age armor in the credentials comment #%d", n)
	}
	return out
}

func gitserverGit(dir string, args ...string) ([]byte, error) { return gitserver.Git(dir, args...) }

func decrypt(t *testing.T, h *harness, enc string) []byte {
	t.Helper()
	plain, err := sopsage.Decrypt([]byte(enc), h.ageID.String())
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// storeFileCount is how many files a rendered store has.
func storeFileCount(t *testing.T) int {
	t.Helper()
	out, err := renderer.Render(renderer.Input{Config: testutil.ExampleConfig(t), Request: testutil.ExampleRequest(t), Rand: testutil.Rand(1), Now: time.Now(),
		Recipients: []string{testutil.AgeIdentity(t).Recipient().String()}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Files)
}

// storeDir is where a store of the default cluster lives in the tenants repo.
func storeDir(name string) string { return "tenants/default/" + renderer.Shard(name) + "/" + name }

// get fetches a path of the service and returns its body; anything but 200
// fails the test.
func (h *harness) get(path string) string {
	h.t.Helper()
	body, _ := h.getWithHeader(path)
	return body
}

// getWithHeader is get that also returns the response's header.
func (h *harness) getWithHeader(path string) (string, http.Header) {
	h.t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	return string(body), resp.Header
}
