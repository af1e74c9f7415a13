package image_test

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/purrvision/purrvision/internal/image"
)

func spec(t *testing.T) image.Spec {
	t.Helper()
	self, err := os.Executable() // a Go binary with build information
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sbom, err := image.SBOM(bin, created)
	if err != nil {
		t.Fatal(err)
	}
	return image.Spec{Binary: bin, ZoneInfo: []byte("zip"), CACerts: image.CACertBundle(), SBOM: sbom,
		Version: "v1.2.3", Revision: "abc", Source: "https://example.com/purrvision", Created: created, Arch: "amd64"}
}

func digest(t *testing.T, s image.Spec) v1.Hash {
	t.Helper()
	img, err := image.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBuild_SameInputsOneDigest: the image depends on its inputs only,
// never on the clock or the machine; each input changes it.
func TestBuild_SameInputsOneDigest(t *testing.T) {
	s := spec(t)
	first := digest(t, s)
	if again := digest(t, s); again != first {
		t.Fatalf("two builds of the same inputs: %s and %s", first, again)
	}
	for name, change := range map[string]func(*image.Spec){
		"binary":  func(s *image.Spec) { s.Binary = append([]byte("x"), s.Binary...) },
		"created": func(s *image.Spec) { s.Created = s.Created.Add(time.Second) },
		"version": func(s *image.Spec) { s.Version = "v1.2.4" },
		"certs":   func(s *image.Spec) { s.CACerts = []byte("other") },
	} {
		c := s
		change(&c)
		if digest(t, c) == first {
			t.Errorf("a different %s gives the same digest", name)
		}
	}
}

// TestBuild_RefusesMissingParts names each missing part.
func TestBuild_RefusesMissingParts(t *testing.T) {
	_, err := image.Build(image.Spec{})
	if err == nil {
		t.Fatal("an empty spec built an image")
	}
	for _, want := range []string{"binary", "zone info", "CA certificates", "SBOM", "GOARCH", "SOURCE_DATE_EPOCH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
}

// entry is a file of the image as its layers give it.
type entry struct {
	mode     int64
	uid, gid int
	data     []byte
	dir      bool
}

func files(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimSuffix(h.Name, "/")] = entry{mode: h.Mode, uid: h.Uid, gid: h.Gid, data: data, dir: h.Typeflag == tar.TypeDir}
	}
}

// checkImage is what every Purrvision image must be: non-root, the
// binary as its entrypoint, certificates, time zone data and the SBOM in
// place, nothing setuid, nothing writable but /tmp and the user's home.
func checkImage(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", cfg.Config.User)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != image.BinaryPath {
		t.Errorf("entrypoint %q, want %s", got, image.BinaryPath)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	env := strings.Join(cfg.Config.Env, "\n")
	for _, want := range []string{"SSL_CERT_FILE=" + image.CACertsPath, "ZONEINFO=" + image.ZoneInfoPath} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	fs := files(t, img)
	for _, p := range []string{image.BinaryPath, image.CACertsPath, image.ZoneInfoPath, image.SBOMPath, image.PasswdPath, image.GroupPath} {
		if len(fs[p].data) == 0 {
			t.Errorf("%s is missing or empty", p)
		}
	}
	if fs[image.BinaryPath].mode != 0o755 {
		t.Errorf("%s mode %o, want 755", image.BinaryPath, fs[image.BinaryPath].mode)
	}
	if !strings.Contains(string(fs[image.PasswdPath].data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no nonroot user 65532:\n%s", fs[image.PasswdPath].data)
	}
	if !strings.HasPrefix(string(fs[image.CACertsPath].data), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("%s is not a PEM bundle", image.CACertsPath)
	}
	for p, e := range fs {
		if e.mode&0o6000 != 0 {
			t.Errorf("%s is setuid or setgid (mode %o)", p, e.mode)
		}
		if writable := e.mode&0o002 != 0 || (e.uid == 65532 && e.mode&0o200 != 0); writable && p != "/tmp" && p != "/home/nonroot" {
			t.Errorf("%s is writable by the user the image runs as (mode %o, uid %d)", p, e.mode, e.uid)
		}
	}
	var doc image.SPDX
	if err := json.Unmarshal(fs[image.SBOMPath].data, &doc); err != nil {
		t.Fatalf("the SBOM is not JSON: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || len(doc.Packages) < 2 || len(doc.Relationships) != len(doc.Packages) {
		t.Errorf("the SBOM: version %q, %d packages, %d relationships", doc.SPDXVersion, len(doc.Packages), len(doc.Relationships))
	}
	return fs
}

func TestBuild_ImageHoldsWhatItRuns(t *testing.T) {
	img, err := image.Build(spec(t))
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img)
}
