// Package placement chooses the cluster a new store lands on, and checks
// that a resized store still fits the cluster it is on.
//
// It is pure: an Index holds each cluster's capacity and what the stores
// already placed there use (their plans' quotas), and is kept up to date
// one store at a time (Set, Delete) as merges land, so a decision never
// walks the tenants repo. Where the index comes from and how it follows
// the base branch is the Tracker's business (tracker.go).
package placement

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Unlimited marks a dimension of a Capacity that is not counted.
const Unlimited int64 = -1

// RegionLabel is the cluster label a request's spec.region is matched
// against.
const RegionLabel = "region"

// Resources is an amount of each dimension placement counts: CPU in
// millicores, memory and storage in bytes, and stores.
type Resources struct {
	MilliCPU int64
	Memory   int64
	Storage  int64
	Stores   int64
}

// Add returns r plus o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.MilliCPU + o.MilliCPU, r.Memory + o.Memory, r.Storage + o.Storage, r.Stores + o.Stores}
}

// Sub returns r minus o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.MilliCPU - o.MilliCPU, r.Memory - o.Memory, r.Storage - o.Storage, r.Stores - o.Stores}
}

// Amounts lists the dimensions in a fixed order, named by DimensionNames.
func (r Resources) Amounts() [4]int64 { return [4]int64{r.MilliCPU, r.Memory, r.Storage, r.Stores} }

// DimensionNames name the dimensions of Amounts, as the config does.
var DimensionNames = [4]string{"cpu", "memory", "storage", "stores"}

// FormatAmount writes the amount v of dimension dim (an index of Amounts)
// as the config has it: cpu in cores or millicores, memory and storage in
// binary units, stores as a count.
func FormatAmount(dim int, v int64) string {
	switch dim {
	case 0:
		return resource.NewMilliQuantity(v, resource.DecimalSI).String()
	case 1, 2:
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return fmt.Sprint(v)
}

// Cluster is a cluster placement may choose. A dimension of Capacity set
// to Unlimited is not counted.
type Cluster struct {
	Name     string
	Labels   map[string]string
	Capacity Resources
}

// Request asks where a store goes.
type Request struct {
	Store string
	// Need is what the store's plan reserves; Stores is counted as 1
	// whatever it says.
	Need Resources
	// Cluster, when set, is the only cluster the store may go to.
	Cluster string
	// Region, when set, keeps the store to clusters labelled with it.
	Region string
	// Kept: Cluster is where an earlier render of the store placed it,
	// not what the request names (for the words of Decision.Why).
	Kept bool
}

// Decision is where a store goes, and why, in words for the pull request
// and its check.
type Decision struct {
	Cluster string
	Why     string
}

// Fit is how a cluster compares with what a store needs.
type Fit struct {
	Cluster string
	// Free is the capacity left, per dimension; Unlimited where not
	// counted.
	Free Resources
	// Short names each dimension the store does not fit in, with the
	// numbers, such as "cpu: needs 2, 1500m free of 16".
	Short []string
}

// NoFitError refuses a store that fits in none of the clusters it may go
// to, with the numbers of each.
type NoFitError struct {
	Store string
	// Where says which clusters were considered: "cluster eu-1", "region
	// eu", "any cluster".
	Where string
	Fits  []Fit
}

func (e *NoFitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "store %s does not fit in %s", e.Store, e.Where)
	if len(e.Fits) == 1 && e.Where == "cluster "+e.Fits[0].Cluster {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.Fits[0].Short, ", "))
		return b.String()
	}
	for i, f := range e.Fits {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", f.Cluster, strings.Join(f.Short, ", "))
	}
	return b.String()
}

// FieldError refuses what a request's field asks for: a cluster or a
// region no cluster has, or a cluster outside the region.
type FieldError struct {
	// Field is the request's field path: spec.cluster or spec.region.
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

type cluster struct {
	Cluster
	used Resources
}

type placed struct {
	name    string
	cluster *cluster
	use     Resources
}

// Index is the capacity and use of every cluster. It is not safe for
// concurrent use; the Tracker guards it.
//
// It counts stores by a key that names one store (the Tracker's is the
// store's folder in the tenants repo, which holds one store at a time):
// two stores that bear the same name, one after the other or at once in
// two clusters' folders, are two entries, and forgetting one leaves the
// other counted.
type Index struct {
	clusters []*cluster // by name
	byName   map[string]*cluster
	stores   map[string]placed
	// named are the keys of each store name.
	named map[string]map[string]bool
}

// NewIndex returns an index of clusters with no store on them.
func NewIndex(clusters []Cluster) *Index {
	ix := &Index{byName: make(map[string]*cluster, len(clusters)), stores: map[string]placed{}, named: map[string]map[string]bool{}}
	for _, c := range clusters {
		cl := &cluster{Cluster: c}
		ix.clusters = append(ix.clusters, cl)
		ix.byName[c.Name] = cl
	}
	sort.Slice(ix.clusters, func(i, j int) bool { return ix.clusters[i].Name < ix.clusters[j].Name })
	return ix
}

// Len is the number of stores in the index.
func (ix *Index) Len() int { return len(ix.stores) }

// Set records that store is on cluster and uses use (Stores counts as 1),
// replacing what was recorded of it: Put with the name as its key.
func (ix *Index) Set(store, cluster string, use Resources) { ix.Put(store, store, cluster, use) }

// Put records that the store of key, named name, is on cluster and uses
// use (Stores counts as 1), replacing what was recorded of key. A cluster
// the index does not know (one removed from the config) is recorded as
// the store's place but counted nowhere.
func (ix *Index) Put(key, name, cluster string, use Resources) {
	ix.Delete(key)
	use.Stores = 1
	cl := ix.byName[cluster]
	if cl != nil {
		cl.used = cl.used.Add(use)
	}
	ix.stores[key] = placed{name: name, cluster: cl, use: use}
	if ix.named[name] == nil {
		ix.named[name] = map[string]bool{}
	}
	ix.named[name][key] = true
}

// Delete forgets the store of key.
func (ix *Index) Delete(key string) {
	p, ok := ix.stores[key]
	if !ok {
		return
	}
	if p.cluster != nil {
		p.cluster.used = p.cluster.used.Sub(p.use)
	}
	delete(ix.stores, key)
	delete(ix.named[p.name], key)
	if len(ix.named[p.name]) == 0 {
		delete(ix.named, p.name)
	}
}

// Usage is one cluster's capacity and what its stores use.
type Usage struct {
	Cluster
	Used Resources
}

// Usage lists every cluster's capacity and use, by name.
func (ix *Index) Usage() []Usage {
	out := make([]Usage, len(ix.clusters))
	for i, c := range ix.clusters {
		out[i] = Usage{Cluster: c.Cluster, Used: c.used}
	}
	return out
}

// fit compares what is free on c, not counting store (a resize replaces
// its own use), with need: whether it fits, and the share of the
// capacity left after it in the tightest dimension.
func (ix *Index) fit(c *cluster, store string, need Resources) (ok bool, score float64) {
	free, capa, n := ix.free(c, store), c.Capacity.Amounts(), need.Amounts()
	score = math.Inf(1)
	for d := range capa {
		if capa[d] < 0 {
			continue
		}
		if n[d] > free[d] {
			return false, 0
		}
		if capa[d] > 0 {
			score = min(score, float64(free[d]-n[d])/float64(capa[d]))
		}
	}
	return true, score
}

// free is what c has left, not counting store; Unlimited where not
// counted.
func (ix *Index) free(c *cluster, store string) [4]int64 {
	used := c.used
	for key := range ix.named[store] {
		if p := ix.stores[key]; p.cluster == c {
			used = used.Sub(p.use)
		}
	}
	capa, u := c.Capacity.Amounts(), used.Amounts()
	var free [4]int64
	for d := range capa {
		free[d] = Unlimited
		if capa[d] >= 0 {
			free[d] = capa[d] - u[d]
		}
	}
	return free
}

// shortOf words how need does not fit c, with the numbers.
func (ix *Index) shortOf(c *cluster, store string, need Resources) Fit {
	free, capa, n := ix.free(c, store), c.Capacity.Amounts(), need.Amounts()
	f := Fit{Cluster: c.Name, Free: Resources{free[0], free[1], free[2], free[3]}}
	for d := range capa {
		if capa[d] >= 0 && n[d] > free[d] {
			f.Short = append(f.Short, fmt.Sprintf("%s: needs %s, %s free of %s", DimensionNames[d], FormatAmount(d, n[d]), FormatAmount(d, max(free[d], 0)), FormatAmount(d, capa[d])))
		}
	}
	return f
}

// Place chooses a cluster for a new store: the one named, or among those
// of the region asked for (or all), the one where the most stays free
// after it, as a share of its capacity in its tightest dimension; ties go
// to the first by name. A store that fits nowhere is refused with the
// numbers.
func (ix *Index) Place(r Request) (Decision, error) {
	r.Need.Stores = 1
	candidates, where, err := ix.candidates(r)
	if err != nil {
		return Decision{}, err
	}
	var best *cluster
	bestScore := math.Inf(-1)
	for _, c := range candidates {
		if ok, score := ix.fit(c, r.Store, r.Need); ok && (best == nil || score > bestScore) {
			best, bestScore = c, score
		}
	}
	if best == nil {
		short := make([]Fit, len(candidates))
		for i, c := range candidates {
			short[i] = ix.shortOf(c, r.Store, r.Need)
		}
		return Decision{}, &NoFitError{Store: r.Store, Where: where, Fits: short}
	}
	return Decision{Cluster: best.Name, Why: ix.why(r, best, len(candidates))}, nil
}

func (ix *Index) candidates(r Request) ([]*cluster, string, error) {
	switch {
	case r.Cluster != "":
		c := ix.byName[r.Cluster]
		if c == nil {
			return nil, "", &FieldError{Field: "spec.cluster", Msg: fmt.Sprintf("%q is not a cluster; choose one of: %s", r.Cluster, strings.Join(ix.names(), ", "))}
		}
		if r.Region != "" && c.Labels[RegionLabel] != r.Region {
			return nil, "", &FieldError{Field: "spec.region", Msg: fmt.Sprintf("cluster %s is not in region %s (its region is %q); leave the cluster or the region empty", r.Cluster, r.Region, c.Labels[RegionLabel])}
		}
		return []*cluster{c}, "cluster " + r.Cluster, nil
	case r.Region != "":
		var out []*cluster
		for _, c := range ix.clusters {
			if c.Labels[RegionLabel] == r.Region {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			return nil, "", &FieldError{Field: "spec.region", Msg: fmt.Sprintf("no cluster is in region %q; choose one of: %s", r.Region, strings.Join(ix.regions(), ", "))}
		}
		return out, "region " + r.Region, nil
	}
	return ix.clusters, "any cluster", nil
}

func (ix *Index) why(r Request, c *cluster, candidates int) string {
	var free []string
	capa, fr := c.Capacity.Amounts(), ix.free(c, r.Store)
	for d := range capa {
		if capa[d] >= 0 {
			free = append(free, fmt.Sprintf("%s %s of %s", DimensionNames[d], FormatAmount(d, fr[d]), FormatAmount(d, capa[d])))
		}
	}
	left := "no capacity is counted there"
	if len(free) > 0 {
		left = "free before this store: " + strings.Join(free, ", ")
	}
	switch {
	case r.Kept:
		return fmt.Sprintf("where its first render placed it; %s", left)
	case r.Cluster != "":
		return fmt.Sprintf("the request names cluster %s; %s", c.Name, left)
	case candidates == 1 && r.Region != "":
		return fmt.Sprintf("the only cluster in region %s; %s", r.Region, left)
	case candidates == 1:
		return fmt.Sprintf("the only cluster; %s", left)
	case r.Region != "":
		return fmt.Sprintf("the most free capacity of the %d clusters in region %s; %s", candidates, r.Region, left)
	}
	return fmt.Sprintf("the most free capacity of %d clusters; %s", candidates, left)
}

// Fits checks that store, resized to need, still fits cluster; a
// *NoFitError says by how much it does not.
func (ix *Index) Fits(store, cluster string, need Resources) error {
	need.Stores = 1
	c := ix.byName[cluster]
	if c == nil {
		return nil // a cluster no longer configured counts nothing
	}
	if ok, _ := ix.fit(c, store, need); !ok {
		return &NoFitError{Store: store, Where: "cluster " + cluster, Fits: []Fit{ix.shortOf(c, store, need)}}
	}
	return nil
}

func (ix *Index) names() []string {
	out := make([]string, len(ix.clusters))
	for i, c := range ix.clusters {
		out[i] = c.Name
	}
	return out
}

func (ix *Index) regions() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range ix.clusters {
		if r := c.Labels[RegionLabel]; r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"(no cluster has a region label)"}
	}
	return out
}
