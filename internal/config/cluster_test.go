package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
)

const gatewayTop = `gateway:
  parentRef: {name: shared, namespace: gateways}
`

func parse(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestClusterSettings_Exposure(t *testing.T) {
	tests := []struct {
		name   string
		append string
		want   map[string]config.Exposure
	}{
		{
			// An existing config: no gateway, no exposure. It keeps the
			// Ingress it rendered before, rather than failing or changing
			// every store.
			name:   "no gateway keeps the ingress",
			append: "ingress: {className: nginx}\n",
			want:   map[string]config.Exposure{"default": config.ExposureIngress},
		},
		{
			name:   "a top-level gateway is the default",
			append: gatewayTop + "clusters: [{name: a}, {name: b}]\n",
			want:   map[string]config.Exposure{"a": config.ExposureGateway, "b": config.ExposureGateway},
		},
		{
			name:   "a gateway with an ingress block still wins",
			append: gatewayTop + "ingress: {className: nginx}\n",
			want:   map[string]config.Exposure{"default": config.ExposureGateway},
		},
		{
			name:   "a cluster's own gateway",
			append: "clusters: [{name: a, gateway: {parentRef: {name: gw, namespace: infra}}}, {name: b}]\n",
			want:   map[string]config.Exposure{"a": config.ExposureGateway, "b": config.ExposureIngress},
		},
		{
			name:   "top-level exposure ingress despite a gateway",
			append: gatewayTop + "exposure: ingress\nclusters: [{name: a}, {name: b, exposure: gateway}]\n",
			want:   map[string]config.Exposure{"a": config.ExposureIngress, "b": config.ExposureGateway},
		},
		{
			name:   "a cluster's exposure ingress",
			append: gatewayTop + "clusters: [{name: a, exposure: ingress}, {name: b}]\n",
			want:   map[string]config.Exposure{"a": config.ExposureIngress, "b": config.ExposureGateway},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, minimal+tt.append)
			for name, want := range tt.want {
				if got := cfg.ClusterSettings(name).Exposure; got != want {
					t.Errorf("cluster %s: exposure = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestClusterSettings_FallBackToTopLevel(t *testing.T) {
	cfg := parse(t, minimal+`
ingress:
  namespace: ingress-nginx
  podLabels: {app: nginx}
  className: nginx
  tls: {enabled: true, clusterIssuer: letsencrypt}
gateway:
  parentRef: {name: shared, namespace: gateways, sectionName: https}
capacity: {cpu: "100", stores: 50}
clusters:
  - name: plain
  - name: own
    baseDomain: eu.shop.example.com
    exposure: ingress
    storageClass: fast
    capacity: {cpu: "8", memory: 32Gi, storage: 1Ti, stores: 0}
    labels: {region: eu}
    ingress:
      namespace: traefik
      podLabels: {app: traefik}
      className: traefik
      tls: {enabled: false}
    gateway:
      parentRef: {name: eu-gw}
      namespace: envoy-gateway-system
      podLabels: {gateway.envoyproxy.io/owning-gateway-name: eu-gw}
`)
	plain, own := cfg.ClusterSettings("plain"), cfg.ClusterSettings("own")
	str := func(v any) string { return fmt.Sprint(v) }
	checks := []struct{ key, got, want string }{
		{"plain.baseDomain", plain.BaseDomain, "shop.example.com"},
		{"plain.exposure", str(plain.Exposure), "gateway"},
		{"plain.gateway.parentRef", str(plain.Gateway.ParentRef), "{shared gateways https}"},
		{"plain.gateway.namespace", plain.Gateway.Namespace, "gateways"},
		{"plain.gateway.podLabels", str(plain.Gateway.PodLabels), "map[gateway.networking.k8s.io/gateway-name:shared]"},
		{"plain.ingress", str(plain.Ingress), "{ingress-nginx map[app:nginx] nginx true letsencrypt}"},
		{"plain.storageClass", plain.StorageClass, ""},
		{"plain.capacity.cpu", plain.Capacity.CPU.String(), "100"},
		{"plain.capacity.memory", str(plain.Capacity.Memory == nil), "true"},
		{"plain.capacity.stores", str(*plain.Capacity.Stores), "50"},
		{"plain.labels", str(len(plain.Labels)), "0"},

		{"own.baseDomain", own.BaseDomain, "eu.shop.example.com"},
		{"own.exposure", str(own.Exposure), "ingress"},
		{"own.gateway.parentRef", str(own.Gateway.ParentRef), "{eu-gw gateways https}"},
		{"own.gateway.namespace", own.Gateway.Namespace, "envoy-gateway-system"},
		{"own.gateway.podLabels", str(own.Gateway.PodLabels), "map[gateway.envoyproxy.io/owning-gateway-name:eu-gw]"},
		{"own.ingress", str(own.Ingress), "{traefik map[app:traefik] traefik false letsencrypt}"},
		{"own.storageClass", own.StorageClass, "fast"},
		{"own.capacity.cpu", own.Capacity.CPU.String(), "8"},
		{"own.capacity.memory", own.Capacity.Memory.String(), "32Gi"},
		{"own.capacity.storage", own.Capacity.Storage.String(), "1Ti"},
		{"own.capacity.stores", str(*own.Capacity.Stores), "0"},
		{"own.labels", str(own.Labels), "map[region:eu]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.key, c.got, c.want)
		}
	}
}

func TestClusterSettings_Defaults(t *testing.T) {
	cfg := parse(t, minimal)
	s := cfg.ClusterSettings("default")
	if s.Exposure != config.ExposureIngress || s.Ingress.Namespace != "ingress-nginx" || s.Ingress.TLS ||
		s.Ingress.PodLabels["app.kubernetes.io/name"] != "ingress-nginx" || s.BaseDomain != "shop.example.com" {
		t.Errorf("ClusterSettings(default) = %+v", s)
	}
	if s.Capacity.CPU != nil || s.Capacity.Memory != nil || s.Capacity.Storage != nil || s.Capacity.Stores != nil {
		t.Errorf("capacity = %+v, want unlimited", s.Capacity)
	}
}

func TestClusterSettings_StorageClassFor(t *testing.T) {
	s := config.ClusterSettings{StorageClass: "cluster-ssd"}
	for _, tt := range []struct{ plan, want string }{{"", "cluster-ssd"}, {"plan-nvme", "plan-nvme"}} {
		if got := s.StorageClassFor(config.Plan{StorageClass: tt.plan}); got != tt.want {
			t.Errorf("plan %q: StorageClassFor = %q, want %q", tt.plan, got, tt.want)
		}
	}
	if got := (config.ClusterSettings{}).StorageClassFor(config.Plan{}); got != "" {
		t.Errorf("no class anywhere: %q, want the cluster default (empty)", got)
	}
}

func TestParse_ClusterErrors(t *testing.T) {
	tests := []struct {
		name   string
		append string
		want   string
	}{
		{"bad exposure", "exposure: nodeport\n", `exposure: "nodeport" is not one of gateway, ingress`},
		{"bad cluster exposure", "clusters: [{name: a}, {name: b, exposure: lb}]\n", `clusters[1].exposure: "lb" is not one of gateway, ingress`},
		{"gateway without a parent", "exposure: gateway\n", "clusters[0].gateway.parentRef.name: required with exposure gateway"},
		{"gateway without a namespace", "gateway: {parentRef: {name: gw}}\n", "clusters[0].gateway.parentRef.namespace: required with exposure gateway"},
		{"a cluster's gateway without a name", "clusters: [{name: a, exposure: gateway, gateway: {parentRef: {namespace: gw}}}]\n", "clusters[0].gateway.parentRef.name: required"},
		{"bad gateway name", "gateway: {parentRef: {name: Shared_GW, namespace: gw}}\n", `gateway.parentRef.name: "Shared_GW" is not a Gateway name`},
		{"bad gateway namespace", "gateway: {parentRef: {name: gw, namespace: a.b}}\n", `gateway.parentRef.namespace: "a.b" is not a namespace name`},
		{"bad section", "clusters: [{name: a, gateway: {parentRef: {name: gw, namespace: gw, sectionName: HTTPS}}}]\n", `clusters[0].gateway.parentRef.sectionName: "HTTPS" is not a listener name`},
		{"bad gateway pods namespace", "clusters: [{name: a, gateway: {namespace: Envoy}}]\n", `clusters[0].gateway.namespace: "Envoy" is not a namespace name`},
		{"bad gateway pod labels", "clusters: [{name: a, gateway: {podLabels: {\"bad key!\": x}}}]\n", "clusters[0].gateway.podLabels: \"bad key!\" is not a label key"},
		{"bad cluster base domain", "clusters: [{name: a}, {name: b, baseDomain: nodots}]\n", `clusters[1].baseDomain: "nodots" is not a DNS domain`},
		{"bad ingress namespace", "clusters: [{name: a, ingress: {namespace: Ingress}}]\n", `clusters[0].ingress.namespace: "Ingress" is not a namespace name`},
		{"bad ingress class", "clusters: [{name: a, ingress: {className: \"nginx public\"}}]\n", `clusters[0].ingress.className: "nginx public" is not an IngressClass name`},
		{"bad top-level ingress class", "ingress: {className: Nginx}\n", `ingress.className: "Nginx" is not an IngressClass name`},
		{"bad issuer", "clusters: [{name: a, ingress: {tls: {clusterIssuer: \"lets encrypt\"}}}]\n", `clusters[0].ingress.tls.clusterIssuer: "lets encrypt" is not a ClusterIssuer name`},
		{"bad ingress pod labels", "clusters: [{name: a, ingress: {podLabels: {app: \"-x\"}}}]\n", `clusters[0].ingress.podLabels.app: "-x" is not a label value`},
		{"bad storage class", "clusters: [{name: a, storageClass: Fast_SSD}]\n", `clusters[0].storageClass: "Fast_SSD" is not a StorageClass name`},
		{"negative cpu", "clusters: [{name: a}, {name: b, capacity: {cpu: \"-1\"}}]\n", "clusters[1].capacity.cpu: -1 must not be negative"},
		{"negative memory", "clusters: [{name: a, capacity: {memory: -1Gi}}]\n", "clusters[0].capacity.memory: -1Gi must not be negative"},
		{"negative storage", "clusters: [{name: a, capacity: {storage: -5Ti}}]\n", "clusters[0].capacity.storage: -5Ti must not be negative"},
		{"negative stores", "clusters: [{name: a, capacity: {stores: -1}}]\n", "clusters[0].capacity.stores: -1 must not be negative"},
		{"negative top-level capacity", "capacity: {cpu: \"-2\"}\n", "capacity.cpu: -2 must not be negative"},
		{"capacity not a quantity", "clusters: [{name: a, capacity: {cpu: lots}}]\n", "quantities must match"},
		{"stores not a number", "clusters: [{name: a, capacity: {stores: many}}]\n", "stores"},
		{"bad label key", "clusters: [{name: a, labels: {\"region!\": eu}}]\n", `clusters[0].labels: "region!" is not a label key`},
		{"bad label value", "clusters: [{name: a, labels: {region: \"eu west\"}}]\n", `clusters[0].labels.region: "eu west" is not a label value`},
		{"unknown cluster key", "clusters: [{name: a, domain: x.example.com}]\n", "domain"},
		{"bad cluster name", "clusters: [{name: EU}]\n", `clusters[0].name: "EU" must be lowercase`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(minimal + tt.append))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParse_ClusterBaseDomainsReplaceTheTopLevelOne(t *testing.T) {
	doc := strings.Replace(minimal, "baseDomain: shop.example.com\n", "", 1) +
		"clusters: [{name: eu, baseDomain: eu.shop.example.com}, {name: us, baseDomain: us.shop.example.com}]\n"
	cfg := parse(t, doc)
	if got := cfg.ClusterSettings("us").BaseDomain; got != "us.shop.example.com" {
		t.Errorf("us baseDomain = %q", got)
	}
	doc = strings.Replace(doc, ", baseDomain: us.shop.example.com", "", 1)
	_, err := config.Parse([]byte(doc))
	if want := "baseDomain: required; set the parent domain of store hosts, e.g. shop.example.com, or a baseDomain on every cluster"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a cluster without a baseDomain and no top-level one: error = %v, want %q", err, want)
	}
}

func TestParse_ZeroCapacityIsValid(t *testing.T) {
	cfg := parse(t, minimal+"clusters: [{name: a, capacity: {cpu: \"0\", memory: \"0\", storage: \"0\", stores: 0}}]\n")
	if c := cfg.ClusterSettings("a").Capacity; c.Stores == nil || *c.Stores != 0 || c.CPU == nil || !c.CPU.IsZero() {
		t.Errorf("capacity = %+v, want zeros (a full cluster), not unlimited", c)
	}
}
