package ghstandin

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// ResAppFromManifest is the App GitHub hands over for a manifest code:
// the App with its credentials, as SetObjectHook names it.
const ResAppFromManifest = "app-from-manifest"

// ManifestCodeLifetime is how long a manifest code can be exchanged:
// GitHub gives an hour.
const ManifestCodeLifetime = time.Hour

// manifestApp is an App a person created from a manifest, waiting for its
// code to be exchanged.
type manifestApp struct {
	slug, name, owner, description, url string
	permissions                         map[string]string
	events                              []string
	pem, webhookSecret, clientSecret    string
	created                             github.Timestamp
	expires                             time.Time
}

// manifest is what GitHub reads from an App manifest.
type manifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	HookAttributes *struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	DefaultEvents      []string          `json:"default_events"`
	DefaultPermissions map[string]string `json:"default_permissions"`
}

// CreateAppFromManifest is a person, owner, clicking "Create GitHub App"
// on the form a manifest filled in: GitHub creates the App, names it
// after the manifest's name (its slug, lowercased with dashes, is its bot's
// login without [bot]; the manifest named "Purrvision" makes the stand-in's
// own App, whose ID the checks and rulesets know), and hands back the code
// it appends to the manifest's redirect_url, which
// POST /app-manifests/{code}/conversions exchanges once, within an hour.
// A manifest GitHub would refuse is an error here.
func (s *Server) CreateAppFromManifest(data []byte, owner string) (string, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("reading the manifest: %w", err)
	}
	switch {
	case m.Name == "":
		return "", errors.New("manifest: name is missing")
	case m.URL == "":
		return "", errors.New("manifest: url is missing")
	case m.HookAttributes != nil && (m.HookAttributes.Active == nil || *m.HookAttributes.Active) && m.HookAttributes.URL == "":
		return "", errors.New("manifest: hook_attributes.url is missing for an active webhook")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("making the App's private key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifestCodes == nil {
		s.manifestCodes = map[string]*manifestApp{}
	}
	app := &manifestApp{
		slug: slugOf(m.Name), name: m.Name, owner: owner, description: m.Description, url: m.URL,
		permissions: m.DefaultPermissions, events: m.DefaultEvents,
		pem: string(keyPEM), webhookSecret: randomHex(20), clientSecret: randomHex(20),
		created: s.stamp(),
	}
	app.expires = app.created.Add(ManifestCodeLifetime)
	code := randomHex(10)
	s.manifestCodes[code] = app
	return code, nil
}

// convertManifest is POST /app-manifests/{code}/conversions: 201 with the
// App, its key, webhook secret and client secret, once per code; 404 for
// a code that is unknown, used or older than an hour. GitHub asks no
// authentication of this call.
func (s *Server) convertManifest(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := r.PathValue("code")
	app := s.manifestCodes[code]
	delete(s.manifestCodes, code)
	if app == nil || !s.stamp().Time.Before(app.expires) {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, s.appFromManifestJSON(app))
}

// appFromManifestJSON is an App as the conversion hands it over.
func (s *Server) appFromManifestJSON(a *manifestApp) object {
	id := appIDOf(a.slug)
	created := ts(&a.created)
	permissions := object{}
	for k, v := range a.permissions {
		permissions[k] = v
	}
	events := append([]string{}, a.events...)
	var description any
	if a.description != "" {
		description = a.description
	}
	return s.finish(ResAppFromManifest, object{
		"id": id, "slug": a.slug, "node_id": nodeID("A", id), "owner": s.userJSON(a.owner), "name": a.name,
		"description": description, "external_url": a.url, "html_url": s.baseURL + "/apps/" + a.slug,
		"created_at": created, "updated_at": created, "permissions": permissions, "events": events,
		"client_id": fmt.Sprintf("Iv1.standin%d", id), "client_secret": a.clientSecret,
		"webhook_secret": a.webhookSecret, "pem": a.pem,
	})
}

// slugOf is the slug GitHub gives an App's name: lowercase, each run of
// other characters than letters and digits a dash.
func slugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
