package ghstandin

// RouteFailure makes the next Times calls of a route fail, before they
// are applied, with Status and GitHub's error shape carrying Message.
type RouteFailure struct {
	Times   int
	Status  int
	Message string
}

// FailRoute makes the next calls of route (as routes.go names it: "POST
// /repos/{owner}/{repo}/pulls") fail as f says; a zero f stops it.
func (s *Server) FailRoute(route string, f RouteFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOn == nil {
		s.failOn = map[string]*RouteFailure{}
	}
	if f.Times <= 0 {
		delete(s.failOn, route)
		return
	}
	s.failOn[route] = &f
}

// takeFailure counts one call of route against its failure; nil when the
// call is to be answered. s.mu is held.
func (s *Server) takeFailure(route string) *RouteFailure {
	f := s.failOn[route]
	if f == nil {
		return nil
	}
	if f.Times--; f.Times <= 0 {
		delete(s.failOn, route)
	}
	out := *f
	s.failed++
	return &out
}
