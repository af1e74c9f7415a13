//go:build dev

package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// TestDev_UnderTheRules: the driving commands against a dev system under
// every rule `purrvision setup` writes (devenv.ApplyRules): `dev request --pr` pushes the branch with the requester's own
// token, and a push by someone dev gave no token is refused; `dev merge`
// approves as a code owner and merges through the merge API, shows
// GitHub's refusal of a bot pull request without the required check, and
// merges it once the check passed.
// Guards: the git server's authentication (Protect) and the required
// check of the base branch's protection.
func TestDev_UnderTheRules(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	ctx := context.Background()
	srv, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
	seed, err := tenants.Open(ctx, tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Update(ctx, "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "README.md", Data: []byte("# tenants\n")}}, Message: "Start\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	gh, _ := testutil.GitHub(t)
	devenv.Populate(gh, bare)
	cfg := testutil.ExampleConfig(t)
	cfg.TenantsRepo.URL, cfg.TenantsRepo.Repo = tenantsURL, devenv.TenantsRepo
	cfg.GitHub = config.GitHub{APIURL: gh.URL(), Token: "dev", Repo: devenv.RequestsRepo, BotLogin: ghstandin.BotLogin, PlatformTeam: devenv.PlatformTeam}
	if err := devenv.ApplyRules(ctx, gh, srv, cfg, devenv.RulesOptions{CodeOwners: []string{devenv.Reviewer}}); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, login := range devenv.People {
		tokens[login] = gh.Token(login)
	}
	remove, err := writeDevState(devState{GitHub: gh.URL(), Dir: t.TempDir(), Tenants: tenantsURL, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()

	if r := runCLI(t, "", "dev", "request", "--pr", "--wait=0", "--name", "dog-diner", "--plan", "medium"); r.code != 0 {
		t.Fatalf("request --pr as %s: exit %d\n%s%s", devenv.Requester, r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", "dev", "request", "--pr", "--wait=0", "--name", "owl-outlet", "--plan", "small", "--as", "hubot"); r.code == 0 || !strings.Contains(r.stderr, "pushing request/owl-outlet") {
		t.Fatalf("request --pr as someone without a token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A store pull request as the bot opens it: its branch pushed with
	// the App's token.
	if _, err := seed.Update(ctx, v1alpha1.Branch("cat-cafe"), func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "tenants/default/ca/cat-cafe/x.yaml", Data: []byte("x: 1\n")}}, Message: "Provision\n"}, nil
	}); err == nil {
		t.Fatal("an anonymous push of a store branch went through")
	}
	bot, err := tenants.Open(ctx, tenants.Options{URL: srv.URL("tenants"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := bot.Update(ctx, v1alpha1.Branch("cat-cafe"), func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "tenants/default/ca/cat-cafe/x.yaml", Data: []byte("x: 1\n")}}, Message: "Provision\n"}, nil
	})
	if err != nil {
		t.Fatalf("the bot's push: %v", err)
	}
	pr, err := gh.OpenPull(devenv.TenantsRepo, ghstandin.BotLogin, v1alpha1.Branch("cat-cafe"), "main", "Provision store cat-cafe", "")
	if err != nil {
		t.Fatal(err)
	}
	num := strconv.Itoa(pr)
	r := runCLI(t, "", "dev", "merge", num)
	if r.code == 0 || !strings.Contains(r.stderr, `405 Method Not Allowed: Required status check "`+v1alpha1.ReadyCheckName+`" is expected.`) {
		t.Fatalf("merge without the required check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	gh.AddCheckRun(devenv.TenantsRepo, strings.TrimSuffix(ghstandin.BotLogin, "[bot]"), v1alpha1.ReadyCheckName, string(res.Commit), "success", "ready")
	if r := runCLI(t, "", "dev", "merge", num); r.code != 0 || !strings.Contains(r.stdout, "merged acme/tenants#"+num) {
		t.Fatalf("merge with the check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
