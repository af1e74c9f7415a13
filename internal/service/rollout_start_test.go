package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

// TestRollout_StartFromAnIssue: a maintainer starts a rollout with
// `/purrvision rollout start` on an issue, as `rollout start` would, with
// no key on a laptop: the tracking issue opens with wave 1, and the
// command is answered once there. A redelivery starts nothing more;
// someone without write access gets a reaction; a bad flag is answered
// with what to fix, quoted as code; a second start while one is open is
// refused, naming it.
func TestRollout_StartFromAnIssue(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli")
	h.gh.SetPermission(requestsRepo, "maintainer", "write")
	n := h.gh.OpenIssue(requestsRepo, "maintainer", "Roll out the new chart", "Platform change of the week.")

	eve := h.gh.Comment(requestsRepo, n, "eve", "/purrvision rollout start --waves 1,100%")
	h.settle()
	if r := h.gh.Reactions(eve); !slices.Contains(r, ghstandin.BotLogin+":-1") || len(h.rolloutIssues()) != 0 {
		t.Fatalf("eve's start: reactions %v, %d tracking issues", r, len(h.rolloutIssues()))
	}

	h.gh.Comment(requestsRepo, n, "maintainer", "/purrvision rollout start --waves @everyone`x")
	h.settle()
	if r := h.replies(n); len(r) != 1 || !strings.Contains(r[0], "Not started: `--waves \"@everyone x\"") || len(h.rolloutIssues()) != 0 {
		t.Fatalf("a bad --waves: replies %q, %d tracking issues", r, len(h.rolloutIssues()))
	}

	c := h.gh.Comment(requestsRepo, n, "maintainer", "/purrvision rollout start --waves 1,100% --max-failures 0 --title chart upgrade")
	h.settle()
	issues := h.rolloutIssues()
	if len(issues) != 1 {
		t.Fatalf("%d tracking issues, want 1", len(issues))
	}
	tracking := issues[0]
	if !strings.Contains(tracking.GetTitle(), "chart upgrade") {
		t.Errorf("tracking issue %q", tracking.GetTitle())
	}
	replies := h.replies(n)
	if len(replies) != 2 || !strings.Contains(replies[1], "Started rollout") || !strings.Contains(replies[1], tracking.GetHTMLURL()) {
		t.Fatalf("replies %q, want the start answered with the tracking issue", replies)
	}
	id := strings.TrimPrefix(strings.SplitN(tracking.GetTitle(), ":", 2)[0], "Rollout ")
	if prs := h.wavePulls(id, 1); len(prs) != 1 {
		t.Fatalf("wave 1: %d pull requests", len(prs))
	}

	// GitHub redelivers the comment: nothing more.
	for _, d := range h.gh.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Body), fmt.Sprintf(`"id":%d`, c)) {
			h.gh.Redeliver(d)
		}
	}
	h.settle()
	if len(h.rolloutIssues()) != 1 || len(h.replies(n)) != 2 {
		t.Errorf("a redelivery: %d tracking issues, %d replies", len(h.rolloutIssues()), len(h.replies(n)))
	}

	// Another start while it is open.
	h.gh.Comment(requestsRepo, n, "maintainer", "/purrvision rollout start")
	h.settle()
	if r := h.replies(n); len(r) != 3 || !strings.Contains(r[2], "Not started: rollout "+id+" is open") {
		t.Errorf("a second start: replies %q", r)
	}
}

// rolloutIssues are the tracking issues the bot opened.
func (h *harness) rolloutIssues() []*github.Issue {
	var out []*github.Issue
	for n := 1; n < 50; n++ {
		is := h.gh.Issue(requestsRepo, n)
		if is != nil && is.GetUser().GetLogin() == ghstandin.BotLogin && slices.ContainsFunc(is.Labels, func(l *github.Label) bool { return l.GetName() == v1alpha1.LabelRollout }) {
			out = append(out, is)
		}
	}
	return out
}
