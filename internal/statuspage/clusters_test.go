package statuspage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
	"k8s.io/apimachinery/pkg/api/resource"
)

// twoClusters makes f's config two clusters: default (the fixture's
// stores), in region eu with a capacity of 4 CPUs and 10 stores, exposed
// through the Gateway; and us-1 on its own domain, exposed by Ingress,
// with no capacity set; and closed, with room for no store.
func twoClusters(f *fixture) {
	cpu, stores, closed := resource.MustParse("4"), 10, 0
	f.source.Config.Clusters = []config.Cluster{
		{Name: "default", Labels: map[string]string{"region": "eu", "tier": "gold"}, Capacity: config.Capacity{CPU: &cpu, Stores: &stores}},
		{Name: "us-1", BaseDomain: "us.example.net", Exposure: config.ExposureIngress, Labels: map[string]string{"region": "us"}},
		{Name: "closed", Capacity: config.Capacity{Stores: &closed}},
	}
}

// merge commits changes on the tenants base branch, as a merge does.
func (f *fixture) merge(t *testing.T, msg string, changes ...tenants.Change) {
	t.Helper()
	if _, err := f.repo.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: msg, Changes: changes}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func storeOn(f *fixture, cluster, name string) tenants.Change {
	return tenants.Change{Path: renderer.StoreDir(f.source.Config, cluster, name) + "/" + renderer.FileRequest,
		Data: requestFile(name, requestRepo+"#999")}
}

func clusterByName(t *testing.T, cs []statuspage.Cluster, name string) statuspage.Cluster {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cluster %s in %+v", name, cs)
	return statuspage.Cluster{}
}

// dimsOf words a cluster's dimensions as "cpu 4 of 4 (100%)" or "cpu 1
// used".
func dimsOf(c statuspage.Cluster) string {
	var parts []string
	for _, d := range c.Dims {
		if d.Capacity == "" {
			parts = append(parts, fmt.Sprintf("%s %s used", d.Name, d.Used))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s of %s (%d%%)", d.Name, d.Used, d.Capacity, d.Percent))
		}
	}
	return strings.Join(parts, ", ")
}

// TestRepoSource_Clusters: with stores on two clusters, each store has
// the cluster of the folder it is in and a URL under that cluster's
// domain, and each cluster shows its labels, exposure and what its stores
// reserve of its capacity.
func TestRepoSource_Clusters(t *testing.T) {
	f := newFixture(t, 2) // two small stores and a medium one on default
	twoClusters(f)
	// A request copy that names another cluster than its folder's: the
	// folder decides.
	us := storeOn(f, "us-1", "yankee")
	us.Data = []byte(strings.Replace(string(us.Data), "spec:\n", "spec:\n  cluster: default\n", 1))
	f.merge(t, "merge yankee", us)
	ctx := context.Background()

	m := byName(mustStores(t, f))
	if s := m["yankee"]; s.Cluster != "us-1" || s.URL != "https://yankee.us.example.net/" {
		t.Errorf("the store on us-1: cluster %q, URL %q", s.Cluster, s.URL)
	}
	if s := m[storeName(0)]; s.Cluster != "default" || s.URL != "https://"+storeName(0)+".shop.example.com/" {
		t.Errorf("the store on default: cluster %q, URL %q", s.Cluster, s.URL)
	}
	cs, err := f.source.Clusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("clusters: %+v", cs)
	}
	def := clusterByName(t, cs, "default")
	if fmt.Sprint(def.Labels) != "[region=eu tier=gold]" || def.Exposure != "gateway" || def.BaseDomain != "shop.example.com" {
		t.Errorf("default: %+v", def)
	}
	if got, want := dimsOf(def), "cpu 4 of 4 (100%), memory 4Gi used, storage 30Gi used, stores 3 of 10 (30%)"; got != want {
		t.Errorf("default's use:\n got %s\nwant %s", got, want)
	}
	u := clusterByName(t, cs, "us-1")
	if fmt.Sprint(u.Labels) != "[region=us]" || u.Exposure != "ingress" || u.BaseDomain != "us.example.net" {
		t.Errorf("us-1: %+v", u)
	}
	if got, want := dimsOf(u), "cpu 1 used, memory 1Gi used, storage 5Gi used, stores 1 used"; got != want {
		t.Errorf("us-1's use:\n got %s\nwant %s", got, want)
	}
	if got, want := dimsOf(clusterByName(t, cs, "closed")), "cpu 0 used, memory 0 used, storage 0 used, stores 0 of 0 (100%)"; got != want {
		t.Errorf("closed:\n got %s\nwant %s", got, want)
	}
}

// TestRepoSource_ClustersFollowMerges: each cluster's use follows the
// merges on the base branch by reading only the request copies each one
// changes, never the whole tree again, and without a question to GitHub.
func TestRepoSource_ClustersFollowMerges(t *testing.T) {
	f := newFixture(t, 3)
	twoClusters(f)
	ctx := context.Background()
	reads := f.source.CountClusterReads()
	mustStores(t, f)
	if _, err := f.source.Clusters(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.source.PlacementRebuilds(); n != 1 || reads.Load() != 4 {
		t.Fatalf("the first refresh read the tree %d times, %d request copies; want once, 4", n, reads.Load())
	}
	reads.Store(0)
	// One merge adds two stores on us-1 and decommissions one on default;
	// the next, a plan change on default.
	f.merge(t, "two stores", storeOn(f, "us-1", "yankee"), storeOn(f, "us-1", "zulu"),
		tenants.Change{Path: renderer.StoreDir(f.source.Config, "default", storeName(0)) + "/" + renderer.FileRequest, Delete: true})
	bigger := storeOn(f, "default", storeName(1))
	bigger.Data = []byte(strings.Replace(string(bigger.Data), "plan: small", "plan: large", 1))
	f.merge(t, "resize", bigger)
	f.clock.advance(30 * time.Second)
	mustStores(t, f)
	before := f.gh.Calls()
	cs, err := f.source.Clusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after := f.gh.Calls(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("Clusters asked GitHub: %v, then %v", before, after)
	}
	if got, want := dimsOf(clusterByName(t, cs, "us-1")), "cpu 2 used, memory 2Gi used, storage 10Gi used, stores 2 used"; got != want {
		t.Errorf("us-1 after the merges:\n got %s\nwant %s", got, want)
	}
	// store 1 large (4 CPUs, 8Gi, 100Gi), store 2 small, orphan medium.
	if got, want := dimsOf(clusterByName(t, cs, "default")), "cpu 7 of 4 (175%), memory 11Gi used, storage 125Gi used, stores 3 of 10 (30%)"; got != want {
		t.Errorf("default after the merges:\n got %s\nwant %s", got, want)
	}
	if n := f.source.PlacementRebuilds(); n != 1 || reads.Load() != 3 {
		t.Errorf("following two merges read the whole tree %d more times, and %d request copies; want none, and the 3 they change", n-1, reads.Load())
	}
	// A refresh with the branch where it was reads nothing.
	reads.Store(0)
	mustStores(t, f)
	if _, err := f.source.Clusters(ctx); err != nil || reads.Load() != 0 {
		t.Errorf("a refresh at the same commit read %d request copies (%v)", reads.Load(), err)
	}
}

// TestPage_ClustersFromTheRepo: the page of a RepoSource shows each
// store's cluster, each cluster's use, and filters the stores by cluster.
func TestPage_ClustersFromTheRepo(t *testing.T) {
	f := newFixture(t, 2)
	twoClusters(f)
	f.merge(t, "merge yankee", storeOn(f, "us-1", "yankee"))
	h := &statuspage.Handler{Source: f.source}
	body := getURL(t, h, "/")
	for _, s := range []string{"<h2>Clusters</h2>", `<tr id="cluster-default">`, "region=eu, tier=gold", "4 of 4 (100%)", `<meter min="0" max="100" low="80" high="95" optimum="0" value="100">`,
		"3 of 10 (30%)", `<tr id="cluster-us-1">`, "us.example.net", "<td>ingress</td>", "1 used, no limit", `href="/?cluster=us-1&amp;phase=unknown"`,
		"<td>yankee</td>\n<td>us-1</td>", `<option value="us-1">us-1</option>`, "<h2>Stores</h2>"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	body = getURL(t, h, "/?cluster=us-1")
	if n := strings.Count(body, `<tr id="store-`); n != 1 || !strings.Contains(body, `id="store-yankee"`) || !strings.Contains(body, `<option value="us-1" selected>`) {
		t.Errorf("the cluster filter shows %d rows:\n%s", n, body)
	}
	if body := getURL(t, h, "/?cluster=default&phase="+string(v1alpha1.PhasePendingReview)); strings.Count(body, `<tr id="store-`) != 2 {
		t.Errorf("cluster and phase filter: %d rows", strings.Count(body, `<tr id="store-`))
	}
}
