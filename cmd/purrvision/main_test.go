package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func examplePath(t *testing.T, name string) string {
	return filepath.Join(testutil.RepoRoot(t), "examples", name)
}

func TestRender_WritesStore(t *testing.T) {
	dir := t.TempDir()
	id := testutil.AgeIdentity(t)
	r := runCLI(t, "", "render", "-f", examplePath(t, "store-request.yaml"), "--config", examplePath(t, "purrvision.yaml"),
		"--age-recipient", id.Recipient().String(), "-o", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	storeDir := filepath.Join(dir, "tenants", "default", filepath.FromSlash(renderer.Shard("cat-cafe")), "cat-cafe")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 12 {
		t.Errorf("printed %d paths, want 12:\n%s", len(lines), r.stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, storeDir+string(filepath.Separator)) {
			t.Errorf("printed path %s is outside %s", l, storeDir)
		}
		if _, err := os.Stat(l); err != nil {
			t.Errorf("printed path not written: %v", err)
		}
	}
	enc, err := os.ReadFile(filepath.Join(storeDir, filepath.FromSlash(renderer.FileSecret)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sopsage.Decrypt(enc, id.String()); err != nil {
		t.Errorf("the --age-recipient identity cannot decrypt the Secret: %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(storeDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary directories left beside the store: %v", entries)
	}

	// Rendering again replaces the store as a whole.
	if r := runCLI(t, "", "render", "-f", examplePath(t, "store-request.yaml"), "--config", examplePath(t, "purrvision.yaml"), "-o", dir); r.code != 0 {
		t.Fatalf("second render: exit %d: %s", r.code, r.stderr)
	}
	again, err := os.ReadFile(filepath.Join(storeDir, filepath.FromSlash(renderer.FileSecret)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(enc, again) {
		t.Error("the second render did not replace the Secret")
	}
}

func TestCLI_ExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(readFile(t, examplePath(t, "store-request.yaml")), "plan: small", "plan: xl", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := examplePath(t, "purrvision.yaml")
	req := examplePath(t, "store-request.yaml")
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string
	}{
		{name: "validate ok", args: []string{"validate", "-f", req, "--config", cfg}, code: 0, out: `"cat-cafe" is valid`},
		{name: "validate from stdin", stdin: readFile(t, req), args: []string{"validate", "-f", "-", "--config", cfg}, code: 0},
		{name: "validate invalid", args: []string{"validate", "-f", bad, "--config", cfg}, code: 1, out: `spec.plan: Unsupported value: "xl"`},
		{name: "validate garbage", stdin: "kind: [", args: []string{"validate", "-f", "-", "--config", cfg}, code: 1, out: "not valid YAML"},
		{name: "render invalid", args: []string{"render", "-f", bad, "--config", cfg, "-o", t.TempDir()}, code: 1, out: "spec.plan"},
		{name: "the config alone", args: []string{"validate", "--config", cfg}, code: 0, out: "the config is valid (clusters: 1, plans: 3)"},
		{name: "the config alone names what serve lacks", args: []string{"validate", "--config", cfg}, code: 0, out: "serve would refuse it until these are set:\n  tenantsRepo.repo: required by serve"},
		{name: "missing request file", args: []string{"validate", "-f", "/nonexistent.yaml", "--config", cfg}, code: 2, out: "reading request"},
		{name: "missing config", args: []string{"validate", "-f", req, "--config", "/nonexistent.yaml"}, code: 2, out: "reading config"},
		{name: "unknown flag", args: []string{"render", "--bogus"}, code: 2, out: "unknown flag"},
		{name: "bad age recipient", args: []string{"render", "-f", req, "--config", cfg, "--age-recipient", "age1nope", "-o", t.TempDir()}, code: 2, out: "age recipient"},
		{name: "version", args: []string{"version"}, code: 0},
		{name: "serve without the GitHub settings", args: []string{"serve", "--config", cfg}, code: 2, out: "tenantsRepo.repo: required by serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			if tt.out != "" && !strings.Contains(r.stdout+r.stderr, tt.out) {
				t.Errorf("output does not contain %q:\nstdout: %s\nstderr: %s", tt.out, r.stdout, r.stderr)
			}
		})
	}
}

func TestRender_InvalidWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(readFile(t, examplePath(t, "store-request.yaml")), "cat-cafe", "kube-system", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "render", "-f", bad, "--config", examplePath(t, "purrvision.yaml"), "-o", dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("an invalid request wrote %v", entries)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestServe_FlagErrors: serve refuses a cluster the config does not list,
// naming the flag and the clusters, and refuses to run neither the
// webhooks nor the watcher; both before it reads anything else.
func TestServe_FlagErrors(t *testing.T) {
	cfg := examplePath(t, "purrvision.yaml")
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{name: "unknown cluster", args: []string{"--cluster", "mars"}, out: `--cluster: cluster "mars" is not one of the config's clusters (default)`},
		{name: "unknown cluster, watch-only", args: []string{"--cluster", "mars", "--webhooks=false"}, out: `--cluster: cluster "mars"`},
		{name: "neither webhooks nor watcher", args: []string{"--webhooks=false", "--watch=false"}, out: "--webhooks=false and --watch=false leave nothing to run"},
		{name: "watch-only without cluster access", args: []string{"--webhooks=false"}, out: "--webhooks=false runs the watcher alone, which needs cluster access"},
	}
	// No cluster to find: no kubeconfig, not in a cluster.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("HOME", t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"serve", "--config", cfg}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.out) {
				t.Errorf("exit %d, want 2 with %q; stderr: %s", r.code, tt.out, r.stderr)
			}
		})
	}
}

// TestFlux_WritesAnOverlayPerCluster: purrvision flux writes flux/ and one
// overlay per cluster of the config, the first serving the webhooks; it
// refuses a folder that holds something.
func TestFlux_WritesAnOverlayPerCluster(t *testing.T) {
	data := strings.Replace(readFile(t, examplePath(t, "purrvision.yaml")), "clusters:\n  - name: default\n", "clusters:\n  - name: eu-1\n  - name: us-1\n", 1)
	cfg := filepath.Join(t.TempDir(), "purrvision.yaml")
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "flux")
	image := "--image=registry.example.com/purrvision:v1"
	if r := runCLI(t, "", "flux", "--config", cfg, "-o", out); r.code != 2 || !strings.Contains(r.stderr, "--image: required") {
		t.Errorf("no --image: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, "", "flux", "--config", cfg, "-o", out, image); r.code != 0 || !strings.Contains(r.stdout, "cluster us-1: "+filepath.Join(out, "clusters", "us-1")) {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for file, want := range map[string]string{
		"clusters/eu-1/kustomization.yaml": "--cluster=eu-1",
		"clusters/us-1/kustomization.yaml": "newName: registry.example.com/purrvision",
		"purrvision/deployment.yaml":       "kind: Deployment",
		"purrvision/httproute.yaml":        "value: /webhook",
		"tenants/stores.yaml":              "path: ./tenants/eu-1", // the first cluster's; each overlay its own
		"tenants/gitrepository.yaml":       "url: https://github.com/example/tenants.git",
	} {
		if got := readFile(t, filepath.Join(out, filepath.FromSlash(file))); !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", file, want, got)
		}
	}
	if strings.Contains(readFile(t, filepath.Join(out, "clusters", "eu-1", "kustomization.yaml")), "--webhooks=false") {
		t.Error("the first cluster's overlay turns the webhooks off")
	}
	if r := runCLI(t, "", "flux", "--config", cfg, "-o", out, image); r.code != 2 || !strings.Contains(r.stderr, "is not empty") {
		t.Errorf("a second run into the same folder: exit %d: %s", r.code, r.stderr)
	}
}
