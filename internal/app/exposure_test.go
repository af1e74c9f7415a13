package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/internal/testutil"
)

func object(kind string, spec map[string]any, status map[string]any) *unstructured.Unstructured {
	gvk := map[string]string{"HTTPRoute": "gateway.networking.k8s.io/v1", "Ingress": "networking.k8s.io/v1", "Service": "v1"}[kind]
	name := "purrvision"
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": gvk, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "purrvision"}, "spec": spec}}
	if status != nil {
		o.Object["status"] = status
	}
	return o
}

// TestExposure_Cases: what the status page says of the service's route,
// from the objects flux/purrvision applies.
func TestExposure_Cases(t *testing.T) {
	route := object("HTTPRoute", map[string]any{
		"hostnames": []any{"purrvision.example.com"},
		"rules":     []any{map[string]any{"backendRefs": []any{map[string]any{"name": "purrvision", "port": int64(80)}}}},
	}, map[string]any{"parents": []any{map[string]any{
		"parentRef":  map[string]any{"name": "shared", "namespace": "gateway-system"},
		"conditions": []any{map[string]any{"type": "Accepted", "status": "True", "reason": "Accepted", "message": ""}},
	}}})
	refused := route.DeepCopy()
	_ = unstructured.SetNestedSlice(refused.Object, []any{map[string]any{
		"parentRef":  map[string]any{"name": "shared", "namespace": "gateway-system"},
		"conditions": []any{map[string]any{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": "namespace not allowed"}},
	}}, "status", "parents")
	ingress := object("Ingress", map[string]any{"rules": []any{map[string]any{"host": "hooks.example.com",
		"http": map[string]any{"paths": []any{map[string]any{"path": "/webhook", "pathType": "Exact",
			"backend": map[string]any{"service": map[string]any{"name": "purrvision", "port": map[string]any{"number": int64(80)}}}}}}}}}, nil)
	svc := object("Service", map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}, nil)
	tests := []struct {
		name     string
		exposure config.Exposure
		objs     []client.Object
		shown    bool
		service  bool
		parents  []string
		hosts    []string
	}{
		{"nothing applied", config.ExposureGateway, nil, false, false, nil, nil},
		{"route, Service, accepted", config.ExposureGateway, []client.Object{route, svc}, true, true, []string{"Gateway gateway-system/shared: accepted"}, []string{"purrvision.example.com"}},
		{"route refused by its Gateway", config.ExposureGateway, []client.Object{refused, svc}, true, true,
			[]string{"Gateway gateway-system/shared: not accepted: NotAllowedByListeners: namespace not allowed"}, []string{"purrvision.example.com"}},
		{"route without its Service", config.ExposureGateway, []client.Object{route}, true, false, []string{"Gateway gateway-system/shared: accepted"}, []string{"purrvision.example.com"}},
		{"ingress", config.ExposureIngress, []client.Object{ingress, svc}, true, true, nil, []string{"hooks.example.com"}},
		{"an Ingress when the config says gateway is not read", config.ExposureGateway, []client.Object{ingress, svc}, false, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testutil.ExampleConfig(t)
			cfg.Exposure = tt.exposure
			for i := range cfg.Clusters {
				cfg.Clusters[i].Exposure = ""
			}
			c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(tt.objs...).Build()
			e, shown := newExposureReader(c, cfg, func() time.Time { return time.Unix(0, 0) }).Exposure(context.Background())
			if shown != tt.shown {
				t.Fatalf("shown %v, want %v (%+v)", shown, tt.shown, e)
			}
			if !shown {
				return
			}
			if e.Problem != "" || e.ServiceFound != tt.service || !slices.Equal(e.Parents, tt.parents) || !slices.Equal(e.Hosts, tt.hosts) || e.Service != "purrvision/purrvision" {
				t.Errorf("exposure %+v", e)
			}
		})
	}
}

// countingExposure counts its reads.
type countingExposure struct{ reads int }

func (c *countingExposure) Exposure(context.Context) (statuspage.Exposure, bool) {
	c.reads++
	return statuspage.Exposure{Kind: "HTTPRoute"}, true
}

// TestExposure_ReadOncePerTTL: views of the page within the TTL read the
// cluster once.
func TestExposure_ReadOncePerTTL(t *testing.T) {
	now := time.Unix(0, 0)
	inner := &countingExposure{}
	c := &cachedExposure{r: inner, ttl: 15 * time.Second, now: func() time.Time { return now }}
	for range 5 {
		c.Exposure(context.Background())
	}
	now = now.Add(15 * time.Second)
	c.Exposure(context.Background())
	if inner.reads != 2 {
		t.Errorf("%d reads, want one per TTL (2)", inner.reads)
	}
}
