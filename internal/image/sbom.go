package image

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// SPDX is the part of an SPDX 2.3 document the SBOM fills.
type SPDX struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      SPDXCreation       `json:"creationInfo"`
	Packages          []SPDXPackage      `json:"packages"`
	Relationships     []SPDXRelationship `json:"relationships"`
}

// SPDXCreation is when and by what the document was made.
type SPDXCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

// SPDXPackage is one Go module linked into the binary (or the toolchain).
type SPDXPackage struct {
	Name             string        `json:"name"`
	SPDXID           string        `json:"SPDXID"`
	VersionInfo      string        `json:"versionInfo,omitempty"`
	DownloadLocation string        `json:"downloadLocation"`
	FilesAnalyzed    bool          `json:"filesAnalyzed"`
	ExternalRefs     []SPDXExtRef  `json:"externalRefs,omitempty"`
	Checksums        []SPDXSummary `json:"checksums,omitempty"`
}

// SPDXExtRef is a package URL.
type SPDXExtRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

// SPDXSummary is a checksum.
type SPDXSummary struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

// SPDXRelationship ties two elements.
type SPDXRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxID(kind, name string) string {
	return "SPDXRef-" + kind + "-" + strings.Trim(spdxIDUnsafe.ReplaceAllString(name, "-"), "-")
}

// SBOM is the SPDX 2.3 JSON document of binary, from the build
// information the go command records in it (what `go version -m`
// prints): the main module, every module linked in, and the toolchain.
// It is the same for the same binary and created time.
func SBOM(binary []byte, created time.Time) ([]byte, error) {
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil, fmt.Errorf("reading the binary's build information for the SBOM: %w", err)
	}
	sum := sha256.Sum256(binary)
	main := info.Main
	doc := SPDX{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              main.Path,
		DocumentNamespace: fmt.Sprintf("https://github.com/purrvision/purrvision/spdx/%x", sum),
		CreationInfo:      SPDXCreation{Created: created.UTC().Format(time.RFC3339), Creators: []string{"Tool: purrvision-mkimage"}},
	}
	mainID := spdxID("Package", main.Path)
	doc.Packages = append(doc.Packages, SPDXPackage{
		Name: main.Path, SPDXID: mainID, VersionInfo: main.Version, DownloadLocation: "NOASSERTION",
		Checksums:    []SPDXSummary{{Algorithm: "SHA256", Value: fmt.Sprintf("%x", sum)}},
		ExternalRefs: purl(main.Path, main.Version),
	})
	doc.Relationships = append(doc.Relationships, SPDXRelationship{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: mainID})
	goID := spdxID("Package", "go")
	doc.Packages = append(doc.Packages, SPDXPackage{Name: "go", SPDXID: goID, VersionInfo: info.GoVersion, DownloadLocation: "https://go.dev/dl/",
		ExternalRefs: []SPDXExtRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/stdlib@" + info.GoVersion}}})
	doc.Relationships = append(doc.Relationships, SPDXRelationship{Element: mainID, Type: "DEPENDS_ON", Related: goID})
	for _, d := range info.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		id := spdxID("Package", m.Path+"-"+m.Version)
		doc.Packages = append(doc.Packages, SPDXPackage{Name: m.Path, SPDXID: id, VersionInfo: m.Version, DownloadLocation: "NOASSERTION", ExternalRefs: purl(m.Path, m.Version)})
		doc.Relationships = append(doc.Relationships, SPDXRelationship{Element: mainID, Type: "DEPENDS_ON", Related: id})
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the SBOM: %w", err)
	}
	return append(out, '\n'), nil
}

func purl(module, version string) []SPDXExtRef {
	if version == "" || version == "(devel)" {
		return nil
	}
	return []SPDXExtRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + module + "@" + version}}
}

// CACertBundle is the PEM bundle of the roots Mozilla's program trusts,
// as golang.org/x/crypto/x509roots/fallback carries them: pinned by
// go.sum, so it is the same on every machine, unlike the builder's
// /etc/ssl/certs. A root with a constraint X.509 cannot carry (a
// distrust date) is left out: a PEM file would trust it without one.
func CACertBundle() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}
