package statuspage

import (
	"context"
	"fmt"
	"sort"

	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/renderer"
)

// Cluster is a cluster as the page shows it: how its stores are served,
// and what they reserve of its capacity.
type Cluster struct {
	Name string
	// Labels are the cluster's labels as key=value, sorted.
	Labels []string
	// Exposure is gateway or ingress.
	Exposure   string
	BaseDomain string
	// Dims are cpu, memory, storage and stores, in that order.
	Dims []Dim
	// Counts are the cluster's stores by phase; the Handler fills them
	// from the store list.
	Counts []phaseCount
}

// Dim is one dimension of a cluster's capacity.
type Dim struct {
	Name string
	// Used is what the cluster's stores reserve (their plans' quotas), as
	// people read it: 1500m, 4Gi, 12.
	Used string
	// Capacity is "" when the dimension is not counted (no limit).
	Capacity string
	// Percent is Used as a share of Capacity, rounded down; over 100 when
	// the capacity was lowered below what is placed; 100 for a capacity of
	// 0 (closed to new stores). 0 without a limit.
	Percent int
}

// ClusterLister lists the clusters with their capacity and use. A Source
// that is one gets a clusters section on the page.
type ClusterLister interface {
	Clusters(ctx context.Context) ([]Cluster, error)
}

// Clusters implements ClusterLister, at the commit of the base branch the
// last Stores read. The use comes from a placement.Tracker, the index
// provisioning places stores by: it reads every request copy once, then
// only those each newer commit changes. It asks GitHub nothing.
func (s *RepoSource) Clusters(ctx context.Context) ([]Cluster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var usage []placement.Usage
	if s.snap == nil {
		// No base branch yet: no store on any cluster.
		usage = placement.NewIndex(placement.FromConfig(s.Config)).Usage()
	} else {
		if s.tracker == nil {
			s.tracker = placement.NewTracker(s.Config, placement.FromConfig(s.Config), s.Repo)
		}
		var tree renderer.Tree = s.snap
		if s.trackedTree != nil {
			tree = s.trackedTree(tree)
		}
		var err error
		if usage, err = s.tracker.At(tree, s.head).Usage(); err != nil {
			return nil, fmt.Errorf("reading each cluster's use: %w", err)
		}
	}
	out := make([]Cluster, len(usage))
	for i, u := range usage {
		set := s.Config.ClusterSettings(u.Name)
		c := Cluster{Name: u.Name, Exposure: string(set.Exposure), BaseDomain: set.BaseDomain, Dims: dims(u)}
		for k, v := range u.Labels {
			c.Labels = append(c.Labels, k+"="+v)
		}
		sort.Strings(c.Labels)
		out[i] = c
	}
	return out, nil
}

// dims words a cluster's use, dimension by dimension.
func dims(u placement.Usage) []Dim {
	capa, used, names := u.Capacity.Amounts(), u.Used.Amounts(), placement.DimensionNames
	out := make([]Dim, 4)
	for d := range capa {
		out[d] = Dim{Name: names[d], Used: placement.FormatAmount(d, used[d])}
		switch {
		case capa[d] == placement.Unlimited:
		case capa[d] == 0:
			// A cluster closed to new stores is full.
			out[d].Capacity, out[d].Percent = placement.FormatAmount(d, 0), 100
		default:
			out[d].Capacity = placement.FormatAmount(d, capa[d])
			out[d].Percent = int(used[d] * 100 / capa[d])
		}
	}
	return out
}
