package ghspec_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ghstandin/ghspec"
	"github.com/purrvision/purrvision/templates"
)

// permissionOf is the GitHub App permission an operation of the product
// needs ("" for none), by its path, and the level: read for a GET, write
// for the rest.
func permissionOf(op string) (string, string) {
	method, path, _ := strings.Cut(op, " ")
	level := "write"
	if method == "GET" {
		level = "read"
	}
	for _, p := range []struct{ part, permission string }{
		{"/protection", "administration"},
		{"/rulesets", "administration"},
		{"/labels", "issues"},
		{"/contents/", "contents"},
		{"/git/", "contents"},
		{"/check-runs", "checks"},
		{"/statuses", "statuses"},
		{"/status", "statuses"},
		{"/deployments", "deployments"},
		{"/pulls", "pull_requests"},
		{"/issues", "issues"},
		{"/collaborators/", "metadata"},
		{"/teams/", "members"},
	} {
		if strings.Contains(path, p.part) {
			return p.permission, level
		}
	}
	if path == "/repos/{owner}/{repo}" {
		return "metadata", "read"
	}
	return "", "" // public SSH keys, and the App's own token
}

// TestManifest_GrantsTheProductsOperations: the GitHub App manifest
// (templates/github-app-manifest.json) grants every permission the operations
// of ghspec.ProductOperations need, at their level: checks: write for the
// check run purrvision/plan among them.
func TestManifest_GrantsTheProductsOperations(t *testing.T) {
	var manifest struct {
		Permissions map[string]string `json:"default_permissions"`
	}
	if err := json.Unmarshal(templates.AppManifest, &manifest); err != nil {
		t.Fatal(err)
	}
	for call, op := range ghspec.ProductOperations {
		permission, level := permissionOf(op)
		if permission == "" {
			continue
		}
		granted := manifest.Permissions[permission]
		if granted != level && granted != "write" {
			t.Errorf("%s (%s) needs %s: %s; the manifest grants %q", call, op, permission, level, granted)
		}
	}
}

// TestAppManifest_CodeOnceWithinAnHour: as on GitHub, the code of an App
// created from a manifest converts once, to the App with its key and
// webhook secret, and not after an hour; an unknown code is 404. The App
// the product's manifest makes is the stand-in's own (its ID the one the
// checks and rulesets know).
func TestAppManifest_CodeOnceWithinAnHour(t *testing.T) {
	gh, c := standIn(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	gh.SetClock(func() time.Time { return now })
	code, err := gh.CreateAppFromManifest(templates.AppManifest, "acme")
	if err != nil {
		t.Fatal(err)
	}
	status, body := do(t, gh, "POST", "/app-manifests/"+code+"/conversions", "", "")
	var app struct {
		ID                 int64
		Slug, PEM          string
		WebhookSecret      string `json:"webhook_secret"`
		Owner              struct{ Login string }
		DefaultPermissions map[string]string
	}
	if err := json.Unmarshal([]byte(body), &app); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if status != http.StatusCreated || app.ID != 1 || app.Slug != "purrvision" || app.Owner.Login != "acme" ||
		!strings.HasPrefix(app.PEM, "-----BEGIN RSA PRIVATE KEY-----") || len(app.WebhookSecret) < 20 {
		t.Fatalf("the conversion: %d %s", status, body)
	}
	if status, _ := do(t, gh, "POST", "/app-manifests/"+code+"/conversions", "", ""); status != http.StatusNotFound {
		t.Errorf("a used code: %d, want 404", status)
	}
	if status, _ := do(t, gh, "POST", "/app-manifests/nosuchcode/conversions", "", ""); status != http.StatusNotFound {
		t.Errorf("an unknown code: %d, want 404", status)
	}
	late, err := gh.CreateAppFromManifest(templates.AppManifest, "acme")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(ghstandin.ManifestCodeLifetime)
	if status, _ := do(t, gh, "POST", "/app-manifests/"+late+"/conversions", "", ""); status != http.StatusNotFound {
		t.Errorf("a code an hour old: %d, want 404", status)
	}
	if _, err := gh.CreateAppFromManifest([]byte(`{"name":"x"}`), "acme"); err == nil || !strings.Contains(err.Error(), "url") {
		t.Errorf("a manifest without url: %v", err)
	}
	for _, p := range c.Problems() {
		t.Error(p)
	}
}
