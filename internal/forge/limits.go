package forge

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// GitHub's limits, in characters. GitHub answers 422 past them, so
// nothing Purrvision sends may exceed them.
const (
	MaxLabel             = 50
	MaxTitle             = 256
	MaxBody              = 65536
	MaxStatusDescription = 140
	MaxEnvironment       = 255

	// A check run's output (Checks API): its summary and text, Markdown,
	// each at most 65,535 characters, as GitHub's description says. Its
	// title shows on one line of the pull request's checks; the
	// description gives it no number, so Purrvision keeps it within 255
	// and the stand-in refuses more.
	MaxCheckTitle   = 255
	MaxCheckSummary = 65535
	MaxCheckText    = 65535
)

const ellipsis = "..."

// KeepStart cuts s to at most max characters, keeping its start and
// marking the cut with "...".
func KeepStart(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	if max < len(ellipsis) {
		return string(r[:max])
	}
	return string(r[:max-len(ellipsis)]) + ellipsis
}

// KeepEnd cuts s to at most max characters, keeping its end (where Flux
// puts the cause of a failure) and marking the cut with "...".
func KeepEnd(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	if max < len(ellipsis) {
		return string(r[len(r)-max:])
	}
	return ellipsis + string(r[len(r)-(max-len(ellipsis)):])
}

// Enumerate lists names as "a, b and c" in at most max characters. When
// they do not all fit it names the first ones that do and counts the
// rest: "a, b and 3 more".
func Enumerate(names []string, max int) string {
	for k := len(names); k >= 1; k-- {
		s := strings.Join(names[:k], ", ")
		switch {
		case k < len(names):
			s += fmt.Sprintf(" and %d more", len(names)-k)
		case k > 1:
			s = strings.Join(names[:k-1], ", ") + " and " + names[k-1]
		}
		if utf8.RuneCountInString(s) <= max {
			return s
		}
	}
	if len(names) == 0 {
		return ""
	}
	rest := ""
	if len(names) > 1 {
		rest = fmt.Sprintf(" and %d more", len(names)-1)
	}
	return KeepStart(KeepStart(names[0], max-len(rest))+rest, max)
}
