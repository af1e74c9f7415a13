package provision

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
)

func TestScan_MarkersOnlyOnTheFirstLine(t *testing.T) {
	const bot = "purrvision[bot]"
	status := v1alpha1.MarkerStatus + "\n" + v1alpha1.MarkerState + ` {"phase":"pending-review"} -->` + "\n**Store**"
	cs := []forge.Comment{
		// The bot quoting a marker someone planted: not its status comment.
		{ID: 1, Author: bot, Body: v1alpha1.MarkerReply + " comment=9 -->\n> " + v1alpha1.MarkerStatus + "\n\nNo."},
		// Someone else's comment with every marker: never the bot's.
		{ID: 2, Author: "eve", Body: status},
		{ID: 3, Author: "eve", Body: v1alpha1.MarkerReply + " comment=10 denied=mallory -->"},
		{ID: 4, Author: bot, Body: status},
		{ID: 5, Author: bot, Body: "text\n" + v1alpha1.MarkerCredentials + " id=ab -->"},
		{ID: 6, Author: bot, Body: v1alpha1.MarkerReply + " comment=11 denied=eve -->\n> `x`"},
	}
	th := thread{ledger.Scan(forge.IssueRef{Number: 1}, bot, cs)}
	if c := th.Own[ledger.KindStatus]; c.ID != 4 {
		t.Errorf("status comment %d, want 4", c.ID)
	}
	if _, ok := th.Own[ledger.KindCredentials]; ok || th.credentialsID() != "" {
		t.Error("a marker after the first line made a credentials comment")
	}
	if !th.Record.IsAnswered(9) || th.Record.IsAnswered(10) || !th.Record.IsAnswered(11) {
		t.Errorf("replies %v, want 9 and 11 (the bot's), not 10 (eve's)", th.Record.Answered)
	}
	if !th.Record.IsDenied("eve") || th.Record.IsDenied("mallory") {
		t.Errorf("denied %v, want eve only", th.Record.Denied)
	}
}

func TestQuoteUser(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/purrvision resize medium", "`/purrvision resize medium`"},
		{"/purrvision x\nsecond line", "`/purrvision x`"},
		{"/purrvision <!-- purrvision:status --> hi", "`/purrvision  purrvision:status  hi`"},
		{"<!<!---- x", "` x`"},
		{"/purrvision `code` @admin", "``/purrvision `code` @\u2060admin``"},
		{"`", "`` ` ``"},
		{"", "(empty)"},
		{strings.Repeat("a", 200), "`" + strings.Repeat("a", 77) + "...`"},
	}
	for _, tt := range tests {
		got := quoteUser(tt.in)
		if got != tt.want {
			t.Errorf("quoteUser(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "<!--") || strings.Contains(got, "-->") || strings.Contains(got, "\n") {
			t.Errorf("quoteUser(%q) = %q can still form an HTML comment or a second line", tt.in, got)
		}
	}
}

func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"owner@example.com", "owner@example.com"},
		{"ask @admin", "ask @\u2060admin"},
		{"@admin first", "@\u2060admin first"},
		{"a <!-- b --> c", "a  b  c"},
		{"line\nbreak", "line break"},
		{"café@mallory", "café@\u2060mallory"},
		{"-ж@acme/platform", "-ж@\u2060acme/platform"},
		{"[click](https://evil.example) <b>", "\\[click\\](https://evil.example) \\<b\\>"},
	}
	for _, tt := range tests {
		if got := neutralize(tt.in); got != tt.want {
			t.Errorf("neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
