package flux_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/resmap"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/testenv"
)

// overlays writes flux/ (as embedded) and the overlays of clusters into a
// folder, and builds each cluster's overlay.
func overlays(t *testing.T, clusters ...string) map[string]resmap.ResMap {
	t.Helper()
	root := t.TempDir()
	err := fs.WalkDir(flux.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(flux.Files, p)
		if err == nil {
			write(t, filepath.Join(root, filepath.FromSlash(p)), string(data))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := flux.Overlays("tenants", clusters)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(clusters) {
		t.Fatalf("%d overlay files for %d clusters", len(files), len(clusters))
	}
	for p, data := range files {
		write(t, filepath.Join(root, filepath.FromSlash(p)), string(data))
	}
	out := map[string]resmap.ResMap{}
	for _, cl := range clusters {
		m := build(t, filepath.Join(root, filepath.FromSlash(flux.OverlayDir(cl))))
		strict(t, m)
		out[cl] = m
	}
	return out
}

// TestOverlays_TwoClusters: each cluster's overlay applies its own folder
// of the tenants repo and runs Purrvision's watcher with its name; the
// first serves the webhooks, the second runs the watcher alone, with no
// Ingress and no webhook secret.
func TestOverlays_TwoClusters(t *testing.T) {
	built := overlays(t, "eu-1", "us-1")
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
				case "Ingress":
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
				t.Errorf("an Ingress: %v, want %v (only where the webhooks are served)", ingress, tt.webhooks)
			}
		})
	}
}

// TestOverlays_Refused: cluster names go into YAML and object names, so
// only DNS labels are taken, each once.
func TestOverlays_Refused(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		clusters   []string
		want       string
	}{
		{"no clusters", "tenants", nil, "no clusters"},
		{"not a DNS label", "tenants", []string{"eu-1", "us_1\n"}, `cluster "us_1\n"`},
		{"twice", "tenants", []string{"eu-1", "eu-1"}, "listed twice"},
		{"path that breaks YAML", "tenants\n  x: y", []string{"eu-1"}, "not a plain relative path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := flux.Overlays(tt.path, tt.clusters); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Overlays: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestOverlays_AcceptedByAPIServer: both clusters' overlays apply with a
// server-side dry run (namespaces replaced by the test's own).
func TestOverlays_AcceptedByAPIServer(t *testing.T) {
	e := testenv.Shared(t)
	ctx := context.Background()
	own := map[string]string{}
	for _, ns := range []string{"purrvision", "flux-system"} {
		own[ns] = e.Namespace(t, ns)
	}
	for cl, m := range overlays(t, "eu-1", "us-1") {
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
