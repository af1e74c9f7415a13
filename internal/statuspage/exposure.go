package statuspage

import (
	"context"
	"time"
)

// Exposure is how the service's deployment is reached, as the cluster it
// runs in says: its HTTPRoute (or Ingress), as flux/purrvision applies it,
// and the Service behind it.
type Exposure struct {
	// Kind is HTTPRoute or Ingress; Route is its namespace/name.
	Kind, Route string
	// Hosts are the route's hostnames.
	Hosts []string
	// Service is the namespace/name of the route's backend; "" when it
	// names none. ServiceFound is whether that Service exists.
	Service      string
	ServiceFound bool
	// Parents is, for an HTTPRoute, what each Gateway it attaches to
	// says of it ("gateway-system/shared: accepted", or the reason it
	// is not); none before a Gateway controller answered.
	Parents []string
	// Problem is why it could not be read; "" when it was.
	Problem string
	// Checked is when it was read.
	Checked time.Time
}

// ExposureReader reads the service's exposure from its cluster; false
// when the service has none to ask (no route applied, or no cluster).
type ExposureReader interface {
	Exposure(ctx context.Context) (Exposure, bool)
}

// ExposureFunc is an ExposureReader as a function.
type ExposureFunc func(ctx context.Context) (Exposure, bool)

// Exposure implements ExposureReader.
func (f ExposureFunc) Exposure(ctx context.Context) (Exposure, bool) { return f(ctx) }
