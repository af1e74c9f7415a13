package flux_test

import (
	"flag"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ and the generated files of flux/purrvision")

const testImage = "registry.example.com/purrvision:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// shippedConfig is the config of flux/purrvision/config.yaml: the one the
// repository's flux/purrvision is rendered from.
func shippedConfig(t *testing.T) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "flux", "purrvision", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(cm.Data["purrvision.yaml"]))
	if err != nil {
		t.Fatalf("the config of flux/purrvision/config.yaml: %v", err)
	}
	return cfg
}

// configCase is the shipped config changed for one test case.
func configCase(t *testing.T, change func(*config.Config)) *config.Config {
	t.Helper()
	cfg := shippedConfig(t)
	if change != nil {
		change(cfg)
	}
	return cfg
}

func twoClusters(cfg *config.Config) {
	cfg.Clusters = []config.Cluster{{Name: "eu-1"}, {Name: "us-1"}}
}

func ingressExposure(cfg *config.Config) {
	cfg.Exposure = config.ExposureIngress
	cfg.Ingress.ClassName = "nginx"
	tls := true
	cfg.Ingress.TLS = config.IngressTLS{Enabled: &tls, ClusterIssuer: "letsencrypt"}
}

var renderCases = []struct {
	name   string
	change func(*config.Config)
}{
	{"gateway-one-cluster", nil},
	{"gateway-two-clusters", twoClusters},
	{"ingress-one-cluster", ingressExposure},
	{"ingress-two-clusters", func(c *config.Config) { ingressExposure(c); twoClusters(c) }},
	{"gateway-status-page-and-own-names", func(c *config.Config) {
		c.StatusPage = config.StatusPage{URL: "https://stores.example.com/", Auth: &config.StatusPageAuth{Username: "ops", PasswordFile: "/p"}}
		c.Flux.Namespace, c.Flux.SourceName = "gitops", "tenants-repo"
		c.Service.MonitoringNamespace = ""
		c.Gateway.Namespace = "envoy-gateway-system"
		c.Gateway.PodLabels = map[string]string{"gateway.envoyproxy.io/owning-gateway-name": "shared"}
	}},
}

func render(t *testing.T, cfg *config.Config) map[string][]byte {
	t.Helper()
	files, err := flux.Render(flux.Options{Config: cfg, Image: testImage})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return files
}

// generatedTenants are the files of tenants/ that Render writes from the
// config; its kustomization.yaml is static.
var generatedTenants = []string{"tenants/gitrepository.yaml", "tenants/stores.yaml", "tenants/rbac.yaml"}

// generated are the files of a render written from the config: the
// overlays, and tenants/ and purrvision/ but for their static files.
func generated(t *testing.T, files map[string][]byte) map[string][]byte {
	t.Helper()
	static := []string{"namespace.yaml", "serviceaccount.yaml", "config.yaml", "deployment.yaml", "service.yaml", "pdb.yaml"}
	out := map[string][]byte{}
	for p, data := range files {
		dir, base := path.Split(p)
		if strings.HasPrefix(p, "clusters/") || (dir == "purrvision/" && !slices.Contains(static, base)) || slices.Contains(generatedTenants, p) {
			out[p] = data
		}
	}
	return out
}

// TestRender_Golden: what `purrvision flux` writes from the config, for
// gateway and ingress exposure, one and two clusters, and a config with a
// routed status page and its own Flux names. Regenerate with
// go test ./flux -update.
func TestRender_Golden(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			gen := generated(t, render(t, configCase(t, tc.change)))
			var b strings.Builder
			paths := make([]string, 0, len(gen))
			for p := range gen {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				b.WriteString("# ==> " + p + "\n")
				b.Write(gen[p])
			}
			golden := filepath.Join("testdata", "render", tc.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v; run: go test ./flux -update", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s\nrun: go test ./flux -update", golden, diff)
			}
		})
	}
}

// TestRender_RepoTreeIsShippedConfig: the generated files of the
// repository's flux/purrvision and flux/tenants are what Render writes
// from the config flux/purrvision ships, so the folders applied as they
// are tell the truth.
func TestRender_RepoTreeIsShippedConfig(t *testing.T) {
	files := render(t, shippedConfig(t))
	dir := filepath.Join(testutil.RepoRoot(t), "flux")
	for _, p := range append([]string{"purrvision/rbac.yaml", "purrvision/networkpolicy.yaml", "purrvision/httproute.yaml", "purrvision/kustomization.yaml"}, generatedTenants...) {
		if *update {
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), files[p], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(files[p]), string(have)); diff != "" {
			t.Errorf("flux/%s is not what Render writes from flux/purrvision/config.yaml (-render +repo):\n%s\nrun: go test ./flux -update", p, diff)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "purrvision", "ingress.yaml")); err == nil {
		t.Error("flux/purrvision/ingress.yaml exists, but the shipped config's exposure is gateway")
	}
}

// builtOverlays writes a render into a folder and builds each cluster's
// overlay, decoding every object strictly.
func builtOverlays(t *testing.T, cfg *config.Config) map[string]resmap.ResMap {
	t.Helper()
	root := t.TempDir()
	for p, data := range render(t, cfg) {
		write(t, filepath.Join(root, filepath.FromSlash(p)), string(data))
	}
	out := map[string]resmap.ResMap{}
	for _, cl := range cfg.ClusterNames() {
		m := build(t, filepath.Join(root, filepath.FromSlash(flux.OverlayDir(cl))))
		strict(t, m)
		out[cl] = m
	}
	return out
}

func decode(t *testing.T, m resmap.ResMap, kind, name string, into any) bool {
	t.Helper()
	for _, r := range m.Resources() {
		if r.GetKind() != kind || r.GetName() != name {
			continue
		}
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into); err != nil {
			t.Fatal(err)
		}
		return true
	}
	return false
}

// TestRender_NetworkPolicyAdmitsOnlyTheNamedNamespace: webhooks are
// admitted from exactly the configured Gateway's (or ingress controller's)
// namespace and pods, scrapes from the monitoring namespace when one is
// configured, and nothing else; a watcher-only cluster admits no webhooks.
func TestRender_NetworkPolicyAdmitsOnlyTheNamedNamespace(t *testing.T) {
	type from struct{ ns, pods string }
	peers := func(np *networkingv1.NetworkPolicy) []from {
		var out []from
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.From {
				f := from{}
				if p.NamespaceSelector == nil || len(p.NamespaceSelector.MatchLabels) != 1 || p.IPBlock != nil {
					t.Errorf("a peer that is not one namespace: %+v", p)
					continue
				}
				f.ns = p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
				if p.PodSelector != nil {
					for k, v := range p.PodSelector.MatchLabels {
						f.pods += k + "=" + v
					}
				}
				out = append(out, f)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		change func(*config.Config)
		want   map[string][]from
	}{
		{"gateway", twoClusters, map[string][]from{
			"eu-1": {{"gateway-system", "gateway.networking.k8s.io/gateway-name=shared"}, {"monitoring", ""}},
			"us-1": {{"monitoring", ""}},
		}},
		{"ingress, no monitoring", func(c *config.Config) {
			ingressExposure(c)
			c.Ingress.Namespace = "traefik"
			c.Ingress.PodLabels = map[string]string{"app": "traefik"}
			c.Service.MonitoringNamespace = ""
		}, map[string][]from{"default": {{"traefik", "app=traefik"}}}},
		{"watcher alone, no monitoring", func(c *config.Config) {
			twoClusters(c)
			c.Service.MonitoringNamespace = ""
		}, map[string][]from{
			"eu-1": {{"gateway-system", "gateway.networking.k8s.io/gateway-name=shared"}},
			"us-1": nil,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configCase(t, tt.change)
			for cl, m := range builtOverlays(t, cfg) {
				np := &networkingv1.NetworkPolicy{}
				if !decode(t, m, "NetworkPolicy", "purrvision", np) {
					t.Fatalf("cluster %s: no NetworkPolicy", cl)
				}
				if got := peers(np); !slices.Equal(got, tt.want[cl]) {
					t.Errorf("cluster %s admits %v, want exactly %v", cl, got, tt.want[cl])
				}
				if len(np.Spec.PolicyTypes) != 2 {
					t.Errorf("cluster %s: policyTypes %v, want Ingress and Egress", cl, np.Spec.PolicyTypes)
				}
			}
		})
	}
}

// TestRender_FluxRBACFollowsTheConfig: the watcher's Role on Flux's
// objects lands, built, in flux.namespace and names flux.sourceName, not
// in Purrvision's namespace or on flux-system's defaults.
func TestRender_FluxRBACFollowsTheConfig(t *testing.T) {
	cfg := configCase(t, func(c *config.Config) { c.Flux.Namespace, c.Flux.SourceName = "gitops", "tenants-repo" })
	m := builtOverlays(t, cfg)["default"]
	role := &rbacv1.Role{}
	for _, r := range m.Resources() {
		if r.GetKind() == "Role" && r.GetName() == "purrvision-flux" && r.GetNamespace() != "gitops" {
			t.Errorf("Role purrvision-flux in %q, want gitops", r.GetNamespace())
		}
	}
	if !decode(t, m, "Role", "purrvision-flux", role) {
		t.Fatal("no Role purrvision-flux")
	}
	var sources []string
	for _, rule := range role.Rules {
		if slices.Contains(rule.Resources, "gitrepositories") {
			sources = append(sources, rule.ResourceNames...)
		}
	}
	if !slices.Equal(sources, []string{"tenants-repo"}) {
		t.Errorf("the Role may touch the GitRepositories %v, want [tenants-repo]", sources)
	}
	binding := &rbacv1.RoleBinding{}
	if !decode(t, m, "RoleBinding", "purrvision-flux", binding) || binding.Namespace != "gitops" || binding.Subjects[0].Namespace != flux.Namespace {
		t.Errorf("RoleBinding purrvision-flux = %+v, want it in gitops for purrvision's ServiceAccount", binding)
	}
}

// TestRender_Image: each overlay points the Deployment at --image, tag
// and digest, and nothing else runs the placeholder.
func TestRender_Image(t *testing.T) {
	for cl, m := range builtOverlays(t, configCase(t, twoClusters)) {
		out, err := m.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "image: "+testImage+"\n") || strings.Contains(string(out), "image: "+flux.ImageName+"\n") {
			t.Errorf("cluster %s: the Deployment does not run %s:\n%s", cl, testImage, out)
		}
	}
}

// TestRender_Refused plays an operator's or attacker's config text that
// would break out of its place in the YAML, and the values purrvision flux
// cannot do without: each is refused, naming the key and the fix.
func TestRender_Refused(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*config.Config)
		image  string
		want   string
	}{
		{"a host that injects YAML", func(c *config.Config) { c.Service.Host = "p.example.com\n  - name: evil" }, testImage, "service.host"},
		{"a host with a wildcard", func(c *config.Config) { c.Service.Host = "*.example.com" }, testImage, "service.host"},
		{"a host with a scheme", func(c *config.Config) { c.Service.Host = "https://p.example.com" }, testImage, "service.host"},
		{"no host", func(c *config.Config) { c.Service.Host = "" }, testImage, "service.host: required"},
		{"a monitoring namespace that injects YAML", func(c *config.Config) { c.Service.MonitoringNamespace = "monitoring}\n- {}" }, testImage, "service.monitoringNamespace"},
		{"a gateway namespace that injects YAML", func(c *config.Config) { c.Gateway.Namespace = "gw\n  podSelector: {}" }, testImage, "gateway.namespace"},
		{"a gateway name that injects YAML", func(c *config.Config) { c.Gateway.ParentRef.Name = "shared\"}]" }, testImage, "gateway.parentRef.name"},
		{"a pod label that widens the peer", func(c *config.Config) { c.Gateway.PodLabels = map[string]string{"a": "b\n  namespaceSelector: {}"} }, testImage, "gateway.podLabels"},
		{"a Flux namespace that injects YAML", func(c *config.Config) { c.Flux.Namespace = "flux-system\n---" }, testImage, "flux.namespace"},
		{"a source name that injects YAML", func(c *config.Config) { c.Flux.SourceName = "tenants]" }, testImage, "flux.sourceName"},
		{"a cluster name that injects YAML", func(c *config.Config) { c.Clusters = []config.Cluster{{Name: "eu\n  x: y"}} }, testImage, "clusters[0].name"},
		{"a tenants path that injects YAML", func(c *config.Config) { c.TenantsRepo.Path = "tenants\n  x: y" }, testImage, "tenantsRepo.path"},
		{"a tenants URL that injects YAML", func(c *config.Config) { c.TenantsRepo.URL = "https://github.com/a/t.git\n  secretRef: {name: x}" }, testImage, "tenantsRepo.url"},
		{"a tenants URL with a token", func(c *config.Config) { c.TenantsRepo.URL = "https://x-access-token:ghs_secret@github.com/a/t.git" }, testImage, "tenantsRepo.url: carries a password or token"},
		{"a tenants URL with a token as its user", func(c *config.Config) { c.TenantsRepo.URL = "https://ghp_secret0123456789@github.com/a/t.git" }, testImage, "tenantsRepo.url: carries a password or token"},
		{"a tenants URL scp-like", func(c *config.Config) { c.TenantsRepo.URL = "git@github.com:a/t.git" }, testImage, "tenantsRepo.url"},
		{"no tenants URL", func(c *config.Config) { c.TenantsRepo.URL = "" }, testImage, "tenantsRepo.url: required by purrvision flux"},
		{"an ssh URL without its Secret", func(c *config.Config) { c.TenantsRepo.URL = "ssh://git@github.com/a/t.git" }, testImage, "flux.sourceSecret: required with the ssh URL"},
		{"a tenants branch that injects YAML", func(c *config.Config) { c.TenantsRepo.Branch = "main\n  tag: v1" }, testImage, "tenantsRepo.branch"},
		{"a source Secret that injects YAML", func(c *config.Config) { c.Flux.SourceSecret = "key}\n- x" }, testImage, "flux.sourceSecret"},
		{"a decryption Secret that injects YAML", func(c *config.Config) { c.Flux.DecryptionSecret = "sops-age\n  x: y" }, testImage, "flux.decryptionSecret"},
		{"a store account that injects YAML", func(c *config.Config) { c.Flux.ServiceAccountName = "stores\n---" }, testImage, "flux.serviceAccountName"},
		{"the stores acting as the lockdown's default", func(c *config.Config) { c.Flux.ServiceAccountName = "default" }, testImage, "flux.serviceAccountName"},
		{"the stores acting as Flux's own account", func(c *config.Config) { c.Flux.ServiceAccountName = "kustomize-controller" }, testImage, "flux.serviceAccountName"},
		{"the stores acting as the tenants account", func(c *config.Config) { c.Flux.ServiceAccountName = config.TenantsServiceAccount }, testImage, "flux.serviceAccountName"},
		{"a status page URL with a path", func(c *config.Config) {
			c.StatusPage = config.StatusPage{URL: "https://stores.example.com/status", Auth: &config.StatusPageAuth{Username: "u", PasswordFile: "/p"}}
		}, testImage, "statusPage.url"},
		{"no image", nil, "", "--image: required"},
		{"an image that injects YAML", nil, "registry.example.com/p:v1\n- name: evil", "--image"},
		{"an image on latest", nil, "registry.example.com/p:latest", "--image"},
		{"an image with neither tag nor digest", nil, "registry.example.com/p", "--image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configCase(t, tt.change)
			_, err := flux.Render(flux.Options{Config: cfg, Image: tt.image})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestRender_ServiceConfig: the service's own config goes into the
// ConfigMap as a value, whatever it holds, and must parse.
func TestRender_ServiceConfig(t *testing.T) {
	cfg := shippedConfig(t)
	own := []byte("baseDomain: shop.example.com\n# a comment\n---\nkind: Secret\n")
	if _, err := flux.Render(flux.Options{Config: cfg, Image: testImage, ServiceConfig: own}); err == nil {
		t.Error("a service config that does not parse was taken")
	}
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "examples", "purrvision.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := flux.Render(flux.Options{Config: cfg, Image: testImage, ServiceConfig: data})
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Kind string
		Data map[string]string
	}
	if err := yaml.Unmarshal(files["purrvision/config.yaml"], &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Data["purrvision.yaml"] != string(data) {
		t.Errorf("the ConfigMap does not carry the service config as it is:\n%s", files["purrvision/config.yaml"])
	}
}
