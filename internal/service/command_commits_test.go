package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// ledgerSubjects are the subjects of the ledger branch's commits, newest
// first.
func (h *harness) ledgerSubjects() []string {
	h.t.Helper()
	return strings.Split(strings.TrimSpace(h.git_("log", "--format=%s", v1alpha1.LedgerBranch)), "\n")
}

// TestCommands_OneLedgerCommit: a command's handling makes one commit on
// the ledger branch, which records it answered (and a denial told) before
// the reply is posted: a change, a reply, a denial, a retry and a rotation
// before the merge alike. A repeated denial, answered by a reaction,
// commits nothing.
func TestCommands_OneLedgerCommit(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	pending := h.request("octocat", "dog-spa", "small")
	h.settle()
	for _, c := range []struct {
		name, author, body string
		issue, commits     int
	}{
		{"change", "octocat", "/purrvision resize medium", n, 1},
		{"reply", "octocat", "/purrvision dance", n, 1},
		{"denial", "eve", "/purrvision decommission", n, 1},
		{"denied again", "eve", "/purrvision decommission", n, 0},
		{"retry", "octocat", "/purrvision retry", n, 1},
		{"rotation before the merge", "octocat", "/purrvision rotate-credentials", pending, 1},
	} {
		before := h.ledgerSubjects()
		id := h.gh.Comment(requestsRepo, c.issue, c.author, c.body)
		h.settle()
		after := h.ledgerSubjects()
		made := after[:len(after)-len(before)]
		if len(made) != c.commits {
			t.Errorf("%s: %d ledger commits, want %d:\n%s", c.name, len(made), c.commits, strings.Join(made, "\n"))
		}
		if c.commits == 1 && len(made) == 1 && !strings.Contains(made[0], fmt.Sprintf("answering comment %d", id)) {
			t.Errorf("%s: the commit does not record the command answered: %s", c.name, made[0])
		}
	}
}

// TestCommands_AnsweredOnceAtOnce plays a redelivery racing the first
// delivery, and one person's commands handled at once: the write-ahead
// commit (compare-and-swap) lets one handling answer a comment, and tells
// a person once that they may not run commands; the others post nothing
// but a reaction.
func TestCommands_AnsweredOnceAtOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	comment := func(author, body string) forge.Comment {
		id := h.gh.Comment(requestsRepo, n, author, body)
		return forge.Comment{ID: id, Issue: n, Author: author, Body: body}
	}
	atOnce := func(cs ...forge.Comment) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_ = h.svc.Provisioner.RunCommand(context.Background(), ref, c) // a lost race is retried by the queue
			}()
		}
		close(start)
		wg.Wait()
		h.settle()
	}
	repliesTo := func(id int64) int {
		k := 0
		for _, r := range h.replies(n) {
			if strings.HasPrefix(r, fmt.Sprintf("<!-- purrvision:reply comment=%d ", id)) {
				k++
			}
		}
		return k
	}

	c := comment("octocat", "/purrvision dance")
	atOnce(c, c, c)
	if k := repliesTo(c.ID); k != 1 {
		t.Errorf("%d replies to one command handled three times at once, want 1", k)
	}

	e1, e2, e3 := comment("eve", "/purrvision decommission"), comment("eve", "/purrvision resize large"), comment("eve", "/purrvision retry")
	atOnce(e1, e2, e3, e1)
	told := repliesTo(e1.ID) + repliesTo(e2.ID) + repliesTo(e3.ID)
	if told != 1 {
		t.Errorf("%d replies to eve's commands handled at once, want 1", told)
	}
	reacted := 0
	for _, e := range []forge.Comment{e1, e2, e3} {
		if len(h.gh.Reactions(e.ID)) > 0 {
			reacted++
		}
	}
	if reacted != 2 {
		t.Errorf("%d of eve's commands got a reaction, want the 2 not answered", reacted)
	}
}
