package ghclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/purrvision/purrvision/internal/forge"
)

// etagServer answers every GET with an ETag of the path's version, and
// 304 when If-None-Match names it. It records each request's
// If-None-Match.
type etagServer struct {
	mu       sync.Mutex
	version  map[string]int
	noneOf   []string // If-None-Match of each request, in order
	notModif int
}

func (s *etagServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inm := r.Header.Get("If-None-Match")
	s.noneOf = append(s.noneOf, inm)
	etag := fmt.Sprintf(`"%s-v%d-%s"`, r.URL.Path, s.version[r.URL.Path], r.Header.Get("Authorization"))
	w.Header().Set("ETag", etag)
	w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(4000-len(s.noneOf)))
	if inm == etag {
		s.notModif++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Link", `<`+r.URL.Path+`?page=2>; rel="next"`)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"path":%q,"version":%d,"auth":%q}`, r.URL.Path, s.version[r.URL.Path], r.Header.Get("Authorization"))
}

func (s *etagServer) lastNoneOf() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noneOf[len(s.noneOf)-1]
}

func get(t *testing.T, rt http.RoundTripper, url, auth string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestCacheTransport(t *testing.T) {
	s := &etagServer{version: map[string]int{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rt := newCacheTransport(http.DefaultTransport, 1<<20)
	url := srv.URL + "/repos/acme/stores/issues"

	_, first := get(t, rt, url, "Bearer one")
	if inm := s.lastNoneOf(); inm != "" {
		t.Errorf("the first GET sent If-None-Match %q", inm)
	}
	resp, again := get(t, rt, url, "Bearer one")
	if inm := s.lastNoneOf(); inm == "" {
		t.Error("the second identical GET was not conditional")
	}
	if s.notModif != 1 || resp.StatusCode != http.StatusOK || again != first {
		t.Errorf("on 304 (%d of them) the caller got %d %q, want 200 and the kept body %q", s.notModif, resp.StatusCode, again, first)
	}
	if resp.Header.Get("Link") == "" {
		t.Error("the kept answer lost its Link header, which pagination follows")
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "3998" {
		t.Errorf("X-RateLimit-Remaining = %s, want 3998 from the 304", got)
	}

	t.Run("another identity does not share the entry", func(t *testing.T) {
		_, other := get(t, rt, url, "Bearer two")
		if inm := s.lastNoneOf(); inm != "" {
			t.Errorf("a GET with another token sent the first token's ETag %q", inm)
		}
		if !strings.Contains(other, `"auth":"Bearer two"`) {
			t.Errorf("a GET with another token was answered %s", other)
		}
	})
	t.Run("another header does not share the entry", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer one")
		req.Header.Set("X-Standin-Act-As", "mallory")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if inm := s.lastNoneOf(); inm != "" {
			t.Errorf("a GET with other headers sent the entry's ETag %q", inm)
		}
	})
	t.Run("a changed resource is read again", func(t *testing.T) {
		s.mu.Lock()
		s.version["/repos/acme/stores/issues"]++
		s.mu.Unlock()
		_, changed := get(t, rt, url, "Bearer one")
		if !strings.Contains(changed, `"version":1`) {
			t.Errorf("after a change the caller got %s", changed)
		}
		_, kept := get(t, rt, url, "Bearer one")
		if kept != changed {
			t.Errorf("the new version was not kept: %s", kept)
		}
	})
	t.Run("other methods are not conditional", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPatch, url, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer one")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if inm := s.lastNoneOf(); inm != "" {
			t.Errorf("a PATCH sent If-None-Match %q", inm)
		}
	})
}

// TestCacheTransport_Bounded: the cache keeps at most its size, forgetting
// the least recently used answers first, and does not keep an answer too
// big for it.
func TestCacheTransport_Bounded(t *testing.T) {
	s := &etagServer{version: map[string]int{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rt := newCacheTransport(http.DefaultTransport, 4000)
	for i := range 40 {
		get(t, rt, fmt.Sprintf("%s/keys/%d", srv.URL, i), "Bearer one")
	}
	rt.mu.Lock()
	size, n := rt.size, len(rt.entries)
	rt.mu.Unlock()
	if size > 4000 || n == 0 || n >= 40 {
		t.Errorf("%d entries of %d bytes kept, want some, within 4000 bytes", n, size)
	}
	get(t, rt, srv.URL+"/keys/39", "Bearer one")
	if s.lastNoneOf() == "" {
		t.Error("the most recent answer was forgotten")
	}
	get(t, rt, srv.URL+"/keys/0", "Bearer one")
	if s.lastNoneOf() != "" {
		t.Error("the least recently used answer was kept past the bound")
	}

	small := newCacheTransport(http.DefaultTransport, 400)
	_, body := get(t, small, srv.URL+"/a/path/long/enough/to/make/the/answer/bigger/than/an/eighth", "Bearer one")
	if !strings.Contains(body, `"version":0`) {
		t.Errorf("an answer too big to keep reached the caller as %q", body)
	}
	if len(small.entries) != 0 {
		t.Error("an answer bigger than an eighth of the cache was kept")
	}
}

// TestClient_ConditionalReads: the client reads an issue twice; the
// second read is conditional, answered 304, counted as not_modified, and
// gives the same issue.
func TestClient_ConditionalReads(t *testing.T) {
	var mu sync.Mutex
	var conditional int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("ETag", `"issue-1"`)
		if r.Header.Get("If-None-Match") == `"issue-1"` {
			conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(`{"number":1,"title":"Store: cat-cafe","state":"open","user":{"login":"octocat"}}`))
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	c, err := New(Options{APIURL: srv.URL, Token: "t", Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	for i := range 2 {
		is, err := c.GetIssue(context.Background(), ref)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if is.Title != "Store: cat-cafe" || is.Author != "octocat" {
			t.Errorf("read %d = %+v", i, is)
		}
	}
	if conditional != 1 {
		t.Errorf("%d conditional reads, want 1", conditional)
	}
	want := `
# HELP purrvision_github_api_calls_total GitHub API calls by method and result (ok, not_modified, client_error, server_error, rate_limited, transport_error).
# TYPE purrvision_github_api_calls_total counter
purrvision_github_api_calls_total{method="GET",result="not_modified"} 1
purrvision_github_api_calls_total{method="GET",result="ok"} 1
`
	if err := promtest.CollectAndCompare(reg, strings.NewReader(want), "purrvision_github_api_calls_total"); err != nil {
		t.Error(err)
	}
}
