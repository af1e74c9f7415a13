package ghclient_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

// TestTransport_PrimaryRateLimit: a 403 with X-RateLimit-Remaining: 0 is
// retried after X-RateLimit-Reset, and a POST is retried too since GitHub
// did not process it.
func TestTransport_PrimaryRateLimit(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":1,"body":"hi","user":{"login":"purrvision[bot]"}}`))
	}))
	defer srv.Close()
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t", MaxWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cm, err := c.CreateComment(context.Background(), forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1}, "hi")
	if err != nil {
		t.Fatalf("CreateComment after a primary rate limit: %v", err)
	}
	if cm.ID != 1 || calls.Load() != 2 {
		t.Errorf("comment %d after %d calls", cm.ID, calls.Load())
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %v, before the reset", waited)
	}
}

// TestTransport_ServerErrorNotRetriedForPOST: a POST that failed with a
// 502 may have been applied, so it is returned to the caller.
func TestTransport_ServerErrorNotRetriedForPOST(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComment(context.Background(), forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1}, "hi"); err == nil {
		t.Fatal("a 502 on POST was taken as success")
	}
	if calls.Load() != 1 {
		t.Errorf("POST sent %d times, want 1", calls.Load())
	}
	calls.Store(0)
	if _, err := c.GetIssue(context.Background(), forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1}); err == nil {
		t.Fatal("GET kept failing but returned no error")
	}
	if calls.Load() != 7 {
		t.Errorf("GET sent %d times, want 7 (1 + 6 retries)", calls.Load())
	}
}

// TestClient_GitHubApp: a GitHub App client exchanges its JWT for an
// installation token and calls the API with it.
func TestClient_GitHubApp(t *testing.T) {
	s, _ := setup(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	c, err := ghclient.New(ghclient.Options{APIURL: s.URL(), App: &ghclient.App{ID: 42, InstallationID: 7, PrivateKey: pemKey}})
	if err != nil {
		t.Fatal(err)
	}
	n := s.OpenIssue("acme/stores", "octocat", "t", "b")
	if _, err := c.GetIssue(context.Background(), forge.IssueRef{Repo: stores, Number: n}); err != nil {
		t.Fatal(err)
	}
	if s.Authorizations()["token ghs_standin_7"] == 0 {
		t.Errorf("no call carried the installation token: %v", s.Authorizations())
	}
	// Who it acts as is the App's bot, asked as the App itself: the
	// stand-in's App is ghstandin.AppID; another ID is no App it knows.
	if login, err := c.Identity(context.Background()); err != nil || login != "app-42[bot]" {
		t.Errorf("Identity() of App 42 = %q, %v; want its own bot, app-42[bot]", login, err)
	}
	own, err := ghclient.New(ghclient.Options{APIURL: s.URL(), App: &ghclient.App{ID: ghstandin.AppID, InstallationID: 7, PrivateKey: pemKey}})
	if err != nil {
		t.Fatal(err)
	}
	if login, err := own.Identity(context.Background()); err != nil || login != ghstandin.BotLogin {
		t.Errorf("Identity() = %q, %v; want %q", login, err, ghstandin.BotLogin)
	}
	tok, err := ghclient.New(ghclient.Options{APIURL: s.URL(), Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if login, err := tok.Identity(context.Background()); err != nil || login != ghstandin.BotLogin {
		t.Errorf("a token's Identity() = %q, %v; want the user the stand-in takes the token for, %q", login, err, ghstandin.BotLogin)
	}
}

// TestTransport_RateLimits: GitHub's rate limits are waited out when the
// wait is short, and returned to the caller as a *forge.RateLimitError
// naming the wait when it is longer than MaxWait, without sleeping; a 403
// that is not a rate limit is neither.
func TestTransport_RateLimits(t *testing.T) {
	reset := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		message string
		// wantCalls is 2 when the call is retried and succeeds.
		wantCalls int32
		wantWait  time.Duration // of the error; 0 when the call succeeds or is no rate limit
		secondary bool
	}{
		{name: "429 with a short Retry-After is retried", status: http.StatusTooManyRequests,
			header: map[string]string{"Retry-After": "1"}, wantCalls: 2},
		{name: "403 secondary limit with a short Retry-After is retried", status: http.StatusForbidden,
			header: map[string]string{"Retry-After": "1"}, message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", wantCalls: 2},
		{name: "429 with a long Retry-After is returned", status: http.StatusTooManyRequests,
			header: map[string]string{"Retry-After": "3600"}, wantCalls: 1, wantWait: time.Hour, secondary: true},
		{name: "403 secondary limit without Retry-After waits at least a minute", status: http.StatusForbidden,
			message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", wantCalls: 1, wantWait: time.Minute, secondary: true},
		{name: "429 without headers waits at least a minute", status: http.StatusTooManyRequests,
			wantCalls: 1, wantWait: time.Minute, secondary: true},
		{name: "primary limit resetting in two hours is returned", status: http.StatusForbidden,
			header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset(2 * time.Hour)}, message: "API rate limit exceeded",
			wantCalls: 1, wantWait: 2 * time.Hour},
		{name: "primary limit as a 429 is returned", status: http.StatusTooManyRequests,
			header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset(time.Hour)}, wantCalls: 1, wantWait: time.Hour},
		{name: "403 refusal is no rate limit", status: http.StatusForbidden,
			message: "Resource not accessible by integration", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					for k, v := range tt.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(`{"message":"` + tt.message + `","documentation_url":"https://docs.github.com/rest"}`))
					return
				}
				_, _ = w.Write([]byte(`{"number":1,"title":"t","state":"open"}`))
			}))
			defer srv.Close()
			c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t", MaxWait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.GetIssue(context.Background(), forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1})
			took := time.Since(start)
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
			wait, limited := forge.RetryAfter(err)
			switch {
			case tt.wantCalls == 2:
				if err != nil {
					t.Errorf("after a short wait: %v", err)
				}
				if took < 900*time.Millisecond {
					t.Errorf("retried after %v, before Retry-After", took)
				}
			case tt.wantWait == 0:
				if err == nil || limited {
					t.Errorf("a refusal: err = %v, rate limited %v; want an error that is no rate limit", err, limited)
				}
			default:
				if !limited || wait < tt.wantWait-2*time.Second || wait > tt.wantWait+2*time.Second {
					t.Errorf("err = %v: want a rate limit of %v", err, tt.wantWait)
				}
				var rl *forge.RateLimitError
				if errors.As(err, &rl) && rl.Secondary != tt.secondary {
					t.Errorf("secondary = %v, want %v", rl.Secondary, tt.secondary)
				}
				if took > time.Second {
					t.Errorf("the call slept %v through a wait longer than MaxWait", took)
				}
			}
		})
	}
}

// TestClient_SpentPrimaryLimitRefusedWithoutACall: once GitHub says the
// primary limit is spent until a reset, the next call is refused as a rate
// limit until then, without a request.
func TestClient_SpentPrimaryLimitRefusedWithoutACall(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(30*time.Minute).Unix(), 10))
		w.Header().Set("X-RateLimit-Resource", "core")
		_, _ = w.Write([]byte(`{"number":1,"title":"t","state":"open"}`))
	}))
	defer srv.Close()
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1}
	if _, err := c.GetIssue(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetIssue(context.Background(), ref)
	if wait, ok := forge.RetryAfter(err); !ok || wait < 29*time.Minute || wait > 31*time.Minute {
		t.Errorf("after the limit was spent: %v; want a rate limit of 30m", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}
