package service_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

const routeCreatePull = "POST /repos/{owner}/{repo}/pulls"

// statusComment is the body of the bot's status comment on issue n; ""
// when there is none.
func (h *harness) statusComment(n int) string {
	cs := h.botComments(n, v1alpha1.MarkerStatus)
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].GetBody()
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// TestLastError_CreatePullShownAndCleared: GitHub refuses to open the
// store's pull request; the requester reads why on the status
// comment, with GitHub's text neutralized, and the line goes once a retry
// opens it.
func TestLastError_CreatePullShownAndCleared(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.gh.FailRoute(routeCreatePull, ghstandin.RouteFailure{Times: 1000, Status: http.StatusUnprocessableEntity,
		Message: "Repository rule violations found <!-- purrvision:status --> @acme/admins [x](https://evil.example)"})
	n := h.request("octocat", "failing-pull", "small")
	h.waitFor("the error on the status comment", func() bool {
		return strings.Contains(h.statusComment(n), "could not open the pull request: Repository rule violations found")
	})
	body := h.statusComment(n)
	_, warning, _ := strings.Cut(body, "could not")
	warning, _, _ = strings.Cut(warning, "\n")
	if strings.Contains(warning, "<!--") || strings.Contains(warning, "-->") || strings.Contains(warning, "@acme") || strings.Contains(warning, "[x](") {
		t.Errorf("GitHub's message is not neutralized in the status comment:\n%s", body)
	}
	if !strings.Contains(body, "retrying") {
		t.Errorf("the status comment does not say it retries:\n%s", body)
	}
	// The store has no row yet (nothing is merged): the page lists the
	// request in progress, with the error, escaped.
	h.waitFor("the error on the status page", func() bool {
		page := h.get("/")
		_, inProgress, _ := strings.Cut(page, "Requests in progress")
		return strings.Contains(inProgress, "failing-pull") && strings.Contains(inProgress, "could not open the pull request: Repository rule violations found")
	})
	if page := h.get("/"); strings.Contains(page, "<!-- purrvision") || strings.Contains(page, `href="https://evil.example`) {
		t.Errorf("GitHub's message is not neutralized on the status page:\n%s", page)
	}
	h.gh.FailRoute(routeCreatePull, ghstandin.RouteFailure{})
	h.waitFor("the pull request and the error cleared", func() bool {
		b := h.statusComment(n)
		return len(h.pulls()[v1alpha1.Branch("failing-pull")]) == 1 && !strings.Contains(b, "could not") && strings.Contains(b, "/pull/")
	})
	h.waitFor("the error gone from the status page", func() bool {
		page := h.get("/")
		_, inProgress, _ := strings.Cut(page, "Requests in progress")
		return strings.Contains(inProgress, "failing-pull") && !strings.Contains(page, "could not") && strings.Contains(inProgress, "Waiting for review")
	})
	h.settle()
	if got := len(h.botComments(n, v1alpha1.MarkerStatus)); got != 1 {
		t.Errorf("%d status comments, want 1", got)
	}
}

// TestLimit_OpenRequestsPerRequester: a requester floods requests; those
// beyond the limit are answered with the reason and not rendered, and
// another requester is not held back by them.
func TestLimit_OpenRequestsPerRequester(t *testing.T) {
	h := newHarness(t, harnessOptions{configure: func(c *config.Config) {
		two := 2
		c.Limits.OpenRequestsPerRequester = &two
	}})
	var flood []int
	for _, name := range []string{"flood-1", "flood-2", "flood-3", "flood-4"} {
		flood = append(flood, h.request("mallory", name, "small"))
		h.settle()
	}
	other := h.request("octocat", "other-1", "small")
	h.settle()
	pulls := h.pulls()
	for i, n := range flood {
		name := []string{"flood-1", "flood-2", "flood-3", "flood-4"}[i]
		rendered := len(pulls[v1alpha1.Branch(name)]) == 1
		if got := h.git_("branch", "--list", v1alpha1.Branch(name)); (strings.TrimSpace(got) != "") != (i < 2) {
			t.Errorf("%s: branch %q, want one only within the limit", name, got)
		}
		if rendered != (i < 2) {
			t.Errorf("%s: pull request opened %t, want %t", name, rendered, i < 2)
		}
		told := h.botComments(n, v1alpha1.MarkerValidation)
		if i >= 2 && (len(told) != 1 || !strings.Contains(told[0].GetBody(), "limits.openRequestsPerRequester")) {
			t.Errorf("%s: validation comments %d, want 1 with the reason", name, len(told))
		}
	}
	if len(pulls[v1alpha1.Branch("other-1")]) != 1 {
		t.Errorf("another requester's request was held back: %d pull requests", len(pulls[v1alpha1.Branch("other-1")]))
	}
	_ = other
}
