package config

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Service is how Purrvision itself is reached in the cluster that serves
// the webhooks (the first): what `purrvision flux` writes into its
// HTTPRoute or Ingress and its NetworkPolicy. The Gateway or ingress
// controller is the first cluster's (ClusterSettings).
type Service struct {
	// Host is the public host name GitHub delivers webhooks to:
	// https://<host>/webhook, the URL given to `purrvision setup app`.
	Host string `json:"host,omitempty"`
	// MonitoringNamespace, when set, is the one namespace whose pods may
	// scrape the service's metrics; none may when empty.
	MonitoringNamespace string `json:"monitoringNamespace,omitempty"`
}

func (s Service) validate() []error {
	var errs []error
	if s.Host != "" && (!isDomain(s.Host) || strings.HasPrefix(s.Host, "*")) {
		errs = append(errs, fmt.Errorf("service.host: %q is not a host name like purrvision.example.com (no scheme, port, path or wildcard)", s.Host))
	}
	if n := s.MonitoringNamespace; n != "" && len(validation.IsDNS1123Label(n)) > 0 {
		errs = append(errs, fmt.Errorf("service.monitoringNamespace: %q is not a namespace name; give the namespace your metrics scraper runs in, or leave it out", n))
	}
	return errs
}

// ParseImage splits an image reference (repository:tag, repository@digest
// or repository:tag@digest) into its parts, by the rules chart.image
// follows: a lowercase repository with an optional registry host, a
// pinned tag (never latest), a sha256 digest; at least one of the two.
func ParseImage(ref string) (ChartImage, error) {
	var im ChartImage
	rest := ref
	if r, d, ok := strings.Cut(rest, "@"); ok {
		rest, im.Digest = r, d
	}
	// A tag follows the last ':' after the last '/': a ':' before it is
	// the registry's port.
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, im.Tag = rest[:i], rest[i+1:]
	}
	im.Repository = rest
	if errs := im.validate(); len(errs) > 0 {
		return ChartImage{}, fmt.Errorf("%q is not an image reference like registry.example.com/purrvision:v1 or registry.example.com/purrvision@sha256:<64 hex>", ref)
	}
	return im, nil
}
