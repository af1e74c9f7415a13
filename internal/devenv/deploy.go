package devenv

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/gitserver"
)

// Purrvision deployed by Flux in the local clusters: `purrvision flux`'s
// output, rendered from the dev config, is served from the git server as
// DeployRepo, and in each cluster a GitRepository and a Kustomization,
// both named DeployName in flux.namespace, apply its purrvision/ folder
// with that cluster's overlay's image and Deployment patches, acting as
// DeployServiceAccount. The pods are simulated by kwok: the objects are
// applied and healthy as far as the cluster can tell, while the host
// process serves the webhooks and the watchers.
const (
	// DeployName names the GitRepository and Kustomization.
	DeployName = "purrvision"
	// DeployRepo is the git server's repository of the rendered output.
	DeployRepo = "purrvision-deploy"
	// DeployServiceAccount is the account the Kustomization applies as,
	// with the rights flux/purrvision needs and no more kinds.
	DeployServiceAccount = "purrvision-deployer"
	// DevImage is the image the dev overlays name; kwok never pulls it.
	DevImage = "purrvision:dev"
)

// deployPurrvision renders flux/purrvision from the config, pushes it to
// DeployRepo and points each cluster's Flux at it.
func (e *Env) deployPurrvision(ctx context.Context, work string) error {
	// The rendered tenants source, and the ConfigMap, name the URL
	// without a token, as prepareCluster applies it: purrvision flux
	// refuses to write a credential into git, and the deploy repo is git.
	tokenFree := e.Git.URLAs("tenants", "", "")
	own, err := inClusterConfig(e.Config, tokenFree)
	if err != nil {
		return err
	}
	rendered := *e.Config
	rendered.TenantsRepo.URL = tokenFree
	files, err := flux.Render(flux.Options{Config: &rendered, Image: DevImage, ServiceConfig: own})
	if err != nil {
		return err
	}
	bare, err := e.Git.Init(DeployRepo, "main")
	if err != nil {
		return err
	}
	if err := pushFiles(filepath.Join(work, "repo"), bare, files); err != nil {
		return fmt.Errorf("pushing the rendered flux manifests: %w", err)
	}
	for i, c := range e.Clusters {
		name := e.Config.ClusterNames()[i]
		objs, err := deployObjects(e.Config.Flux.Namespace, e.Git.URL(DeployRepo), files[path.Join(flux.OverlayDir(name), "kustomization.yaml")])
		if err != nil {
			return fmt.Errorf("the deployment of cluster %s: %w", name, err)
		}
		for _, obj := range objs {
			data, err := yaml.Marshal(obj)
			if err != nil {
				return err
			}
			if err := c.Apply(ctx, data); err != nil {
				return fmt.Errorf("the deployment of cluster %s: %w", name, err)
			}
		}
	}
	return nil
}

// inClusterConfig is the dev config as the deployment's ConfigMap carries
// it, without the stand-in's inline token or the bot's token in the
// tenants URL (tenantsURL replaces it): a ConfigMap holds no secret, and
// this one is pushed to the deploy repo.
func inClusterConfig(cfg *config.Config, tenantsURL string) ([]byte, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var own config.Config
	if err := yaml.Unmarshal(data, &own); err != nil {
		return nil, err
	}
	own.GitHub.Token = ""
	own.TenantsRepo.URL = tenantsURL
	return yaml.Marshal(&own)
}

// pushFiles commits files to the main branch of bare from a work folder.
func pushFiles(dir, bare string, files map[string][]byte) error {
	for p, data := range files {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "purrvision flux"}, {"push", "-q", bare, "main"}} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// deployObjects are the GitRepository, the Kustomization and its service
// account with its rights. The Kustomization applies ./purrvision with
// the overlay's images and its patches of Purrvision's objects; the
// overlay's tenants source stays devenv's own (prepareCluster), pointed
// at the git server.
func deployObjects(namespace, url string, overlay []byte) ([]map[string]any, error) {
	var ov struct {
		Images  []map[string]any `json:"images"`
		Patches []struct {
			Patch  string            `json:"patch"`
			Target map[string]string `json:"target"`
		} `json:"patches"`
	}
	if err := yaml.Unmarshal(overlay, &ov); err != nil || len(ov.Images) == 0 {
		return nil, fmt.Errorf("reading the overlay: %v, %d images", err, len(ov.Images))
	}
	var patches []any
	for _, p := range ov.Patches {
		if p.Target["group"] == "kustomize.toolkit.fluxcd.io" {
			continue
		}
		patches = append(patches, map[string]any{"patch": p.Patch, "target": p.Target})
	}
	meta := map[string]any{"name": DeployName, "namespace": namespace}
	spec := map[string]any{
		"interval":           "1m",
		"path":               "./purrvision",
		"prune":              true,
		"wait":               true,
		"timeout":            "2m",
		"serviceAccountName": DeployServiceAccount,
		"sourceRef":          map[string]any{"kind": "GitRepository", "name": DeployName},
		"images":             ov.Images,
	}
	if len(patches) > 0 {
		spec["patches"] = patches
	}
	sa := map[string]any{"name": DeployServiceAccount, "namespace": namespace}
	return []map[string]any{
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": sa},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": DeployServiceAccount},
			"rules": deployerRules(),
		},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": DeployServiceAccount},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": DeployServiceAccount},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": DeployServiceAccount, "namespace": namespace}},
		},
		{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": meta,
			"spec": map[string]any{"interval": "1m", "url": url, "ref": map[string]any{"branch": "main"}},
		},
		{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": meta, "spec": spec},
	}, nil
}

// deployerRules are the kinds flux/purrvision holds, the RBAC verbs to
// grant the watcher its rights (bind, escalate), and reading what its
// health check reads: what applying, pruning and waiting for it take.
func deployerRules() []any {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	rule := func(group string, resources ...string) any {
		return map[string]any{"apiGroups": []string{group}, "resources": resources, "verbs": all}
	}
	return []any{
		rule("", "namespaces", "serviceaccounts", "configmaps", "services"),
		rule("apps", "deployments"),
		rule("policy", "poddisruptionbudgets"),
		rule("networking.k8s.io", "networkpolicies", "ingresses"),
		rule("gateway.networking.k8s.io", "httproutes"),
		// kstatus reads a Deployment's ReplicaSets and Pods for its health.
		map[string]any{"apiGroups": []string{"apps"}, "resources": []string{"replicasets"}, "verbs": []string{"get", "list", "watch"}},
		map[string]any{"apiGroups": []string{""}, "resources": []string{"pods"}, "verbs": []string{"get", "list", "watch"}},
		map[string]any{"apiGroups": []string{"rbac.authorization.k8s.io"}, "resources": []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"}, "verbs": slices.Concat(all, []string{"bind", "escalate"})},
	}
}
