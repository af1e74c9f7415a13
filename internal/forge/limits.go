package forge

import "unicode/utf8"

// GitHub's limits, in characters. GitHub answers 422 past them, so
// nothing Purrvision sends may exceed them.
const (
	MaxLabel             = 50
	MaxTitle             = 256
	MaxBody              = 65536
	MaxStatusDescription = 140
	MaxEnvironment       = 255
)

const ellipsis = "..."

// KeepStart cuts s to at most max characters, keeping its start and
// marking the cut with "...".
func KeepStart(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-len(ellipsis)]) + ellipsis
}

// KeepEnd cuts s to at most max characters, keeping its end (where Flux
// puts the cause of a failure) and marking the cut with "...".
func KeepEnd(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return ellipsis + string(r[len(r)-(max-len(ellipsis)):])
}
