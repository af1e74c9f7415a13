package renderer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// TestRender_NetworkPolicies_AllowTheExposure: the store's web pods accept
// traffic from the pods of its cluster's shared Gateway, or of its ingress
// controller, and from nowhere else; the other kind gets no policy.
func TestRender_NetworkPolicies_AllowTheExposure(t *testing.T) {
	tests := []struct {
		name          string
		cluster       config.Cluster
		wantPolicy    string
		absentPolicy  string
		wantNamespace string
		wantPods      string
	}{
		{
			name:       "the top-level gateway",
			cluster:    config.Cluster{Name: "gw"},
			wantPolicy: renderer.PolicyAllowGateway, absentPolicy: renderer.PolicyAllowIngressController,
			wantNamespace: "gateway-system", wantPods: "map[gateway.networking.k8s.io/gateway-name:shared]",
		},
		{
			name: "a cluster's own gateway, its pods in another namespace",
			cluster: config.Cluster{Name: "envoy", Gateway: config.Gateway{
				ParentRef: config.ParentRef{Name: "eu", Namespace: "infra"},
				Namespace: "envoy-gateway-system", PodLabels: map[string]string{"gateway.envoyproxy.io/owning-gateway-name": "eu"},
			}},
			wantPolicy: renderer.PolicyAllowGateway, absentPolicy: renderer.PolicyAllowIngressController,
			wantNamespace: "envoy-gateway-system", wantPods: "map[gateway.envoyproxy.io/owning-gateway-name:eu]",
		},
		{
			name:       "a cluster behind the top-level ingress controller",
			cluster:    config.Cluster{Name: "nginx", Exposure: config.ExposureIngress},
			wantPolicy: renderer.PolicyAllowIngressController, absentPolicy: renderer.PolicyAllowGateway,
			wantNamespace: "ingress-nginx", wantPods: "map[app.kubernetes.io/name:ingress-nginx]",
		},
		{
			name: "a cluster behind its own ingress controller",
			cluster: config.Cluster{Name: "traefik", Exposure: config.ExposureIngress,
				Ingress: config.Ingress{Namespace: "traefik", PodLabels: map[string]string{"app": "traefik"}}},
			wantPolicy: renderer.PolicyAllowIngressController, absentPolicy: renderer.PolicyAllowGateway,
			wantNamespace: "traefik", wantPods: "map[app:traefik]",
		},
	}
	id := testutil.AgeIdentity(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := goldenCase{name: tt.name, mutate: func(cfg *config.Config, req *v1alpha1.StoreRequest) {
				cfg.Clusters = append(cfg.Clusters, tt.cluster)
				req.Spec.Cluster = tt.cluster.Name
			}}
			policies := networkPolicies(t, renderCase(t, tc, id.Recipient().String(), 1))
			if _, ok := policies[tt.absentPolicy]; ok {
				t.Errorf("policy %s is rendered, want only %s", tt.absentPolicy, tt.wantPolicy)
			}
			p, ok := policies[tt.wantPolicy]
			if !ok {
				t.Fatalf("no policy %s among %v", tt.wantPolicy, policies)
			}
			if got := fmt.Sprint(p.Spec.PodSelector.MatchLabels); got != "map[app.kubernetes.io/component:wordpress]" {
				t.Errorf("%s selects %s, want the web pods", tt.wantPolicy, got)
			}
			if len(p.Spec.Ingress) != 1 || len(p.Spec.Ingress[0].From) != 1 {
				t.Fatalf("%s ingress = %+v, want one rule from one peer", tt.wantPolicy, p.Spec.Ingress)
			}
			from := p.Spec.Ingress[0].From[0]
			if got := from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != tt.wantNamespace || len(from.NamespaceSelector.MatchLabels) != 1 {
				t.Errorf("from namespace %v, want %s", from.NamespaceSelector.MatchLabels, tt.wantNamespace)
			}
			if got := fmt.Sprint(from.PodSelector.MatchLabels); got != tt.wantPods {
				t.Errorf("from pods %s, want %s", got, tt.wantPods)
			}
			// Nothing else lets traffic in from outside the namespace.
			for name, other := range policies {
				for _, rule := range other.Spec.Ingress {
					for _, peer := range rule.From {
						if name != tt.wantPolicy && (peer.NamespaceSelector != nil || peer.IPBlock != nil) {
							t.Errorf("policy %s lets traffic in from outside the store: %+v", name, peer)
						}
					}
				}
			}
		})
	}
}

func networkPolicies(t *testing.T, out *renderer.Output) map[string]networkingv1.NetworkPolicy {
	t.Helper()
	policies := map[string]networkingv1.NetworkPolicy{}
	for _, f := range out.Files {
		if path.Base(f.Path) != path.Base(renderer.FileNetworkPolicies) {
			continue
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(f.Data), 4096)
		for {
			var p networkingv1.NetworkPolicy
			if err := dec.Decode(&p); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("decoding %s: %v", f.Path, err)
			}
			policies[p.Name] = p
		}
	}
	if len(policies) == 0 {
		t.Fatal("no network policies rendered")
	}
	return policies
}
