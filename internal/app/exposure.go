package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/statuspage"
)

// exposureReader reads from the cluster how the service's deployment is
// reached, for the status page: the HTTPRoute (or, with the first
// cluster's exposure ingress, the Ingress) flux/purrvision applies, by its
// name, and the Service it sends to. Only reads by name, which the Role
// purrvision-exposure allows.
type exposureReader struct {
	c       client.Reader
	gateway bool
	now     func() time.Time
}

func newExposureReader(c client.Reader, cfg *config.Config, now func() time.Time) exposureReader {
	gateway := cfg.ClusterSettings(cfg.ClusterNames()[0]).Exposure == config.ExposureGateway
	if now == nil {
		now = time.Now
	}
	return exposureReader{c: c, gateway: gateway, now: now}
}

var (
	httpRouteKind = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	ingressKind   = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	serviceKind   = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
)

// Exposure implements statuspage.ExposureReader; false when no route of
// the service is applied.
func (e exposureReader) Exposure(ctx context.Context) (statuspage.Exposure, bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	kind := ingressKind
	if e.gateway {
		kind = httpRouteKind
	}
	out := statuspage.Exposure{Kind: kind.Kind, Route: flux.Namespace + "/" + flux.RouteName, Checked: e.now()}
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(kind)
	switch err := e.c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: flux.RouteName}, route); {
	case apierrors.IsNotFound(err):
		return out, false
	case err != nil:
		out.Problem = err.Error()
		return out, true
	}
	var backend string
	if e.gateway {
		out.Hosts, _, _ = unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		backend = firstBackend(rules, "backendRefs")
		out.Parents = parents(route)
	} else {
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		for _, r := range maps(rules) {
			if h, ok := r["host"].(string); ok {
				out.Hosts = append(out.Hosts, h)
			}
			paths, _, _ := unstructured.NestedSlice(r, "http", "paths")
			for _, p := range maps(paths) {
				if name, _, _ := unstructured.NestedString(p, "backend", "service", "name"); backend == "" && name != "" {
					backend = name
				}
			}
		}
	}
	if backend == "" {
		return out, true
	}
	out.Service = flux.Namespace + "/" + backend
	svc := &unstructured.Unstructured{}
	svc.SetGroupVersionKind(serviceKind)
	switch err := e.c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: backend}, svc); {
	case err == nil:
		out.ServiceFound = true
	case !apierrors.IsNotFound(err):
		out.Problem = fmt.Sprintf("reading the Service %s: %v", out.Service, err)
	}
	return out, true
}

// maps are the objects of a list from an unstructured object.
func maps(list []any) []map[string]any {
	var out []map[string]any
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// firstBackend is the name of the first backend of an HTTPRoute's rules.
func firstBackend(rules []any, field string) string {
	for _, r := range maps(rules) {
		refs, _, _ := unstructured.NestedSlice(r, field)
		for _, ref := range maps(refs) {
			if name, ok := ref["name"].(string); ok && name != "" {
				return name
			}
		}
	}
	return ""
}

// parents is what each Gateway an HTTPRoute attaches to says of it.
func parents(route *unstructured.Unstructured) []string {
	ps, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	var out []string
	for _, p := range ps {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(pm, "parentRef", "name")
		ns, _, _ := unstructured.NestedString(pm, "parentRef", "namespace")
		if ns == "" {
			ns = route.GetNamespace()
		}
		verdict := "no Accepted condition yet"
		conds, _, _ := unstructured.NestedSlice(pm, "conditions")
		for _, c := range conds {
			cm, ok := c.(map[string]any)
			if !ok || cm["type"] != "Accepted" {
				continue
			}
			if cm["status"] == "True" {
				verdict = "accepted"
			} else {
				verdict = fmt.Sprintf("not accepted: %v: %v", cm["reason"], cm["message"])
			}
		}
		out = append(out, fmt.Sprintf("Gateway %s/%s: %s", ns, name, verdict))
	}
	return out
}

// cachedExposure reads the exposure at most once per ttl: the status page
// may be viewed often, and each read is two API calls.
type cachedExposure struct {
	r   statuspage.ExposureReader
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	at    time.Time
	last  statuspage.Exposure
	shown bool
}

// Exposure implements statuspage.ExposureReader.
func (c *cachedExposure) Exposure(ctx context.Context) (statuspage.Exposure, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.at.IsZero() || now.Sub(c.at) >= c.ttl {
		c.last, c.shown = c.r.Exposure(ctx)
		c.at = now
	}
	return c.last, c.shown
}
