package setup

// Creating the GitHub App through GitHub's manifest flow
// (`purrvision setup app`): the manifest (templates.AppManifest, the one
// list of the permissions and events the product needs, with an install's
// URLs), the form that posts it to GitHub, the loopback page GitHub
// redirects back to with a code, and the files the App's secrets are
// written to. The code's exchange is ghclient.ConvertAppManifest.

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/templates"
)

// CallbackPath is the path of the loopback page GitHub redirects to.
const CallbackPath = "/callback"

// ManifestOptions are what an install puts into the App manifest.
type ManifestOptions struct {
	// Name is the App's name; its slug (lowercased, dashes) + "[bot]" is
	// the login the bot acts as (github.botLogin). The manifest's when "".
	Name string
	// WebhookURL is where GitHub delivers events: the service's /webhook.
	WebhookURL string
	// RedirectURL is the loopback page that takes the code.
	RedirectURL string
}

// AppManifest is the product's manifest with an install's name, webhook
// URL and redirect URL.
func AppManifest(o ManifestOptions) ([]byte, error) {
	hook, err := url.Parse(o.WebhookURL)
	if err != nil || (hook.Scheme != "https" && hook.Scheme != "http") || hook.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: give the service's public URL of /webhook, e.g. https://purrvision.example.com/webhook", o.WebhookURL)
	}
	var m map[string]any
	if err := json.Unmarshal(templates.AppManifest, &m); err != nil {
		return nil, fmt.Errorf("reading templates/github-app-manifest.json: %w", err)
	}
	if o.Name != "" {
		m["name"] = o.Name
	}
	hookAttrs, _ := m["hook_attributes"].(map[string]any)
	if hookAttrs == nil {
		hookAttrs = map[string]any{"active": true}
	}
	hookAttrs["url"] = hook.String()
	m["hook_attributes"] = hookAttrs
	m["redirect_url"] = o.RedirectURL
	return json.MarshalIndent(m, "", "  ")
}

// NewState is the manifest flow's state: 32 random bytes in hex, which
// GitHub hands back with the code and the loopback page checks.
func NewState(random io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("making the state: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// loginPattern is what GitHub allows in an account's login.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)

// FormAction is where the manifest form posts, on GitHub's web (webURL:
// https://github.com, or a GitHub Enterprise Server's root): the
// organization's new App page when org is set, the person's otherwise,
// with the state.
func FormAction(webURL, org, state string) (string, error) {
	u, err := url.Parse(webURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("web URL %q: give GitHub's web root, e.g. https://github.com or https://github.example.com", webURL)
	}
	p := "/settings/apps/new"
	if org != "" {
		if !loginPattern.MatchString(org) {
			return "", fmt.Errorf("org %q is not a GitHub organization's login: give it as in github.com/<org>", org)
		}
		p = "/organizations/" + org + p
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawQuery = url.Values{"state": {state}}.Encode()
	return u.String(), nil
}

// ManifestFlow is the loopback side of the manifest flow: Prefix+"/"
// serves the form that posts the manifest to GitHub, and
// Prefix+CallbackPath takes the code GitHub redirects back with. It
// answers only requests made to a loopback address by a loopback client,
// only under its prefix (a random path only the terminal prints, so
// another user of the machine cannot read the form's state and race
// GitHub's redirect with a code of theirs), takes the code only with the
// state it issued, and only once.
type ManifestFlow struct {
	manifest []byte
	action   string
	state    string
	prefix   string

	mu    sync.Mutex
	taken bool
	code  chan string
}

// NewManifestFlow serves manifest posted to action, GitHub's page with
// state in its query (FormAction), under prefix ("/" + a NewState).
func NewManifestFlow(manifest []byte, action, state, prefix string) *ManifestFlow {
	return &ManifestFlow{manifest: manifest, action: action, state: state, prefix: strings.TrimSuffix(prefix, "/"), code: make(chan string, 1)}
}

// PagePath is the form's path; CallbackURLPath GitHub's redirect's.
func (f *ManifestFlow) PagePath() string { return f.prefix + "/" }

// CallbackURLPath is the path GitHub redirects to (the manifest's
// redirect_url).
func (f *ManifestFlow) CallbackURLPath() string { return f.prefix + CallbackPath }

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Create the Purrvision GitHub App</title></head>
<body>
<h1>Create the Purrvision GitHub App</h1>
<p>This sends the App's manifest to GitHub. There, check the name and click
"Create GitHub App"; GitHub brings you back here and the terminal finishes.</p>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
</body></html>
`))

var donePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>GitHub App created</title></head>
<body><h1>GitHub App created</h1><p>Return to the terminal.</p></body></html>
`

// ServeHTTP serves the form and the callback.
func (f *ManifestFlow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action "+formOrigin(f.action)+"; frame-ancestors 'none'")
	if !loopback(r) {
		http.Error(w, "only a browser on this machine, at a loopback address, may use this page", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case subtle.ConstantTimeCompare([]byte(p), []byte(f.PagePath())) == 1:
		h.Set("Content-Type", "text/html; charset=utf-8")
		_ = formPage.Execute(w, struct{ Action, Manifest string }{f.action, string(f.manifest)})
	case subtle.ConstantTimeCompare([]byte(p), []byte(f.CallbackURLPath())) == 1:
		f.callback(w, r)
	default:
		http.NotFound(w, r)
	}
}

// callback takes GitHub's redirect: the code, with the state issued.
func (f *ManifestFlow) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		http.Error(w, "the state is not the one this page issued: start again from the form", http.StatusBadRequest)
		return
	}
	code := q.Get("code")
	if code == "" {
		http.Error(w, "no code: GitHub did not create the App", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	taken := f.taken
	f.taken = true
	f.mu.Unlock()
	if taken {
		http.Error(w, "the code was already taken", http.StatusGone)
		return
	}
	select {
	case f.code <- code:
	default: // taken is set once: never here
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, donePage)
}

// Code waits for the code GitHub redirected with.
func (f *ManifestFlow) Code(ctx context.Context) (string, error) {
	select {
	case c := <-f.code:
		return c, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for GitHub's redirect: %w", ctx.Err())
	}
}

// loopback is whether a request came from a loopback address to one: a
// page elsewhere cannot reach it, even by a name that resolves to this
// machine (the Host it names is not a loopback one).
func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return false
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(name, "[]"))
	return ip != nil && ip.IsLoopback()
}

// formOrigin is the scheme and host of the form's action, for the page's
// Content-Security-Policy.
func formOrigin(action string) string {
	u, err := url.Parse(action)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// AppFiles are where setup app writes the App's secrets.
type AppFiles struct {
	PrivateKey    string // github.app.privateKeyFile
	WebhookSecret string // github.webhookSecretFile
}

// ErrFileExists is a secret file already there, which setup app does not
// overwrite unless told to.
var ErrFileExists = errors.New("exists")

// CheckAppFiles refuses, before the App is created, files that are there
// already (unless overwrite) or the same file twice.
func CheckAppFiles(f AppFiles, overwrite bool) error {
	if f.PrivateKey == "" || f.WebhookSecret == "" {
		return errors.New("give the private key file and the webhook secret file")
	}
	if filepath.Clean(f.PrivateKey) == filepath.Clean(f.WebhookSecret) {
		return fmt.Errorf("the private key and the webhook secret both go to %s: give two files", f.PrivateKey)
	}
	if overwrite {
		return nil
	}
	for _, p := range []string{f.PrivateKey, f.WebhookSecret} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %w; move it away, or pass --overwrite to replace it", p, ErrFileExists)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	return nil
}

// WriteAppFiles writes the App's private key and webhook secret, each
// readable by its owner only (0600), both or neither. An existing file
// is left as it is, and an error, unless overwrite.
func WriteAppFiles(f AppFiles, app forge.AppCredentials, overwrite bool) error {
	if err := CheckAppFiles(f, overwrite); err != nil {
		return err
	}
	if len(app.WebhookSecret) == 0 {
		return errors.New("GitHub sent no webhook secret: the manifest's webhook must be active")
	}
	if err := writeSecretFile(f.PrivateKey, app.PrivateKeyPEM, overwrite); err != nil {
		return err
	}
	if err := writeSecretFile(f.WebhookSecret, append(append([]byte{}, app.WebhookSecret...), '\n'), overwrite); err != nil {
		if rmErr := os.Remove(f.PrivateKey); rmErr != nil {
			return fmt.Errorf("%w (and removing %s again: %v)", err, f.PrivateKey, rmErr)
		}
		return err
	}
	return nil
}

// writeSecretFile writes data to path, 0600, through a file beside it:
// linked into place when it must not replace one (which fails if one
// appeared meanwhile), renamed over it otherwise.
func writeSecretFile(path string, data []byte, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if overwrite {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w; move it away, or pass --overwrite to replace it", path, ErrFileExists)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// AppConfig is the part of purrvision.yaml the App fills in, to paste:
// everything but the installation's ID, which GitHub shows once the App
// is installed.
func AppConfig(app forge.AppCredentials, f AppFiles) string {
	return fmt.Sprintf(`github:
  app:
    id: %d
    # installationID: once the App is installed, the number that ends its settings page's URL
    privateKeyFile: %s
  webhookSecretFile: %s
  # optional: the service learns it from GitHub at start; set, it must match
  botLogin: %s
`, app.ID, f.PrivateKey, f.WebhookSecret, app.Slug+"[bot]")
}
