package rollout

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/purrvision/purrvision/internal/forge"
)

// shortHash is the first 12 digits of a commit hash.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// overview is the plan's first line, without a trailing period.
func overview(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", countStores(p.Stores))
	if p.Base != "" {
		fmt.Fprintf(&b, " at %s", shortHash(p.Base))
	}
	if len(p.Changes) == 0 && len(p.Skipped) == 0 {
		b.WriteString(": every store is up to date")
		return b.String()
	}
	fmt.Fprintf(&b, ": %s would change", thousands(len(p.Changes)))
	if len(p.Groups) > 0 {
		fmt.Fprintf(&b, " in %s", plural(len(p.Groups), "group"))
	}
	fmt.Fprintf(&b, ", %s unchanged", thousands(p.Unchanged))
	if len(p.Skipped) > 0 {
		fmt.Fprintf(&b, ", %s skipped", thousands(len(p.Skipped)))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(n) + " " + word + "s"
}

// namesText lists up to max names, then how many more.
func namesText(names []string, max int, quote func(string) string) string {
	var parts []string
	for i, n := range names {
		if i == max {
			break
		}
		parts = append(parts, quote(n))
	}
	s := strings.Join(parts, ", ")
	if len(names) > max {
		s += fmt.Sprintf(" and %s more", thousands(len(names)-max))
	}
	return s
}

// Text is the plan as `purrvision rollout plan` prints it: each group's
// headline, its stores and its representative diff, then the stores
// skipped and why.
func Text(p *Plan) string {
	var b strings.Builder
	b.WriteString(overview(p) + ".\n")
	for _, g := range p.Groups {
		fmt.Fprintf(&b, "\n%s\n", printable(g.Headline()))
		fmt.Fprintf(&b, "  stores: %s\n", namesText(g.Stores, 10, printable))
		fmt.Fprintf(&b, "  diff of %s:\n", g.Representative)
		for _, l := range strings.SplitAfter(strings.TrimSuffix(g.Diff, "\n"), "\n") {
			b.WriteString("    " + printable(strings.TrimSuffix(l, "\n")) + "\n")
		}
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(&b, "\n%s skipped, left as they are:\n", countStores(len(p.Skipped)))
		for _, s := range p.Skipped {
			fmt.Fprintf(&b, "  %s (%s): %s\n", printable(s.Store), printable(s.Dir), printable(s.Reason))
		}
	}
	return b.String()
}

// printable drops control characters, so what a tree holds cannot move a
// terminal's cursor.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}

// codeSpan shows s in Markdown as it is: one line, printable, at most max
// characters, in a code span fenced with more backticks than it holds, so
// it forms no link, mention, HTML or marker.
func codeSpan(s string, max int) string {
	s = forge.KeepStart(strings.TrimSpace(printable(strings.Join(strings.Fields(s), " "))), max)
	if s == "" {
		return "(empty)"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// codeBlock fences text as a code block of language lang, with a fence
// longer than any run of backticks in it, so it cannot end early.
func codeBlock(lang, text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + strings.TrimSuffix(text, "\n") + "\n" + fence + "\n"
}
