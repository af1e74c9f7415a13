package config

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ClusterSettings are the effective settings of one cluster: its own keys,
// and the top-level ones where it sets none. The renderer, placement and the
// watchers read these, never the two levels of the config. Maps and
// quantities are shared with the config: read them, never change them.
type ClusterSettings struct {
	Name       string
	BaseDomain string
	// Exposure is gateway or ingress, never empty.
	Exposure Exposure
	// Gateway is the shared Gateway, with Namespace and PodLabels of its
	// pods filled in; meaningful when Exposure is gateway.
	Gateway Gateway
	// Ingress is the ingress controller; meaningful when Exposure is ingress.
	Ingress IngressSettings
	// StorageClass is the cluster's default for plans that name none;
	// StorageClassFor resolves a plan's.
	StorageClass string
	Capacity     Capacity
	Labels       map[string]string
	// Backup is the cluster's backup target, else backups.target; nil
	// when neither is set (whole, never merged key by key).
	Backup *BackupTarget
}

// IngressSettings are a cluster's effective ingress keys.
type IngressSettings struct {
	Namespace     string
	PodLabels     map[string]string
	ClassName     string
	TLS           bool
	ClusterIssuer string
}

// StorageClassFor is the StorageClass of the volumes of a store on plan p:
// the plan's, else the cluster's, else "" (the cluster's default class).
func (s ClusterSettings) StorageClassFor(p Plan) string {
	if p.StorageClass != "" {
		return p.StorageClass
	}
	return s.StorageClass
}

// ClusterSettings resolves the effective settings of the cluster named
// name. An unknown name gets the top-level settings alone.
//
// Exposure: the cluster's, else the top-level one; when neither is set, a
// cluster with a Gateway (its own or the top-level one) is exposed through
// it, and one without keeps the Ingress Purrvision rendered before there
// was a choice, so an existing config renders the same stores.
func (c *Config) ClusterSettings(name string) ClusterSettings {
	cl := Cluster{Name: name}
	for _, x := range c.Clusters {
		if x.Name == name {
			cl = x
			break
		}
	}
	top := c
	s := ClusterSettings{
		Name:         name,
		BaseDomain:   or(cl.BaseDomain, top.BaseDomain),
		StorageClass: cl.StorageClass,
		Labels:       cl.Labels,
		Backup:       orPtr(cl.Backup, top.Backups.Target),
		Capacity: Capacity{
			CPU:     orPtr(cl.Capacity.CPU, top.Capacity.CPU),
			Memory:  orPtr(cl.Capacity.Memory, top.Capacity.Memory),
			Storage: orPtr(cl.Capacity.Storage, top.Capacity.Storage),
			Stores:  orPtr(cl.Capacity.Stores, top.Capacity.Stores),
		},
	}

	ref := ParentRef{
		Name:        or(cl.Gateway.ParentRef.Name, top.Gateway.ParentRef.Name),
		Namespace:   or(cl.Gateway.ParentRef.Namespace, top.Gateway.ParentRef.Namespace),
		SectionName: or(cl.Gateway.ParentRef.SectionName, top.Gateway.ParentRef.SectionName),
	}
	s.Gateway = Gateway{
		ParentRef: ref,
		Namespace: or(cl.Gateway.Namespace, top.Gateway.Namespace, ref.Namespace),
		PodLabels: orMap(cl.Gateway.PodLabels, top.Gateway.PodLabels),
	}
	if len(s.Gateway.PodLabels) == 0 && ref.Name != "" {
		s.Gateway.PodLabels = map[string]string{LabelGatewayName: ref.Name}
	}

	s.Ingress = IngressSettings{
		Namespace:     or(cl.Ingress.Namespace, top.Ingress.Namespace),
		PodLabels:     orMap(cl.Ingress.PodLabels, top.Ingress.PodLabels),
		ClassName:     or(cl.Ingress.ClassName, top.Ingress.ClassName),
		ClusterIssuer: or(cl.Ingress.TLS.ClusterIssuer, top.Ingress.TLS.ClusterIssuer),
	}
	if tls := orPtr(cl.Ingress.TLS.Enabled, top.Ingress.TLS.Enabled); tls != nil {
		s.Ingress.TLS = *tls
	}

	switch {
	case cl.Exposure != "":
		s.Exposure = cl.Exposure
	case top.Exposure != "":
		s.Exposure = top.Exposure
	case ref.Name != "" || ref.Namespace != "":
		s.Exposure = ExposureGateway
	default:
		s.Exposure = ExposureIngress
	}
	return s
}

// validateClusters checks every cluster's own keys and its effective
// settings, each error naming the key to fix.
func (c *Config) validateClusters() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Exposure != "" && c.Exposure != ExposureGateway && c.Exposure != ExposureIngress {
		add("exposure", "%q is not one of gateway, ingress", c.Exposure)
	}
	errs = append(errs, checkGateway("gateway", c.Gateway)...)
	errs = append(errs, checkCapacity("capacity", c.Capacity)...)

	seen := map[string]bool{}
	allDomains := true
	for i, cl := range c.Clusters {
		key := fmt.Sprintf("clusters[%d]", i)
		if msgs := validation.IsDNS1123Label(cl.Name); len(msgs) > 0 {
			add(key+".name", "%q must be lowercase letters, digits and '-'", cl.Name)
		}
		if seen[cl.Name] {
			add(key+".name", "%q is listed twice", cl.Name)
		}
		seen[cl.Name] = true
		if cl.BaseDomain == "" {
			allDomains = false
		} else if !isDomain(cl.BaseDomain) {
			add(key+".baseDomain", "%q is not a DNS domain like eu.shop.example.com", cl.BaseDomain)
		}
		if cl.Exposure != "" && cl.Exposure != ExposureGateway && cl.Exposure != ExposureIngress {
			add(key+".exposure", "%q is not one of gateway, ingress", cl.Exposure)
		}
		errs = append(errs, checkGateway(key+".gateway", cl.Gateway)...)
		errs = append(errs, checkIngress(key+".ingress", cl.Ingress)...)
		if cl.StorageClass != "" {
			if msgs := validation.IsDNS1123Subdomain(cl.StorageClass); len(msgs) > 0 {
				add(key+".storageClass", "%q is not a StorageClass name (lowercase letters, digits, '-' and '.')", cl.StorageClass)
			}
		}
		errs = append(errs, checkCapacity(key+".capacity", cl.Capacity)...)
		errs = append(errs, checkLabels(key+".labels", cl.Labels)...)

		// The effective settings: what the renderer will need.
		s := c.ClusterSettings(cl.Name)
		if s.Exposure == ExposureGateway {
			if s.Gateway.ParentRef.Name == "" {
				add(key+".gateway.parentRef.name", "required with exposure gateway; name the shared Gateway here or in the top-level gateway.parentRef, or set exposure: ingress")
			}
			if s.Gateway.ParentRef.Namespace == "" {
				add(key+".gateway.parentRef.namespace", "required with exposure gateway; give the shared Gateway's namespace here or in the top-level gateway.parentRef")
			}
		}
	}
	switch {
	case c.BaseDomain == "" && !allDomains:
		add("baseDomain", "required; set the parent domain of store hosts, e.g. shop.example.com, or a baseDomain on every cluster")
	case c.BaseDomain != "" && !isDomain(c.BaseDomain):
		add("baseDomain", "%q is not a DNS domain like shop.example.com", c.BaseDomain)
	}
	return errs
}

func checkGateway(key string, g Gateway) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if n := g.ParentRef.Name; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		add(key+".parentRef.name", "%q is not a Gateway name (lowercase letters, digits, '-' and '.')", n)
	}
	if n := g.ParentRef.Namespace; n != "" && len(validation.IsDNS1123Label(n)) > 0 {
		add(key+".parentRef.namespace", "%q is not a namespace name", n)
	}
	if n := g.ParentRef.SectionName; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		add(key+".parentRef.sectionName", "%q is not a listener name (lowercase letters, digits, '-' and '.')", n)
	}
	if n := g.Namespace; n != "" && len(validation.IsDNS1123Label(n)) > 0 {
		add(key+".namespace", "%q is not a namespace name; give the namespace the Gateway's pods run in", n)
	}
	return append(errs, checkLabels(key+".podLabels", g.PodLabels)...)
}

func checkIngress(key string, ing Ingress) []error {
	var errs []error
	if n := ing.Namespace; n != "" && len(validation.IsDNS1123Label(n)) > 0 {
		errs = append(errs, fmt.Errorf("%s.namespace: %q is not a namespace name; give the namespace the ingress controller runs in", key, n))
	}
	if n := ing.ClassName; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		errs = append(errs, fmt.Errorf("%s.className: %q is not an IngressClass name (lowercase letters, digits, '-' and '.')", key, n))
	}
	if n := ing.TLS.ClusterIssuer; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		errs = append(errs, fmt.Errorf("%s.tls.clusterIssuer: %q is not a ClusterIssuer name (lowercase letters, digits, '-' and '.')", key, n))
	}
	return append(errs, checkLabels(key+".podLabels", ing.PodLabels)...)
}

func checkCapacity(key string, c Capacity) []error {
	var errs []error
	for _, q := range []struct {
		field, example string
		q              *resource.Quantity
	}{{"cpu", "64", c.CPU}, {"memory", "256Gi", c.Memory}, {"storage", "2Ti", c.Storage}} {
		if q.q != nil && q.q.Sign() < 0 {
			errs = append(errs, fmt.Errorf("%s.%s: %s must not be negative; give what the cluster offers its stores, e.g. %s, or leave it out for no limit", key, q.field, q.q.String(), q.example))
		}
	}
	if c.Stores != nil && *c.Stores < 0 {
		errs = append(errs, fmt.Errorf("%s.stores: %d must not be negative; give how many stores the cluster takes, or leave it out for no limit", key, *c.Stores))
	}
	return errs
}

func isDomain(d string) bool {
	return len(validation.IsDNS1123Subdomain(d)) == 0 && strings.Contains(d, ".")
}

// or returns the first non-empty string.
func or(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func orPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func orMap(a, b map[string]string) map[string]string {
	if len(a) > 0 {
		return a
	}
	return b
}
