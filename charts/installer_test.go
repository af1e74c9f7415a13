package charts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fakeWP logs each call of wp-cli: its arguments, each after a \036, then
// \035 and what it read on standard input, then \034.
const fakeWP = `#!/bin/sh
{ for a in "$@"; do printf '\036%s' "$a"; done; printf '\035'; cat; printf '\034'; } >> "$WP_LOG"
exit 0
`

// TestInstaller_HostileTitle runs the chart's installer script, with
// wp-cli and php faked, on a shop title that wp-cli would read as its
// global --exec option if it were an argument of its own: the title must
// reach wp-cli only as the value of --title= or on standard input.
func TestInstaller_HostileTitle(t *testing.T) {
	const hostile = `--exec=system("id > /tmp/pwned");`
	vals := storeValues(t, "small")
	vals["store"].(map[string]any)["title"] = hostile
	objs := render(t, vals)
	script, env := installer(t, objs)
	if env["STORE_TITLE"] != hostile {
		t.Fatalf("STORE_TITLE is %q, want the title as given", env["STORE_TITLE"])
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"wp": fakeWP, "php": "#!/bin/sh\nexit 0\n"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The script keeps its salts under /var/lib/purrvision; keep them in
	// the test's folder instead.
	script = strings.ReplaceAll(script, "/var/lib/purrvision", filepath.Join(dir, "state"))
	log := filepath.Join(dir, "wp.log")
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdin = nil
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "WP_LOG=" + log, "WORDPRESS_ADMIN_PASSWORD=not-a-real-one"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	sawBlogname := false
	for _, call := range strings.Split(strings.TrimSuffix(string(data), "\034"), "\034") {
		argv, stdin, _ := strings.Cut(call, "\035")
		args := strings.Split(argv, "\036")[1:]
		for _, a := range args {
			if strings.Contains(a, hostile) && a != "--title="+hostile {
				t.Errorf("wp %s: the title is an argument of its own", strings.Join(args, " "))
			}
		}
		if strings.Join(args, " ") == "option update blogname" {
			sawBlogname = true
			if stdin != hostile {
				t.Errorf("wp option update blogname read %q on standard input, want the title", stdin)
			}
		}
	}
	if !sawBlogname {
		t.Errorf("the installer never set blogname; calls:\n%s", data)
	}
	if bytes.Contains(data, []byte("\036not-a-real-one")) {
		t.Error("the admin password reached wp-cli as an argument")
	}
}

// installer returns the install script of the chart and the environment of
// the container that runs it, values only.
func installer(t *testing.T, objs []*unstructured.Unstructured) (string, map[string]string) {
	t.Helper()
	var script string
	env := map[string]string{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ConfigMap":
			if s, ok, _ := unstructured.NestedString(o.Object, "data", "install.sh"); ok {
				script = s
			}
		case "Deployment", "StatefulSet":
			inits, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "initContainers")
			for _, c := range inits {
				c := c.(map[string]any)
				if c["name"] != "install" {
					continue
				}
				for _, e := range c["env"].([]any) {
					e := e.(map[string]any)
					if v, ok := e["value"].(string); ok {
						env[e["name"].(string)] = v
					}
				}
			}
		}
	}
	if script == "" || len(env) == 0 {
		t.Fatal("no installer script or installer environment in the chart")
	}
	return script, env
}
