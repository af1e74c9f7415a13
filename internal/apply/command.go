package apply

import "strings"

// CommandPrefix starts every command people comment.
const CommandPrefix = "/purrvision"

// CommandWords are the words of the command on a comment's first line,
// after CommandPrefix; ok is false when the line is no command. Only the
// first line counts: a quote of a command further down runs nothing.
func CommandWords(body string) (words []string, ok bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != CommandPrefix {
		return nil, false
	}
	return f[1:], true
}
