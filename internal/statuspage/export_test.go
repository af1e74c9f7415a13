package statuspage

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
