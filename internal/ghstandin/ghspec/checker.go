package ghspec

import (
	"fmt"
	"sort"
	"sync"

	"github.com/purrvision/purrvision/internal/ghstandin"
)

// Checker records what a stand-in answers and sends, to check it against
// the description.
type Checker struct {
	spec *Spec
	gh   *ghstandin.Server

	mu        sync.Mutex
	exchanges []ghstandin.Exchange
}

// Watch loads the description (once per process) and records every
// exchange of gh from now on.
func Watch(gh *ghstandin.Server) (*Checker, error) {
	spec, err := Load()
	if err != nil {
		return nil, err
	}
	c := &Checker{spec: spec, gh: gh}
	gh.Record(func(x ghstandin.Exchange) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.exchanges = append(c.exchanges, x)
	})
	return c, nil
}

// Problems checks every exchange recorded and every webhook sent so far,
// and returns each distinct problem once, with how often it was seen.
func (c *Checker) Problems() []string {
	c.mu.Lock()
	xs := c.exchanges
	c.exchanges = nil
	c.mu.Unlock()
	seen := map[string]int{}
	for _, x := range xs {
		if err := c.spec.Check(x); err != nil {
			seen[err.Error()]++
		}
	}
	for _, d := range c.gh.Deliveries() {
		if err := c.spec.CheckDelivery(d); err != nil {
			seen[err.Error()]++
		}
	}
	out := make([]string, 0, len(seen))
	for p, n := range seen {
		if n > 1 {
			p = fmt.Sprintf("%s (%d times)", p, n)
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
