package devenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
	"github.com/purrvision/purrvision/internal/setup"
	"github.com/purrvision/purrvision/tenants"
)

// Production's rules on the dev system: `purrvision dev`, the e2e and the
// service tests all run under what `purrvision setup` writes, through
// ApplyRules, so no scenario proves something production GitHub would
// refuse.

// PlatformTeam is the dev system's platform team (github.platformTeam):
// the code owners of the tenants repo, whose approvals count.
const PlatformTeam = "acme/platform"

// RulesOptions are what ApplyRules needs beyond the config.
type RulesOptions struct {
	// CodeOwners join the config's platform team, so their approvals
	// are the code owners' GitHub asks for.
	CodeOwners []string
}

// ApplyRules puts `purrvision setup`'s rules on a stand-in and the git
// server holding the tenants repo cfg names, as an install does:
//
//   - the git server takes pushes only with a token (Protect): the token
//     cfg gives the service is made the bot's, so the service pushes as
//     the App; people push with gh.Token(login) (URLAs);
//   - the tenants repo's managed files (CODEOWNERS) are committed on its
//     base branch by the bot, as the merge of setup's proposal would;
//   - setup.Desired, setup.Read, setup.PlanChanges and setup.Apply run
//     through the service's own GitHub client, with the stand-in's App
//     (ghstandin.AppID) as the App;
//   - what GitHub then holds is read again: any drift left is an error.
//
// The requests repo is given its labels; its issue form is left out,
// since on the stand-in it holds issues and no git repository to propose
// the file in.
func ApplyRules(ctx context.Context, gh *ghstandin.Server, git *gitserver.Server, cfg *config.Config, o RulesOptions) error {
	opts, err := ghclient.OptionsFromConfig(cfg.GitHub)
	if err != nil {
		return fmt.Errorf("applying setup's rules: %w", err)
	}
	token := opts.Token
	if token == "" {
		token = gh.Token(ghstandin.BotLogin) // an App's installation tokens authenticate on their own
	} else {
		gh.SetToken(ghstandin.BotLogin, token)
	}
	git.Protect(gh, "x-access-token", token)
	want, err := RulesWanted(cfg, o)
	if err != nil {
		return err
	}
	for _, login := range o.CodeOwners {
		gh.AddTeamMember(cfg.GitHub.PlatformTeam, login)
	}
	if err := seedFiles(ctx, cfg, opts, want); err != nil {
		return err
	}
	client, err := ghclient.New(opts)
	if err != nil {
		return fmt.Errorf("applying setup's rules: %w", err)
	}
	have, err := setup.Read(ctx, client, want)
	if err != nil {
		return fmt.Errorf("reading the settings setup manages: %w", err)
	}
	if err := setup.Apply(ctx, client, setup.PlanChanges(want, have), nil); err != nil {
		return fmt.Errorf("applying setup's rules: %w", err)
	}
	if have, err = setup.Read(ctx, client, want); err != nil {
		return fmt.Errorf("reading the settings setup manages: %w", err)
	}
	if drift := setup.PlanChanges(want, have).Drift; len(drift) > 0 {
		var lines []string
		for _, d := range drift {
			lines = append(lines, d.String())
		}
		return fmt.Errorf("applying setup's rules: still drifted: %s", strings.Join(lines, "; "))
	}
	return nil
}

// RulesWanted is setup.Desired for the dev system's repositories, with
// the stand-in's App, as ApplyRules applies it (the requests repo's
// files left out: on the stand-in it has no git repository to propose
// them in).
func RulesWanted(cfg *config.Config, o RulesOptions) ([]setup.Settings, error) {
	want, err := setup.Desired(cfg, setup.Options{AppID: ghstandin.AppID})
	if err != nil {
		return nil, fmt.Errorf("applying setup's rules: %w", err)
	}
	requests, _, err := cfg.Repos()
	if err != nil {
		return nil, err
	}
	for i := range want {
		if want[i].Repo == requests {
			want[i].Files = nil
		}
	}
	return want, nil
}

// seedFiles commits each managed file of the tenants repo on its base
// branch, as the bot, where it differs: what merging setup's proposal
// leaves, before the base branch is protected.
func seedFiles(ctx context.Context, cfg *config.Config, opts ghclient.Options, want []setup.Settings) error {
	_, tenantsRepo, err := cfg.Repos()
	if err != nil {
		return err
	}
	var files []forge.File
	var base string
	for _, s := range want {
		if s.Repo == tenantsRepo {
			files, base = s.Files, s.Base
		}
	}
	if len(files) == 0 {
		return nil
	}
	auth, err := ghclient.NewGitAuth(opts)
	if err != nil {
		return err
	}
	o := tenants.Options{URL: cfg.TenantsRepo.URL, Branch: base}
	if auth != nil {
		o.Auth = auth
	}
	repo, err := tenants.Open(ctx, o)
	if err != nil {
		return fmt.Errorf("seeding setup's files in the tenants repo: %w", err)
	}
	_, err = repo.Update(ctx, base, func(s tenants.State, _, branch *tenants.Snapshot) (*tenants.Plan, error) {
		var changes []tenants.Change
		for _, f := range files {
			var have []byte
			ok := false
			if branch != nil {
				var err error
				if have, ok, err = branch.ReadFile(f.Path); err != nil {
					return nil, err
				}
			}
			if !ok || string(have) != f.Content {
				changes = append(changes, tenants.Change{Path: f.Path, Data: []byte(f.Content)})
			}
		}
		if len(changes) == 0 {
			return nil, nil
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "Add the files `purrvision setup` manages\n"}, nil
	})
	if err != nil {
		return fmt.Errorf("seeding setup's files in the tenants repo: %w", err)
	}
	return nil
}

// ApproveAndMerge approves pull request n of repo as approver (a code
// owner: CodeOwners of ApplyRules) and merges it as merger, through the
// stand-in's REST API at api, as people do on GitHub. It returns the merge
// commit; a refusal is a *CallError with GitHub's status and message.
func ApproveAndMerge(ctx context.Context, api, repo string, n int, approver, merger string) (string, error) {
	if err := Approve(ctx, api, repo, n, approver); err != nil {
		return "", err
	}
	return Merge(ctx, api, repo, n, merger, "")
}

// Approve submits an approving review of pull request n as login.
func Approve(ctx context.Context, api, repo string, n int, login string) error {
	if err := Call(ctx, api, http.MethodPost, fmt.Sprintf("repos/%s/pulls/%d/reviews", repo, n), login, map[string]any{"event": "APPROVE"}, nil); err != nil {
		return fmt.Errorf("approving %s#%d as @%s: %w", repo, n, login, err)
	}
	return nil
}

// Merge merges pull request n through the merge API as login; with sha,
// only while its head is that commit (GitHub's 409 otherwise).
func Merge(ctx context.Context, api, repo string, n int, login, sha string) (string, error) {
	in := map[string]any{}
	if sha != "" {
		in["sha"] = sha
	}
	var res struct {
		SHA string `json:"sha"`
	}
	if err := Call(ctx, api, http.MethodPut, fmt.Sprintf("repos/%s/pulls/%d/merge", repo, n), login, in, &res); err != nil {
		return "", fmt.Errorf("merging %s#%d as @%s: %w", repo, n, login, err)
	}
	return res.SHA, nil
}

// Refused is GitHub's status and message when err is a refusal of the
// stand-in (a *CallError); ok false otherwise.
func Refused(err error) (status int, message string, ok bool) {
	var ce *CallError
	if !errors.As(err, &ce) {
		return 0, "", false
	}
	return ce.Status, ce.GitHub, true
}
