// Package doctest finds the shell blocks of the docs that are marked as
// runnable against the dev system, and runs them.
//
// A block is runnable when its fence's info string is a shell language
// followed by the word "dev" (```` ```sh dev ````): GitHub still renders it
// as shell, and a block whose info string is "sh" alone is only read.
// Extract is pure: it turns a Markdown file into the commands of its
// runnable blocks, comments dropped and continuation lines joined, and
// refuses a command a person could not paste as it is (a placeholder such
// as <dev dir>). Run runs one block with bash.
package doctest

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Marker is the word after the language in the info string of a runnable
// block.
const Marker = "dev"

// shells are the languages a runnable block may be written in.
var shells = map[string]bool{"sh": true, "bash": true, "shell": true}

// Command is one shell command of a block: continuation lines joined,
// comments dropped.
type Command struct {
	// Line is the line of the file the command starts on (1-based).
	Line int
	Text string
}

// Block is a runnable block of a Markdown file.
type Block struct {
	File string
	// Line is the line of the opening fence (1-based).
	Line     int
	Commands []Command
}

// Where is the block's file:line, as errors and test names show it.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

// Script is the block's commands, one a line, as bash runs them.
func (b Block) Script() string {
	var s strings.Builder
	for _, c := range b.Commands {
		s.WriteString(c.Text)
		s.WriteByte('\n')
	}
	return s.String()
}

// placeholder is text a person replaces before running a command:
// <dev dir>, <pull request>, <port>. A redirection (< file, <<EOF, <(cmd))
// does not read as one.
var placeholder = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9 _./-]*>`)

// fence is an opening or closing code fence: its indentation, its
// characters and the info string.
type fence struct {
	indent int
	marks  string
	info   string
}

// parseFence reads a fence line: up to three spaces (more inside a list
// item, which Markdown allows), then three or more backticks or tildes.
func parseFence(line string) (fence, bool) {
	trimmed := strings.TrimLeft(line, " ")
	indent := len(line) - len(trimmed)
	if trimmed == "" || (trimmed[0] != '`' && trimmed[0] != '~') {
		return fence{}, false
	}
	n := 0
	for n < len(trimmed) && trimmed[n] == trimmed[0] {
		n++
	}
	if n < 3 {
		return fence{}, false
	}
	info := strings.TrimSpace(trimmed[n:])
	if trimmed[0] == '`' && strings.Contains(info, "`") {
		return fence{}, false // inline code, not a fence
	}
	return fence{indent: indent, marks: trimmed[:n], info: info}, true
}

// closes says whether f closes a block opened by open.
func (f fence) closes(open fence) bool {
	return f.info == "" && f.marks[0] == open.marks[0] && len(f.marks) >= len(open.marks)
}

// runnable says whether a fence's info string marks its block runnable.
func runnable(info string) bool {
	words := strings.Fields(info)
	if len(words) < 2 || !shells[strings.ToLower(words[0])] {
		return false
	}
	for _, w := range words[1:] {
		if w == Marker {
			return true
		}
	}
	return false
}

// Extract returns the runnable blocks of a Markdown file, in order. file
// names it in errors. A runnable block that is never closed, holds a quote
// left open at its end, or a placeholder in a command is an error naming
// file:line.
func Extract(file string, src []byte) ([]Block, error) {
	lines := strings.Split(string(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))), "\n")
	var blocks []Block
	for i := 0; i < len(lines); i++ {
		open, ok := parseFence(lines[i])
		if !ok {
			continue
		}
		start := i
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if f, ok := parseFence(lines[i]); ok && f.closes(open) {
				closed = true
				break
			}
			body = append(body, dedent(lines[i], open.indent))
		}
		if !runnable(open.info) {
			continue
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: the runnable block is never closed: end it with %s", file, start+1, open.marks)
		}
		cmds, err := commands(file, start+2, body)
		if err != nil {
			return nil, err
		}
		if len(cmds) == 0 {
			return nil, fmt.Errorf("%s:%d: the runnable block has no command: drop %q from its fence, or add one", file, start+1, Marker)
		}
		blocks = append(blocks, Block{File: file, Line: start + 1, Commands: cmds})
	}
	return blocks, nil
}

// dedent takes off up to n leading spaces, the indentation of the block's
// fence.
func dedent(line string, n int) string {
	for i := 0; i < n && strings.HasPrefix(line, " "); i++ {
		line = line[1:]
	}
	return line
}

// commands turns a block's lines (the first on line first of the file)
// into its commands.
func commands(file string, first int, body []string) ([]Command, error) {
	var out []Command
	var cur strings.Builder
	startLine := 0
	for i, raw := range body {
		line := first + i
		code, q := stripComment(raw)
		if q != 0 {
			return nil, fmt.Errorf("%s:%d: a %c quote is left open at the end of the line: close it on the line (runnable blocks join lines only after a backslash)", file, line, q)
		}
		if cur.Len() == 0 {
			startLine = line
		}
		cont := strings.HasSuffix(code, `\`) && code == raw
		if cont {
			code = strings.TrimSuffix(code, `\`)
		}
		cur.WriteString(code)
		if cont && i < len(body)-1 {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			continue
		}
		if p := placeholder.FindString(text); p != "" {
			return nil, fmt.Errorf("%s:%d: %q is a placeholder, which a shell reads as a redirection: write what the command needs, e.g. \"$PURRVISION_DEV\" for the dev folder (eval \"$(bin/purrvision dev env)\")", file, startLine, p)
		}
		out = append(out, Command{Line: startLine, Text: text})
	}
	return out, nil
}

// stripComment drops a shell comment from a line: a # that starts a word
// outside quotes. It returns the quote left open at the end of the line,
// 0 when none.
func stripComment(line string) (string, byte) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case c == '\\':
			i++ // the next character is taken as it is
		case quote == '"':
			if c == '"' {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t' || line[i-1] == ';'):
			return strings.TrimRight(line[:i], " \t"), 0
		}
	}
	return line, quote
}
