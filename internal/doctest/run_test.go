package doctest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBin puts an executable bin/purrvision with script's body in a new
// folder and returns the folder.
func fakeBin(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "purrvision"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func extractOne(t *testing.T, doc string) Block {
	t.Helper()
	blocks, err := Extract("docs/x.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(blocks))
	}
	return blocks[0]
}

func TestRunner_Run(t *testing.T) {
	const fake = `case "$1" in
ok) echo "fine: $2" ;;
fail) echo "refused: the reason" >&2; exit 4 ;;
slow) exec sleep 60 ;;
esac
`
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	tests := []struct {
		name    string
		doc     string
		timeout time.Duration
		// err, when set, is what the error must hold, each part.
		err  []string
		want string
	}{
		{
			name: "a block that passes returns what it printed",
			doc:  "```sh dev\nbin/purrvision ok one   # a comment\nbin/purrvision ok two\n```\n",
			want: "fine: one\nfine: two\n",
		},
		{
			name: "a command that exits non-zero fails the block, named by its file:line, with its output",
			doc:  "Intro.\n\n```sh dev\nbin/purrvision ok one\n\nbin/purrvision fail\nbin/purrvision ok never\n```\n",
			err:  []string{"docs/x.md:6: exit status 4", "fine: one", "refused: the reason"},
		},
		{
			name: "a failure inside a pipeline fails the block",
			doc:  "```sh dev\nbin/purrvision fail | cat\n```\n",
			err:  []string{"docs/x.md:2:", "exit status 4"},
		},
		{
			name: "an unset variable fails the block",
			doc:  "```sh dev\necho \"$PURRVISION_DEV/purrvision.yaml\"\n```\n",
			err:  []string{"docs/x.md:1:", "PURRVISION_DEV: unbound variable"},
		},
		{
			name:    "a block that outlasts its timeout fails",
			doc:     "```sh dev\nbin/purrvision ok first\nbin/purrvision slow\n```\n",
			timeout: time.Second,
			err:     []string{"docs/x.md:1: the block did not finish within 1s", "fine: first"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Runner{Dir: fakeBin(t, fake), Env: env, Timeout: tt.timeout}
			if r.Timeout == 0 {
				r.Timeout = time.Minute
			}
			out, err := r.Run(context.Background(), extractOne(t, tt.doc))
			if len(tt.err) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if out != tt.want {
					t.Errorf("printed %q, want %q", out, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("the block passed, printing:\n%s", out)
			}
			for _, part := range tt.err {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("the error does not say %q:\n%v", part, err)
				}
			}
		})
	}
}

func TestFiles_ReadmeFirstThenDocsByName(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"README.md", "docs/b.md", "docs/a.md", "docs/notes.txt", "CHANGELOG.md"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("```sh dev\necho "+f+"\n```\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	blocks, err := FromRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range blocks {
		got = append(got, b.Where())
	}
	if want := "README.md:1 docs/a.md:1 docs/b.md:1"; strings.Join(got, " ") != want {
		t.Errorf("blocks %v, want %s", got, want)
	}
}
