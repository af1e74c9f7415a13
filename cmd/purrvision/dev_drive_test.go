//go:build dev

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// TestDevSubcommands drive a stand-in as `purrvision dev` publishes it:
// a request, a comment and a merge, each as the person named.
func TestDevSubcommands(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	if r := runCLI(t, "", "dev", "request", "--name", "x-shop", "--plan", "small"); r.code != 2 || !strings.Contains(r.stderr, "no running") {
		t.Fatalf("without a running dev: exit %d, %s", r.code, r.stderr)
	}
	_, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
	gh, _ := testutil.GitHub(t, devenv.RequestsRepo)
	gh.AddRepo(devenv.TenantsRepo, "main", bare)
	remove, err := writeDevState(devState{GitHub: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()

	r := runCLI(t, "", "dev", "request", "--name", "dog-diner", "--plan", "medium")
	if r.code != 0 || !strings.Contains(r.stdout, "opened acme/stores#1 as @octocat") {
		t.Fatalf("request: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	is := gh.Issue(devenv.RequestsRepo, 1)
	req, problems := provision.ParseForm(is.GetBody(), is.GetUser().GetLogin())
	if len(problems) > 0 || req.Metadata.Name != "dog-diner" || req.Spec.Plan != "medium" || req.Spec.Owner != "octocat" {
		t.Errorf("issue = %+v (%v)", req, problems)
	}
	if labels := gh.Labels(devenv.RequestsRepo, 1); len(labels) != 1 || labels[0] != provision.LabelRequest {
		t.Errorf("labels = %v", labels)
	}
	if r := runCLI(t, "", "dev", "comment", "1", "/purrvision resize large", "--as", "maint"); r.code != 0 {
		t.Fatalf("comment: exit %d %s", r.code, r.stderr)
	}
	cs := gh.Comments(devenv.RequestsRepo, 1)
	if len(cs) != 1 || cs[0].GetBody() != "/purrvision resize large" || cs[0].GetUser().GetLogin() != "maint" {
		t.Errorf("comments = %v", cs)
	}

	repo, err := tenants.Open(context.Background(), tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"main", "store/dog-diner"} {
		branch := b
		if _, err := repo.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: branch + ".txt", Data: []byte(branch)}}, Message: branch + "\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	pr, err := gh.OpenPull(devenv.TenantsRepo, ghstandin.BotLogin, "store/dog-diner", "main", "Provision store dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", "dev", "merge", "1"); r.code != 0 || !strings.Contains(r.stdout, "merged acme/tenants#1") {
		t.Fatalf("merge: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range gh.Pulls(devenv.TenantsRepo) {
		if p.GetNumber() == pr && (!p.GetMerged() || p.GetMergedBy().GetLogin() != "reviewer") {
			t.Errorf("pull request after merge: merged %v by %q", p.GetMerged(), p.GetMergedBy().GetLogin())
		}
	}
}
