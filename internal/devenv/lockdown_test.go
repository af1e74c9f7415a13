package devenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// Flux's API groups of the objects that act as a service account.
const (
	kustomizeGroup = "kustomize.toolkit.fluxcd.io"
	helmGroup      = "helm.toolkit.fluxcd.io"
	rbacGroup      = "rbac.authorization.k8s.io"
)

// unboundFluxObjects lists each Flux Kustomization and HelmRelease in objs
// that does not name a service account which objs define, bound by a
// RoleBinding or ClusterRoleBinding in objs to a Role or ClusterRole in
// objs that grants something. Under the lockdown, any of them acts as
// "default" or as an account with no rights, and can do nothing.
func unboundFluxObjects(objs []*unstructured.Unstructured) []string {
	type ref struct{ kind, ns, name string }
	has := map[ref]bool{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			has[ref{"ServiceAccount", o.GetNamespace(), o.GetName()}] = true
		case "Role", "ClusterRole":
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			has[ref{o.GetKind(), o.GetNamespace(), o.GetName()}] = len(rules) > 0
		}
	}
	bound := map[ref]bool{}
	for _, o := range objs {
		if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
		role := ref{kind, "", name}
		if kind == "Role" {
			role.ns = o.GetNamespace()
		}
		if !has[role] {
			continue
		}
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
				bound[ref{"ServiceAccount", fmt.Sprint(m["namespace"]), fmt.Sprint(m["name"])}] = true
			}
		}
	}
	var bad []string
	for _, o := range objs {
		group := o.GroupVersionKind().Group
		if !(group == kustomizeGroup && o.GetKind() == "Kustomization") && !(group == helmGroup && o.GetKind() == "HelmRelease") {
			continue
		}
		what := fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		sa, _, _ := unstructured.NestedString(o.Object, "spec", "serviceAccountName")
		account := ref{"ServiceAccount", o.GetNamespace(), sa}
		switch {
		case sa == "":
			bad = append(bad, what+" names no service account")
		case !has[account]:
			bad = append(bad, fmt.Sprintf("%s names the service account %q, which is not defined beside it", what, sa))
		case !bound[account]:
			bad = append(bad, fmt.Sprintf("%s names the service account %q, which no binding gives a role", what, sa))
		}
	}
	return bad
}

// TestFluxObjects_NameAnAccountWithRights: every Flux object Purrvision
// writes names a service account that the same manifests define and give
// rights: flux/tenants and flux/purrvision as kustomize builds them, each
// cluster's overlay (flux.Overlays), what `purrvision dev` applies
// (tenantsSource), each with a store the renderer writes; with the
// example config's Flux names and with names of its own.
func TestFluxObjects_NameAnAccountWithRights(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*config.Config)
	}{
		{"example", func(*config.Config) {}},
		{"own names", func(c *config.Config) {
			c.Flux.Namespace, c.Flux.SourceName, c.Flux.ServiceAccountName = "gitops", "shop-tenants", "shop-stores"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testutil.ExampleConfig(t)
			tt.change(cfg)
			fluxObjectsNameAnAccount(t, cfg)
		})
	}
}

func fluxObjectsNameAnAccount(t *testing.T, cfg *config.Config) {
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: testutil.ExampleRequest(t), Rand: testutil.Rand(1), Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var store []*unstructured.Unstructured
	for _, f := range out.Files {
		if base := path.Base(f.Path); base == renderer.FileKustomization || base == renderer.FileRequest {
			continue
		}
		store = append(store, decode(t, f.Path, f.Data)...)
	}
	cfg.Clusters = append(cfg.Clusters, config.Cluster{Name: "second"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clusters := cfg.ClusterNames()
	overlays, err := flux.Render(flux.Options{Config: cfg, Image: "registry.example.com/purrvision:v1"})
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]*unstructured.Unstructured{}
	for _, dir := range []string{"tenants", "purrvision"} {
		sets["flux/"+dir] = kustomizeBuild(t, overlays, dir)
	}
	for _, cl := range clusters {
		sets["overlay "+cl] = kustomizeBuild(t, overlays, flux.OverlayDir(cl))
		src, err := tenantsSource(cfg, "http://127.0.0.1/tenants.git", cl, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, data := range src {
			sets["tenantsSource "+cl] = append(sets["tenantsSource "+cl], decode(t, fmt.Sprint("object ", i), data)...)
		}
	}
	for name, objs := range sets {
		t.Run(name, func(t *testing.T) {
			// Purrvision's own deployment stands alone; the stores hang
			// off the tenants Kustomization, with the accounts beside it.
			if name != "flux/purrvision" {
				if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "Kustomization" }) {
					t.Fatalf("no Flux Kustomization among %d objects", len(objs))
				}
				objs = append(objs, store...)
			}
			for _, bad := range unboundFluxObjects(objs) {
				t.Error(bad)
			}
		})
	}
	t.Run("the rendered store", func(t *testing.T) {
		n := 0
		for _, o := range store {
			if k := o.GetKind(); k == "Kustomization" || k == "HelmRelease" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d Flux objects in the rendered store, want its Kustomization and HelmRelease", n)
		}
	})
}

// TestUnboundFluxObjects_Refuses: the check finds a Flux object that names
// no account, an account not defined, and one with no rights.
func TestUnboundFluxObjects_Refuses(t *testing.T) {
	base := func() []*unstructured.Unstructured {
		return decode(t, "base", []byte(`apiVersion: v1
kind: ServiceAccount
metadata: {name: applier, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: applier, namespace: flux-system}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: applier, namespace: flux-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: applier}
subjects: [{kind: ServiceAccount, name: applier, namespace: flux-system}]
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: k, namespace: flux-system}
spec: {serviceAccountName: applier}
`))
	}
	tests := []struct {
		name   string
		change func(objs []*unstructured.Unstructured) []*unstructured.Unstructured
		want   string
	}{
		{"bound", func(o []*unstructured.Unstructured) []*unstructured.Unstructured { return o }, ""},
		{"no account named", func(o []*unstructured.Unstructured) []*unstructured.Unstructured {
			unstructured.RemoveNestedField(o[3].Object, "spec", "serviceAccountName")
			return o
		}, "names no service account"},
		{"account not defined", func(o []*unstructured.Unstructured) []*unstructured.Unstructured { return o[1:] }, "is not defined"},
		{"no binding", func(o []*unstructured.Unstructured) []*unstructured.Unstructured { return append(o[:2], o[3]) }, "no binding"},
		{"bound in another namespace", func(o []*unstructured.Unstructured) []*unstructured.Unstructured {
			o[3].SetNamespace("other")
			return o
		}, "is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := unboundFluxObjects(tt.change(base()))
			if tt.want == "" && len(bad) > 0 || tt.want != "" && (len(bad) != 1 || !strings.Contains(bad[0], tt.want)) {
				t.Errorf("got %q, want one saying %q", bad, tt.want)
			}
		})
	}
}

// kustomizeBuild builds dir of flux.Files, beside the overlays, as
// kustomize would from a checkout of purrvision flux -o.
func kustomizeBuild(t *testing.T, overlays map[string][]byte, dir string) []*unstructured.Unstructured {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(flux.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(flux.Files, p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/flux/"+p, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range overlays {
		if err := mem.WriteFile("/flux/"+p, data); err != nil {
			t.Fatal(err)
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/flux/"+dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, dir, data)
}

func decode(t *testing.T, what string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decoding %s: %v", what, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// TestTenantsSource_DevURLAndInterval: dev's tenants source is what
// `purrvision flux` writes for the cluster, on the git server's URL
// without a token (the config's carries the bot's), fetched every 15 s
// with several clusters and at the written interval with one.
func TestTenantsSource_DevURLAndInterval(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	cfg.TenantsRepo.URL = "http://bot:token@127.0.0.1:9/tenants.git"
	const url = "http://127.0.0.1:9/tenants.git"
	for _, tt := range []struct {
		several  bool
		interval string
	}{{false, "1m"}, {true, "15s"}} {
		src, err := tenantsSource(cfg, url, "eu-1", tt.several)
		if err != nil {
			t.Fatal(err)
		}
		var sources, kustomizations int
		for i, data := range src {
			for _, u := range decode(t, fmt.Sprint("object ", i), data) {
				switch u.GetKind() {
				case "GitRepository":
					sources++
					got, _, _ := unstructured.NestedString(u.Object, "spec", "url")
					interval, _, _ := unstructured.NestedString(u.Object, "spec", "interval")
					if got != url || interval != tt.interval {
						t.Errorf("several clusters %v: the source fetches %s every %s, want %s every %s", tt.several, got, interval, url, tt.interval)
					}
				case "Kustomization":
					kustomizations++
					if u.GetName() != flux.TenantsKustomization("eu-1") {
						t.Errorf("the tenants Kustomization is %s, want %s", u.GetName(), flux.TenantsKustomization("eu-1"))
					}
				}
			}
		}
		if sources != 1 || kustomizations != 1 {
			t.Errorf("%d sources and %d Kustomizations, want one each", sources, kustomizations)
		}
	}
	if cfg.TenantsRepo.URL != "http://bot:token@127.0.0.1:9/tenants.git" {
		t.Errorf("tenantsSource changed the config's URL to %s", cfg.TenantsRepo.URL)
	}
}
