package statuspage

import (
	"path"
	"sync/atomic"

	"github.com/purrvision/purrvision/renderer"
)

// PlacementRebuilds is how many times the source's placement tracker read
// the whole tenants tree; 0 before it has one.
func (s *RepoSource) PlacementRebuilds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tracker == nil {
		return 0
	}
	return s.tracker.Rebuilds()
}

// CountClusterReads counts the request copies Clusters reads from the
// tenants tree, from now on.
func (s *RepoSource) CountClusterReads() *atomic.Int64 {
	n := new(atomic.Int64)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trackedTree = func(t renderer.Tree) renderer.Tree { return countingTree{t, n} }
	return n
}

type countingTree struct {
	renderer.Tree
	n *atomic.Int64
}

func (c countingTree) ReadFile(p string) ([]byte, bool, error) {
	if path.Base(p) == renderer.FileRequest {
		c.n.Add(1)
	}
	return c.Tree.ReadFile(p)
}
