package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testutil"
)

// docBlocks are the fenced code blocks of a Markdown file whose info
// string is lang, each as its text.
func docBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	var out []string
	var cur *strings.Builder
	for _, line := range strings.Split(readFile(t, path), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// docCommands are the purrvision commands of docs/install.md's sh blocks,
// in order, each as its arguments.
func docCommands(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	for _, b := range docBlocks(t, filepath.Join(testutil.RepoRoot(t), "docs", "install.md"), "sh") {
		for _, line := range strings.Split(strings.ReplaceAll(b, "\\\n", " "), "\n") {
			if args, ok := strings.CutPrefix(strings.TrimSpace(line), "purrvision "); ok {
				out = append(out, strings.Fields(args))
			}
		}
	}
	return out
}

// flagValue is the value of --name (-n for a letter) in args, "" when
// absent.
func flagValue(args []string, name string) string {
	dash := "--"
	if len(name) == 1 {
		dash = "-"
	}
	for i, a := range args {
		if a == dash+name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, dash+name+"="); ok {
			return v
		}
	}
	return ""
}

// appFlow is one run of `purrvision setup app`, driven as a person with a
// browser would.
type appFlow struct {
	out  *testutil.SyncBuffer
	errb *testutil.SyncBuffer
	done chan int
}

func startSetupApp(args []string) *appFlow {
	f := &appFlow{out: &testutil.SyncBuffer{}, errb: &testutil.SyncBuffer{}, done: make(chan int, 1)}
	go func() { f.done <- run(context.Background(), args, strings.NewReader(""), f.out, f.errb) }()
	return f
}

var pageLine = regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+/[0-9a-f]+/) in a browser`)

// page is the loopback page the command prints.
func (f *appFlow) page(t *testing.T) string {
	t.Helper()
	testutil.Eventually(t, "setup app prints its page", func() bool { return pageLine.MatchString(f.out.String()) })
	return pageLine.FindStringSubmatch(f.out.String())[1]
}

// exit is the command's exit code, once it ends.
func (f *appFlow) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-f.done:
		return code
	case <-time.After(time.Minute):
		t.Fatalf("setup app did not end; stdout:\n%s", f.out)
		return 0
	}
}

// form is the manifest form the page serves: where it posts, and the
// manifest.
func form(t *testing.T, page string) (string, []byte) {
	t.Helper()
	status, body := httpGet(t, page)
	action := regexp.MustCompile(`<form action="([^"]+)" method="post">`).FindStringSubmatch(body)
	manifest := regexp.MustCompile(`name="manifest" value="([^"]*)"`).FindStringSubmatch(body)
	if status != http.StatusOK || action == nil || manifest == nil {
		t.Fatalf("the page: %d\n%s", status, body)
	}
	return html.UnescapeString(action[1]), []byte(html.UnescapeString(manifest[1]))
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Do(t, req)
}

// createApp is the person on GitHub's page: GitHub makes the App from the
// manifest and redirects the browser back with the code and the state.
// It returns the redirect's URL and the code.
func createApp(t *testing.T, gh *ghstandin.Server, action string, manifest []byte, owner string) (string, string) {
	t.Helper()
	code, err := gh.CreateAppFromManifest(manifest, owner)
	if err != nil {
		t.Fatal(err)
	}
	return redirectBase(t, manifest) + "?" + url.Values{"code": {code}, "state": {stateOf(t, action)}}.Encode(), code
}

// redirectBase is a manifest's redirect_url.
func redirectBase(t *testing.T, manifest []byte) string {
	t.Helper()
	var m struct {
		RedirectURL string `json:"redirect_url"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil || m.RedirectURL == "" {
		t.Fatalf("the manifest's redirect_url: %v\n%s", err, manifest)
	}
	return m.RedirectURL
}

// stateOf is the state the form's action carries to GitHub.
func stateOf(t *testing.T, action string) string {
	t.Helper()
	a, err := url.Parse(action)
	if err != nil || a.Query().Get("state") == "" {
		t.Fatalf("the form's action %q carries no state", action)
	}
	return a.Query().Get("state")
}

// TestInstall_AsDocumented runs each purrvision command of docs/install.md,
// in order, against the dev system: the App's manifest flow end to end
// (a forged redirect refused, the key and secret written 0600 and never
// printed, a file already there kept, a used code refused), the config as
// the page writes it, setup's dry run printing every setting, setup
// applying them and changing nothing the second time, --check clean once
// the proposals are merged and naming a drifted setting with exit 3, and
// the Flux side written. A command the page gains that this test does not
// run fails it.
func TestInstall_AsDocumented(t *testing.T) {
	w := newSetupWorld(t)
	dir := t.TempDir()
	t.Chdir(dir)
	web := "https://github.acme.example"
	steps := []struct {
		name string // the command's words, flags left out
		run  func(t *testing.T, args []string)
	}{
		{"setup app", func(t *testing.T, args []string) {
			args = append(args, "--web-url", web, "--api-url", w.gh.URL())
			f := startSetupApp(args)
			page := f.page(t)
			action, manifest := form(t, page)
			org := flagValue(args, "org")
			if !strings.HasPrefix(action, web+"/organizations/"+org+"/settings/apps/new?state=") {
				t.Fatalf("the form posts to %s", action)
			}
			redirect, code := createApp(t, w.gh, action, manifest, org)
			// A forged redirect: a code of the attacker's, without the state.
			forged := strings.Replace(redirect, "state=", "state=0", 1)
			if status, body := httpGet(t, forged); status != http.StatusBadRequest {
				t.Fatalf("a redirect with another state: %d %s", status, body)
			}
			if status, body := httpGet(t, redirect); status != http.StatusOK {
				t.Fatalf("GitHub's redirect: %d %s", status, body)
			}
			if c := f.exit(t); c != 0 {
				t.Fatalf("setup app: exit %d\n%s%s", c, f.out, f.errb)
			}
			key, secret := flagValue(args, "private-key-file"), flagValue(args, "webhook-secret-file")
			for _, p := range []string{key, secret} {
				st, err := os.Stat(p)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v, %v; want a file with mode 0600", p, st, err)
				}
			}
			pem, sec := readFile(t, key), strings.TrimSpace(readFile(t, secret))
			if !strings.HasPrefix(pem, "-----BEGIN RSA PRIVATE KEY-----") || len(sec) < 20 {
				t.Fatalf("the key or the secret file holds the wrong thing")
			}
			out := f.out.String() + f.errb.String()
			if strings.Contains(out, sec) || strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, code) {
				t.Fatalf("setup app printed a secret or the code:\n%s", out)
			}
			for _, want := range []string{"Created the GitHub App purrvision (ID 1), owned by " + org, "    id: 1\n",
				"    privateKeyFile: " + filepath.Join(dir, key) + "\n", "  webhookSecretFile: " + filepath.Join(dir, secret) + "\n", "  botLogin: " + ghstandin.BotLogin + "\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("setup app does not print %q:\n%s", want, out)
				}
			}

			// Run again: the files there are kept, before anything is made.
			again := runCLI(t, "", args...)
			if again.code != exitUsage || !strings.Contains(again.stderr, key) || !strings.Contains(again.stderr, "--overwrite") {
				t.Fatalf("setup app over existing files: exit %d\n%s%s", again.code, again.stdout, again.stderr)
			}
			if readFile(t, key) != pem {
				t.Fatal("the key file was replaced")
			}
			// The used code, redirected again to a new run, is refused by
			// GitHub, and nothing is written.
			other := append(append([]string{}, args...), "--private-key-file", "other.pem", "--webhook-secret-file", "other-secret")
			f = startSetupApp(other)
			action2, manifest2 := form(t, f.page(t))
			if status, _ := httpGet(t, strings.Replace(redirect, redirectBase(t, manifest), redirectBase(t, manifest2), 1)); status != http.StatusBadRequest {
				t.Fatalf("the first run's state taken by the second run: %d", status)
			}
			reuse := redirectBase(t, manifest2) + "?" + url.Values{"code": {code}, "state": {stateOf(t, action2)}}.Encode()
			if status, _ := httpGet(t, reuse); status != http.StatusOK {
				t.Fatalf("the redirect with the used code: %d", status)
			}
			if c := f.exit(t); c != exitUsage || !strings.Contains(f.errb.String(), "a code works once") {
				t.Fatalf("setup app with a used code: exit %d\n%s%s", c, f.out, f.errb)
			}
			for _, p := range []string{"other.pem", "other-secret"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s written for a used code", p)
				}
			}
		}},
		{"ledger keygen", func(t *testing.T, args []string) {
			if r := runCLI(t, "", args...); r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			writeInstallConfig(t, w)
		}},
		{"setup", func(t *testing.T, args []string) {
			if flagValue(args, "config") != "purrvision.yaml" {
				t.Fatalf("setup is run without --config purrvision.yaml: %v", args)
			}
			switch {
			case strings.Contains(strings.Join(args, " "), "--dry-run"):
				dry := runCLI(t, "", args...)
				if dry.code != 0 {
					t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
				}
				checkEverySetting(t, dry.stdout)
				if len(w.gh.Pulls("acme/tenants")) != 0 || len(w.gh.Pulls("acme/stores")) != 0 {
					t.Fatal("the dry run opened a pull request")
				}
			case strings.Contains(strings.Join(args, " "), "--check"):
				w.mergeProposals(t)
				if r := runCLI(t, "", args...); r.code != 0 || !strings.Contains(r.stdout, "No drift") {
					t.Fatalf("check after setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				w.lowerApprovals(t)
				if r := runCLI(t, "", args...); r.code != exitDrift || r.stdout != approvalsDrift {
					t.Fatalf("check after drift: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
			default:
				if r := runCLI(t, "", args...); r.code != 0 || !strings.Contains(r.stdout, "changes made.") {
					t.Fatalf("setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				if r := runCLI(t, "", args...); r.code != 0 || !strings.Contains(r.stdout, "Nothing to change") {
					t.Fatalf("a second run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				// It acted as the App's installation, with the key setup app wrote.
				if w.gh.Authorizations()["token ghs_standin_654321"] == 0 {
					t.Errorf("setup did not act as the App's installation: %v", w.gh.Authorizations())
				}
			}
		}},
		{"flux", func(t *testing.T, args []string) {
			if r := runCLI(t, "", args...); r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(flagValue(args, "o"), "clusters", "default", "kustomization.yaml")); err != nil {
				t.Fatalf("the default cluster's overlay: %v", err)
			}
		}},
	}
	ran := map[string]int{}
	for _, args := range docCommands(t) {
		var words []string
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				break
			}
			words = append(words, a)
		}
		name := strings.Join(words, " ")
		found := false
		for _, s := range steps {
			if s.name == name {
				found = true
				ran[name]++
				t.Run(strings.Join(args, " "), func(t *testing.T) { s.run(t, args) })
			}
		}
		if !found {
			t.Errorf("docs/install.md runs purrvision %s, which this test does not: add a step that runs it", strings.Join(args, " "))
		}
		if t.Failed() {
			return
		}
	}
	for _, s := range steps {
		if ran[s.name] == 0 {
			t.Errorf("docs/install.md no longer runs purrvision %s", s.name)
		}
	}
	if ran["setup"] != 3 {
		t.Errorf("docs/install.md runs purrvision setup %d times, want --dry-run, a run and --check", ran["setup"])
	}
}

// writeInstallConfig writes ./purrvision.yaml as docs/install.md says: the
// dev system's tenants repo and settings, and the page's github and ledger
// block, its apiURL the stand-in's and its App the one setup app made.
func writeInstallConfig(t *testing.T, w *setupWorld) {
	t.Helper()
	var block string
	for _, b := range docBlocks(t, filepath.Join(testutil.RepoRoot(t), "docs", "install.md"), "yaml") {
		if strings.HasPrefix(b, "github:\n") {
			block = b
		}
	}
	for _, key := range []string{"  apiURL: https://api.github.com/\n", "    id: ", "    installationID: ", "    privateKeyFile: purrvision.private-key.pem\n",
		"  webhookSecretFile: webhook-secret\n", "  repo: acme/stores\n", "  platformTeam: acme/platform\n", "    - ledger-key\n"} {
		if !strings.Contains(block, key) {
			t.Fatalf("docs/install.md's github block lacks %q:\n%s", key, block)
		}
	}
	block = strings.Replace(block, "https://api.github.com/", w.gh.URL(), 1)
	block = regexp.MustCompile(`(?m)^    id: \d+$`).ReplaceAllString(block, "    id: 1")
	base := readFile(t, w.cfg)
	base = base[:strings.Index(base, "\nledger:")+1]
	if err := os.WriteFile("purrvision.yaml", []byte(base+block), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSetupApp_Refusals: setup app refuses, before it serves anything, a
// page on an address other machines reach and a missing webhook URL.
func TestSetupApp_Refusals(t *testing.T) {
	dir := t.TempDir()
	files := []string{"--private-key-file", filepath.Join(dir, "k.pem"), "--webhook-secret-file", filepath.Join(dir, "s"), "--api-url", "http://127.0.0.1:1/"}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"a page on every address", []string{"--webhook-url", "https://p.example/webhook", "--listen", "0.0.0.0:0"}, "--listen"},
		{"a page on another machine's address", []string{"--webhook-url", "https://p.example/webhook", "--listen", "192.0.2.1:0"}, "--listen"},
		{"no webhook URL", nil, "--webhook-url is required"},
		{"the key and the secret in one file", []string{"--webhook-url", "https://p.example/webhook", "--webhook-secret-file", filepath.Join(dir, "k.pem")}, "give two files"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A deadline, so a page served by mistake ends the run.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb strings.Builder
			code := run(ctx, append(append([]string{"setup", "app"}, files...), tt.args...), strings.NewReader(""), &out, &errb)
			r := result{code, out.String(), errb.String()}
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stdout, "Open ") {
				t.Fatalf("exit %d, want 2 naming %q\n%s%s", r.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestSetupApp_OnlyTheOrgsApp: a code for an App someone else owns
// (another user of the machine who read the redirect, or a mix-up of
// browsers), brought back with the run's own state, writes no secret:
// the run names the owner and stops.
func TestSetupApp_OnlyTheOrgsApp(t *testing.T) {
	w := newSetupWorld(t)
	dir := t.TempDir()
	key, secret := filepath.Join(dir, "app.pem"), filepath.Join(dir, "webhook-secret")
	f := startSetupApp([]string{"setup", "app", "--org", "acme", "--webhook-url", "https://p.example/webhook", "--web-url", "https://github.example",
		"--api-url", w.gh.URL(), "--private-key-file", key, "--webhook-secret-file", secret})
	action, manifest := form(t, f.page(t))
	redirect, _ := createApp(t, w.gh, action, manifest, "mallory")
	if status, body := httpGet(t, redirect); status != http.StatusOK {
		t.Fatalf("the redirect: %d %s", status, body)
	}
	if code := f.exit(t); code == 0 || !strings.Contains(f.errb.String(), "owned by mallory, not --org acme") {
		t.Fatalf("exit %d; stderr:\n%s", code, f.errb)
	}
	for _, p := range []string{key, secret} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was written for another's App: %v", p, err)
		}
	}
}
