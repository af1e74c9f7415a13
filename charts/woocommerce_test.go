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
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

const kubeVersion = "v1.37.2"

// storeValues returns the values the renderer gives a store on plan.
func storeValues(t *testing.T, plan string) map[string]any {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
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
	for _, plan := range cfg.PlanNames() {
		t.Run(plan, func(t *testing.T) {
			objs := render(t, storeValues(t, plan))
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
			}
			want := map[string]int{"ConfigMap": 1, "Deployment": 1, "Ingress": 1, "PersistentVolumeClaim": 2, "Service": 2, "StatefulSet": 1}
			if fmt.Sprint(kinds) != fmt.Sprint(want) {
				t.Errorf("kinds = %v, want %v", kinds, want)
			}
			checkPods(t, objs)
			checkNoPasswords(t, objs)
		})
	}
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
	vals := storeValues(t, "small")
	for _, o := range render(t, vals) {
		if o.GetKind() != "Ingress" {
			continue
		}
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
	for _, plan := range testutil.ExampleConfig(t).PlanNames() {
		res := lint.RunAll(dir, storeValues(t, plan), "store-cat-cafe", lint.WithKubeVersion(kv))
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("plan %s: %s", plan, m)
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
