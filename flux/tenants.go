package flux

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
)

// The files of tenants/ that Render writes from the config; its
// kustomization.yaml is copied as embedded.
const (
	fileGitRepository = "tenants/gitrepository.yaml"
	fileStores        = "tenants/stores.yaml"
	fileTenantsRBAC   = "tenants/rbac.yaml"
)

// StoresClusterRole names the ClusterRole, and its ClusterRoleBinding,
// that give flux.serviceAccountName a store's kinds by the renderer's
// names. Fixed, as purrvision-watcher is: a cluster-scoped name cannot
// take an account's, which may be any name in flux.namespace.
const StoresClusterRole = "purrvision-stores"

// TenantsKustomization names the Flux Kustomization that applies
// cluster's folder of the tenants repo.
func TenantsKustomization(cluster string) string { return "tenants-" + cluster }

// tenantsNotes open each file of tenants/, after generatedHeader: what
// each object is for. flux/README.md ("The accounts Flux acts as") has
// the rules of rbac.yaml in full.
var tenantsNotes = map[string]string{
	fileGitRepository: `# The tenants repo (tenantsRepo.url, tenantsRepo.branch) as Flux's source
# flux.sourceName in flux.namespace. A private repo needs flux.sourceSecret:
# the Secret Flux fetches it with (username and password for https;
# identity and known_hosts for ssh). Purrvision annotates this object with
# reconcile.fluxcd.io/requestedAt after a merge, so stores do not wait for
# the interval.
`,
	fileStores: `# Applies <tenantsRepo.path>/<cluster>/ of the tenants repo (an overlay
# renames it tenants-<cluster> for its own cluster). Flux generates its
# kustomization from the store folders, each of which lists only its
# flux-kustomization.yaml, the store's Kustomization store-<name>. prune:
# removing a store folder (decommission) deletes that Kustomization, whose
# own prune then deletes the store. It acts as purrvision-tenants, which
# may apply Kustomizations in flux.namespace and nothing else. Decryption
# is set so that a SOPS file put at this level by mistake is decrypted
# rather than applied as is.
`,
	fileTenantsRBAC: `# The accounts Flux acts as when it applies Purrvision's objects, for the
# lockdown (../lockdown), under which an object that names no account acts
# as "default", which can do nothing. purrvision-tenants (the tenants
# Kustomizations): Kustomizations in flux.namespace. flux.serviceAccountName
# (each store's Kustomization store-<name>): exactly a store's kinds and,
# in a namespace, only the names the renderer gives them, so it reads no
# other Secret; escalate and bind for the installer's Role alone. Flux
# applies by name (server-side apply), so resourceNames hold for create
# too. flux/README.md, "The accounts Flux acts as", has each rule.
`,
}

// Tenants are the objects of tenants/ for cluster, written from the
// config: the tenants repo's GitRepository, the Kustomization
// tenants-<cluster> that applies the cluster's folder of it, and the
// accounts both levels act as under the lockdown, with their RBAC.
// Render writes them for the config's first cluster, and each overlay
// renames the Kustomization for its own; `purrvision dev` applies them
// as they are. Every config value is marshalled, after config.Validate
// took it as a name, a clean path, a branch or a URL.
func Tenants(cfg *config.Config, cluster string) ([]map[string]any, error) {
	files, err := tenants(cfg, cluster)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, f := range []string{fileGitRepository, fileStores, fileTenantsRBAC} {
		out = append(out, files[f]...)
	}
	return out, nil
}

// tenants are Tenants keyed by their file.
func tenants(cfg *config.Config, cluster string) (map[string][]map[string]any, error) {
	if cfg == nil {
		return nil, errors.New("writing the tenants source: no config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("writing the tenants source: %w", err)
	}
	if err := tenantsSourceErrors(cfg); err != nil {
		return nil, err
	}
	if !isCleanRelPath(cfg.TenantsRepo.Path) {
		return nil, fmt.Errorf("tenantsRepo.path: %q is not a plain relative path", cfg.TenantsRepo.Path)
	}
	if msgs := validation.IsDNS1123Label(cluster); len(msgs) > 0 {
		return nil, fmt.Errorf("writing the tenants source of cluster %q: %s", cluster, strings.Join(msgs, "; "))
	}
	f := cfg.Flux
	source := map[string]any{
		"url":      cfg.TenantsRepo.URL,
		"ref":      map[string]any{"branch": cfg.TenantsRepo.Branch},
		"interval": "1m",
	}
	if f.SourceSecret != "" {
		source["secretRef"] = map[string]any{"name": f.SourceSecret}
	}
	return map[string][]map[string]any{
		fileGitRepository: {{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
			"metadata": managed(f.SourceName, f.Namespace),
			"spec":     source,
		}},
		fileStores: {{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": managed(TenantsKustomization(cluster), f.Namespace),
			"spec": map[string]any{
				"interval":           "10m",
				"retryInterval":      "1m",
				"timeout":            "5m",
				"sourceRef":          map[string]any{"kind": "GitRepository", "name": f.SourceName},
				"path":               clusterPath(cfg, cluster),
				"prune":              true,
				"serviceAccountName": config.TenantsServiceAccount,
				"decryption":         map[string]any{"provider": "sops", "secretRef": map[string]any{"name": f.DecryptionSecret}},
			},
		}},
		fileTenantsRBAC: tenantsRBAC(f),
	}, nil
}

// clusterPath is the folder of the tenants repo that cluster's
// Kustomization applies.
func clusterPath(cfg *config.Config, cluster string) string {
	return "./" + path.Join(path.Clean(cfg.TenantsRepo.Path), cluster)
}

// tenantsSourceErrors checks what only the GitRepository needs of the
// config, beyond config.Validate: a URL Flux can fetch without writing
// a credential into git.
func tenantsSourceErrors(cfg *config.Config) error {
	u := cfg.TenantsRepo.URL
	if u == "" {
		return errors.New("tenantsRepo.url: required by purrvision flux; give the tenants repo's https or ssh clone URL, such as https://github.com/acme/tenants.git")
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("tenantsRepo.url: %w", err)
	}
	// Over https a token may stand in the user's place as well
	// (https://ghp_...@github.com/...): no user at all, there. Over ssh,
	// the user is the account (git@), never a secret.
	if _, hasPassword := parsed.User.Password(); hasPassword || parsed.User != nil && parsed.Scheme != "ssh" {
		return errors.New("tenantsRepo.url: carries a password or token, which purrvision flux would write into git; give the URL without it, and put the credentials in the Secret flux.sourceSecret (flux create secret git)")
	}
	if parsed.Scheme == "ssh" && cfg.Flux.SourceSecret == "" {
		return fmt.Errorf("flux.sourceSecret: required with the ssh URL %q; give the Secret in %s with identity and known_hosts that Flux fetches the tenants repo with (flux create secret git), or use an https URL", u, cfg.Flux.Namespace)
	}
	return nil
}

// managed is the metadata of an object Purrvision's cluster side owns.
func managed(name, namespace string) map[string]any {
	m := meta(name, namespace)
	m["labels"] = map[string]any{"app.kubernetes.io/managed-by": "purrvision"}
	return m
}

// storeVerbs are what Flux's server-side apply (get, create, patch) and
// prune (delete) do with an object.
var storeVerbs = []string{"get", "create", "patch", "delete"}

// tenantsRBAC are the accounts Flux acts as: TenantsServiceAccount for
// the tenants Kustomizations, with Kustomizations in flux.namespace and
// nothing else; flux.serviceAccountName for each store's Kustomization,
// with exactly a store's kinds and, inside its namespace, the names the
// renderer gives them (renderer/*.go), so it can read no other Secret,
// such as the age key or Purrvision's GitHub App key. Stores come and
// go, so the latter is a ClusterRole bound cluster-wide; a Namespace's
// name is the store's. escalate and bind let it create the installer's
// Role, which grants what it does not hold, for store-installer alone.
func tenantsRBAC(f config.Flux) []map[string]any {
	account := func(name string) []any {
		return []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": f.Namespace}}
	}
	roleRef := func(kind, name string) map[string]any {
		return map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}
	}
	rule := func(group string, resources, names, verbs []string) map[string]any {
		r := map[string]any{"apiGroups": []string{group}, "resources": resources, "verbs": verbs}
		if len(names) > 0 {
			r["resourceNames"] = names
		}
		return r
	}
	tenantsAccount := config.TenantsServiceAccount
	return []map[string]any{
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": managed(tenantsAccount, f.Namespace)},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
			"metadata": managed(tenantsAccount, f.Namespace),
			"rules":    []any{rule("kustomize.toolkit.fluxcd.io", []string{"kustomizations"}, nil, storeVerbs)},
		},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": managed(tenantsAccount, f.Namespace),
			"roleRef":  roleRef("Role", tenantsAccount),
			"subjects": account(tenantsAccount),
		},
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": managed(f.ServiceAccountName, f.Namespace)},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": managed(StoresClusterRole, ""),
			"rules": []any{
				// list: Flux waits for a Namespace it applies to be ready
				// by listing.
				rule("", []string{"namespaces"}, nil, []string{"get", "list", "create", "patch", "delete"}),
				rule("", []string{"secrets"}, []string{renderer.SecretName, renderer.DatabaseSecretName, renderer.BackupPasswordSecretName, renderer.BackupTargetSecretName}, storeVerbs),
				rule("", []string{"resourcequotas"}, []string{"store-quota"}, storeVerbs),
				rule("", []string{"limitranges"}, []string{"store-limits"}, storeVerbs),
				rule("networking.k8s.io", []string{"networkpolicies"}, []string{
					"default-deny-all", "allow-dns", "allow-database-from-clients", "allow-clients-to-database",
					"allow-internet-https", renderer.PolicyAllowIngressController, renderer.PolicyAllowGateway, renderer.PolicyAllowBackupTarget,
				}, storeVerbs),
				rule("source.toolkit.fluxcd.io", []string{"gitrepositories", "ocirepositories"}, []string{renderer.ChartSourceName}, storeVerbs),
				rule("helm.toolkit.fluxcd.io", []string{"helmreleases"}, []string{v1alpha1.ReleaseName}, storeVerbs),
				rule("", []string{"serviceaccounts"}, []string{renderer.InstallerServiceAccount}, storeVerbs),
				rule("rbac.authorization.k8s.io", []string{"roles"}, []string{renderer.InstallerServiceAccount}, append(slices.Clone(storeVerbs), "escalate", "bind")),
				rule("rbac.authorization.k8s.io", []string{"rolebindings"}, []string{renderer.InstallerServiceAccount}, storeVerbs),
			},
		},
		{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": managed(StoresClusterRole, ""),
			"roleRef":  roleRef("ClusterRole", StoresClusterRole),
			"subjects": account(f.ServiceAccountName),
		},
	}
}

// isCleanRelPath is whether p is a relative path that stays inside the
// repository and holds nothing YAML or kustomize would read as syntax.
func isCleanRelPath(p string) bool {
	if p == "" || path.IsAbs(p) || strings.ContainsAny(p, "\n\"'#:{}[]") {
		return false
	}
	for _, part := range strings.Split(path.Clean(p), "/") {
		if part == ".." {
			return false
		}
	}
	return true
}
