package doctest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/testutil"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Block
		// err, when set, is the start of the error.
		err string
	}{
		{
			name: "a marked block is found, comments dropped",
			doc: "# Title\n\nText.\n\n```sh dev\n" +
				"bin/purrvision dev request --name dog-diner --plan medium   # open a request\n" +
				"                                                             # a comment line\n" +
				"bin/purrvision dev merge 2\n```\n",
			want: []Block{{File: "README.md", Line: 5, Commands: []Command{
				{Line: 6, Text: "bin/purrvision dev request --name dog-diner --plan medium"},
				{Line: 8, Text: "bin/purrvision dev merge 2"},
			}}},
		},
		{
			name: "an unmarked block is not found",
			doc:  "```sh\nbin/purrvision dev merge 2\n```\n\n```yaml dev\nkey: value\n```\n",
		},
		{
			name: "a block whose info is sh alone is not run, even with a placeholder",
			doc:  "```sh\ngit push http://reviewer:ghp_…@127.0.0.1:<port>/tenants.git HEAD:refs/heads/my-branch\n```\n",
		},
		{
			name: "a placeholder is refused with its file:line",
			doc:  "Intro\n\n```sh dev\necho ok\nbin/purrvision audit --config <dev dir>/purrvision.yaml cat-cafe\n```\n",
			err:  `README.md:5: "<dev dir>" is a placeholder`,
		},
		{
			name: "a placeholder in a comment is only prose",
			doc:  "```sh dev\nbin/purrvision dev merge 2   # merge <pull request>\n```\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{{Line: 2, Text: "bin/purrvision dev merge 2"}}}},
		},
		{
			name: "continuation lines are joined, named by their first line",
			doc:  "```bash dev\nbin/purrvision rollout start \\\n  --waves 1,100%\necho done\n```\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{
				{Line: 2, Text: "bin/purrvision rollout start   --waves 1,100%"},
				{Line: 4, Text: "echo done"},
			}}},
		},
		{
			name: "a backslash before a comment does not continue the line",
			doc:  "```sh dev\necho a \\ # not a continuation\necho b\n```\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{{Line: 2, Text: `echo a \`}, {Line: 3, Text: "echo b"}}}},
		},
		{
			name: "a # inside quotes or a word is kept",
			doc:  "```sh dev\nbin/purrvision dev comment 1 \"/purrvision resize #2\" 'a # b' c#d\n```\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{{Line: 2, Text: `bin/purrvision dev comment 1 "/purrvision resize #2" 'a # b' c#d`}}}},
		},
		{
			name: "redirections and process substitution are no placeholders",
			doc:  "```sh dev\ncat < in.txt\ndiff <(echo a) <(echo a)\ncat <<<word\n```\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{
				{Line: 2, Text: "cat < in.txt"}, {Line: 3, Text: "diff <(echo a) <(echo a)"}, {Line: 4, Text: "cat <<<word"},
			}}},
		},
		{
			name: "an indented block in a list item, and tildes",
			doc:  "1. Step:\n   ```sh dev\n   echo one\n   ```\n2. Step:\n   ~~~shell dev\n   echo two\n   ~~~\n",
			want: []Block{
				{File: "README.md", Line: 2, Commands: []Command{{Line: 3, Text: "echo one"}}},
				{File: "README.md", Line: 6, Commands: []Command{{Line: 7, Text: "echo two"}}},
			},
		},
		{
			name: "a shorter fence inside a longer one is text",
			doc:  "````sh dev\necho '```'\n```\necho after\n````\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{{Line: 2, Text: "echo '```'"}, {Line: 3, Text: "```"}, {Line: 4, Text: "echo after"}}}},
		},
		{
			name: "a fence closed by the other character does not close",
			doc:  "```sh dev\necho a\n~~~\n",
			err:  "README.md:1: the runnable block is never closed",
		},
		{
			name: "an unmarked block that is never closed is no error",
			doc:  "```sh\necho a\n",
		},
		{
			name: "a quote left open is refused",
			doc:  "```sh dev\necho 'a\nb'\n```\n",
			err:  "README.md:2: a ' quote is left open",
		},
		{
			name: "a marked block with no command is refused",
			doc:  "```sh dev\n# only a comment\n\n```\n",
			err:  "README.md:1: the runnable block has no command",
		},
		{
			name: "Windows line ends",
			doc:  "```sh dev\r\necho a\r\n```\r\n",
			want: []Block{{File: "README.md", Line: 1, Commands: []Command{{Line: 2, Text: "echo a"}}}},
		},
		{
			name: "inline code of three backticks is no fence",
			doc:  "```sh dev``` is how a block is marked\n\n```sh dev\necho a\n```\n",
			want: []Block{{File: "README.md", Line: 3, Commands: []Command{{Line: 4, Text: "echo a"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract("README.md", []byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want one starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBlock_Script(t *testing.T) {
	b := Block{File: "README.md", Line: 3, Commands: []Command{{Line: 4, Text: "echo a"}, {Line: 6, Text: "echo b"}}}
	if got, want := b.Script(), "echo a\necho b\n"; got != want {
		t.Errorf("script %q, want %q", got, want)
	}
	if got := b.Where(); got != "README.md:3" {
		t.Errorf("where %q", got)
	}
}

// TestRepoDocs_RunnableBlocks holds the repository's docs to the
// convention: every marked block extracts (no placeholder), and README.md
// has the walkthrough the dev e2e runs.
func TestRepoDocs_RunnableBlocks(t *testing.T) {
	blocks, err := FromRepo(testutil.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	readme := 0
	for _, b := range blocks {
		if b.File == "README.md" {
			readme++
		}
		for _, c := range b.Commands {
			if strings.Contains(c.Text, "$PURRVISION_DEV") && !strings.Contains(b.Script(), `eval "$(bin/purrvision dev env)"`) {
				t.Errorf("%s:%d uses $PURRVISION_DEV, which its block does not set: start the block with eval \"$(bin/purrvision dev env)\"", b.File, c.Line)
			}
		}
	}
	if readme == 0 {
		t.Errorf("README.md has no runnable block (```sh %s): the dev e2e would run nothing of it", Marker)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("```sh dev\necho a \\\n b # c\n```\n")
	f.Add("   ~~~~bash dev\n   echo '#'\n   ~~~~\n```sh\n<x>\n```")
	f.Add("```sh dev\necho \"a\\\"b\" <dev dir>\n```\n")
	f.Add("```sh dev\n\\")
	f.Fuzz(func(t *testing.T, doc string) {
		blocks, err := Extract("f.md", []byte(doc))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.md:") {
				t.Fatalf("error names no file:line: %v", err)
			}
			return
		}
		lines := strings.Count(strings.ReplaceAll(doc, "\r\n", "\n"), "\n") + 1
		last := 0
		for _, b := range blocks {
			if b.Line <= last || len(b.Commands) == 0 {
				t.Fatalf("block %+v out of order or empty", b)
			}
			for _, c := range b.Commands {
				if c.Line <= b.Line || c.Line > lines || c.Line <= last {
					t.Fatalf("command %+v of block at %d: line out of the block (%d lines)", c, b.Line, lines)
				}
				last = c.Line
				if c.Text == "" || c.Text != strings.TrimSpace(c.Text) || strings.Contains(c.Text, "\n") {
					t.Fatalf("command %q is not one trimmed line", c.Text)
				}
				if placeholder.MatchString(c.Text) {
					t.Fatalf("command %q holds a placeholder", c.Text)
				}
			}
		}
	})
}
