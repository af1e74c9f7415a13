package ghspec_test

import (
	"encoding/json"
	"strings"
	"testing"

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
