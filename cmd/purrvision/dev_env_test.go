//go:build dev

package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevEnv_NamesTheDevFolder: `eval "$(purrvision dev env)"` sets
// PURRVISION_DEV to the running dev system's folder, whatever its name
// holds (a space, a quote, a $ or a command substitution stay text).
func TestDevEnv_NamesTheDevFolder(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	if r := runCLI(t, "", "dev", "env"); r.code != 2 || !strings.Contains(r.stderr, "no running `purrvision dev`") {
		t.Fatalf("without a running dev: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	for _, name := range []string{"purrvision-dev-123", "it's a dir", `$(touch pwned) "x" $HOME`, "tab\there"} {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, name)
			remove, err := writeDevState(devState{GitHub: "http://127.0.0.1:1", Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer remove()
			r := runCLI(t, "", "dev", "env")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			sh := exec.Command("bash", "-euo", "pipefail", "-c", `eval "$1"; printf %s "$PURRVISION_DEV"`, "bash", r.stdout)
			sh.Dir = work
			got, err := sh.CombinedOutput()
			if err != nil {
				t.Fatalf("eval %q: %v\n%s", r.stdout, err, got)
			}
			if string(got) != dir {
				t.Errorf("PURRVISION_DEV=%q, want %q (printed %q)", got, dir, r.stdout)
			}
			if matches, _ := filepath.Glob(filepath.Join(work, "pwned")); len(matches) > 0 {
				t.Error("the folder's name ran as a command")
			}
		})
	}
	remove, err := writeDevState(devState{GitHub: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if r := runCLI(t, "", "dev", "env"); r.code != 2 || !strings.Contains(r.stderr, "restart it") {
		t.Errorf("a state with no folder: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
}
