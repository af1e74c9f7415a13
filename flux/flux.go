// Package flux holds the cluster side of Purrvision as Kubernetes
// manifests: the tenants source and Kustomization (tenants/), the
// multi-tenancy lockdown component (lockdown/), Purrvision's own deployment
// (purrvision/) and the .sops.yaml for the
// tenants repo (tenants-repo/), and the per-cluster overlays of the
// first two that Overlays generates (clusters/<cluster>/). Every
// kustomization here builds with kustomize; the tests prove it.
package flux

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/config"
)

// Files are the manifests, embedded.
//
//go:embed tenants lockdown purrvision tenants-repo/.sops.yaml
var Files embed.FS

// OverlayDir is the folder of a cluster's overlay, beside tenants/ and
// purrvision/.
func OverlayDir(cluster string) string { return path.Join("clusters", cluster) }

// overlaysFor are the per-cluster overlays of tenants/ and purrvision/,
// one folder a cluster (OverlayDir), keyed by their paths relative to
// this folder: in each, the Kustomization of the tenants repo applies
// ./<tenantsRepo.path>/<cluster>, Purrvision's Deployment runs the watcher
// of that cluster (serve --cluster) with the image given to Render. The
// first cluster, the config's default, serves the webhooks; the others
// run the watcher alone (--webhooks=false): no HTTPRoute or Ingress, no
// webhooks admitted by their NetworkPolicy, and their Secret
// purrvision-github needs only the GitHub App's key and the ledger key.
//
// Every value is marshalled (the patches are JSON), so no config text
// becomes YAML syntax.
func overlaysFor(cfg *config.Config, p exposurePlan) (map[string][]byte, error) {
	clusters := cfg.ClusterNames()
	if len(clusters) == 0 {
		return nil, errors.New("flux overlays: no clusters")
	}
	if !isCleanRelPath(cfg.TenantsRepo.Path) {
		return nil, fmt.Errorf("tenantsRepo.path: %q is not a plain relative path", cfg.TenantsRepo.Path)
	}
	out := map[string][]byte{}
	for i, cl := range clusters {
		if msgs := validation.IsDNS1123Label(cl); len(msgs) > 0 {
			return nil, fmt.Errorf("clusters[%d].name: %q: %s", i, cl, strings.Join(msgs, "; "))
		}
		file := path.Join(OverlayDir(cl), "kustomization.yaml")
		if _, dup := out[file]; dup {
			return nil, fmt.Errorf("clusters[%d].name: %q is listed twice", i, cl)
		}
		data, err := overlay(cfg, p, cl, i == 0)
		if err != nil {
			return nil, fmt.Errorf("writing the overlay of cluster %s: %w", cl, err)
		}
		out[file] = data
	}
	return out, nil
}

type jsonOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func overlay(cfg *config.Config, p exposurePlan, cluster string, webhooks bool) ([]byte, error) {
	role := "serves the webhooks and runs the watcher of this cluster"
	if !webhooks {
		role = "runs the watcher of this cluster alone (serve --webhooks=false); the cluster\n# that serves the webhooks is the config's first"
	}
	type patch struct {
		target map[string]string
		value  any
	}
	args := []jsonOp{{"add", "/spec/template/spec/containers/0/args/-", "--cluster=" + cluster}}
	if !webhooks {
		args = append(args, jsonOp{"add", "/spec/template/spec/containers/0/args/-", "--webhooks=false"})
	}
	patches := []patch{
		// tenants/ is written for the first cluster (Tenants).
		{map[string]string{"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustomization", "name": TenantsKustomization(cfg.ClusterNames()[0])}, []jsonOp{
			{"replace", "/metadata/name", TenantsKustomization(cluster)},
			{"replace", "/spec/path", clusterPath(cfg, cluster)},
		}},
		{map[string]string{"group": "apps", "kind": "Deployment", "name": "purrvision"}, args},
	}
	if !webhooks {
		route := map[string]string{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": RouteName}
		if p.exposure != config.ExposureGateway {
			route = map[string]string{"group": "networking.k8s.io", "kind": "Ingress", "name": RouteName}
		}
		patches = append(patches,
			// A watcher reads no webhook secret.
			patch{map[string]string{"group": "apps", "kind": "Deployment", "name": "purrvision"}, map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("purrvision", Namespace),
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"volumes": []any{map[string]any{
					"name": "github", "secret": map[string]any{"items": []map[string]string{
						{"key": "github-app.pem", "path": "github-app.pem"}, {"key": "ledger-key", "path": "ledger-key"},
					}},
				}}}}},
			}},
			// Nothing to reach from outside: GitHub's webhooks go to the
			// first cluster.
			patch{map[string]string{"group": "networking.k8s.io", "kind": "NetworkPolicy", "name": "purrvision"}, []jsonOp{
				{"replace", "/spec/ingress", ingressRules(cfg, nil)},
			}},
			patch{route, map[string]any{
				"$patch":     "delete",
				"apiVersion": route["group"] + "/v1", "kind": route["kind"],
				"metadata": meta(RouteName, Namespace),
			}},
		)
	}
	var list []any
	for _, pt := range patches {
		data, err := json.Marshal(pt.value)
		if err != nil {
			return nil, err
		}
		list = append(list, map[string]any{"target": pt.target, "patch": string(data)})
	}
	image := map[string]string{"name": ImageName, "newName": p.image.Repository}
	if p.image.Tag != "" {
		image["newTag"] = p.image.Tag
	}
	if p.image.Digest != "" {
		image["digest"] = p.image.Digest
	}
	k := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  []string{"../../tenants", "../../purrvision"},
		"patches":    list,
		"images":     []any{image},
	}
	data, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("# Cluster %s: its folder of the tenants repo, and Purrvision, which\n# %s.\n", cluster, role)
	return append([]byte(generatedHeader+head), data...), nil
}
