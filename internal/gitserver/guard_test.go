package gitserver_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/purrvision/purrvision/internal/gitserver"
)

// guard is a Guard with fixed answers that records what it was asked.
type guard struct {
	mu      sync.Mutex
	tokens  map[string]string // token -> login
	refuse  map[string]bool   // refs refused
	readers map[string]bool   // logins without write access
	seen    []gitserver.Update
	pushers []string
}

var _ gitserver.Guard = (*guard)(nil)

func (g *guard) Authenticate(_, _, password string) (string, error) {
	login := g.tokens[password]
	switch {
	case login == "":
		return "", gitserver.ErrUnauthenticated
	case g.readers[login]:
		return "", &gitserver.Forbidden{Message: "Permission to tenants.git denied to " + login + "."}
	}
	return login, nil
}

func (g *guard) CheckPush(_, login string, updates []gitserver.Update) []gitserver.Refusal {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, updates...)
	g.pushers = append(g.pushers, login)
	var out []gitserver.Refusal
	for _, u := range updates {
		if g.refuse[u.Ref] {
			out = append(out, gitserver.Refusal{Ref: u.Ref, Reason: "protected branch hook declined",
				Lines: []string{"error: GH006: Protected branch update failed for " + u.Ref + "."}})
		}
	}
	return out
}

// run runs git in dir with no credentials but those in URLs.
func run(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func must(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := run(t, dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// protected is a git server with tenants.git holding one commit on main,
// guarded by g, and a clone of it.
func protected(t *testing.T, g *guard) (*gitserver.Server, string, string) {
	t.Helper()
	srv, err := gitserver.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bare, err := srv.Init("tenants", "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	work := t.TempDir()
	must(t, work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("tenants\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, work, "add", ".")
	must(t, work, "commit", "-q", "-m", "first")
	must(t, work, "push", "-q", srv.URL("tenants"), "main") // before Protect: open, as today
	if g != nil {
		srv.Protect(g, "x-access-token", "bot-token")
	}
	return srv, bare, work
}

func commit(t *testing.T, work, file string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(work, file), []byte(file+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, work, "add", ".")
	must(t, work, "commit", "-q", "-m", file)
	return must(t, work, "rev-parse", "HEAD")
}

// TestProtect_Identity: once protected, a push needs a token: none or an
// unknown one is 401, a login without write access 403; the bot's
// credentials ride in URL, a person's in URLAs; reads stay open.
func TestProtect_Identity(t *testing.T) {
	g := &guard{tokens: map[string]string{"bot-token": "purrvision[bot]", "alice-token": "alice", "rita-token": "rita"}, readers: map[string]bool{"rita": true}}
	srv, _, work := protected(t, g)
	commit(t, work, "a.txt")
	tests := []struct {
		name, url, want string
		ok              bool
	}{
		{"anonymous", srv.URLAs("tenants", "", ""), "could not read Username", false}, // 401, and no credentials to try
		{"unknown token", srv.URLAs("tenants", "alice", "guess"), "Authentication failed", false},
		{"no write access", srv.URLAs("tenants", "rita", "rita-token"), "403", false},
		{"a person", srv.URLAs("tenants", "alice", "alice-token"), "", true},
		{"the bot, by URL", srv.URL("tenants"), "", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, work, "push", tt.url, "HEAD:refs/heads/b"+string(rune('0'+i)))
			if (err == nil) != tt.ok || !strings.Contains(out, tt.want) {
				t.Fatalf("push: %v: %s; want ok=%v and %q", err, out, tt.ok, tt.want)
			}
		})
	}
	if strings.Join(g.pushers, ",") != "alice,purrvision[bot]" {
		t.Errorf("the guard saw pushes by %v, want alice's and the bot's", g.pushers)
	}
	if !strings.Contains(srv.URL("tenants"), "x-access-token:bot-token@") {
		t.Errorf("URL = %s, want the bot's credentials in it", srv.URL("tenants"))
	}
	clone := t.TempDir()
	must(t, clone, "clone", "-q", srv.URLAs("tenants", "", ""), ".") // reads stay open
}

// TestProtect_Refusal: a refused update leaves the repository as it was,
// and the pusher reads the guard's words and reason.
func TestProtect_Refusal(t *testing.T) {
	g := &guard{tokens: map[string]string{"bot-token": "purrvision[bot]"}, refuse: map[string]bool{"refs/heads/main": true}}
	srv, bare, work := protected(t, g)
	before := must(t, bare, "rev-parse", "main")
	commit(t, work, "a.txt")
	out, err := run(t, work, "push", srv.URL("tenants"), "main")
	if err == nil {
		t.Fatalf("a refused push went through: %s", out)
	}
	for _, want := range []string{"remote: error: GH006: Protected branch update failed for refs/heads/main.", "[remote rejected] main -> main (protected branch hook declined)"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if after := must(t, bare, "rev-parse", "main"); after != before {
		t.Errorf("main moved to %s after a refused push", after)
	}
}

// TestProtect_FastForward: the guard learns which updates are fast
// forwards, from the objects pushed, before git stores them.
func TestProtect_FastForward(t *testing.T) {
	g := &guard{tokens: map[string]string{"bot-token": "purrvision[bot]"}}
	srv, _, work := protected(t, g)
	first := must(t, work, "rev-parse", "HEAD")
	commit(t, work, "a.txt")
	must(t, work, "push", "-q", srv.URL("tenants"), "main")
	must(t, work, "reset", "-q", "--hard", first)
	commit(t, work, "b.txt")
	must(t, work, "push", "-q", "--force", srv.URL("tenants"), "main", "main:refs/heads/new")
	must(t, work, "push", "-q", srv.URL("tenants"), ":refs/heads/new")
	var got []string
	for _, u := range g.seen {
		kind := "update"
		switch {
		case u.Creation():
			kind = "create"
		case u.Deletion():
			kind = "delete"
		case !u.FastForward:
			kind = "force"
		}
		got = append(got, u.Ref+" "+kind)
	}
	want := "refs/heads/main update,refs/heads/main force,refs/heads/new create,refs/heads/new delete"
	if strings.Join(got, ",") != want {
		t.Errorf("updates = %v, want %s", got, want)
	}
}

// TestUnprotected_AsBefore: without Protect, anyone pushes.
func TestUnprotected_AsBefore(t *testing.T) {
	srv, _, work := protected(t, nil)
	commit(t, work, "a.txt")
	if out, err := run(t, work, "push", srv.URL("tenants"), "main"); err != nil {
		t.Fatalf("anonymous push to an unprotected server: %v: %s", err, out)
	}
	if strings.Contains(srv.URL("tenants"), "@") {
		t.Errorf("URL = %s carries credentials without Protect", srv.URL("tenants"))
	}
}
