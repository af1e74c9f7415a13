//go:build !dev

package main

import (
	"strings"
	"testing"
)

// TestDevCommand_NotInThisBuild: without the dev tag, `purrvision dev`
// says how to get it instead of running.
func TestDevCommand_NotInThisBuild(t *testing.T) {
	for _, args := range [][]string{{"dev"}, {"dev", "request", "--name", "x-shop", "--plan", "small"}} {
		r := runCLI(t, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "built without the dev tools") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
}
