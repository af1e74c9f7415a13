package ghclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
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

// TestConvertAppManifest_NoErrorCarriesTheCode: whatever GitHub answers
// (its rate limit, a refusal, a server error), the error says what it was
// and never holds the code, which would open the App's private key to
// whoever reads the log within the hour.
func TestConvertAppManifest_NoErrorCarriesTheCode(t *testing.T) {
	const code = "0123456789abcdef-secret-code"
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for _, tt := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string
	}{
		{"primary rate limit", http.StatusForbidden, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
			`{"message":"API rate limit exceeded for 192.0.2.1."}`, "rate limit"},
		{"secondary rate limit", http.StatusForbidden, map[string]string{"Retry-After": "3600"},
			`{"message":"You have exceeded a secondary rate limit."}`, "secondary rate limit"},
		{"refused", http.StatusUnprocessableEntity, nil, `{"message":"Validation Failed"}`, "Validation Failed"},
		{"server error", http.StatusBadGateway, nil, `{"message":"Server Error"}`, "502"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			client, err := ghclient.New(ghclient.Options{APIURL: srv.URL, MaxRetries: 1, Backoff: time.Millisecond, MaxWait: time.Millisecond, CacheBytes: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.ConvertAppManifest(context.Background(), code)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), code) {
				t.Errorf("the error carries the code: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
