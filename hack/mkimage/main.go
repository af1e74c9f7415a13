// Command mkimage writes Purrvision's container image from a built
// binary, without a container engine: an OCI layout directory and a
// tarball `docker load` and `crane push` read. `make image` runs it; see
// internal/image for what the image holds.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/purrvision/purrvision/internal/image"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run() error {
	binary := flag.String("binary", "", "the static purrvision binary (linux, CGO_ENABLED=0, no dev tag)")
	arch := flag.String("arch", runtime.GOARCH, "the GOARCH the binary was built for")
	version := flag.String("version", "dev", "the image's version label")
	revision := flag.String("revision", "", "the commit the binary was built from")
	source := flag.String("source", "https://github.com/purrvision/purrvision", "the repository, for the source label")
	created := flag.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "the creation time in Unix seconds: the commit's (SOURCE_DATE_EPOCH)")
	ref := flag.String("tag", "ghcr.io/purrvision/purrvision:dev", "the image reference the tarball names")
	outLayout := flag.String("layout", "", "the OCI layout directory to write (replaced)")
	outTar := flag.String("tar", "", "the tarball to write (replaced)")
	flag.Parse()
	if *binary == "" || (*outLayout == "" && *outTar == "") {
		return fmt.Errorf("give -binary and at least one of -layout and -tar")
	}
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		return fmt.Errorf("-created %q: want Unix seconds, such as $(git log -1 --format=%%ct)", *created)
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("-tag %q: %w", *ref, err)
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return fmt.Errorf("reading the binary: %w", err)
	}
	zoneinfo, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return fmt.Errorf("reading Go's time zone database: %w", err)
	}
	when := time.Unix(secs, 0).UTC()
	sbom, err := image.SBOM(bin, when)
	if err != nil {
		return err
	}
	img, err := image.Build(image.Spec{Binary: bin, ZoneInfo: zoneinfo, CACerts: image.CACertBundle(), SBOM: sbom,
		Version: *version, Revision: *revision, Source: *source, Created: when, Arch: *arch})
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("computing the image's digest: %w", err)
	}
	if *outLayout != "" {
		if err := os.RemoveAll(*outLayout); err != nil {
			return err
		}
		p, err := layout.Write(*outLayout, empty.Index)
		if err != nil {
			return fmt.Errorf("writing the OCI layout: %w", err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag.String()})); err != nil {
			return fmt.Errorf("writing the image into the OCI layout: %w", err)
		}
	}
	if *outTar != "" {
		if err := tarball.WriteToFile(*outTar, tag, img); err != nil {
			return fmt.Errorf("writing the image tarball: %w", err)
		}
	}
	fmt.Printf("%s@%s\n", tag, digest)
	return nil
}
