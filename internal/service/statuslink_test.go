package service_test

import (
	"context"
	"sync"
	"testing"

	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/forge"
)

// deploymentStatusRecorder records the deployment statuses the service
// creates.
type deploymentStatusRecorder struct {
	app.GitHub
	mu       sync.Mutex
	statuses []forge.DeploymentStatus
}

func (r *deploymentStatusRecorder) CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error {
	r.mu.Lock()
	r.statuses = append(r.statuses, st)
	r.mu.Unlock()
	return r.GitHub.CreateDeploymentStatus(ctx, repo, id, st)
}

// TestFlow_MergedDeploymentLinksTheStatusPage: the queued status of a
// merged store's deployment links to the store's row on the status page.
func TestFlow_MergedDeploymentLinksTheStatusPage(t *testing.T) {
	rec := &deploymentStatusRecorder{}
	h := newHarness(t, harnessOptions{statusPage: "https://stores.example.com/",
		wrap: func(c app.GitHub) app.GitHub { rec.GitHub = c; return rec }})
	h.request("octocat", "cat-cafe", "small")
	h.settle()
	prs := h.pulls()["store/cat-cafe"]
	if len(prs) != 1 {
		t.Fatalf("%d pull requests for store/cat-cafe, want 1", len(prs))
	}
	h.gh.Approve(tenantsRepo, prs[0].GetNumber(), "reviewer")
	if _, err := h.gh.Merge(tenantsRepo, prs[0].GetNumber(), "maintainer"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.statuses) != 1 || rec.statuses[0].State != "queued" || rec.statuses[0].LogURL != "https://stores.example.com/?q=cat-cafe#store-cat-cafe" {
		t.Errorf("deployment statuses = %+v, want one queued, linking the store's row on the status page", rec.statuses)
	}
}
