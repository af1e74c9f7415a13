package forge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	long := strings.Repeat("a", 100) + strings.Repeat("é", 100)
	tests := []struct {
		name string
		cut  func(string, int) string
		in   string
		want string
	}{
		{"short kept start", KeepStart, "abc", "abc"},
		{"short kept end", KeepEnd, "abc", "abc"},
		{"exactly max", KeepStart, strings.Repeat("x", 140), strings.Repeat("x", 140)},
		{"start", KeepStart, long, strings.Repeat("a", 100) + strings.Repeat("é", 37) + "..."},
		{"end", KeepEnd, long, "..." + lastRunes(long, 137)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cut(tt.in, MaxStatusDescription)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > MaxStatusDescription || !utf8.ValidString(got) {
				t.Fatalf("%d characters (valid UTF-8: %t)", n, utf8.ValidString(got))
			}
		})
	}
}

func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[len(r)-n:])
}
