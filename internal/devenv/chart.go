package devenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/gitserver"
)

// ChartTagPrefix starts every tag of the store chart in the chart repo:
// the tag of version v is ChartTagPrefix+v.
const ChartTagPrefix = "woocommerce-"

// chartDir is the store chart's folder in the chart repo.
const chartDir = "charts/woocommerce"

// ChartRelease is a version of the store chart to publish in the dev
// chart repo.
type ChartRelease struct {
	// Version goes into Chart.yaml; the tag is ChartTagPrefix+Version.
	Version string
	// Broken makes a release helm-controller cannot install: its values
	// schema requires a value (licenseKey) no store sets. It is tagged
	// off the main branch, so later releases are sound again.
	Broken bool
}

// Tag is the release's tag in the chart repo.
func (r ChartRelease) Tag() string { return ChartTagPrefix + r.Version }

// Apply changes a config to install this release: what a platform team
// edits in purrvision.yaml to move to it.
func (r ChartRelease) Apply(cfg *config.Config) {
	cfg.Chart.Version = r.Version
	cfg.Chart.Source.Tag = r.Tag()
	cfg.Chart.Source.Commit = ""
}

// ConfigChange is the change of purrvision.yaml Apply makes, as YAML.
func (r ChartRelease) ConfigChange() string {
	return fmt.Sprintf("chart:\n  version: %s\n  source:\n    tag: %s\n", r.Version, r.Tag())
}

var (
	versionLine = regexp.MustCompile(`(?m)^version: .*$`)
	semver      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
)

// ErrTagExists is returned by ReleaseChart for a version already tagged.
var ErrTagExists = errors.New("the chart repo has this tag already")

// ReleaseChart publishes a version of the store chart in the chart repo at
// repo (a bare repository's path, or its URL on the dev git server):
// Chart.yaml's version bumped on a clone of main in work, committed and
// tagged; a sound release is pushed onto main with its tag, a broken one
// as its tag only.
func ReleaseChart(repo, work string, r ChartRelease) error {
	if !semver.MatchString(r.Version) {
		return fmt.Errorf("releasing the chart: version %q is not a semantic version such as 0.2.0", r.Version)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(work, "chart-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := gitserver.Git(work, "clone", "-q", "-b", "main", repo, dir); err != nil {
		return fmt.Errorf("cloning the chart repo %s: %w: %s", repo, err, out)
	}
	if out, err := gitserver.Git(dir, "ls-remote", "--tags", "origin", "refs/tags/"+r.Tag()); err != nil {
		return fmt.Errorf("listing the chart repo's tags: %w: %s", err, out)
	} else if len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("releasing the chart %s: %w", r.Tag(), ErrTagExists)
	}
	chartYAML := filepath.Join(dir, filepath.FromSlash(chartDir), "Chart.yaml")
	data, err := os.ReadFile(chartYAML)
	if err != nil {
		return fmt.Errorf("reading the chart's Chart.yaml: %w", err)
	}
	if !versionLine.Match(data) {
		return fmt.Errorf("releasing the chart: %s has no version line", chartDir+"/Chart.yaml")
	}
	data = versionLine.ReplaceAll(data, []byte("version: "+r.Version))
	if err := os.WriteFile(chartYAML, data, 0o644); err != nil {
		return err
	}
	msg := "Release the store chart " + r.Version
	if r.Broken {
		if err := breakSchema(filepath.Join(dir, filepath.FromSlash(chartDir), "values.schema.json")); err != nil {
			return err
		}
		msg += ", broken on purpose: its schema requires licenseKey, which no store sets"
	}
	push := []string{"push", "-q", "origin", "main", "refs/tags/" + r.Tag()}
	if r.Broken {
		push = []string{"push", "-q", "origin", "refs/tags/" + r.Tag()}
	}
	for _, args := range [][]string{{"commit", "-q", "-am", msg}, {"tag", r.Tag()}, push} {
		if out, err := gitserver.Git(dir, args...); err != nil {
			return fmt.Errorf("git %v in the chart repo: %w: %s", args, err, out)
		}
	}
	return nil
}

// breakSchema makes the chart's values schema require a value no store
// has, so helm-controller cannot install the chart.
func breakSchema(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the chart's values schema: %w", err)
	}
	broken := bytes.Replace(data, []byte(`"required": ["store", `), []byte(`"required": ["licenseKey", "store", `), 1)
	if bytes.Equal(broken, data) {
		return errors.New("breaking the chart: its values schema has no top-level required list starting with store")
	}
	return os.WriteFile(path, broken, 0o644)
}
