package image_test

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/purrvision/purrvision/internal/image"
	"github.com/purrvision/purrvision/internal/testutil"
)

// makeImage runs `make image` with its outputs under dir and returns the
// digest it printed.
func makeImage(t *testing.T, root, dir string) string {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "image", "BIN="+dir, "VERSION=v0.0.0-test")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^\S+@(sha256:[0-9a-f]{64})$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("make image printed no digest:\n%s", out)
	}
	return string(m[1])
}

// modules lists the modules `go list -deps` links into cmd/purrvision
// with tags.
func modules(t *testing.T, root, tags string) []string {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./cmd/purrvision")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}

// TestMakeImage_ReproducibleAndClean runs `make image` twice, as on a
// fresh clone: one digest, byte-identical tarballs; the image is what
// checkImage asks, and its binary (what `go version -m` reads) was built
// without the dev tag and links no module only the dev build links.
func TestMakeImage_ReproducibleAndClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root := testutil.RepoRoot(t)
	a, b := t.TempDir(), t.TempDir()
	first, second := makeImage(t, root, a), makeImage(t, root, b)
	if first != second {
		t.Fatalf("two builds of one commit: %s and %s", first, second)
	}
	ta, err := os.ReadFile(filepath.Join(a, "image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(filepath.Join(b, "image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ta, tb) {
		t.Error("the two tarballs differ")
	}

	p, err := layout.FromPath(filepath.Join(a, "image"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	man, err := idx.IndexManifest()
	if err != nil || len(man.Manifests) != 1 {
		t.Fatalf("the layout's index: %v, %+v", err, man)
	}
	if man.Manifests[0].Digest.String() != first {
		t.Errorf("the layout holds %s, make printed %s", man.Manifests[0].Digest, first)
	}
	img, err := p.Image(man.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	fs := checkImage(t, img)

	info, err := buildinfo.Read(bytes.NewReader(fs[image.BinaryPath].data))
	if err != nil {
		t.Fatalf("the image's binary has no build information: %v", err)
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "dev") {
			t.Errorf("the image's binary was built with -tags %s", s.Value)
		}
		if s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Errorf("the image's binary was built with CGO_ENABLED=%s: it would need a libc the image lacks", s.Value)
		}
	}
	linked := map[string]bool{}
	for _, d := range info.Deps {
		linked[d.Path] = true
	}
	prod := map[string]bool{}
	for _, m := range modules(t, root, "") {
		prod[m] = true
	}
	var devOnly []string
	for _, m := range modules(t, root, "dev") {
		if !prod[m] && !slices.Contains(devOnly, m) {
			devOnly = append(devOnly, m)
		}
	}
	if len(devOnly) == 0 {
		t.Fatal("no module is linked only by the dev build: this check has nothing to find; check the tooling another way")
	}
	for _, m := range devOnly {
		if linked[m] {
			t.Errorf("the image's binary links %s, which only the dev build needs", m)
		}
	}

	// The SBOM lists every module the binary links.
	var doc image.SPDX
	if err := json.Unmarshal(fs[image.SBOMPath].data, &doc); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, pkg := range doc.Packages {
		listed[pkg.Name] = true
	}
	for m := range linked {
		if !listed[m] {
			t.Errorf("the SBOM lists no %s, which the binary links", m)
		}
	}
}
