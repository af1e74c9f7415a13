package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/templates"
)

// TestAppManifest_InstallURLs: the manifest keeps the product's
// permissions and events and takes the install's name, webhook URL and
// redirect URL; a webhook URL that is not one is refused, naming it.
func TestAppManifest_InstallURLs(t *testing.T) {
	data, err := AppManifest(ManifestOptions{Name: "Acme Purrvision", WebhookURL: "https://purr.acme.example/webhook", RedirectURL: "http://127.0.0.1:4321/callback"})
	if err != nil {
		t.Fatal(err)
	}
	var got, base map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(templates.AppManifest, &base); err != nil {
		t.Fatal(err)
	}
	hook := got["hook_attributes"].(map[string]any)
	if got["name"] != "Acme Purrvision" || hook["url"] != "https://purr.acme.example/webhook" || hook["active"] != true || got["redirect_url"] != "http://127.0.0.1:4321/callback" {
		t.Errorf("manifest: %s", data)
	}
	for _, k := range []string{"default_permissions", "default_events", "url", "public"} {
		g, _ := json.Marshal(got[k])
		b, _ := json.Marshal(base[k])
		if !bytes.Equal(g, b) {
			t.Errorf("%s is %s, want the product's %s", k, g, b)
		}
	}
	if _, err := AppManifest(ManifestOptions{WebhookURL: "purr.acme.example/webhook"}); err == nil || !strings.Contains(err.Error(), "webhook URL") {
		t.Errorf("a webhook URL without a scheme: %v", err)
	}
}

func TestFormAction_Cases(t *testing.T) {
	tests := []struct {
		name, web, org, want, err string
	}{
		{"a person's App", "https://github.com", "", "https://github.com/settings/apps/new?state=s1", ""},
		{"an organization's App", "https://github.com/", "acme-corp", "https://github.com/organizations/acme-corp/settings/apps/new?state=s1", ""},
		{"GitHub Enterprise Server", "https://ghe.acme.example", "acme", "https://ghe.acme.example/organizations/acme/settings/apps/new?state=s1", ""},
		{"an org that is not a login", "https://github.com", "acme/../x", "", "org"},
		{"a web URL that is not one", "github.com", "", "", "web URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FormAction(tt.web, tt.org, "s1")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNewState_RandomAndLong(t *testing.T) {
	a, err := NewState(strings.NewReader(strings.Repeat("a", 32)))
	if err != nil || len(a) != 64 {
		t.Fatalf("%q, %v", a, err)
	}
	if _, err := NewState(strings.NewReader("short")); err == nil {
		t.Error("a state from 5 random bytes")
	}
}

// get is one request to the flow, from remote to host.
func get(f *ManifestFlow, target, remote, host string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr, r.Host = remote, host
	w := httptest.NewRecorder()
	f.ServeHTTP(w, r)
	return w
}

// TestManifestFlow_Attacker: the page serves the form on loopback, under
// the run's secret path alone (another user of the machine cannot read
// the state from it); the
// callback takes a code only with the state it issued (a forged redirect
// carrying an attacker's code is refused and the flow keeps waiting),
// only from and to a loopback address (no other host, no DNS-rebound
// name), and only once.
func TestManifestFlow_Attacker(t *testing.T) {
	const state = "0123456789abcdef"
	action := "https://github.com/settings/apps/new?state=" + state
	const prefix = "/5ec7e7"
	f := NewManifestFlow([]byte(`{"name":"Purrvision","x":"<script>"}`), action, state, prefix)
	const local, host = "127.0.0.1:5555", "127.0.0.1:4321"
	cb := prefix + CallbackPath

	form := get(f, prefix+"/", local, host)
	body := form.Body.String()
	if form.Code != http.StatusOK || !strings.Contains(body, `action="https://github.com/settings/apps/new?state=`+state+`"`) ||
		!strings.Contains(body, `name="manifest" value="{&#34;name&#34;:&#34;Purrvision&#34;,&#34;x&#34;:&#34;&lt;script&gt;&#34;}"`) {
		t.Fatalf("form: %d\n%s", form.Code, body)
	}
	if strings.Contains(body, "<script>") {
		t.Fatalf("the manifest is not escaped in the form:\n%s", body)
	}

	for _, tt := range []struct {
		name, target, remote, host string
		want                       int
	}{
		{"wrong state", cb + "?code=evil&state=fedcba9876543210", local, host, http.StatusBadRequest},
		{"no state", cb + "?code=evil", local, host, http.StatusBadRequest},
		{"from another machine", cb + "?code=evil&state=" + state, "192.0.2.7:4000", host, http.StatusForbidden},
		{"a rebound name", cb + "?code=evil&state=" + state, local, "evil.example:4321", http.StatusForbidden},
		{"the form from another machine", prefix + "/", "192.0.2.7:4000", host, http.StatusForbidden},
		{"the form without the run's secret path", "/", local, host, http.StatusNotFound},
		{"the form under another path", "/5ec7e8/", local, host, http.StatusNotFound},
		{"the callback without the run's secret path", CallbackPath + "?code=evil&state=" + state, local, host, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if w := get(f, tt.target, tt.remote, tt.host); w.Code != tt.want {
				t.Fatalf("%d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if c, err := f.Code(ctx); err == nil {
		t.Fatalf("a refused redirect handed over code %q", c)
	}

	if w := get(f, cb+"?code=good&state="+state, local, "localhost:4321"); w.Code != http.StatusOK {
		t.Fatalf("GitHub's redirect: %d %s", w.Code, w.Body)
	}
	if w := get(f, cb+"?code=again&state="+state, local, host); w.Code != http.StatusGone {
		t.Fatalf("a second redirect: %d, want 410", w.Code)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c, err := f.Code(ctx); err != nil || c != "good" {
		t.Fatalf("code %q, %v; want good", c, err)
	}
}

var testApp = forge.AppCredentials{ID: 7, Slug: "acme-purrvision", PrivateKeyPEM: []byte("-----BEGIN RSA PRIVATE KEY-----\nkey\n"), WebhookSecret: []byte("s3cret")}

func TestWriteAppFiles_0600(t *testing.T) {
	dir := t.TempDir()
	f := AppFiles{PrivateKey: filepath.Join(dir, "app.pem"), WebhookSecret: filepath.Join(dir, "webhook-secret")}
	if err := WriteAppFiles(f, testApp, false); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{f.PrivateKey: string(testApp.PrivateKeyPEM), f.WebhookSecret: "s3cret\n"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode().Perm())
		}
		if data, _ := os.ReadFile(p); string(data) != want {
			t.Errorf("%s holds %q", p, data)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 2 {
		t.Errorf("the folder holds %v, want the two files", entries)
	}
}

// TestWriteAppFiles_Attacker: an existing key or secret file is never
// replaced without overwrite, and nothing is half written: a secret file
// there already leaves no new key file either.
func TestWriteAppFiles_Attacker(t *testing.T) {
	for _, tt := range []struct {
		name     string
		existing string // "key" or "secret"
	}{
		{"an existing key", "key"},
		{"an existing secret", "secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := AppFiles{PrivateKey: filepath.Join(dir, "app.pem"), WebhookSecret: filepath.Join(dir, "webhook-secret")}
			there := map[string]string{"key": f.PrivateKey, "secret": f.WebhookSecret}[tt.existing]
			if err := os.WriteFile(there, []byte("the old one\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := WriteAppFiles(f, testApp, false)
			if !errors.Is(err, ErrFileExists) || !strings.Contains(err.Error(), there) || !strings.Contains(err.Error(), "--overwrite") {
				t.Fatalf("error %v, want one naming %s and --overwrite", err, there)
			}
			if data, _ := os.ReadFile(there); string(data) != "the old one\n" {
				t.Errorf("%s was replaced: %q", there, data)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the folder holds %v, want only the old file", entries)
			}
			if err := WriteAppFiles(f, testApp, true); err != nil {
				t.Fatalf("with overwrite: %v", err)
			}
			if data, _ := os.ReadFile(f.PrivateKey); !bytes.Equal(data, testApp.PrivateKeyPEM) {
				t.Errorf("with overwrite the key holds %q", data)
			}
		})
	}
	// A secret file that appears between the check and the write.
	dir := t.TempDir()
	f := AppFiles{PrivateKey: filepath.Join(dir, "app.pem"), WebhookSecret: filepath.Join(dir, "webhook-secret")}
	if err := writeSecretFile(f.WebhookSecret, []byte("raced\n"), false); err != nil {
		t.Fatal(err)
	}
	if err := writeSecretFile(f.WebhookSecret, []byte("mine\n"), false); !errors.Is(err, ErrFileExists) {
		t.Fatalf("linking over a file: %v", err)
	}
	if data, _ := os.ReadFile(f.WebhookSecret); string(data) != "raced\n" {
		t.Errorf("the raced file was replaced: %q", data)
	}
}

func TestAppConfig_NamesTheFilesNotTheSecrets(t *testing.T) {
	got := AppConfig(testApp, AppFiles{PrivateKey: "/s/app.pem", WebhookSecret: "/s/webhook-secret"})
	for _, want := range []string{"    id: 7\n", "    privateKeyFile: /s/app.pem\n", "  webhookSecretFile: /s/webhook-secret\n", "  botLogin: acme-purrvision[bot]\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "PRIVATE KEY") {
		t.Errorf("config holds a secret:\n%s", got)
	}
}
