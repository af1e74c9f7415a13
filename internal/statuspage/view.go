package statuspage

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// PageSize is how many stores one page shows; the page is split so that it
// stays small with thousands of stores.
const PageSize = 100

// view is what the page shows for one request: the stores that match its
// filter, one page of them, and counts by phase over all stores.
type view struct {
	Stores  []Store // this page
	Total   int     // all stores
	Matched int     // stores that match the filter
	Counts  []phaseCount
	Query   string         // q: part of a store's name or requester
	Phase   v1alpha1.Phase // phase: one phase only
	Cluster string         // cluster: one cluster only
	// ClusterNames are the clusters to filter by: the configured ones and
	// any a store is on, sorted; the filter shows when there are two.
	ClusterNames []string
	Page         int
	Pages        int
	Prev         string // link to the previous page, if any
	Next         string // link to the next page, if any
	First        int    // position of the page's first store among the matched, from 1
}

type phaseCount struct {
	Phase v1alpha1.Phase
	Count int
	Link  string
}

// newView filters and pages stores, which are sorted, for a request's query.
func newView(stores []Store, clusters []Cluster, q url.Values) view {
	v := view{Total: len(stores), Query: strings.TrimSpace(q.Get("q")), Phase: v1alpha1.Phase(q.Get("phase")), Cluster: q.Get("cluster")}
	counts := map[v1alpha1.Phase]int{}
	names := map[string]bool{}
	for _, c := range clusters {
		names[c.Name] = true
	}
	needle := strings.ToLower(v.Query)
	var matched []Store
	for _, s := range stores {
		counts[s.Phase]++
		if s.Cluster != "" {
			names[s.Cluster] = true
		}
		if v.Phase != "" && s.Phase != v.Phase {
			continue
		}
		if v.Cluster != "" && s.Cluster != v.Cluster {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(s.Name), needle) && !strings.Contains(strings.ToLower(s.Requester), needle) {
			continue
		}
		matched = append(matched, s)
	}
	for p, n := range counts {
		v.Counts = append(v.Counts, phaseCount{Phase: p, Count: n, Link: link(v.Query, p, v.Cluster, 1)})
	}
	for n := range names {
		v.ClusterNames = append(v.ClusterNames, n)
	}
	sort.Strings(v.ClusterNames)
	sort.Slice(v.Counts, func(i, j int) bool { return v.Counts[i].Phase < v.Counts[j].Phase })
	v.Matched = len(matched)
	v.Pages = max(1, (len(matched)+PageSize-1)/PageSize)
	v.Page, _ = strconv.Atoi(q.Get("page"))
	v.Page = min(max(v.Page, 1), v.Pages)
	start := (v.Page - 1) * PageSize
	v.Stores = matched[start:min(start+PageSize, len(matched))]
	v.First = start + 1
	if v.Page > 1 {
		v.Prev = link(v.Query, v.Phase, v.Cluster, v.Page-1)
	}
	if v.Page < v.Pages {
		v.Next = link(v.Query, v.Phase, v.Cluster, v.Page+1)
	}
	return v
}

// link is the page's address with a query.
func link(query string, phase v1alpha1.Phase, cluster string, page int) string {
	q := url.Values{}
	if query != "" {
		q.Set("q", query)
	}
	if phase != "" {
		q.Set("phase", string(phase))
	}
	if cluster != "" {
		q.Set("cluster", cluster)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}
