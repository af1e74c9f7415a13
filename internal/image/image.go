// Package image assembles Purrvision's container image without a
// container engine: one layer built from scratch (the static binary, CA
// certificates, time zone data, a passwd file naming the non-root user,
// the SBOM) and an OCI config, both byte-for-byte the same for the same
// inputs, so two builds of one commit give one digest. `make image` runs
// it through hack/mkimage; go-containerregistry writes the OCI layout and
// the tarball.
package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths inside the image.
const (
	BinaryPath   = "/usr/local/bin/purrvision"
	CACertsPath  = "/etc/ssl/certs/ca-certificates.crt"
	ZoneInfoPath = "/usr/share/zoneinfo.zip"
	SBOMPath     = "/usr/share/purrvision/sbom.spdx.json"
	PasswdPath   = "/etc/passwd"
	GroupPath    = "/etc/group"
)

// UID and GID of the user the image runs as: distroless's nonroot.
const (
	UID = 65532
	GID = 65532
)

// Spec is everything the image is made of.
type Spec struct {
	// Binary is the static purrvision binary (CGO_ENABLED=0, no dev tag).
	Binary []byte
	// ZoneInfo is Go's time zone database ($GOROOT/lib/time/zoneinfo.zip);
	// the image's ZONEINFO points time.LoadLocation at it.
	ZoneInfo []byte
	// CACerts is the PEM bundle of roots TLS trusts (CACertBundle).
	CACerts []byte
	// SBOM is the SPDX document of the binary (SBOM).
	SBOM []byte
	// Version and Revision label the image (org.opencontainers.image.*).
	Version, Revision string
	// Source is the repository's URL, for the source label.
	Source string
	// Created is the image's creation time: the commit's, never the
	// clock's, so that a rebuild is the same image.
	Created time.Time
	// Arch is the GOARCH the binary was built for.
	Arch string
}

func (s Spec) check() error {
	var errs []error
	for _, f := range []struct {
		name string
		data []byte
	}{{"binary", s.Binary}, {"zone info", s.ZoneInfo}, {"CA certificates", s.CACerts}, {"SBOM", s.SBOM}} {
		if len(f.data) == 0 {
			errs = append(errs, fmt.Errorf("the image needs its %s: it is empty", f.name))
		}
	}
	if s.Arch == "" {
		errs = append(errs, errors.New("the image needs the binary's architecture (GOARCH)"))
	}
	if s.Created.IsZero() {
		errs = append(errs, errors.New("the image needs a creation time: the commit's (SOURCE_DATE_EPOCH), so two builds agree"))
	}
	return errors.Join(errs...)
}

// file is one entry of the layer.
type file struct {
	path string
	mode int64
	data []byte
	dir  bool
}

// Build assembles the image. The same Spec always gives the same digest.
func Build(s Spec) (v1.Image, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	layerBytes, err := layerTar(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("making the image layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: s.Created}, CreatedBy: "purrvision make image", Comment: "the static binary, CA certificates, time zone data, the SBOM",
	}})
	if err != nil {
		return nil, fmt.Errorf("adding the image layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = s.Arch, "linux"
	cfg.Created = v1.Time{Time: s.Created}
	cfg.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve", "--config=/etc/purrvision/purrvision.yaml"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=" + CACertsPath,
			"ZONEINFO=" + ZoneInfoPath,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "purrvision",
			"org.opencontainers.image.version":  s.Version,
			"org.opencontainers.image.revision": s.Revision,
			"org.opencontainers.image.source":   s.Source,
		},
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("writing the image config: %w", err)
	}
	return img, nil
}

// layerTar is the one layer, its entries sorted by path, every time and
// owner fixed: nothing in it depends on the machine or the moment.
func layerTar(s Spec) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	files := []file{
		{path: BinaryPath, mode: 0o755, data: s.Binary},
		{path: CACertsPath, mode: 0o644, data: s.CACerts},
		{path: ZoneInfoPath, mode: 0o644, data: s.ZoneInfo},
		{path: SBOMPath, mode: 0o644, data: s.SBOM},
		{path: PasswdPath, mode: 0o644, data: []byte(passwd)},
		{path: GroupPath, mode: 0o644, data: []byte(group)},
		{path: "/tmp", mode: 0o1777, dir: true},
		{path: "/home/nonroot", mode: 0o700, dir: true},
	}
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f.path); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, f := range files {
		delete(dirs, f.path)
	}
	for d := range dirs {
		files = append(files, file{path: d, mode: 0o755, dir: true})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, f := range files {
		h := &tar.Header{Name: f.path[1:], Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX}
		if f.path == "/home/nonroot" {
			h.Uid, h.Gid = UID, GID
		}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s into the image layer: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("writing %s into the image layer: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the image layer: %w", err)
	}
	return buf.Bytes(), nil
}
