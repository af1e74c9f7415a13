package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/config"
)

// withBackups is minimal with daily backups on plan small and a top-level
// target.
const withBackups = `
baseDomain: shop.example.com
sops:
  ageRecipients: [age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp]
plans:
  small: {cpu: "1", memory: 1Gi, storage: 5Gi, pods: 4, backups: {schedule: "0 3 * * *", keep: 14}}
chart:
  version: 0.1.0
  source: {url: "https://example.com/charts.git", tag: v0.1.0}
backups:
  target:
    repository: s3:https://s3.eu.example.com/acme-backups/stores
    credentialsFile: /etc/purrvision/backup-credentials
    egress: [{cidr: 203.0.113.10/32, ports: [443]}]
`

func TestParse_BackupsDefaults(t *testing.T) {
	cfg := parse(t, minimal)
	if got := cfg.Backups.KeepAfterDecommissionDuration(); got != 30*24*time.Hour {
		t.Errorf("keepAfterDecommission = %v, want 720h", got)
	}
	if cfg.Plans["small"].Backups != nil || cfg.ClusterSettings("default").Backup != nil {
		t.Error("a config without backups has some")
	}
	cfg = parse(t, withBackups+"  keepAfterDecommission: 2160h\n")
	if got := cfg.Backups.KeepAfterDecommissionDuration(); got != 90*24*time.Hour {
		t.Errorf("keepAfterDecommission = %v, want 2160h", got)
	}
}

// TestClusterSettings_BackupTarget: a cluster's own target replaces the
// top-level one whole; others fall back to it.
func TestClusterSettings_BackupTarget(t *testing.T) {
	cfg := parse(t, withBackups+`clusters:
- name: eu
- name: us
  backup:
    repository: s3:https://s3.us.example.com:9000/us-backups
    credentialsFile: /etc/purrvision/us-backup
    egress: [{cidr: "2001:db8::/64", ports: [9000]}]
`)
	if got := cfg.ClusterSettings("eu").Backup.Repository; got != "s3:https://s3.eu.example.com/acme-backups/stores" {
		t.Errorf("eu repository = %q, want the top-level one", got)
	}
	us := cfg.ClusterSettings("us").Backup
	if us.Repository != "s3:https://s3.us.example.com:9000/us-backups" || us.CredentialsFile != "/etc/purrvision/us-backup" || us.Egress[0].Ports[0] != 9000 {
		t.Errorf("us target = %+v, want its own", us)
	}
}

func TestParse_BackupErrors(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string
		append  string
		want    string
	}{
		{name: "bad schedule", replace: [2]string{`"0 3 * * *"`, `"0 3 * *"`}, want: `plans.small.backups.schedule: "0 3 * *" has 4 fields`},
		{name: "schedule out of range", replace: [2]string{`"0 3 * * *"`, `"0 25 * * *"`}, want: "plans.small.backups.schedule: \"0 25 * * *\": hour 25 is out of range 0-23"},
		{name: "keep zero", replace: [2]string{"keep: 14", "keep: 0"}, want: "plans.small.backups.keep: 0 must be 1 or more"},
		{name: "memory too small", replace: [2]string{"memory: 1Gi", "memory: 384Mi"}, want: "plans.small.memory: 384Mi is too small for a plan with backups"},
		{name: "keep missing", replace: [2]string{", keep: 14", ""}, want: "plans.small.backups.keep"},
		{name: "no target", replace: [2]string{"backups:\n  target:", "x:\n  target:"}, want: "x"},
		{name: "bad keepAfterDecommission", append: "  keepAfterDecommission: 30d\n", want: `backups.keepAfterDecommission: "30d" is not a positive duration`},
		{name: "negative keepAfterDecommission", append: "  keepAfterDecommission: -1h\n", want: "backups.keepAfterDecommission"},
		{name: "repository without scheme", replace: [2]string{"s3:https://s3.eu", "https://s3.eu"}, want: "backups.target.repository: \"https://s3.eu.example.com/acme-backups/stores\" is not s3:https://host"},
		{name: "repository rest", replace: [2]string{"s3:https://s3.eu.example.com/acme-backups/stores", "rest:https://backup.example.com/"}, want: "backups.target.repository"},
		{name: "repository with a user", replace: [2]string{"s3:https://s3.eu", "s3:https://key:secret@s3.eu"}, want: "backups.target.repository"},
		{name: "repository with a query", replace: [2]string{"acme-backups/stores", "acme-backups/stores?x=1"}, want: "backups.target.repository"},
		{name: "repository with a trailing slash", replace: [2]string{"acme-backups/stores", "acme-backups/stores/"}, want: "backups.target.repository"},
		{name: "repository with dot-dot", replace: [2]string{"acme-backups/stores", "acme-backups/../other"}, want: "backups.target.repository"},
		{name: "repository without a bucket", replace: [2]string{"s3.eu.example.com/acme-backups/stores", "s3.eu.example.com"}, want: "backups.target.repository"},
		{name: "no credentials file", replace: [2]string{"credentialsFile: /etc/purrvision/backup-credentials", "credentialsFile: \"\""}, want: "backups.target.credentialsFile: required"},
		{name: "no egress", replace: [2]string{"egress: [{cidr: 203.0.113.10/32, ports: [443]}]", "egress: []"}, want: "backups.target.egress: required"},
		{name: "bad cidr", replace: [2]string{"203.0.113.10/32", "203.0.113.10"}, want: `backups.target.egress[0].cidr: "203.0.113.10" is not a CIDR`},
		{name: "cidr with host bits", replace: [2]string{"203.0.113.10/32", "203.0.113.10/24"}, want: "backups.target.egress[0].cidr"},
		{name: "no ports", replace: [2]string{"ports: [443]", "ports: []"}, want: "backups.target.egress[0].ports: required"},
		{name: "bad port", replace: [2]string{"ports: [443]", "ports: [443, 70000]"}, want: "backups.target.egress[0].ports[1]: 70000 is not a port"},
		{name: "bad image", append: "    image: {repository: restic, tag: latest}\n", want: `backups.target.image.tag: "latest" is not a pinned tag`},
		{name: "unpinned image", append: "    image: {repository: mirror/backup}\n", want: "backups.target.image: pin the image with backups.target.image.tag"},
		{name: "bad cluster target", append: "clusters: [{name: a, backup: {repository: s3:https://h/b, credentialsFile: f, egress: [{cidr: \"::/0\", ports: [0]}]}}]\n", want: "clusters[0].backup.egress[0].ports[0]: 0 is not a port"},
		{name: "unknown key", append: "    bucket: x\n", want: "bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := withBackups
			if tt.replace[0] != "" {
				if !strings.Contains(doc, tt.replace[0]) {
					t.Fatalf("test is broken: %q not in the document", tt.replace[0])
				}
				doc = strings.Replace(doc, tt.replace[0], tt.replace[1], 1)
			}
			_, err := config.Parse([]byte(doc + tt.append))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestParse_PlanBackupsNeedATarget: a plan with backups and a cluster that
// has no target, its own or the top-level one, is refused with both keys
// and the fix; a target without any plan taking backups is fine.
func TestParse_PlanBackupsNeedATarget(t *testing.T) {
	noTop := withBackups[:strings.Index(withBackups, "backups:\n  target:")]
	_, err := config.Parse([]byte(noTop + `clusters:
- name: eu
  backup: {repository: s3:https://s3.example.com/b, credentialsFile: f, egress: [{cidr: 203.0.113.0/24, ports: [443]}]}
- name: us
`))
	want := `clusters[1].backup: cluster "us" has no backup target, but plans.small.backups asks for backups; set clusters[1].backup or backups.target, or remove the plan's backups`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Parse() error = %v, want %q", err, want)
	}
	if strings.Contains(fmt.Sprint(err), "clusters[0].backup") {
		t.Errorf("cluster eu has its own target, yet: %v", err)
	}
	parse(t, strings.Replace(withBackups, `, backups: {schedule: "0 3 * * *", keep: 14}`, "", 1))
}

func TestCheckCronSchedule(t *testing.T) {
	good := []string{
		"0 3 * * *", "*/15 * * * *", "0 0-23/6 * * *", "30 2 1,15 * *", "0 4 * * sun", "0 4 * * MON-FRI",
		"0 4 ? * 7", "0 0 1 jan,jul *", "5,10,55 1-3 */2 1-12/3 0-6", "@daily", "@hourly", "@weekly", "@midnight", "@yearly",
	}
	for _, s := range good {
		if err := config.CheckCronSchedule(s); err != nil {
			t.Errorf("CheckCronSchedule(%q) = %v, want nil", s, err)
		}
	}
	bad := map[string]string{
		"":                         "is empty",
		"0 3 * *":                  "has 4 fields",
		"0 3 * * * *":              "has 6 fields",
		"60 3 * * *":               "minute 60 is out of range 0-59",
		"0 3 0 * *":                "day of month 0 is out of range 1-31",
		"0 3 * 13 *":               "month 13 is out of range 1-12",
		"0 3 * * 8":                "day of week 8 is out of range 0-7",
		"0 3 * * funday":           `"funday" is not a number`,
		"0 5-3 * * *":              "whose start is after its end",
		"*/0 * * * *":              "step \"0\"",
		"*/x * * * *":              "step \"x\"",
		"0 3 * * * ; rm -rf /":     "fields",
		"TZ=UTC 0 3 * * *":         "time zone",
		"CRON_TZ=Europe/Paris 0 3": "time zone",
		"@every 1h":                "is not one of @yearly",
		"@reboot":                  "is not one of",
		"-1 3 * * *":               "is not a number",
		"+1 3 * * *":               "is not a number",
		"1,,2 3 * * *":             "is not a number",
		"0 3 * * 1-":               "is not a number",
	}
	for s, want := range bad {
		err := config.CheckCronSchedule(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckCronSchedule(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}

// FuzzCheckCronSchedule: no input panics, and what is accepted has five
// fields or is a descriptor, with no time zone.
func FuzzCheckCronSchedule(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/5 1-2 ? jan-dec mon", "@daily", "TZ=x 1 2 3 4 5", "1,2/3 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if config.CheckCronSchedule(s) != nil {
			return
		}
		if !strings.HasPrefix(s, "@") && len(strings.Fields(s)) != 5 {
			t.Errorf("accepted %q, which has %d fields", s, len(strings.Fields(s)))
		}
		if strings.Contains(s, "TZ=") {
			t.Errorf("accepted %q, which names a time zone", s)
		}
	})
}

func TestParseBackupCredentials(t *testing.T) {
	const id, secret = "AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	c, err := config.ParseBackupCredentials([]byte("# the backup user\nAWS_ACCESS_KEY_ID=" + id + "\n\nAWS_SECRET_ACCESS_KEY = " + secret + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != id || c.SecretAccessKey != secret || !strings.HasPrefix(c.Fingerprint, "scrypt:") {
		t.Errorf("credentials = %q %q %q", c.AccessKeyID, c.SecretAccessKey, c.Fingerprint)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, secret) || strings.Contains(s, id) {
			t.Errorf("printing the credentials shows them: %s", s)
		}
	}
	if strings.Contains(c.Fingerprint, secret) || strings.Contains(c.Fingerprint, id) {
		t.Error("the fingerprint holds the key")
	}
	other, err := config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=" + id + "\nAWS_SECRET_ACCESS_KEY=" + secret + "x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Fingerprint == c.Fingerprint {
		t.Error("two secrets share a fingerprint")
	}

	for name, tt := range map[string]struct{ doc, want string }{
		"empty":          {"", "needs both"},
		"no secret":      {"AWS_ACCESS_KEY_ID=" + id + "\n", "needs both"},
		"unknown key":    {"AWS_SESSION_TOKEN=" + secret + "\n", "line 1 is not AWS_ACCESS_KEY_ID"},
		"not key=value":  {secret + "\n", "line 1 is not"},
		"twice":          {"AWS_ACCESS_KEY_ID=a\nAWS_ACCESS_KEY_ID=" + id + "\n", "line 2 sets AWS_ACCESS_KEY_ID a second time"},
		"quoted":         {"AWS_ACCESS_KEY_ID=\"" + secret + "\"\n", "line 1: AWS_ACCESS_KEY_ID is empty or has spaces or quotes"},
		"empty value":    {"AWS_SECRET_ACCESS_KEY=\n", "is empty"},
		"space in value": {"AWS_SECRET_ACCESS_KEY=" + secret + " x\n", "has spaces"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.ParseBackupCredentials([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), id) {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

func TestLoadBackupCredentials(t *testing.T) {
	dir := t.TempDir()
	top, us := filepath.Join(dir, "top"), filepath.Join(dir, "us")
	for f, doc := range map[string]string{top: "AWS_ACCESS_KEY_ID=top\nAWS_SECRET_ACCESS_KEY=topsecret\n", us: "AWS_ACCESS_KEY_ID=us\nAWS_SECRET_ACCESS_KEY=ussecret\n"} {
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc := strings.Replace(withBackups, "/etc/purrvision/backup-credentials", top, 1) + `clusters:
- name: eu
- name: us
  backup: {repository: s3:https://s3.us.example.com/b, credentialsFile: ` + us + `, egress: [{cidr: 203.0.113.0/24, ports: [443]}]}
`
	got, err := parse(t, doc).LoadBackupCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if got["eu"].AccessKeyID != "top" || got["us"].AccessKeyID != "us" || got["us"].SecretAccessKey != "ussecret" {
		t.Errorf("credentials by cluster: eu %q, us %q", got["eu"].AccessKeyID, got["us"].AccessKeyID)
	}

	if err := os.Remove(us); err != nil {
		t.Fatal(err)
	}
	_, err = parse(t, doc).LoadBackupCredentials()
	if err == nil || !strings.Contains(err.Error(), "reading clusters[1].backup.credentialsFile") {
		t.Errorf("a missing file: error = %v, want it to name clusters[1].backup.credentialsFile", err)
	}
	if got, err := parse(t, minimal).LoadBackupCredentials(); err != nil || len(got) != 0 {
		t.Errorf("no targets: %d credentials, error %v", len(got), err)
	}
}
