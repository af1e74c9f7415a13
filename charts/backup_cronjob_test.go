package charts_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/purrvision/purrvision/charts"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// backupValues are the values of the example store on plan small with
// daily backups, as the renderer gives them.
func backupValues(t *testing.T) map[string]any {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
	p := cfg.Plans["small"]
	p.Backups = &config.PlanBackups{Schedule: "15 2 * * *", Keep: 14}
	cfg.Plans["small"] = p
	cfg.Backups.Target = &config.BackupTarget{Repository: "s3:https://s3.example.com/backups", CredentialsFile: "unused", Egress: []config.BackupEgress{{CIDR: "203.0.113.0/24", Ports: []int32{443}}}}
	req := testutil.ExampleRequest(t)
	req.Metadata.Annotations = map[string]string{v1alpha1.AnnotationIssue: "acme/stores#7"}
	vals, err := renderer.ChartValues(cfg, req)
	if err != nil {
		t.Fatalf("ChartValues: %v", err)
	}
	return vals
}

func cronJobs(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CronJob" {
			out = append(out, o)
		}
	}
	return out
}

// TestWooCommerce_BackupCronJobOnlyWhenEnabled: the example's plans take
// no backups and render no CronJob; a plan with backups renders one.
func TestWooCommerce_BackupCronJobOnlyWhenEnabled(t *testing.T) {
	for _, plan := range testutil.ExampleConfig(t).PlanNames() {
		if n := len(cronJobs(render(t, storeValues(t, plan)))); n != 0 {
			t.Errorf("plan %s without backups: %d CronJobs", plan, n)
		}
	}
	jobs := cronJobs(render(t, backupValues(t)))
	if len(jobs) != 1 || jobs[0].GetName() != v1alpha1.ReleaseName+"-backup" {
		t.Fatalf("CronJobs %v, want one named %s-backup", jobs, v1alpha1.ReleaseName)
	}
}

// TestWooCommerce_BackupCronJob checks the backup pod against the
// scripts' contract and the store's guards: the schedule from values,
// one run at a time, the labels the network policies select, no secret
// in its environment or arguments, every mount but its scratch space
// read-only, and the node of the uploads volume.
func TestWooCommerce_BackupCronJob(t *testing.T) {
	vals := backupValues(t)
	objs := render(t, vals)
	job := cronJobs(objs)[0].Object
	// The scripts the CronJob runs are in the same release.
	scripts := false
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == v1alpha1.ReleaseName+"-backup-scripts" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			scripts = strings.HasPrefix(data["backup.sh"], "#!/bin/sh") && strings.HasPrefix(data["restore.sh"], "#!/bin/sh")
		}
	}
	if !scripts {
		t.Errorf("the release has no ConfigMap %s-backup-scripts with backup.sh and restore.sh", v1alpha1.ReleaseName)
	}
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedFieldNoCopy(job, path...)
		return fmt.Sprint(s)
	}
	for path, want := range map[string]string{
		"spec.schedule":                                                    "15 2 * * *",
		"spec.concurrencyPolicy":                                           "Forbid",
		"spec.startingDeadlineSeconds":                                     "3600",
		"spec.jobTemplate.spec.backoffLimit":                               "2",
		"spec.jobTemplate.spec.activeDeadlineSeconds":                      "10800",
		"spec.jobTemplate.spec.template.spec.restartPolicy":                "Never",
		"spec.jobTemplate.spec.template.spec.automountServiceAccountToken": "false",
		"spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot": "true",
	} {
		if got := str(strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
	pod, _, _ := unstructured.NestedMap(job, "spec", "jobTemplate", "spec", "template")
	labels, _, _ := unstructured.NestedStringMap(pod, "metadata", "labels")
	if labels[renderer.LabelComponent] != renderer.ComponentBackup || labels[renderer.LabelDatabaseClient] != "true" {
		t.Errorf("pod labels %v: want %s=%s (allow-backup-target) and %s=true (the database)", labels, renderer.LabelComponent, renderer.ComponentBackup, renderer.LabelDatabaseClient)
	}
	affinity, _, _ := unstructured.NestedSlice(pod, "spec", "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
	if got := fmt.Sprint(affinity); !strings.Contains(got, "topologyKey:kubernetes.io/hostname") || !strings.Contains(got, "app.kubernetes.io/component:wordpress") {
		t.Errorf("pod affinity %s: want the WordPress pod's node", got)
	}

	containers, _, _ := unstructured.NestedSlice(pod, "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	c := containers[0].(map[string]any)
	if got := fmt.Sprint(c["command"]); got != "[/bin/sh /scripts/backup.sh]" {
		t.Errorf("command %s", got)
	}
	if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !ro {
		t.Error("the root filesystem is writable")
	}
	if p, _, _ := unstructured.NestedString(c, "terminationMessagePolicy"); p != "File" {
		t.Errorf("terminationMessagePolicy %q, want File (the result line alone)", p)
	}
	env := map[string]string{}
	envs, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range envs {
		em := e.(map[string]any)
		name := em["name"].(string)
		if v, ok := em["value"].(string); ok {
			env[name] = v
			continue
		}
		ref, _, _ := unstructured.NestedString(em, "valueFrom", "secretKeyRef", "name")
		key, _, _ := unstructured.NestedString(em, "valueFrom", "secretKeyRef", "key")
		env[name] = "secret:" + ref + "/" + key
	}
	b := vals["backups"].(map[string]any)
	want := map[string]string{
		"MARIADB_HOST":          v1alpha1.ReleaseName + "-database",
		"MARIADB_PORT":          "3306",
		"MARIADB_DATABASE":      "wordpress",
		"MARIADB_USER":          "root",
		"MARIADB_PASSWORD_FILE": "/secrets/database/" + renderer.KeyDatabaseRootPassword,
		"UPLOADS_DIR":           "/data/uploads",
		"RESTIC_REPOSITORY":     b["repository"].(string),
		"RESTIC_PASSWORD_FILE":  "/secrets/backup/" + renderer.KeyResticPassword,
		"RESTIC_CACHE_DIR":      "/tmp/restic-cache",
		"AWS_ACCESS_KEY_ID":     "secret:" + renderer.BackupTargetSecretName + "/" + renderer.KeyAWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY": "secret:" + renderer.BackupTargetSecretName + "/" + renderer.KeyAWSSecretAccessKey,
		"STORE":                 "cat-cafe",
		"STORE_ID":              renderer.BackupStoreID("cat-cafe", "acme/stores#7"),
		"SCRATCH_DIR":           "/scratch",
		"RESULT_FILE":           "/dev/termination-log",
		"BACKUP_REASON":         "scheduled",
		"KEEP_LAST":             "14",
		"HOME":                  "/tmp",
		"TMPDIR":                "/tmp",
	}
	if fmt.Sprint(env) != fmt.Sprint(want) {
		t.Errorf("env\n got %v\nwant %v", env, want)
	}
	if !strings.HasPrefix(env["RESTIC_REPOSITORY"], "s3:https://s3.example.com/backups/default/cat-cafe-") {
		t.Errorf("RESTIC_REPOSITORY %q is not the store's own repository", env["RESTIC_REPOSITORY"])
	}

	mounts := map[string]string{}
	ms, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	for _, m := range ms {
		mm := m.(map[string]any)
		ro, _ := mm["readOnly"].(bool)
		mounts[mm["name"].(string)] = fmt.Sprintf("%s ro=%v sub=%v", mm["mountPath"], ro, mm["subPath"])
	}
	wantMounts := map[string]string{
		"scripts":           "/scripts ro=true sub=<nil>",
		"uploads":           "/data/uploads ro=true sub=uploads",
		"database-password": "/secrets/database ro=true sub=<nil>",
		"backup-password":   "/secrets/backup ro=true sub=<nil>",
		"scratch":           "/scratch ro=false sub=<nil>",
		"tmp":               "/tmp ro=false sub=<nil>",
	}
	if fmt.Sprint(mounts) != fmt.Sprint(wantMounts) {
		t.Errorf("mounts\n got %v\nwant %v", mounts, wantMounts)
	}
	vols := map[string]map[string]any{}
	vs, _, _ := unstructured.NestedSlice(pod, "spec", "volumes")
	for _, v := range vs {
		vm := v.(map[string]any)
		vols[vm["name"].(string)] = vm
	}
	if got := fmt.Sprint(vols["uploads"]["persistentVolumeClaim"]); got != "map[claimName:"+v1alpha1.ReleaseName+"-wordpress readOnly:true]" {
		t.Errorf("uploads volume %s: want the WordPress claim, read-only", got)
	}
	if got := fmt.Sprint(vols["scripts"]["configMap"]); got != "map[defaultMode:365 name:"+v1alpha1.ReleaseName+"-backup-scripts]" {
		t.Errorf("scripts volume %s: want the backup-scripts ConfigMap, mode 0555", got)
	}
	for name, secret := range map[string]string{"database-password": renderer.DatabaseSecretName + " " + renderer.KeyDatabaseRootPassword, "backup-password": renderer.BackupPasswordSecretName + " " + renderer.KeyResticPassword} {
		s := vols[name]["secret"].(map[string]any)
		items := s["items"].([]any)
		if got := fmt.Sprint(s["secretName"], " ", items[0].(map[string]any)["key"]); got != secret || len(items) != 1 || fmt.Sprint(s["defaultMode"]) != "256" {
			t.Errorf("volume %s: %v, want the one key %s, mode 0400", name, s, secret)
		}
	}
	if got, _, _ := unstructured.NestedString(vols["scratch"], "emptyDir", "sizeLimit"); got == "" {
		t.Error("the scratch volume has no size limit")
	}
}

// TestWooCommerce_BackupValuesRefused: the schema and the template refuse
// backups that would run against no repository, a repository of another
// shape, or no uploads.
func TestWooCommerce_BackupValuesRefused(t *testing.T) {
	ch, err := charts.Load(charts.WooCommerce)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(b map[string]any, v map[string]any)
		want   string
	}{
		{"no repository", func(b, _ map[string]any) { b["repository"] = "" }, "repository"},
		{"a repository with a user", func(b, _ map[string]any) { b["repository"] = "s3:https://key:secret@s3.example.com/b" }, "repository"},
		{"a store ID that is a path", func(b, _ map[string]any) { b["storeId"] = "../other-store" }, "storeId"},
		{"a schedule with a command", func(b, _ map[string]any) { b["schedule"] = "0 3 * * *; id" }, "schedule"},
		{"no password Secret", func(b, _ map[string]any) { delete(b, "passwordSecret") }, "passwordSecret"},
		{"keep zero", func(b, _ map[string]any) { b["keep"] = 0 }, "keep"},
		{"a password in values", func(b, _ map[string]any) { b["password"] = "hunter2" }, "password"},
		{"no uploads volume", func(_, v map[string]any) {
			v["wordpress"].(map[string]any)["persistence"].(map[string]any)["enabled"] = false
		}, "wordpress.persistence.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := backupValues(t)
			tt.mutate(vals["backups"].(map[string]any), vals)
			_, err := charts.Render(ch, vals, charts.Release{Name: "woocommerce", Namespace: "store-x", KubeVersion: kubeVersion})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render() error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestWooCommerce_LintWithBackups(t *testing.T) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	res := lint.RunAll(filepath.Join(testutil.RepoRoot(t), "charts", charts.WooCommerce), backupValues(t), "store-cat-cafe", lint.WithKubeVersion(kv))
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			t.Error(m)
		}
	}
}
