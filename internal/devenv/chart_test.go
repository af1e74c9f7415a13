package devenv

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/gitserver"
)

func show(t *testing.T, bare, spec string) string {
	t.Helper()
	out, err := gitserver.Git(bare, "show", spec)
	if err != nil {
		t.Fatalf("git show %s: %v\n%s", spec, err, out)
	}
	return string(out)
}

func TestReleaseChart(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "chart.git")
	if out, err := gitserver.Git(dir, "init", "-q", "--bare", "-b", "main", bare); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := PushChart(filepath.Join(dir, "seed"), bare); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	const chartYAML = "charts/woocommerce/Chart.yaml"
	const schema = "charts/woocommerce/values.schema.json"

	if err := ReleaseChart(bare, work, ChartRelease{Version: "0.2.0"}); err != nil {
		t.Fatal(err)
	}
	if got := show(t, bare, "woocommerce-0.2.0:"+chartYAML); !strings.Contains(got, "\nversion: 0.2.0\n") {
		t.Errorf("Chart.yaml at woocommerce-0.2.0:\n%s", got)
	}
	if got := show(t, bare, "main:"+chartYAML); !strings.Contains(got, "\nversion: 0.2.0\n") {
		t.Errorf("a sound release is not on main:\n%s", got)
	}
	if got := show(t, bare, ChartTag+":"+chartYAML); !strings.Contains(got, "\nversion: 0.1.0\n") {
		t.Errorf("the first release changed:\n%s", got)
	}

	if err := ReleaseChart(bare, work, ChartRelease{Version: "0.3.0", Broken: true}); err != nil {
		t.Fatal(err)
	}
	if got := show(t, bare, "woocommerce-0.3.0:"+schema); !strings.Contains(got, `"licenseKey"`) {
		t.Errorf("the broken release's schema does not require licenseKey:\n%s", got)
	}
	if got := show(t, bare, "woocommerce-0.3.0:"+chartYAML); !strings.Contains(got, "\nversion: 0.3.0\n") {
		t.Errorf("Chart.yaml at woocommerce-0.3.0:\n%s", got)
	}
	if got := show(t, bare, "main:"+schema); strings.Contains(got, `"licenseKey"`) {
		t.Error("the broken schema reached main: later releases would be broken too")
	}

	if err := ReleaseChart(bare, work, ChartRelease{Version: "0.2.0"}); !errors.Is(err, ErrTagExists) {
		t.Errorf("releasing 0.2.0 twice: %v, want ErrTagExists", err)
	}
	if err := ReleaseChart(bare, work, ChartRelease{Version: "v1"}); err == nil || !strings.Contains(err.Error(), `"v1"`) {
		t.Errorf("releasing version v1: %v, want an error naming it", err)
	}
}

func TestChartRelease_Apply(t *testing.T) {
	cfg := &config.Config{Chart: config.Chart{Version: "0.1.0", Source: config.ChartSource{Kind: config.SourceGit, Tag: ChartTag, Commit: "abc"}}}
	r := ChartRelease{Version: "0.2.0"}
	r.Apply(cfg)
	if cfg.Chart.Version != "0.2.0" || cfg.Chart.Source.Tag != "woocommerce-0.2.0" || cfg.Chart.Source.Commit != "" {
		t.Errorf("chart after Apply: %+v", cfg.Chart)
	}
	if !strings.Contains(r.ConfigChange(), "tag: woocommerce-0.2.0") {
		t.Errorf("config change:\n%s", r.ConfigChange())
	}
}
