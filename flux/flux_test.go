package flux_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// strict decodes every built object into its Go type, refusing unknown
// fields.
func strict(t *testing.T, m resmap.ResMap) {
	t.Helper()
	scheme, err := testenv.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		gvk := r.GetGvk()
		if gvk.Kind == "HTTPRoute" {
			// No Go types here: the API server checks it against the
			// Gateway API's CRD (TestOverlays_AcceptedByAPIServer).
			continue
		}
		typed, err := scheme.New(schemaGVK(gvk.Group, gvk.Version, gvk.Kind))
		if err != nil {
			t.Errorf("%s %s: not a known type: %v", gvk.Kind, r.GetName(), err)
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, typed, true); err != nil {
			t.Errorf("%s %s: %v", gvk.Kind, r.GetName(), err)
		}
	}
}

// TestKustomizeBuild_EveryFolder: every kustomization under flux/ builds,
// and its objects decode strictly. Components build through an overlay.
func TestKustomizeBuild_EveryFolder(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "flux")
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 2 {
		t.Fatalf("found %d kustomizations under flux/", len(dirs))
	}
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var head struct{ Kind string }
			if err := yaml.Unmarshal(data, &head); err != nil {
				t.Fatal(err)
			}
			if head.Kind == "Component" {
				buildComponent(t, dir)
				return
			}
			m := build(t, dir)
			if m.Size() == 0 {
				t.Fatal("built nothing")
			}
			strict(t, m)
		})
	}
}

// buildComponent applies the lockdown component to stand-ins of the Flux
// controller Deployments, as flux bootstrap's kustomization would.
func buildComponent(t *testing.T, component string) {
	t.Helper()
	overlay := t.TempDir()
	var deps strings.Builder
	for _, c := range []string{"source-controller", "kustomize-controller", "helm-controller"} {
		deps.WriteString("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + c + "\n  namespace: flux-system\nspec:\n  selector:\n    matchLabels: {app: " + c + "}\n  template:\n    metadata:\n      labels: {app: " + c + "}\n    spec:\n      containers:\n      - name: manager\n        image: ghcr.io/fluxcd/" + c + ":v1\n        args: [--watch-all-namespaces=true]\n")
	}
	write(t, filepath.Join(overlay, "controllers.yaml"), deps.String())
	rel, err := filepath.Rel(overlay, component)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(overlay, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [controllers.yaml]\ncomponents: ["+rel+"]\n")
	out, err := build(t, overlay).AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(out), "---\n")
	want := map[string][]string{
		"source-controller":    nil,
		"kustomize-controller": {"--no-cross-namespace-refs=true", "--default-service-account=default"},
		"helm-controller":      {"--no-cross-namespace-refs=true", "--default-service-account=default"},
	}
	for name, flags := range want {
		var doc string
		for _, d := range docs {
			if strings.Contains(d, "name: "+name+"\n") {
				doc = d
			}
		}
		for _, f := range []string{"--no-cross-namespace-refs=true", "--default-service-account=default"} {
			has := strings.Contains(doc, f)
			wanted := false
			for _, w := range flags {
				wanted = wanted || w == f
			}
			if has != wanted {
				t.Errorf("%s: flag %s present = %v, want %v", name, f, has, wanted)
			}
		}
	}
}

// TestKustomizeBuild_RenderedStore: the folders the renderer writes build
// as Flux builds them: the store folder yields its Flux Kustomization only,
// the manifests folder every object of the store.
func TestKustomizeBuild_RenderedStore(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: testutil.ExampleRequest(t), Rand: testutil.Rand(1), Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range out.Files {
		write(t, filepath.Join(root, filepath.FromSlash(f.Path)), string(f.Data))
	}
	store := build(t, filepath.Join(root, filepath.FromSlash(out.Dir)))
	if store.Size() != 1 || store.Resources()[0].GetKind() != "Kustomization" {
		t.Errorf("the store folder builds %d objects, want its Flux Kustomization only", store.Size())
	}
	strict(t, store)
	manifests := build(t, filepath.Join(root, filepath.FromSlash(out.Dir), renderer.ManifestsDir))
	kinds := map[string]int{}
	for _, r := range manifests.Resources() {
		kinds[r.GetKind()]++
	}
	for kind, n := range map[string]int{"Namespace": 1, "NetworkPolicy": 5, "ResourceQuota": 1, "LimitRange": 1, "Secret": 2, "HelmRelease": 1, "GitRepository": 1, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1} {
		if kinds[kind] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
}

// TestSOPSConfig_TenantsRepo: with flux/tenants-repo/.sops.yaml at the
// root of a tenants repo, `sops -e` of a store Secret encrypts the data for
// the configured recipient with the same rule as the renderer.
func TestSOPSConfig_TenantsRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the sops CLI from make testbin")
	}
	bin := os.Getenv("PURRVISION_SOPS")
	if bin == "" {
		t.Fatal("PURRVISION_SOPS is not set: run the tests with `make test`")
	}
	id := testutil.AgeIdentity(t)
	cfg, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "flux", "tenants-repo", ".sops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	write(t, filepath.Join(repo, ".sops.yaml"), strings.Replace(string(cfg), "age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp", id.Recipient().String(), 1))
	for _, file := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
		rel := "tenants/default/" + renderer.Shard("cat-cafe") + "/cat-cafe/" + file
		write(t, filepath.Join(repo, rel), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dmFsdWU=\n")
		cmd := exec.Command(bin, "--encrypt", "--in-place", rel)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sops --encrypt %s with the repo's .sops.yaml: %v\n%s", file, err, out)
		}
		enc, err := os.ReadFile(filepath.Join(repo, rel))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(enc), "dmFsdWU=") || !strings.Contains(string(enc), "encrypted_regex: ^(data|stringData)$") {
			t.Fatalf("%s is not encrypted as the renderer encrypts:\n%s", file, enc)
		}
		if _, err := sopsage.Decrypt(enc, id.String()); err != nil {
			t.Errorf("decrypting what the sops CLI wrote to %s: %v", file, err)
		}
	}
}

func write(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
