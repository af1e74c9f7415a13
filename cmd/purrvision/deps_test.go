package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/testutil"
)

// devTooling must never be linked into the image's binary.
var devTooling = []string{
	"github.com/purrvision/purrvision/internal/ghstandin",
	"github.com/purrvision/purrvision/internal/localcluster",
	"github.com/purrvision/purrvision/internal/gitserver",
	"github.com/purrvision/purrvision/internal/devenv",
	"net/http/httptest",
}

// goListDeps is `go list -deps` of this command, built as `make image`
// builds it (CGO_ENABLED=0), with tags, if any, and nothing from GOFLAGS.
func goListDeps(t *testing.T, tags string) []string {
	t.Helper()
	gobin := goCommand(t)
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(gobin, append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// goCommand is the go command that runs the tests.
func goCommand(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command")
		}
	}
	return gobin
}

// TestProductionBuild_NoDevTooling: the binary `make image` builds links
// none of the development tooling; `make build` (tag dev) does.
func TestProductionBuild_NoDevTooling(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(makefile), "\\\n", " ") // continued lines
	recipe := regexp.MustCompile(`(?ms)^image:.*?\n((?:\t.*\n)+)`).FindStringSubmatch(joined)
	if recipe == nil {
		t.Fatalf("no image target in the Makefile")
	}
	build := regexp.MustCompile(`(?m)^\t.*\bgo build\b.*$|^\t.*\$\(GO\) build\b.*$`).FindString(recipe[1])
	if !strings.Contains(build, "./cmd/purrvision") || !strings.Contains(build, "CGO_ENABLED=0") {
		t.Fatalf("no `CGO_ENABLED=0 go build ... ./cmd/purrvision` in the image target:\n%s", recipe[1])
	}
	if strings.Contains(build, "-tags") {
		t.Fatalf("the image target builds with tags; this test checks the build without:\n%s", build)
	}

	prod := goListDeps(t, "")
	for _, p := range devTooling {
		if slices.Contains(prod, p) {
			t.Errorf("the production build links %s", p)
		}
	}
	// The check sees what it looks for: the dev build has the dev tooling.
	dev := goListDeps(t, "dev")
	for _, p := range devTooling[:4] {
		if !slices.Contains(dev, p) {
			t.Errorf("the dev build does not link %s; is the dev command still there?", p)
		}
	}
}
