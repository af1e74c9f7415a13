package charts_test

import (
	"io/fs"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"

	"github.com/purrvision/purrvision/charts"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
)

// libInclude is the line of backup.sh and restore.sh that sources lib.sh;
// the ConfigMap holds lib.sh in its place.
const libInclude = `. "${0%/*}/lib.sh" # @include lib.sh` + "\n"

// renderBackupScripts renders the backup scripts' ConfigMap with backups
// enabled and returns its data. Only that template (and the helpers) is
// rendered, without the values schema: the backup CronJob and the schema's
// backups block need the whole backups values, which the renderer gives;
// here the ConfigMap alone is under test.
func renderBackupScripts(t *testing.T) map[string]string {
	t.Helper()
	ch, err := charts.Load(charts.WooCommerce)
	if err != nil {
		t.Fatal(err)
	}
	var kept []*common.File
	for _, f := range ch.Templates {
		if f.Name == "templates/_helpers.tpl" || f.Name == "templates/backup-scripts.yaml" {
			kept = append(kept, f)
		}
	}
	if len(kept) != 2 {
		t.Fatalf("chart templates %v lack _helpers.tpl or backup-scripts.yaml", ch.Templates)
	}
	ch.Templates = kept
	ch.Schema = nil
	objs, err := charts.Render(ch, map[string]any{"backups": map[string]any{"enabled": true}},
		charts.Release{Name: v1alpha1.ReleaseName, Namespace: "store-cat-cafe", KubeVersion: kubeVersion})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(objs) != 1 || objs[0].GetKind() != "ConfigMap" || objs[0].GetName() != v1alpha1.ReleaseName+"-backup-scripts" {
		t.Fatalf("rendered %v, want the ConfigMap %s-backup-scripts", objs, v1alpha1.ReleaseName)
	}
	data := map[string]string{}
	raw, _ := objs[0].Object["data"].(map[string]any)
	for k, v := range raw {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("data.%s is %T, not a string", k, v)
		}
		data[k] = s
	}
	return data
}

func chartFile(t *testing.T, name string) string {
	t.Helper()
	data, err := fs.ReadFile(charts.FS(), "woocommerce/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestBackupScripts_ConfigMap: with backups enabled the chart ships
// backup.sh and restore.sh, each standing alone with lib.sh in place of
// the line that sources it; without, no ConfigMap.
func TestBackupScripts_ConfigMap(t *testing.T) {
	data := renderBackupScripts(t)
	if len(data) != 2 {
		t.Errorf("keys = %v, want backup.sh and restore.sh", data)
	}
	lib := chartFile(t, "scripts/lib.sh")
	for _, key := range []string{"backup.sh", "restore.sh"} {
		src := chartFile(t, "scripts/"+key)
		if !strings.Contains(src, libInclude) {
			t.Fatalf("scripts/%s does not source lib.sh with %q", key, libInclude)
		}
		if want := strings.Replace(src, libInclude, lib, 1); data[key] != want {
			t.Errorf("%s in the ConfigMap is not scripts/%s with lib.sh in place", key, key)
		}
		if !strings.HasPrefix(data[key], "#!/bin/sh\n") || strings.Contains(data[key], "@include") {
			t.Errorf("%s in the ConfigMap does not stand alone:\n%s", key, data[key])
		}
	}

	for _, plan := range testutil.ExampleConfig(t).PlanNames() {
		for _, o := range render(t, storeValues(t, plan)) {
			if strings.HasSuffix(o.GetName(), "-backup-scripts") {
				t.Errorf("plan %s without backups renders %s %s", plan, o.GetKind(), o.GetName())
			}
		}
	}
}
