package doctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Files are the docs whose runnable blocks run, in the order a reader
// meets them: README.md, then docs/*.md by name.
func Files(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	sort.Strings(docs)
	return append([]string{filepath.Join(root, "README.md")}, docs...), nil
}

// FromRepo extracts the runnable blocks of the repository at root, each
// named by its path from root.
func FromRepo(root string) ([]Block, error) {
	files, err := Files(root)
	if err != nil {
		return nil, err
	}
	var all []Block
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading the docs: %w", err)
		}
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		blocks, err := Extract(filepath.ToSlash(rel), src)
		if err != nil {
			return nil, err
		}
		all = append(all, blocks...)
	}
	return all, nil
}

// Runner runs blocks with bash -euo pipefail, as a person pastes them into
// a terminal: one shell a block, so a block stands on its own.
type Runner struct {
	// Dir is the working directory; a block's bin/purrvision is
	// Dir/bin/purrvision.
	Dir string
	// Env is the blocks' whole environment.
	Env []string
	// Timeout bounds each block.
	Timeout time.Duration
}

// Run runs one block and returns what it printed (standard output and
// error, interleaved). A block that fails or outlasts the timeout is an
// error naming its file:line, the command bash was running when it can
// tell, and what it printed.
func (r Runner) Run(ctx context.Context, b Block) (string, error) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	// The trap names the failing command's line of the doc: bash counts
	// the script's lines from 1, one command a line.
	trap := `trap 'rc=$?; echo "doctest: line $((LINENO - 1)) of the block exited $rc" >&2; exit $rc' ERR` + "\n"
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", trap+b.Script())
	cmd.Dir, cmd.Env = r.Dir, r.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // a child holding the output open after a kill
	err := cmd.Run()
	if err == nil {
		return out.String(), nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return out.String(), fmt.Errorf("%s: the block did not finish within %v; it printed:\n%s", b.Where(), r.Timeout, out.String())
	}
	where := b.Where()
	if c, ok := b.failed(out.Bytes()); ok {
		where = fmt.Sprintf("%s:%d", b.File, c.Line)
	}
	return out.String(), fmt.Errorf("%s: %w; it printed:\n%s", where, err, out.String())
}

// failedLine is what the ERR trap prints: the command's number in the
// block.
var failedLine = regexp.MustCompile(`(?m)^doctest: line (\d+) of the block exited \d+$`)

// failed is the command bash reported failing, from the trap's last line.
func (b Block) failed(out []byte) (Command, bool) {
	m := failedLine.FindAllSubmatch(out, -1)
	if len(m) == 0 {
		return Command{}, false
	}
	n, err := strconv.Atoi(string(m[len(m)-1][1]))
	if err != nil || n < 1 || n > len(b.Commands) {
		return Command{}, false
	}
	return b.Commands[n-1], true
}
