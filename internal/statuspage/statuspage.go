// Package statuspage serves the read-only status page at GET /: every store
// with its phase, URL, requester and plan, links to its issue and pull
// request, and its timeline; each cluster with its exposure and what its
// stores reserve of its capacity; the newest fleet rollouts with their
// waves; the requests in progress (recorded, not merged yet) with the
// bot's last failed write for each; and whether GitHub's settings are as
// `purrvision setup` writes them. It is server-rendered HTML that works without
// JavaScript and refreshes itself; it shows nothing secret (names, phases,
// links and the timeline Purrvision already posts on GitHub).
package statuspage

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"html/template"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// Store is one row of the page.
type Store struct {
	Name      string
	Cluster   string
	Plan      string
	Requester string
	Phase     v1alpha1.Phase
	URL       string
	IssueURL  string
	Issue     string
	PullURL   string
	Timeline  []storestatus.Event
	// Omitted counts the events the progress comment left out.
	Omitted int
	// Note says why the store shows no recorded state: the bot's record
	// of the issue its request copy names is another store's.
	Note string
	// LastError is the bot's write for the store that keeps failing
	// ("could not open the pull request: ..., retrying"); "" when none.
	LastError string
}

// Source lists the stores.
type Source interface {
	Stores(ctx context.Context) ([]Store, error)
}

// Refused is a ledger file Purrvision refused to read as state.
type Refused struct {
	File   string
	Reason string
}

// RefusalLister is a Source that knows the ledger files refused.
type RefusalLister interface {
	Refused() []Refused
}

// Auth protects the page with HTTP basic authentication when Password is
// set.
type Auth struct {
	Username string
	Password []byte
}

//go:embed page.html
var files embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"title":  v1alpha1.Phase.Title,
	"anchor": v1alpha1.StatusAnchor,
	"add": func(a ...int) int {
		n := 0
		for _, x := range a {
			n += x
		}
		return n
	},
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).ParseFS(files, "page.html"))

// Handler serves the page, caching the store list for TTL.
type Handler struct {
	Source Source
	// Settings, when set, is the check of GitHub's settings the page
	// shows in its "GitHub settings" section, read live on each request.
	Settings SettingsChecker
	// Exposure, when set, is how the service's deployment is reached (its
	// route and the Service behind it), read live on each request.
	Exposure ExposureReader
	Auth     Auth
	TTL      time.Duration
	Now      func() time.Time

	mu      sync.Mutex
	cached  *lists // nil before the first read
	fetched time.Time
}

// lists are what the page shows, as read from the Source at once.
type lists struct {
	stores   []Store
	rollouts []Rollout
	clusters []Cluster
	requests []Request
	// requestsInAll counts the requests in progress, shown or not.
	requestsInAll int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.Auth.Password) > 0 && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Purrvision", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	l, fetched, err := h.lists(r.Context())
	if err != nil {
		logctx.From(r.Context()).Error("status page: listing stores", "error", err)
		if l == nil {
			http.Error(w, "the store list is not available right now", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	data := map[string]any{"View": newView(l.stores, l.clusters, r.URL.Query()), "Rollouts": l.rollouts, "Clusters": l.clusters, "Now": now(),
		"Requests": l.requests, "RequestsInAll": l.requestsInAll}
	if l, ok := h.Source.(RefusalLister); ok {
		// Read live, not cached: a refusal shows at once.
		data["Refused"] = l.Refused()
	}
	if h.Settings != nil {
		data["Settings"] = h.Settings.GitHubSettings()
	}
	if h.Exposure != nil {
		if e, ok := h.Exposure.Exposure(r.Context()); ok {
			data["Exposure"] = e
		}
	}
	if err != nil {
		// An outage of GitHub or of the tenants repo: show the last list, and say so.
		data["StaleSince"] = fetched
	}
	if err := page.Execute(w, data); err != nil {
		logctx.From(r.Context()).Error("status page: rendering", "error", err)
	}
}

func (h *Handler) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	// Compare digests, so the time taken says nothing about the password.
	got, want := sha256.Sum256([]byte(pass)), sha256.Sum256(h.Auth.Password)
	u1, u2 := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(h.Auth.Username))
	return subtle.ConstantTimeCompare(got[:], want[:])&subtle.ConstantTimeCompare(u1[:], u2[:]) == 1
}

// lists returns the store list, and the rollouts, the clusters and the
// requests in progress when the Source lists them, and when they were
// read. When reading fails it returns the error with the last lists read,
// if there are.
func (h *Handler) lists(ctx context.Context) (*lists, time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ttl := h.TTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	if h.cached != nil && time.Since(h.fetched) < ttl {
		return h.cached, h.fetched, nil
	}
	var l lists
	var err error
	if l.stores, err = h.Source.Stores(ctx); err != nil {
		return h.cached, h.fetched, err
	}
	if s, ok := h.Source.(RolloutLister); ok {
		if l.rollouts, err = s.Rollouts(ctx); err != nil {
			return h.cached, h.fetched, err
		}
	}
	if s, ok := h.Source.(ClusterLister); ok {
		if l.clusters, err = s.Clusters(ctx); err != nil {
			return h.cached, h.fetched, err
		}
	}
	if s, ok := h.Source.(RequestLister); ok {
		if l.requests, l.requestsInAll, err = s.Requests(ctx); err != nil {
			return h.cached, h.fetched, err
		}
	}
	if l.stores == nil {
		l.stores = []Store{}
	}
	sort.Slice(l.stores, func(i, j int) bool { return l.stores[i].Name < l.stores[j].Name })
	countByCluster(l.stores, l.clusters)
	h.cached, h.fetched = &l, time.Now()
	return h.cached, h.fetched, nil
}

// countByCluster fills each cluster's counts of stores by phase, each
// linking to the list of those stores.
func countByCluster(stores []Store, clusters []Cluster) {
	if len(clusters) == 0 {
		return
	}
	at := make(map[string]map[v1alpha1.Phase]int, len(clusters))
	for _, c := range clusters {
		at[c.Name] = map[v1alpha1.Phase]int{}
	}
	for _, s := range stores {
		if m := at[s.Cluster]; m != nil {
			m[s.Phase]++
		}
	}
	for i := range clusters {
		c := &clusters[i]
		c.Counts = nil
		for p, n := range at[c.Name] {
			c.Counts = append(c.Counts, phaseCount{Phase: p, Count: n, Link: link("", p, c.Name, 1)})
		}
		sort.Slice(c.Counts, func(i, j int) bool { return c.Counts[i].Phase < c.Counts[j].Phase })
	}
}
