package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/audit"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/tenants"
)

// TestAudit_JoinsGitAndGitHub: a store's audit timeline holds its commits
// with their trailers, the merge, and what was recorded on its issue, in
// time order.
func TestAudit_JoinsGitAndGitHub(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	n := h.provisioned("cat-cafe")
	h.gh.Comment(requestsRepo, n, "octocat", "/purrvision resize medium")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	h.merge(pr)

	repo, err := tenants.Open(context.Background(), tenants.Options{URL: h.cfg.TenantsRepo.URL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := audit.Timeline(context.Background(), h.cfg, repo, h.client, ghstandin.BotLogin, "cat-cafe")
	if err != nil {
		t.Fatal(err)
	}
	text := audit.Text(entries)
	for _, s := range []string{"Provision store cat-cafe", "requested-by octocat", "Resize store cat-cafe to medium", "operation resize", "Merge pull request", "Waiting for review", "merged by @maintainer (approved by @reviewer)"} {
		if !strings.Contains(text, s) {
			t.Errorf("timeline lacks %q:\n%s", s, text)
		}
	}
	kinds := map[string]int{}
	for i, e := range entries {
		kinds[e.Source+"/"+e.Kind]++
		if i > 0 && e.Time.Before(entries[i-1].Time) {
			t.Error("the timeline is not in time order")
		}
	}
	if kinds["git/commit"] != 2 || kinds["git/merge"] != 2 || kinds["github/merged"] != 2 {
		t.Errorf("entries by source and kind = %v", kinds)
	}
	if _, err := audit.Timeline(context.Background(), h.cfg, repo, nil, ghstandin.BotLogin, "no-such-store"); err == nil {
		t.Error("a store with no history has a timeline")
	}
}
