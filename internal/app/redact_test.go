package app

import (
	"strings"
	"testing"
)

// TestRedactUserinfo: the reason /readyz gives anyone holds no credentials
// of a URL in the error (a tenants repo URL with a token in it).
func TestRedactUserinfo(t *testing.T) {
	got := redactUserinfo(`fetching https://x-access-token:ghs_secret@github.com/acme/tenants.git: 502; GET http://127.0.0.1:1/repos/acme/stores/issues: 502`)
	if strings.Contains(got, "ghs_secret") || strings.Contains(got, "x-access-token") || !strings.Contains(got, "https://REDACTED@github.com/acme/tenants.git") || !strings.Contains(got, "http://127.0.0.1:1/repos") {
		t.Errorf("redactUserinfo = %q", got)
	}
}
