package placement_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/placement"
)

const (
	gi = int64(1) << 30
	u  = placement.Unlimited
)

// small and large are two plans' quotas.
var (
	small = placement.Resources{MilliCPU: 1000, Memory: 2 * gi, Storage: 10 * gi}
	large = placement.Resources{MilliCPU: 4000, Memory: 8 * gi, Storage: 50 * gi}
)

func capacity(cpu, mem, storage, stores int64) placement.Resources {
	return placement.Resources{MilliCPU: cpu, Memory: mem, Storage: storage, Stores: stores}
}

type stored struct {
	name, cluster string
	use           placement.Resources
}

func index(clusters []placement.Cluster, stores ...stored) *placement.Index {
	ix := placement.NewIndex(clusters)
	for _, s := range stores {
		ix.Set(s.name, s.cluster, s.use)
	}
	return ix
}

func TestPlace(t *testing.T) {
	eu1 := placement.Cluster{Name: "eu-1", Labels: map[string]string{"region": "eu"}, Capacity: capacity(8000, 32*gi, 500*gi, 100)}
	eu2 := placement.Cluster{Name: "eu-2", Labels: map[string]string{"region": "eu"}, Capacity: capacity(8000, 32*gi, 500*gi, 100)}
	us1 := placement.Cluster{Name: "us-1", Labels: map[string]string{"region": "us"}, Capacity: capacity(16000, 64*gi, 1000*gi, 100)}
	open := placement.Cluster{Name: "open", Capacity: capacity(u, u, u, u)}
	tiny := placement.Cluster{Name: "tiny", Capacity: capacity(2000, 4*gi, 20*gi, 2)}
	three := []placement.Cluster{us1, eu2, eu1} // out of order on purpose

	cases := []struct {
		name     string
		clusters []placement.Cluster
		stores   []stored
		req      placement.Request
		want     string
		why      string
		err      string
	}{
		{name: "empty clusters tie: the first by name", clusters: []placement.Cluster{eu2, eu1}, req: placement.Request{Store: "a", Need: small}, want: "eu-1", why: "the most free capacity of 2 clusters"},
		{name: "the larger share left wins", clusters: three, req: placement.Request{Store: "a", Need: small}, want: "us-1"},
		{name: "use counts", clusters: []placement.Cluster{eu1, eu2}, stores: []stored{{"x", "eu-1", small}}, req: placement.Request{Store: "a", Need: small}, want: "eu-2"},
		{name: "the tightest dimension decides", clusters: []placement.Cluster{eu1, eu2},
			// eu-1 has more CPU left, but less storage.
			stores: []stored{{"x", "eu-1", placement.Resources{Storage: 400 * gi}}, {"y", "eu-2", placement.Resources{MilliCPU: 4000}}},
			req:    placement.Request{Store: "a", Need: small}, want: "eu-2"},
		{name: "the stores count is a dimension", clusters: []placement.Cluster{tiny, open}, stores: []stored{{"x", "tiny", placement.Resources{}}, {"y", "tiny", placement.Resources{}}},
			req: placement.Request{Store: "a"}, want: "open"},
		{name: "an unlimited cluster is always roomiest", clusters: []placement.Cluster{eu1, open}, req: placement.Request{Store: "a", Need: large}, want: "open", why: "no capacity is counted there"},
		{name: "region keeps to its clusters", clusters: three, req: placement.Request{Store: "a", Need: small, Region: "eu"}, want: "eu-1", why: "the most free capacity of the 2 clusters in region eu"},
		{name: "region with one cluster", clusters: three, req: placement.Request{Store: "a", Need: small, Region: "us"}, want: "us-1", why: "the only cluster in region us"},
		{name: "a named cluster is taken though others are roomier", clusters: three, req: placement.Request{Store: "a", Need: small, Cluster: "eu-2"}, want: "eu-2", why: "the request names cluster eu-2; free before this store: cpu 8 of 8"},
		{name: "a named cluster that is full", clusters: []placement.Cluster{tiny, open}, stores: []stored{{"x", "tiny", large}},
			req: placement.Request{Store: "a", Need: small, Cluster: "tiny"}, err: "store a does not fit in cluster tiny (cpu: needs 1, 0 free of 2, memory: needs 2Gi, 0 free of 4Gi, storage: needs 10Gi, 0 free of 20Gi)"},
		{name: "full everywhere: the numbers of each", clusters: []placement.Cluster{eu1, tiny},
			stores: []stored{{"x", "eu-1", capacity(7500, 0, 0, 0)}, {"y", "tiny", capacity(2000, 0, 0, 0)}},
			req:    placement.Request{Store: "a", Need: small},
			err:    "store a does not fit in any cluster: eu-1 (cpu: needs 1, 500m free of 8); tiny (cpu: needs 1, 0 free of 2)"},
		{name: "full in the region only", clusters: three, stores: []stored{{"x", "us-1", capacity(16000, 0, 0, 0)}},
			req: placement.Request{Store: "a", Need: small, Region: "us"}, err: "store a does not fit in region us: us-1 (cpu: needs 1, 0 free of 16)"},
		{name: "unknown cluster", clusters: three, req: placement.Request{Store: "a", Cluster: "mars"}, err: `spec.cluster: "mars" is not a cluster; choose one of: eu-1, eu-2, us-1`},
		{name: "unknown region", clusters: three, req: placement.Request{Store: "a", Region: "mars"}, err: `spec.region: no cluster is in region "mars"; choose one of: eu, us`},
		{name: "cluster outside the region", clusters: three, req: placement.Request{Store: "a", Cluster: "us-1", Region: "eu"}, err: `spec.region: cluster us-1 is not in region eu (its region is "us")`},
		{name: "a zero capacity takes nothing", clusters: []placement.Cluster{{Name: "closed", Capacity: capacity(u, u, u, 0)}}, req: placement.Request{Store: "a"},
			err: "store a does not fit in any cluster: closed (stores: needs 1, 0 free of 0)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := index(tc.clusters, tc.stores...).Place(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Place = %+v, %v; want an error with %q", d, err, tc.err)
				}
				return
			}
			if err != nil || d.Cluster != tc.want || !strings.Contains(d.Why, tc.why) {
				t.Fatalf("Place = %+v, %v; want cluster %s because %q", d, err, tc.want, tc.why)
			}
		})
	}
}

func TestPlace_NoFitErrorIsTyped(t *testing.T) {
	ix := index([]placement.Cluster{{Name: "a", Capacity: capacity(1000, u, u, u)}})
	_, err := ix.Place(placement.Request{Store: "big", Need: large})
	var nf *placement.NoFitError
	if !errors.As(err, &nf) || len(nf.Fits) != 1 || nf.Fits[0].Free.MilliCPU != 1000 || nf.Fits[0].Free.Memory != u {
		t.Fatalf("err = %#v", err)
	}
}

func TestFits_Resize(t *testing.T) {
	c := placement.Cluster{Name: "c", Capacity: capacity(6000, 12*gi, 100*gi, 10)}
	cases := []struct {
		name   string
		stores []stored
		store  string
		need   placement.Resources
		err    string
	}{
		{name: "growing into what is free", stores: []stored{{"a", "c", small}, {"b", "c", small}}, store: "a", need: large},
		{name: "its own use is not counted twice", stores: []stored{{"a", "c", large}}, store: "a", need: capacity(6000, 12*gi, 100*gi, 0)},
		{name: "growing past it", stores: []stored{{"a", "c", small}, {"b", "c", large}}, store: "a", need: large,
			err: "store a does not fit in cluster c (cpu: needs 4, 2 free of 6, memory: needs 8Gi, 4Gi free of 12Gi)"},
		{name: "shrinking always fits", stores: []stored{{"a", "c", large}, {"b", "c", capacity(3000, 0, 0, 0)}}, store: "a", need: small},
		{name: "a cluster gone from the config counts nothing", stores: []stored{{"a", "gone", small}}, store: "a", need: large},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster := tc.stores[0].cluster
			err := index([]placement.Cluster{c}, tc.stores...).Fits(tc.store, cluster, tc.need)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
				t.Fatalf("Fits = %v; want %q", err, tc.err)
			}
		})
	}
}

func TestIndex_SetAndDeleteKeepTheSums(t *testing.T) {
	ix := placement.NewIndex([]placement.Cluster{{Name: "a", Capacity: capacity(u, u, u, u)}, {Name: "b", Capacity: capacity(u, u, u, u)}})
	ix.Set("s1", "a", small)
	ix.Set("s2", "a", large)
	ix.Set("s1", "a", large) // a resize replaces, not adds
	ix.Set("s3", "b", small)
	ix.Delete("s2")
	ix.Delete("nothing")
	got := ix.Usage()
	want := []placement.Resources{{MilliCPU: 4000, Memory: 8 * gi, Storage: 50 * gi, Stores: 1}, {MilliCPU: 1000, Memory: 2 * gi, Storage: 10 * gi, Stores: 1}}
	for i, w := range want {
		if got[i].Used != w {
			t.Errorf("cluster %s uses %+v, want %+v", got[i].Name, got[i].Used, w)
		}
	}
	if ix.Len() != 2 {
		t.Errorf("Len = %d, want 2", ix.Len())
	}
}
