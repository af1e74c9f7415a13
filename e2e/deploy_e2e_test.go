//go:build e2e

package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/devenv"
)

// TestDev_PurrvisionDeployedByFlux: in the dev system, flux/purrvision as
// `purrvision flux` renders it from the dev config is applied by a Flux
// Kustomization acting as its own service account, which becomes Ready
// (applied, and healthy as far as the cluster can tell: kwok runs the
// pods); the HTTPRoute sends /webhook to the Service, and the
// NetworkPolicy admits the configured Gateway's namespace.
func TestDev_PurrvisionDeployedByFlux(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	c := w.Cluster.Client
	ns := w.Config.Flux.Namespace
	ks := &unstructured.Unstructured{}
	ks.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	ks.SetKind("Kustomization")
	var last string
	w.waitFor("the Kustomization "+devenv.DeployName+" Ready", 3*time.Minute, func() bool {
		was := last
		defer func() {
			if last != was {
				t.Logf("Kustomization %s: %s", devenv.DeployName, last)
			}
		}()
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: devenv.DeployName}, ks); err != nil {
			last = err.Error()
			return false
		}
		conds, _, _ := unstructured.NestedSlice(ks.Object, "status", "conditions")
		for _, cond := range conds {
			m, _ := cond.(map[string]any)
			if m["type"] == "Ready" {
				last = m["status"].(string) + " " + m["reason"].(string) + ": " + m["message"].(string)
				return m["status"] == "True"
			}
		}
		return false
	})
	if sa, _, _ := unstructured.NestedString(ks.Object, "spec", "serviceAccountName"); sa != devenv.DeployServiceAccount {
		t.Errorf("the Kustomization acts as %q, want %s", sa, devenv.DeployServiceAccount)
	}

	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: "purrvision"}, d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != devenv.DevImage || d.Status.AvailableReplicas < 1 {
		t.Errorf("Deployment purrvision runs %s with %d available replicas, want %s available", img, d.Status.AvailableReplicas, devenv.DevImage)
	}
	// The deploy repo is git: its ConfigMap carries no credential, not
	// even the dev git server's token in the tenants URL.
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: "purrvision-config"}, cm); err != nil {
		t.Fatal(err)
	}
	if own := cm.Data["purrvision.yaml"]; strings.Contains(own, "@127.0.0.1") || strings.Contains(own, w.Config.GitHub.Token) && w.Config.GitHub.Token != "" {
		t.Errorf("the ConfigMap purrvision-config carries a credential:\n%s", own)
	}
	svc := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: flux.ServiceName}, svc); err != nil {
		t.Fatal(err)
	}
	route := &unstructured.Unstructured{}
	route.SetAPIVersion("gateway.networking.k8s.io/v1")
	route.SetKind("HTTPRoute")
	if err := c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: flux.RouteName}, route); err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) == 0 {
		t.Fatal("the HTTPRoute has no rules")
	}
	backends, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	if len(backends) != 1 || backends[0].(map[string]any)["name"] != svc.Name {
		t.Errorf("the HTTPRoute's backends %v, want the Service %s", backends, svc.Name)
	}
	np := &networkingv1.NetworkPolicy{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: flux.Namespace, Name: "purrvision"}, np); err != nil {
		t.Fatal(err)
	}
	gw := w.Config.ClusterSettings(w.Config.ClusterNames()[0]).Gateway.Namespace
	if from := np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; from != gw {
		t.Errorf("the NetworkPolicy admits %s first, want the Gateway's namespace %s", from, gw)
	}
	// The status page says so, read from the cluster.
	want := "HTTPRoute <code>" + flux.Namespace + "/" + flux.RouteName + "</code>"
	w.waitFor("the status page to say the service is served through its HTTPRoute's Service", time.Minute, func() bool {
		page := w.statusPage()
		return strings.Contains(page, want) && strings.Contains(page, "to the Service <code>"+flux.Namespace+"/"+svc.Name+"</code>") &&
			!strings.Contains(page, "which does not exist")
	})
}
