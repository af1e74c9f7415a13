package ghclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
)

// pagedGitHub serves each listing in routes over pages as GitHub does:
// per_page items from page, and a Link header naming the next and last
// pages. It records the per_page of every request.
type pagedGitHub struct {
	mu      sync.Mutex
	perPage []string
	pages   map[string]int // requests by path
}

func newPagedGitHub(t *testing.T, routes map[string][]any) (*pagedGitHub, *ghclient.Client) {
	t.Helper()
	g := &pagedGitHub{pages: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found"}`))
			return
		}
		q := r.URL.Query()
		g.mu.Lock()
		g.perPage = append(g.perPage, q.Get("per_page"))
		g.pages[r.URL.Path]++
		g.mu.Unlock()
		per, _ := strconv.Atoi(q.Get("per_page"))
		if per <= 0 || per > 100 {
			per = 30
		}
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		last := max((len(all)+per-1)/per, 1)
		if page < last {
			link := func(p int) string {
				u := *r.URL
				v := u.Query()
				v.Set("page", strconv.Itoa(p))
				u.RawQuery = v.Encode()
				return "http://" + r.Host + u.String()
			}
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, link(page+1), link(last)))
		}
		from, to := min((page-1)*per, len(all)), min(page*per, len(all))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(all[from:to])
	}))
	t.Cleanup(srv.Close)
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

func items(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestClient_FollowsEveryPage: every listing the product reads is read to
// its last page, 100 items a page, whatever its length.
func TestClient_FollowsEveryPage(t *testing.T) {
	const n = 250 // three pages of 100
	repo := forge.Repo{Owner: "acme", Name: "tenants"}
	sha := "0123456789abcdef0123456789abcdef01234567"
	routes := map[string][]any{
		"GET /users/octocat/keys": items(n, func(i int) any { return map[string]any{"id": i + 1, "key": fmt.Sprintf("ssh-ed25519 KEY%d", i)} }),
		"GET /repos/acme/tenants/issues/7/comments": items(n, func(i int) any {
			return map[string]any{"id": i + 1, "body": fmt.Sprint("comment ", i), "user": map[string]any{"login": "octocat"}}
		}),
		"GET /repos/acme/tenants/issues/comments": items(n, func(i int) any { return map[string]any{"id": i + 1, "body": "c"} }),
		"GET /repos/acme/tenants/issues": items(n, func(i int) any {
			return map[string]any{"number": i + 1, "state": "open", "title": fmt.Sprint("issue ", i)}
		}),
		"GET /repos/acme/tenants/pulls": items(n, func(i int) any {
			ref := fmt.Sprint("other-", i)
			if i == n-1 {
				ref = "store/cat-cafe"
			}
			return map[string]any{"number": i + 1, "state": "open", "head": map[string]any{"ref": ref}}
		}),
		"GET /repos/acme/tenants/pulls/3/files": items(n, func(i int) any { return map[string]any{"filename": fmt.Sprint("f", i)} }),
		"GET /repos/acme/tenants/pulls/3/commits": items(n, func(i int) any {
			return map[string]any{"sha": sha, "author": map[string]any{"login": fmt.Sprint("a", i)}}
		}),
		"GET /repos/acme/tenants/pulls/3/reviews": items(n, func(i int) any {
			return map[string]any{"id": i + 1, "state": "APPROVED", "user": map[string]any{"login": fmt.Sprint("r", i)}}
		}),
		"GET /repos/acme/tenants/commits/" + sha + "/statuses": items(n, func(i int) any { return map[string]any{"context": fmt.Sprint("ctx", i), "state": "success"} }),
	}
	g, c := newPagedGitHub(t, routes)
	ctx := context.Background()

	keys, err := c.SSHKeys(ctx, "octocat")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || keys[n-1] != fmt.Sprintf("ssh-ed25519 KEY%d", n-1) {
		t.Errorf("SSHKeys: %d keys, the last %q; want %d, the one on page 3 too", len(keys), keys[len(keys)-1], n)
	}
	counts := map[string]func() (int, error){
		"ListComments": func() (int, error) {
			cs, err := c.ListComments(ctx, forge.IssueRef{Repo: repo, Number: 7})
			return len(cs), err
		},
		"ListRepoComments": func() (int, error) {
			cs, err := c.ListRepoComments(ctx, repo, time.Time{})
			return len(cs), err
		},
		"ListOpenIssues": func() (int, error) {
			is, err := c.ListOpenIssues(ctx, repo, "store-request")
			return len(is), err
		},
		"ListPullFiles": func() (int, error) {
			fs, err := c.ListPullFiles(ctx, repo, 3)
			return len(fs), err
		},
		"PullCommitAuthors": func() (int, error) {
			as, err := c.PullCommitAuthors(ctx, repo, 3)
			return len(as), err
		},
		"Approvers": func() (int, error) {
			as, err := c.Approvers(ctx, repo, 3)
			return len(as), err
		},
		"ListStatuses": func() (int, error) {
			ss, err := c.ListStatuses(ctx, repo, sha)
			return len(ss), err
		},
		"FindOpenPull": func() (int, error) {
			pr, err := c.FindOpenPull(ctx, repo, "store/cat-cafe")
			if pr == nil {
				return 0, err
			}
			return pr.Number, err
		},
	}
	for name, count := range counts {
		t.Run(name, func(t *testing.T) {
			got, err := count()
			if err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("%s read %d, want %d over three pages", name, got, n)
			}
		})
	}
	for _, p := range g.perPage {
		if p != "100" {
			t.Errorf("a listing asked for per_page=%q, want 100", p)
		}
	}
	if g.pages["/users/octocat/keys"] != 3 {
		t.Errorf("SSH keys read in %d requests, want 3", g.pages["/users/octocat/keys"])
	}
}

// TestClient_ListingThatNeverEnds: a Link header that points back to a
// page already read ends the listing with an error, not a loop.
func TestClient_ListingThatNeverEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=1&per_page=100>; rel="next"`, r.Host, r.URL.Path))
		_, _ = w.Write([]byte(`[{"id":1,"key":"ssh-ed25519 AAAA"}]`))
	}))
	defer srv.Close()
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SSHKeys(context.Background(), "octocat"); err == nil {
		t.Error("a listing whose next page is the first one ended without an error")
	}
}

// TestClient_DeploymentStatusLogURL: a deployment status carries log_url
// to GitHub, and reads it back.
func TestClient_DeploymentStatusLogURL(t *testing.T) {
	var sent map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := json.NewDecoder(r.Body).Decode(&sent); err != nil {
				t.Error(err)
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":2,"state":"success"}`))
			return
		}
		_, _ = w.Write([]byte(`[{"id":2,"state":"success","log_url":"https://stores.example.com/?q=cat-cafe#store-cat-cafe","creator":{"login":"purrvision[bot]"}}]`))
	}))
	defer srv.Close()
	c, err := ghclient.New(ghclient.Options{APIURL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	repo := forge.Repo{Owner: "acme", Name: "tenants"}
	link := "https://stores.example.com/?q=cat-cafe#store-cat-cafe"
	if err := c.CreateDeploymentStatus(context.Background(), repo, 1, forge.DeploymentStatus{State: "success", Description: "Ready", LogURL: link}); err != nil {
		t.Fatal(err)
	}
	if sent["log_url"] != link {
		t.Errorf("sent %v, want log_url %s", sent, link)
	}
	st, err := c.LatestDeploymentStatus(context.Background(), repo, 1, "purrvision[bot]")
	if err != nil || st == nil || st.LogURL != link {
		t.Errorf("LatestDeploymentStatus = %+v, %v", st, err)
	}
}
