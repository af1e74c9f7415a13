package reconcile

// Walks is how many times p walked down the base branch's history.
func (p *TenantsPlacement) Walks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.walks
}
