package ghclient_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
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
}
