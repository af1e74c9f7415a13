package statuspage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/statuspage"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// withRequests is a store list with requests in progress.
type withRequests struct {
	fakeSource
	requests []statuspage.Request
	all      int
}

func (w withRequests) Requests(context.Context) ([]statuspage.Request, int, error) {
	return w.requests, w.all, nil
}

// TestPage_RequestsInProgress: the requests in progress show with their
// phase and their last error, which is GitHub's text and is escaped; a
// source without any shows no section.
func TestPage_RequestsInProgress(t *testing.T) {
	src := withRequests{fakeSource: stores, all: 150, requests: []statuspage.Request{
		{Issue: "acme/stores#7", IssueURL: "https://github.com/acme/stores/issues/7", Store: "new-shop", Cluster: "default",
			LastError: `could not open the pull request: <img src=x onerror=alert(1)> rule violations, retrying`},
		{Issue: "acme/stores#8", Store: "pet-shop", Cluster: "default", Phase: v1alpha1.PhasePendingReview, PullURL: "https://github.com/acme/tenants/pull/9"},
	}}
	body := getURL(t, &statuspage.Handler{Source: src}, "/")
	for _, s := range []string{`<h2 id="requests">Requests in progress</h2>`, "the oldest 2 of 150",
		`<a href="https://github.com/acme/stores/issues/7">acme/stores#7</a>`, "new-shop", "Requested", "not open yet",
		`<span class="error">could not open the pull request: &lt;img src=x onerror=alert(1)&gt; rule violations, retrying</span>`,
		"pet-shop", "Waiting for review", `href="https://github.com/acme/tenants/pull/9"`, "<h2>Stores</h2>"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(body, "<img") {
		t.Error("a last error was not escaped")
	}
	if body := getURL(t, &statuspage.Handler{Source: withRequests{fakeSource: stores}}, "/"); strings.Contains(body, "Requests in progress") {
		t.Error("a source without requests in progress shows the section")
	}
}

// TestRepoSource_Requests: the requests in progress are the ledger's
// records of requests not merged, whose issue no store on the base branch
// names, with their last error; reading them asks GitHub nothing.
func TestRepoSource_Requests(t *testing.T) {
	f := newFixture(t, 2) // two stores on the base branch, recorded pending review
	ctx := context.Background()
	failing := f.gh.OpenIssue(requestRepo, "octocat", "Store new-shop", "a request")
	f.gh.Comment(requestRepo, failing, "octocat", "please")
	f.record(t, failing, 0, storestatus.State{Store: "new-shop", Cluster: "default",
		LastError: &storestatus.LastError{Action: "open the pull request", Message: "Repository rule violations found", At: time.Now()}})
	review := f.gh.OpenIssue(requestRepo, "octocat", "Store pet-shop", "a request")
	f.record(t, review, 0, storestatus.State{Store: "pet-shop", Phase: v1alpha1.PhasePendingReview, PullURL: "https://github.com/acme/tenants/pull/40"})
	gone := f.gh.OpenIssue(requestRepo, "octocat", "Store old-shop", "a request")
	f.record(t, gone, 0, storestatus.State{Store: "old-shop", Phase: v1alpha1.PhaseDecommissioned})

	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	before := f.gh.Calls()
	got, all, err := f.source.Requests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for route, n := range f.gh.Calls() {
		if n != before[route] {
			t.Errorf("listing the requests called %s", route)
		}
	}
	want := []statuspage.Request{
		{Issue: fmt.Sprintf("%s#%d", requestRepo, failing), Store: "new-shop", Cluster: "default", LastError: "could not open the pull request: Repository rule violations found, retrying"},
		{Issue: fmt.Sprintf("%s#%d", requestRepo, review), Store: "pet-shop", Phase: v1alpha1.PhasePendingReview, PullURL: "https://github.com/acme/tenants/pull/40"},
	}
	if len(got) > 0 {
		if !strings.HasSuffix(got[0].IssueURL, fmt.Sprintf("/issues/%d", failing)) {
			t.Errorf("issue page %q, want the one GitHub's comments link", got[0].IssueURL)
		}
		got[0].IssueURL = ""
	}
	if all != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests in progress (%d in all):\n got %+v\nwant %+v", all, got, want)
	}

	// Its write succeeded: the error goes.
	f.record(t, failing, 0, storestatus.State{Store: "new-shop", Cluster: "default"})
	if _, err := f.source.Stores(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := f.source.Requests(ctx); len(got) != 2 || got[0].LastError != "" {
		t.Errorf("after the error cleared: %+v", got)
	}
}
