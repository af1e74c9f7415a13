package flux_test

import (
	"slices"
	"strings"
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/config"
)

// ownNames gives every name of the tenants source a value of its own,
// none of them a default.
func ownNames(c *config.Config) {
	c.Flux.Namespace, c.Flux.SourceName, c.Flux.ServiceAccountName = "gitops", "shop-tenants", "shop-stores"
	c.Flux.DecryptionSecret, c.Flux.SourceSecret = "shop-age", "shop-deploy-key"
	c.TenantsRepo.URL, c.TenantsRepo.Branch, c.TenantsRepo.Path = "ssh://git@git.example.com/shop/tenants.git", "production", "stores"
}

// TestRender_TenantsFollowTheConfig: with flux.namespace gitops, the
// source shop-tenants, the stores' account shop-stores and the tenants
// repo's URL, branch, path and Secret of its own, each cluster's built
// overlay names them everywhere and no default is left: the source, the
// cluster's Kustomization on it, and the accounts it and the stores act
// as, bound in gitops.
func TestRender_TenantsFollowTheConfig(t *testing.T) {
	cfg := configCase(t, func(c *config.Config) { ownNames(c); twoClusters(c) })
	for cl, m := range builtOverlays(t, cfg) {
		t.Run(cl, func(t *testing.T) {
			// Every object but the service's own config, which is the
			// operator's text (purrvision/config.yaml).
			var out []byte
			for _, r := range m.Resources() {
				if r.GetKind() == "ConfigMap" {
					continue
				}
				data, err := r.AsYAML()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, data...)
			}
			for _, def := range []string{"flux-system", "sops-age", "github.com/example", "name: tenants\n", "branch: main", "./tenants/", "tenants-default"} {
				if strings.Contains(string(out), def) {
					t.Errorf("the overlay still holds the default %q:\n%s", def, out)
				}
			}

			src := &sourcev1.GitRepository{}
			if !decode(t, m, "GitRepository", "shop-tenants", src) {
				t.Fatal("no GitRepository shop-tenants")
			}
			if src.Namespace != "gitops" || src.Spec.URL != cfg.TenantsRepo.URL || src.Spec.Reference == nil || src.Spec.Reference.Branch != "production" ||
				src.Spec.SecretRef == nil || src.Spec.SecretRef.Name != "shop-deploy-key" {
				t.Errorf("GitRepository = %s/%s %+v, want in gitops, on %s branch production with the Secret shop-deploy-key", src.Namespace, src.Name, src.Spec, cfg.TenantsRepo.URL)
			}

			ks := &kustomizev1.Kustomization{}
			if !decode(t, m, "Kustomization", flux.TenantsKustomization(cl), ks) {
				t.Fatalf("no Kustomization %s", flux.TenantsKustomization(cl))
			}
			if ks.Namespace != "gitops" || ks.Spec.SourceRef.Name != "shop-tenants" || ks.Spec.Path != "./stores/"+cl ||
				ks.Spec.ServiceAccountName != config.TenantsServiceAccount || ks.Spec.Decryption == nil || ks.Spec.Decryption.SecretRef == nil ||
				ks.Spec.Decryption.SecretRef.Name != "shop-age" || !ks.Spec.Prune {
				t.Errorf("Kustomization = %s/%s %+v, want in gitops on shop-tenants, path ./stores/%s, acting as %s, decrypting with shop-age", ks.Namespace, ks.Name, ks.Spec, cl, config.TenantsServiceAccount)
			}

			var accounts []string
			for _, r := range m.Resources() {
				if r.GetKind() == "ServiceAccount" && r.GetNamespace() == "gitops" {
					accounts = append(accounts, r.GetName())
				}
			}
			slices.Sort(accounts)
			if want := []string{config.TenantsServiceAccount, "shop-stores"}; !slices.Equal(accounts, want) {
				t.Errorf("service accounts in gitops: %v, want %v", accounts, want)
			}
			if decode(t, m, "ServiceAccount", config.StoresServiceAccount, &corev1.ServiceAccount{}) {
				t.Errorf("the default stores account %s is still written", config.StoresServiceAccount)
			}

			crb := &rbacv1.ClusterRoleBinding{}
			if !decode(t, m, "ClusterRoleBinding", flux.StoresClusterRole, crb) {
				t.Fatalf("no ClusterRoleBinding %s", flux.StoresClusterRole)
			}
			if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "shop-stores", Namespace: "gitops"}}; !slices.Equal(crb.Subjects, want) || crb.RoleRef.Name != flux.StoresClusterRole {
				t.Errorf("ClusterRoleBinding %s binds %+v to %s, want %+v to %s", crb.Name, crb.Subjects, crb.RoleRef.Name, want, flux.StoresClusterRole)
			}
			rb := &rbacv1.RoleBinding{}
			if !decode(t, m, "RoleBinding", config.TenantsServiceAccount, rb) {
				t.Fatalf("no RoleBinding %s", config.TenantsServiceAccount)
			}
			if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: config.TenantsServiceAccount, Namespace: "gitops"}}; rb.Namespace != "gitops" || !slices.Equal(rb.Subjects, want) {
				t.Errorf("RoleBinding %s/%s binds %+v, want it in gitops for %+v", rb.Namespace, rb.Name, rb.Subjects, want)
			}
		})
	}
}

// TestTenants_SourceSecret: a public https repo needs no Secret, and gets
// no secretRef; with flux.sourceSecret set, the GitRepository names it.
func TestTenants_SourceSecret(t *testing.T) {
	for _, tt := range []struct {
		name   string
		secret string
	}{{"public", ""}, {"private", "tenants-token"}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configCase(t, func(c *config.Config) { c.Flux.SourceSecret = tt.secret })
			objs, err := flux.Tenants(cfg, "eu-1")
			if err != nil {
				t.Fatal(err)
			}
			var got any
			found := false
			for _, o := range objs {
				if o["kind"] == "GitRepository" {
					found = true
					got = o["spec"].(map[string]any)["secretRef"]
				}
			}
			if !found {
				t.Fatal("no GitRepository")
			}
			switch {
			case tt.secret == "" && got != nil:
				t.Errorf("a public repo's source names the Secret %v", got)
			case tt.secret != "" && (got == nil || got.(map[string]any)["name"] != tt.secret):
				t.Errorf("secretRef = %v, want %s", got, tt.secret)
			}
		})
	}
}

// TestTenants_Refused: Tenants, as `purrvision dev` calls it, takes no
// config Render would refuse and no cluster name that is not a label.
func TestTenants_Refused(t *testing.T) {
	for _, tt := range []struct {
		name    string
		change  func(*config.Config)
		cluster string
		want    string
	}{
		{"a namespace that injects YAML", func(c *config.Config) { c.Flux.Namespace = "gitops\n---" }, "default", "flux.namespace"},
		{"a URL with a token", func(c *config.Config) { c.TenantsRepo.URL = "https://u:t@github.com/a/t.git" }, "default", "tenantsRepo.url"},
		{"a cluster that injects YAML", nil, "eu\n  x: y", "cluster"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := flux.Tenants(configCase(t, tt.change), tt.cluster)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Tenants: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
