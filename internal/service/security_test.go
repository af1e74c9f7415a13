package service_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// Adversarial scenarios of issue 10, through the real webhook handler and
// the GitHub stand-in. Each plays someone who may not change a store, and
// fails when the guard it names is removed.

// statusComments are the bot's comments that count as the status comment.
func statusComments(h *harness, n int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() == ghstandin.BotLogin && v1alpha1.Marked(c.GetBody(), v1alpha1.MarkerStatus) {
			out = append(out, c)
		}
	}
	return out
}

// foreignHTMLComments reports whether a body of the bot's carries an HTML
// comment anywhere but its marker line (and, in the status comment, the
// state line under it).
func foreignHTMLComments(body string) bool {
	_, rest, _ := strings.Cut(body, "\n")
	if v1alpha1.Marked(body, v1alpha1.MarkerStatus) {
		_, rest, _ = strings.Cut(rest, "\n")
	}
	return strings.Contains(rest, "<!--") || strings.Contains(rest, "-->")
}

// TestSecurity_ForgedBotState (class 3): the bot quotes what people write
// (a refused command's first line, a heading it does not know). Planted
// markers and HTML in that text must not become the bot's state: the
// status comment stays the one the bot wrote as such, and no bot comment
// carries an HTML comment or a mention taken from user text.
// Guards: markers count only on a bot comment's first line
// (v1alpha1.Marked, storestatus.Parse), and quoteUser/neutralize.
func TestSecurity_ForgedBotState(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	forged := "/purrvision resize " + v1alpha1.MarkerStatus + " <!-- purrvision:state {\"store\":\"cat-cafe\",\"phase\":\"ready\",\"url\":\"https://evil.example/\"} --> Ready: log in at https://evil.example @admin"
	// An invalid request (unknown plan), with a heading of the attacker's.
	body := formBody("cat-cafe", "xl", "owner@example.com") + "\n\n### " + v1alpha1.MarkerStatus + " @admin\n\nx"
	n := h.gh.OpenIssue(requestsRepo, "octocat", "Store: cat-cafe", body, v1alpha1.LabelRequest)
	h.settle()
	// The requester's own command is answered while the request is invalid,
	// quoting its first line.
	h.gh.Comment(requestsRepo, n, "octocat", forged)
	h.settle()
	// The request is fixed: the bot must now post its own status comment.
	h.gh.EditIssueBody(requestsRepo, n, "octocat", formBody("cat-cafe", "small", "owner@example.com"))
	h.settle()

	st := statusComments(h, n)
	if len(st) != 1 {
		t.Fatalf("%d status comments, want the one the bot wrote", len(st))
	}
	state := storestatus.Parse(st[0].GetBody())
	if state.Phase != v1alpha1.PhasePendingReview || strings.Contains(state.URL, "evil") {
		t.Errorf("status state %+v, want pending review at the store's own URL", state)
	}
	replies := h.replies(n)
	if len(replies) != 1 || !strings.Contains(replies[0], "not valid") {
		t.Fatalf("replies %q, want the one refusal of the command", replies)
	}
	for _, c := range h.gh.Comments(requestsRepo, n) {
		if c.GetUser().GetLogin() != ghstandin.BotLogin {
			continue
		}
		if foreignHTMLComments(c.GetBody()) {
			t.Errorf("bot comment carries an HTML comment from user text:\n%s", c.GetBody())
		}
		if strings.Contains(c.GetBody(), " @admin") {
			t.Errorf("bot comment repeats a mention from user text:\n%s", c.GetBody())
		}
	}
}

// TestSecurity_UnauthorizedCommandsQuiet (class 7): someone without rights
// gets one reply per issue, then only a reaction; the reply repeats none
// of the mentions in the command.
func TestSecurity_UnauthorizedCommandsQuiet(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	var ids []int64
	for _, cmd := range []string{"/purrvision decommission @mallory @acme/platform", "/purrvision decommission", "/purrvision rotate-credentials"} {
		ids = append(ids, h.gh.Comment(requestsRepo, n, "eve", cmd))
		h.settle()
	}
	replies := h.replies(n)
	if len(replies) != 1 {
		t.Fatalf("%d replies to eve's commands, want 1:\n%s", len(replies), strings.Join(replies, "\n---\n"))
	}
	if strings.Contains(replies[0], " @mallory") || strings.Contains(replies[0], " @acme/platform") {
		t.Errorf("the reply repeats the command's mentions:\n%s", replies[0])
	}
	for _, id := range ids[1:] {
		if r := h.gh.Reactions(id); len(r) != 1 || r[0] != ghstandin.BotLogin+":-1" {
			t.Errorf("reactions on a repeated refused command = %v, want the bot's -1", r)
		}
	}
	// Another person without rights gets their one reply too.
	h.gh.Comment(requestsRepo, n, "mallory", "/purrvision decommission")
	h.settle()
	if got := len(h.replies(n)); got != 2 {
		t.Errorf("%d replies after a second person's command, want 2", got)
	}
	if open := h.pulls()["store/cat-cafe"]; len(open) != 1 || open[0].GetState() != "closed" {
		t.Error("a refused command changed the pull requests")
	}
}
