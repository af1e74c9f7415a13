package statuspage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/internal/storestatus"
)

type fakeSource []statuspage.Store

func (f fakeSource) Stores(context.Context) ([]statuspage.Store, error) { return f, nil }

var at = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var stores = fakeSource{
	{Name: "cat-cafe", Cluster: "default", Plan: "small", Requester: "octocat", Phase: v1alpha1.PhaseReady,
		URL: "https://cat-cafe.shop.example.com/", Issue: "acme/stores#1", IssueURL: "https://github.com/acme/stores/issues/1",
		PullURL:  "https://github.com/acme/tenants/pull/2",
		Timeline: []storestatus.Event{{Phase: v1alpha1.PhaseMerged, At: at, Detail: `<script>alert("x")</script>`}, {Phase: v1alpha1.PhaseReady, At: at}}},
	{Name: "dog-diner", Plan: "medium", Requester: "hubot", Phase: v1alpha1.PhaseFailed},
}

// withRollouts is a store list with a rollouts section.
type withRollouts struct{ fakeSource }

func (withRollouts) Rollouts(context.Context) ([]statuspage.Rollout, error) {
	return []statuspage.Rollout{{ID: "20261125-abcdef", Title: `chart <b>0.3.0</b>`, Phase: "paused", Reason: "wave 1 has 1 failed store",
		Error: "could not open the pull request of wave 2: <b>502</b>, retrying",
		Issue: "acme/stores#9", IssueURL: "https://github.com/acme/stores/issues/9", Started: at, Stores: 3,
		Waves: []statuspage.Wave{{Number: 1, State: "merged", Stores: 1, Failed: []string{"cat-cafe"}, Pull: 7, PullURL: "https://github.com/acme/tenants/pull/7"}}},
		{ID: "20261124-000001", Title: "chart 0.2.0", Phase: "done", Issue: "acme/stores#5", Started: at, Stores: 3,
			Waves: []statuspage.Wave{{Number: 1, State: "settled", Stores: 1, Ready: 1}, {Number: 2, State: "settled", Stores: 2, Ready: 2}}}}, nil
}

func TestPage_Rollouts(t *testing.T) {
	_, body := get(t, &statuspage.Handler{Source: withRollouts{stores}}, "", "")
	for _, s := range []string{"<h2>Rollouts</h2>", `id="rollout-20261125-abcdef"`, "chart &lt;b&gt;0.3.0&lt;/b&gt;", `class="phase paused"`,
		`href="https://github.com/acme/stores/issues/9"`, `href="https://github.com/acme/tenants/pull/7">#7</a>`, "cat-cafe</details>",
		"wave 1 has 1 failed store", `<p class="error" role="status">could not open the pull request of wave 2: &lt;b&gt;502&lt;/b&gt;, retrying</p>`, `id="rollout-20261124-000001"`, `class="phase done"`, "<h2>Stores</h2>"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if _, body := get(t, &statuspage.Handler{Source: stores}, "", ""); strings.Contains(body, "Rollouts") {
		t.Error("a source without rollouts shows a rollouts section")
	}
}

// everything is a store list with rollouts and clusters.
type everything struct{ withRollouts }

func (everything) Clusters(context.Context) ([]statuspage.Cluster, error) {
	return []statuspage.Cluster{
		{Name: "default", Labels: []string{`region=<b>eu</b>`}, Exposure: "gateway", BaseDomain: "shop.example.com", Dims: []statuspage.Dim{
			{Name: "cpu", Used: "6", Capacity: "4", Percent: 150}, {Name: "memory", Used: "4Gi"}, {Name: "storage", Used: "30Gi"}, {Name: "stores", Used: "3", Capacity: "10", Percent: 30}}},
		{Name: "us-1", Exposure: "ingress", BaseDomain: "us.example.net", Dims: []statuspage.Dim{
			{Name: "cpu", Used: "0"}, {Name: "memory", Used: "0"}, {Name: "storage", Used: "0"}, {Name: "stores", Used: "0", Capacity: "0", Percent: 100}}},
	}, nil
}

// TestPage_Clusters: a source that lists clusters gets a section with
// each one's labels, exposure and use of each dimension, and its stores
// by phase counted from the store list; the stores can be filtered by
// cluster.
func TestPage_Clusters(t *testing.T) {
	h := &statuspage.Handler{Source: everything{withRollouts{stores}}}
	body := getURL(t, h, "/")
	for _, s := range []string{"<h2>Clusters</h2>", "<th>cpu</th><th>memory</th><th>storage</th><th>stores</th>", `<tr id="cluster-default">`,
		"region=&lt;b&gt;eu&lt;/b&gt;", "6 of 4 (150%)", `value="150"`, "4Gi used, no limit", "3 of 10 (30%)", "<td>gateway</td>",
		`<a href="/?cluster=default&amp;phase=ready" class="phase ready">Ready: 1</a>`, `<tr id="cluster-us-1">`, "<td>none</td>", "0 of 0 (100%)",
		"no stores</td>", "<h2>Rollouts</h2>", "<h2>Stores</h2>", "<td>cat-cafe</td>\n<td>default</td>", `<select name="cluster">`} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(body, "<b>eu") {
		t.Error("a label was not escaped")
	}
	if body := getURL(t, h, "/?cluster=us-1"); strings.Count(body, `<tr id="store-`) != 0 || !strings.Contains(body, "No store matches") {
		t.Error("the cluster filter shows stores of another cluster")
	}
	if body := getURL(t, h, "/?cluster=default&q=cat"); strings.Count(body, `<tr id="store-`) != 1 || !strings.Contains(body, `href="/?cluster=default&amp;phase=failed&amp;q=cat"`) {
		t.Errorf("cluster filter with a search:\n%s", body)
	}
	// Without a clusters section, and with one cluster, no cluster filter.
	if body := getURL(t, &statuspage.Handler{Source: stores}, "/"); strings.Contains(body, "Clusters") || strings.Contains(body, `name="cluster"`) {
		t.Error("a source without clusters shows a clusters section or filter")
	}
}

func get(t *testing.T, h http.Handler, user, pass string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, err := io.ReadAll(w.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return w.Code, string(body)
}

func TestPage_ShowsStoresEscaped(t *testing.T) {
	code, body := get(t, &statuspage.Handler{Source: stores}, "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, s := range []string{`http-equiv="refresh"`, "cat-cafe", "Ready", "https://cat-cafe.shop.example.com/", "octocat", "small",
		`href="https://github.com/acme/stores/issues/1"`, `href="https://github.com/acme/tenants/pull/2"`, "dog-diner", "Failed", "2 stores"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a timeline detail was not escaped")
	}
}

func TestPage_Auth(t *testing.T) {
	h := &statuspage.Handler{Source: stores, Auth: statuspage.Auth{Username: "ops", Password: []byte("s3cret")}}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", http.StatusUnauthorized}, {"ops", "wrong", http.StatusUnauthorized}, {"eve", "s3cret", http.StatusUnauthorized}, {"ops", "s3cret", http.StatusOK}} {
		if code, _ := get(t, h, c.user, c.pass); code != c.want {
			t.Errorf("%s/%s: %d, want %d", c.user, c.pass, code, c.want)
		}
	}
}

// TestPage_InChromium opens the page in headless Chromium and reads what a
// person sees: the rendered DOM, without JavaScript.
func TestPage_InChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Chromium (make chromium)")
	}
	bin := os.Getenv("PURRVISION_CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("Chromium is not installed: run `make chromium` (Debian's chromium package)")
		}
	}
	srv := httptest.NewServer(&statuspage.Handler{Source: everything{withRollouts{stores}}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-javascript",
		"--user-data-dir="+t.TempDir(), "--dump-dom", srv.URL+"/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, s := range []string{"Purrvision stores", `id="store-cat-cafe"`, "Ready", `id="store-dog-diner"`, "Failed", "octocat", "Store or requester", `name="phase"`,
		"Rollout 20261125-abcdef", "paused", "tracking issue acme/stores#9", "Clusters", `id="cluster-us-1"`, "6 of 4 (150%)", "no limit",
		`<meter min="0" max="100" low="80" high="95" optimum="0" value="150">`, `name="cluster"`} {
		if !strings.Contains(dom, s) {
			t.Errorf("Chromium's DOM lacks %q:\n%s", s, dom)
		}
	}
}

// flaky lists stores once, then fails, as during a GitHub outage.
type flaky struct{ calls int }

func (f *flaky) Stores(context.Context) ([]statuspage.Store, error) {
	f.calls++
	if f.calls > 1 {
		return nil, errors.New("GET https://api.github.com/repos/acme/stores/issues/comments: 502")
	}
	return stores, nil
}

func TestPage_OutageShowsTheLastList(t *testing.T) {
	h := &statuspage.Handler{Source: &flaky{}, TTL: time.Nanosecond}
	if code, body := get(t, h, "", ""); code != http.StatusOK || strings.Contains(body, "cannot be read") {
		t.Fatalf("first: %d\n%s", code, body)
	}
	code, body := get(t, h, "", "")
	if code != http.StatusOK {
		t.Fatalf("during the outage: %d", code)
	}
	for _, s := range []string{"cat-cafe", "dog-diner", "cannot be read right now"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(body, "502") || strings.Contains(body, "api.github.com") {
		t.Error("the page shows the error itself")
	}
	// Without a list to fall back on, the page says it is unavailable.
	f := &flaky{calls: 1}
	if code, _ := get(t, &statuspage.Handler{Source: f}, "", ""); code != http.StatusServiceUnavailable {
		t.Errorf("no list yet: %d, want 503", code)
	}
}

func getURL(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", target, w.Code)
	}
	return w.Body.String()
}

// TestPage_FilterAndPages: with thousands of stores the page shows 100 at a
// time, with counts by phase, a search by name or requester and a phase
// filter, all as plain links and a GET form.
func TestPage_FilterAndPages(t *testing.T) {
	var many fakeSource
	for i := range 250 {
		s := statuspage.Store{Name: fmt.Sprintf("shop-%03d", i), Requester: "octocat", Plan: "small", Phase: v1alpha1.PhaseReady}
		if i%10 == 0 {
			s.Phase, s.Requester = v1alpha1.PhaseFailed, "hubot"
		}
		many = append(many, s)
	}
	h := &statuspage.Handler{Source: many}
	rows := func(body string) int { return strings.Count(body, `<tr id="store-`) }

	body := getURL(t, h, "/")
	for _, s := range []string{"250 stores", "Failed: 25", "Ready: 225", `href="/?phase=failed"`, "Stores 1 to 100 of 250", "page 1 of 3", `href="/?page=2" rel="next"`, `id="store-shop-099"`} {
		if !strings.Contains(body, s) {
			t.Errorf("first page lacks %q", s)
		}
	}
	if n := rows(body); n != statuspage.PageSize || strings.Contains(body, `id="store-shop-100"`) {
		t.Errorf("first page shows %d rows", n)
	}
	body = getURL(t, h, "/?page=3")
	if n := rows(body); n != 50 || !strings.Contains(body, `id="store-shop-249"`) || !strings.Contains(body, `href="/?page=2" rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("last page: %d rows\n%s", n, body)
	}
	if body := getURL(t, h, "/?page=99"); !strings.Contains(body, "page 3 of 3") {
		t.Error("a page past the end does not show the last one")
	}
	body = getURL(t, h, "/?phase=failed")
	if n := rows(body); n != 25 || strings.Count(body, `class="phase failed">Failed</td>`) != 25 || !strings.Contains(body, "of 25 matching") {
		t.Errorf("phase filter: %d rows", n)
	}
	if body := getURL(t, h, "/?q=SHOP-01"); rows(body) != 10 || !strings.Contains(body, `id="store-shop-019"`) {
		t.Errorf("search by name: %d rows", rows(body))
	}
	if body := getURL(t, h, "/?q=hubot&phase=ready"); rows(body) != 0 || !strings.Contains(body, "No store matches") {
		t.Errorf("search by requester and phase: %d rows", rows(body))
	}
	if body := getURL(t, h, `/?q=%22%3E%3Cscript%3E`); strings.Contains(body, "<script>") {
		t.Error("the search text is not escaped")
	}
}

// BenchmarkPage is one view of the status page with 10,000 stores of four
// timeline events each, the store list cached.
func BenchmarkPage(b *testing.B) {
	var src fakeSource
	for i := range 10000 {
		src = append(src, statuspage.Store{Name: fmt.Sprintf("store-%05d", i), Cluster: "default", Plan: "small", Requester: "octocat",
			Phase: v1alpha1.PhaseReady, URL: "https://x.shop.example.com/", Issue: "acme/stores#1",
			IssueURL: "https://github.com/acme/stores/issues/1", PullURL: "https://github.com/acme/tenants/pull/2",
			Timeline: []storestatus.Event{{Phase: v1alpha1.PhaseMerged, At: at}, {Phase: v1alpha1.PhaseApplied, At: at},
				{Phase: v1alpha1.PhaseInstalling, At: at}, {Phase: v1alpha1.PhaseReady, At: at, Detail: "https://x.shop.example.com/"}}})
	}
	h := &statuspage.Handler{Source: src}
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?page=50", nil))
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size)/1000, "kB/page")
}

// TestPage_StoreLink: the link to a store that deployment statuses and
// progress comments carry opens a page with the store's row, whichever
// page of the full list it is on, and shows how many events its comment
// left out.
func TestPage_StoreLink(t *testing.T) {
	var many fakeSource
	for i := range 250 {
		many = append(many, statuspage.Store{Name: fmt.Sprintf("shop-%03d", i), Requester: "octocat", Plan: "small", Phase: v1alpha1.PhaseReady,
			Timeline: []storestatus.Event{{Phase: v1alpha1.PhaseReady, At: at}}, Omitted: i})
	}
	h := &statuspage.Handler{Source: many}
	link := v1alpha1.StatusPageURL("https://stores.example.com/", "shop-217")
	if link != "https://stores.example.com/?q=shop-217#store-shop-217" {
		t.Errorf("the store's link is %s", link)
	}
	target, anchor, _ := strings.Cut(strings.TrimPrefix(link, "https://stores.example.com"), "#")
	body := getURL(t, h, target)
	if !strings.Contains(body, `<tr id="`+anchor+`">`) {
		t.Errorf("the page at %s has no row %q", target, anchor)
	}
	if !strings.Contains(body, "and 217 earlier ones left out") {
		t.Error("the row does not say how many events its comment left out")
	}
}
