package charts_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/purrvision/purrvision/charts"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

const kubeVersion = "v1.37.2"

// exposures are the two ways a cluster exposes its stores; every chart
// test that depends on it runs for both.
var exposures = []config.Exposure{config.ExposureGateway, config.ExposureIngress}

// storeValues returns the values the renderer gives a store on plan, on the
// example config's cluster (behind the shared Gateway).
func storeValues(t *testing.T, plan string) map[string]any {
	t.Helper()
	return storeValuesOn(t, plan, config.ExposureGateway)
}

// storeValuesOn returns the values of a store on plan on a cluster exposed
// by exposure.
func storeValuesOn(t *testing.T, plan string, exposure config.Exposure) map[string]any {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
	cfg.Exposure = exposure
	if cfg.ClusterSettings(cfg.Clusters[0].Name).Exposure != exposure {
		t.Fatalf("test is broken: the example cluster is not exposed by %s", exposure)
	}
	req := testutil.ExampleRequest(t)
	req.Spec.Plan = plan
	vals, err := renderer.ChartValues(cfg, req)
	if err != nil {
		t.Fatalf("ChartValues: %v", err)
	}
	return vals
}

func render(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	ch, err := charts.Load(charts.WooCommerce)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := charts.Render(ch, vals, charts.Release{Name: v1alpha1.ReleaseName, Namespace: "store-cat-cafe", KubeVersion: kubeVersion})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return objs
}

func TestWooCommerce_RendersForEveryPlan(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	front := map[config.Exposure]string{config.ExposureGateway: "HTTPRoute", config.ExposureIngress: "Ingress"}
	for _, exposure := range exposures {
		for _, plan := range cfg.PlanNames() {
			t.Run(string(exposure)+"/"+plan, func(t *testing.T) {
				objs := render(t, storeValuesOn(t, plan, exposure))
				kinds := map[string]int{}
				for _, o := range objs {
					kinds[o.GetKind()]++
				}
				want := map[string]int{"ConfigMap": 1, "Deployment": 1, front[exposure]: 1, "PersistentVolumeClaim": 2, "Service": 2, "StatefulSet": 1}
				if fmt.Sprint(kinds) != fmt.Sprint(want) {
					t.Errorf("kinds = %v, want %v", kinds, want)
				}
				checkPods(t, objs)
				checkNoPasswords(t, objs)
			})
		}
	}
}

// TestWooCommerce_HTTPRoute: the route attaches to the configured Gateway,
// serves the store host only, and sends it to the WordPress Service's port;
// WordPress builds https URLs, as the Gateway's listener serves TLS.
func TestWooCommerce_HTTPRoute(t *testing.T) {
	objs := render(t, storeValues(t, "small"))
	var route *unstructured.Unstructured
	services := map[string]string{}
	for _, o := range objs {
		switch o.GetKind() {
		case "HTTPRoute":
			route = o
		case "Service":
			ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
			for _, p := range ports {
				services[o.GetName()] = fmt.Sprint(p.(map[string]any)["port"])
			}
		}
	}
	if route == nil {
		t.Fatal("no HTTPRoute rendered")
	}
	if route.GetAPIVersion() != "gateway.networking.k8s.io/v1" {
		t.Errorf("apiVersion = %s", route.GetAPIVersion())
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	if got := fmt.Sprint(parents); got != "[map[group:gateway.networking.k8s.io kind:Gateway name:shared namespace:gateway-system sectionName:https]]" {
		t.Errorf("parentRefs = %s, want the example config's Gateway", got)
	}
	hosts, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	if fmt.Sprint(hosts) != "[cat-cafe.shop.example.com]" {
		t.Errorf("hostnames = %v, want the store host only", hosts)
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) != 1 {
		t.Fatalf("rules = %v, want one", rules)
	}
	backends, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	if len(backends) != 1 {
		t.Fatalf("backendRefs = %v, want one", backends)
	}
	b := backends[0].(map[string]any)
	name, _ := b["name"].(string)
	port := fmt.Sprint(b["port"])
	if want, ok := services[name]; !ok || want != port || !strings.HasSuffix(name, "-wordpress") {
		t.Errorf("backend %s:%s is not the WordPress Service's port (services %v)", name, port, services)
	}
	if url := storeURL(t, objs); url != "https://cat-cafe.shop.example.com" {
		t.Errorf("STORE_URL = %q, want the https URL the Gateway serves", url)
	}
}

// TestWooCommerce_HTTPRouteNeedsAGateway: an enabled route without a
// parentRef is refused, naming the value to set.
func TestWooCommerce_HTTPRouteNeedsAGateway(t *testing.T) {
	vals := storeValues(t, "small")
	vals["httpRoute"].(map[string]any)["parentRefs"] = []any{}
	ch, err := charts.Load(charts.WooCommerce)
	if err != nil {
		t.Fatal(err)
	}
	_, err = charts.Render(ch, vals, charts.Release{Name: "woocommerce", Namespace: "store-x", KubeVersion: kubeVersion})
	if err == nil || !strings.Contains(err.Error(), "httpRoute.parentRefs: name the Gateway") {
		t.Errorf("Render() error = %v, want one naming httpRoute.parentRefs", err)
	}
}

// storeURL is the STORE_URL the installer sets WordPress up with.
func storeURL(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			for _, c := range cs {
				env, _, _ := unstructured.NestedSlice(c.(map[string]any), "env")
				for _, e := range env {
					if e := e.(map[string]any); e["name"] == "STORE_URL" {
						v, _ := e["value"].(string)
						return v
					}
				}
			}
		}
	}
	t.Fatal("no STORE_URL in the WordPress Deployment")
	return ""
}

// checkPods: pinned images, restricted security contexts, resources from
// the plan, the labels the network policies select, and passwords only by
// Secret reference.
func checkPods(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Deployment" && o.GetKind() != "StatefulSet" {
			continue
		}
		tmpl, _, _ := unstructured.NestedMap(o.Object, "spec", "template")
		labels, _, _ := unstructured.NestedStringMap(tmpl, "metadata", "labels")
		comp := labels[renderer.LabelComponent]
		if comp != renderer.ComponentWeb && comp != renderer.ComponentDatabase {
			t.Errorf("%s: pod component label %q is not one the network policies select", o.GetName(), comp)
		}
		if comp == renderer.ComponentWeb && labels[renderer.LabelDatabaseClient] != "true" {
			t.Errorf("%s: web pods lack %s, so they cannot reach the database", o.GetName(), renderer.LabelDatabaseClient)
		}
		if nonRoot, _, _ := unstructured.NestedBool(tmpl, "spec", "securityContext", "runAsNonRoot"); !nonRoot {
			t.Errorf("%s: pod does not set runAsNonRoot", o.GetName())
		}
		var containers []any
		for _, f := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(tmpl, "spec", f)
			containers = append(containers, cs...)
		}
		for _, c := range containers {
			cm := c.(map[string]any)
			name := o.GetName() + "/" + cm["name"].(string)
			image := cm["image"].(string)
			if strings.HasSuffix(image, ":latest") || !strings.Contains(image, ":") {
				t.Errorf("%s: image %q is not pinned", name, image)
			}
			if v, _, _ := unstructured.NestedBool(cm, "securityContext", "allowPrivilegeEscalation"); v {
				t.Errorf("%s: allows privilege escalation", name)
			}
			if drop, _, _ := unstructured.NestedStringSlice(cm, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
				t.Errorf("%s: capabilities.drop = %v, want [ALL]", name, drop)
			}
			if _, ok, _ := unstructured.NestedMap(cm, "resources", "limits"); !ok {
				t.Errorf("%s: no resource limits", name)
			}
			envs, _, _ := unstructured.NestedSlice(cm, "env")
			for _, e := range envs {
				em := e.(map[string]any)
				if strings.Contains(strings.ToUpper(em["name"].(string)), "PASSWORD") {
					if _, inline := em["value"]; inline {
						t.Errorf("%s: %s is set inline, not from the Secret", name, em["name"])
					}
					ref, _, _ := unstructured.NestedString(em, "valueFrom", "secretKeyRef", "name")
					key, _, _ := unstructured.NestedString(em, "valueFrom", "secretKeyRef", "key")
					want := renderer.DatabaseSecretName
					if key == renderer.KeyAdminPassword {
						want = renderer.SecretName
					}
					if ref != want {
						t.Errorf("%s: %s (key %s) comes from %q, not %s", name, em["name"], key, ref, want)
					}
				}
			}
			args, _, _ := unstructured.NestedStringSlice(cm, "args")
			cmd, _, _ := unstructured.NestedStringSlice(cm, "command")
			if strings.Contains(strings.ToLower(strings.Join(append(cmd, args...), " ")), "password=") {
				t.Errorf("%s: a password is passed on the command line", name)
			}
		}
	}
}

func checkNoPasswords(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("the chart renders Secret %s; passwords must come only from credentials.existingSecret", o.GetName())
		}
	}
}

func TestWooCommerce_ResourcesFitTheQuota(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	for _, plan := range cfg.PlanNames() {
		objs := render(t, storeValues(t, plan))
		var cpu, mem int64
		for _, o := range objs {
			if o.GetKind() != "Deployment" && o.GetKind() != "StatefulSet" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				limits, _, _ := unstructured.NestedStringMap(c.(map[string]any), "resources", "limits")
				cpu += mustQuantity(t, limits["cpu"]).MilliValue()
				mem += mustQuantity(t, limits["memory"]).Value()
			}
		}
		p := cfg.Plans[plan]
		if cpu > p.CPU.MilliValue() || mem > p.Memory.Value() {
			t.Errorf("plan %s: containers limit %dm CPU and %d bytes, over the quota %s / %s", plan, cpu, mem, p.CPU.String(), p.Memory.String())
		}
	}
}

func TestWooCommerce_PersistenceOff(t *testing.T) {
	vals := storeValues(t, "small")
	for _, c := range []string{"wordpress", "database"} {
		vals[c].(map[string]any)["persistence"].(map[string]any)["enabled"] = false
	}
	for _, o := range render(t, vals) {
		if o.GetKind() == "PersistentVolumeClaim" {
			t.Errorf("persistence is off but %s is rendered", o.GetName())
		}
	}
}

func TestWooCommerce_TLS(t *testing.T) {
	vals := storeValuesOn(t, "small", config.ExposureIngress)
	objs := render(t, vals)
	if url := storeURL(t, objs); url != "https://cat-cafe.shop.example.com" {
		t.Errorf("STORE_URL = %q, want https behind a TLS Ingress", url)
	}
	ingresses := 0
	for _, o := range objs {
		if o.GetKind() != "Ingress" {
			continue
		}
		ingresses++
		tls, _, _ := unstructured.NestedSlice(o.Object, "spec", "tls")
		if len(tls) != 1 {
			t.Fatalf("tls = %v, want one entry for the store host", tls)
		}
		hosts, _, _ := unstructured.NestedStringSlice(tls[0].(map[string]any), "hosts")
		if len(hosts) != 1 || hosts[0] != "cat-cafe.shop.example.com" {
			t.Errorf("tls hosts = %v, want the store host", hosts)
		}
		if ann := o.GetAnnotations()["cert-manager.io/cluster-issuer"]; ann != "letsencrypt" {
			t.Errorf("cluster issuer annotation = %q", ann)
		}
	}
	if ingresses != 1 {
		t.Errorf("%d Ingresses rendered, want 1", ingresses)
	}
}

func TestWooCommerce_SchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"latest tag", func(v map[string]any) {
			v["images"] = map[string]any{"wordpress": map[string]any{"repository": "x", "tag": "latest"}}
		}, "tag"},
		{"no secret", func(v map[string]any) { v["credentials"] = map[string]any{"existingSecret": ""} }, "existingSecret"},
		{"password in values", func(v map[string]any) { v["credentials"].(map[string]any)["password"] = "hunter2" }, "password"},
		{"unknown key", func(v map[string]any) { v["replicas"] = 3 }, "replicas"},
		{"bad email", func(v map[string]any) { v["store"].(map[string]any)["adminEmail"] = "nope" }, "adminEmail"},
		{"gateway without a namespace", func(v map[string]any) {
			v["httpRoute"].(map[string]any)["parentRefs"] = []any{map[string]any{"name": "shared"}}
		}, "namespace"},
		{"unknown route key", func(v map[string]any) { v["httpRoute"].(map[string]any)["hostnames"] = []any{"evil.example.com"} }, "hostnames"},
	}
	ch, err := charts.Load(charts.WooCommerce)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := storeValues(t, "small")
			tt.mutate(vals)
			_, err := charts.Render(ch, vals, charts.Release{Name: "woocommerce", Namespace: "store-x", KubeVersion: kubeVersion})
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render() error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestWooCommerce_Lint(t *testing.T) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testutil.RepoRoot(t), "charts", charts.WooCommerce)
	for _, exposure := range exposures {
		for _, plan := range testutil.ExampleConfig(t).PlanNames() {
			res := lint.RunAll(dir, storeValuesOn(t, plan, exposure), "store-cat-cafe", lint.WithKubeVersion(kv))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("%s, plan %s: %s", exposure, plan, m)
				}
			}
		}
	}
}

func mustQuantity(t *testing.T, s string) *resource.Quantity {
	t.Helper()
	q, err := resource.ParseQuantity(s)
	if err != nil {
		t.Fatalf("parsing quantity %q: %v", s, err)
	}
	return &q
}

// TestWooCommerce_ImageFromTheConfig: chart.image points every WordPress
// container (the installer too) at the mirror, by digest when one is
// given; the database keeps its image.
func TestWooCommerce_ImageFromTheConfig(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		image config.ChartImage
		want  string
	}{
		{"tag", config.ChartImage{Repository: "registry.example.com/mirror/woocommerce", Tag: "6.8.3-wc10.3.5-r1"}, "registry.example.com/mirror/woocommerce:6.8.3-wc10.3.5-r1"},
		{"digest", config.ChartImage{Repository: "registry.example.com:5000/woocommerce", Digest: digest}, "registry.example.com:5000/woocommerce@" + digest},
		{"tag and digest", config.ChartImage{Repository: "mirror/woocommerce", Tag: "v1", Digest: digest}, "mirror/woocommerce@" + digest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testutil.ExampleConfig(t)
			im := tt.image
			cfg.Chart.Image = &im
			vals, err := renderer.ChartValues(cfg, testutil.ExampleRequest(t))
			if err != nil {
				t.Fatal(err)
			}
			web, db := 0, 0
			for _, o := range render(t, vals) {
				if o.GetKind() != "Deployment" && o.GetKind() != "StatefulSet" {
					continue
				}
				for _, field := range []string{"containers", "initContainers"} {
					cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
					for _, c := range cs {
						image := c.(map[string]any)["image"].(string)
						switch {
						case image == tt.want:
							web++
						case strings.HasPrefix(image, "docker.io/library/mariadb:"):
							db++
						default:
							t.Errorf("%s %s: image %q, want %q or the database's", o.GetKind(), o.GetName(), image, tt.want)
						}
					}
				}
			}
			if web < 2 || db == 0 {
				t.Errorf("%d containers run the mirror and %d the database image; want the WordPress container and its installer, and the database", web, db)
			}
		})
	}
}
