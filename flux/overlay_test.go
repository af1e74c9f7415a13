package flux_test

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testenv"
)

// TestOverlays_TwoClusters: each cluster's overlay applies its own folder
// of the tenants repo and runs Purrvision's watcher with its name; the
// first serves the webhooks, the second runs the watcher alone, with no
// HTTPRoute and no webhook secret.
func TestOverlays_TwoClusters(t *testing.T) {
	built := builtOverlays(t, configCase(t, twoClusters))
	for _, tt := range []struct {
		cluster  string
		webhooks bool
	}{{"eu-1", true}, {"us-1", false}} {
		t.Run(tt.cluster, func(t *testing.T) {
			m := built[tt.cluster]
			var tenantsKs []string
			ingress := false
			for _, r := range m.Resources() {
				switch r.GetKind() {
				case "Kustomization":
					obj, err := r.Map()
					if err != nil {
						t.Fatal(err)
					}
					spec, _ := obj["spec"].(map[string]any)
					tenantsKs = append(tenantsKs, r.GetName()+" "+spec["path"].(string))
				case "HTTPRoute", "Ingress":
					ingress = true
				case "Deployment":
					obj, err := r.Map()
					if err != nil {
						t.Fatal(err)
					}
					d := &appsv1.Deployment{}
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, d); err != nil {
						t.Fatal(err)
					}
					args := d.Spec.Template.Spec.Containers[0].Args
					if !slices.Contains(args, "--cluster="+tt.cluster) || slices.Contains(args, "--webhooks=false") == tt.webhooks {
						t.Errorf("purrvision's args = %v, want --cluster=%s and --webhooks=false %v", args, tt.cluster, !tt.webhooks)
					}
					var keys []string
					for _, v := range d.Spec.Template.Spec.Volumes {
						if v.Secret != nil && v.Secret.SecretName == "purrvision-github" {
							for _, it := range v.Secret.Items {
								keys = append(keys, it.Key)
							}
						}
					}
					if slices.Contains(keys, "webhook-secret") != tt.webhooks || !slices.Contains(keys, "github-app.pem") || !slices.Contains(keys, "ledger-key") {
						t.Errorf("keys of purrvision-github mounted: %v, want the webhook secret only where the webhooks are served", keys)
					}
				}
			}
			if want := []string{"tenants-" + tt.cluster + " ./tenants/" + tt.cluster}; !slices.Equal(tenantsKs, want) {
				t.Errorf("Kustomizations %v, want %v", tenantsKs, want)
			}
			if ingress != tt.webhooks {
				t.Errorf("an HTTPRoute: %v, want %v (only where the webhooks are served)", ingress, tt.webhooks)
			}
		})
	}
}

// TestOverlays_AcceptedByAPIServer: both clusters' overlays, with gateway
// and with ingress exposure, and with Flux names of the config's own
// (ownNames), apply with a server-side dry run (namespaces replaced by the
// test's own; the HTTPRoute is checked against the Gateway API's CRD).
func TestOverlays_AcceptedByAPIServer(t *testing.T) {
	e := testenv.Shared(t)
	ctx := context.Background()
	own := map[string]string{}
	for _, ns := range []string{"purrvision", "flux-system", "gitops"} {
		own[ns] = e.Namespace(t, ns)
	}
	built := builtOverlays(t, configCase(t, twoClusters))
	for cl, m := range builtOverlays(t, configCase(t, func(c *config.Config) { twoClusters(c); ingressExposure(c) })) {
		built["ingress "+cl] = m
	}
	for cl, m := range builtOverlays(t, configCase(t, func(c *config.Config) { twoClusters(c); ownNames(c) })) {
		built["own names "+cl] = m
	}
	for cl, m := range built {
		for _, r := range m.Resources() {
			obj, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			u := unstructuredFrom(obj)
			if ns, ok := own[u.GetNamespace()]; ok {
				u.SetNamespace(ns)
			}
			if ns, ok := own[u.GetName()]; ok && u.GetKind() == "Namespace" {
				u.SetName(ns)
			}
			if err := e.Client.Patch(ctx, u, client.Apply, client.DryRunAll, client.FieldOwner("test"), client.ForceOwnership); err != nil { //nolint:staticcheck // SSA of unstructured objects
				t.Errorf("cluster %s: %s %s: %v", cl, u.GetKind(), u.GetName(), err)
			}
		}
	}
}
