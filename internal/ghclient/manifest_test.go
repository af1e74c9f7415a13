package ghclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/templates"
)

// TestConvertAppManifest_OnceAndWithoutTheCode: the code converts to the
// App with its key and secret once; again, it is forge.ErrNotFound, and
// the error does not carry the code (go-github's would, in its URL).
func TestConvertAppManifest_OnceAndWithoutTheCode(t *testing.T) {
	gh, client := testutil.GitHub(t)
	code, err := gh.CreateAppFromManifest(templates.AppManifest, "acme")
	if err != nil {
		t.Fatal(err)
	}
	app, err := client.ConvertAppManifest(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != 1 || app.Slug != "purrvision" || app.Owner != "acme" || !strings.Contains(string(app.PrivateKeyPEM), "PRIVATE KEY") || len(app.WebhookSecret) == 0 {
		t.Fatalf("app: id %d slug %q owner %q", app.ID, app.Slug, app.Owner)
	}
	_, err = client.ConvertAppManifest(context.Background(), code)
	if !errors.Is(err, forge.ErrNotFound) || strings.Contains(err.Error(), code) {
		t.Fatalf("a used code: %v", err)
	}
}
