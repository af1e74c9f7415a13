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

func TestEnumerate(t *testing.T) {
	forty := func(c string) string { return strings.Repeat(c, 40) }
	tests := []struct {
		names []string
		max   int
		want  string
	}{
		{nil, 10, ""},
		{[]string{"a"}, 10, "a"},
		{[]string{"a", "b"}, 10, "a and b"},
		{[]string{"a", "b", "c"}, 20, "a, b and c"},
		{[]string{forty("a"), forty("b"), forty("c")}, 114, forty("a") + ", " + forty("b") + " and 1 more"},
		{[]string{forty("a"), forty("b"), forty("c")}, 60, forty("a") + " and 2 more"},
		{[]string{forty("a"), forty("b")}, 20, "aaaaaa... and 1 more"},
		{[]string{forty("a")}, 2, "aa"},
	}
	for _, tt := range tests {
		got := Enumerate(tt.names, tt.max)
		if got != tt.want {
			t.Errorf("Enumerate(%d names, %d) = %q, want %q", len(tt.names), tt.max, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > tt.max {
			t.Errorf("Enumerate(%d names, %d) has %d characters", len(tt.names), tt.max, n)
		}
	}
}
