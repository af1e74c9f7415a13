// Package setup is the GitHub side of an install: from the config, the
// settings Purrvision needs on the requests repo (the issue form, the
// labels the bot uses) and on the tenants repo (branch protection,
// rulesets on the bot's branches, CODEOWNERS); a pure Plan of what differs
// from what GitHub holds, each drifted setting named; and one applier that
// writes the difference. `purrvision setup` runs it; the service's drift
// check calls Check.
package setup

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/templates"
)

// Paths of the files setup manages.
const (
	IssueFormPath  = ".github/ISSUE_TEMPLATE/request-store.yml"
	CodeOwnersPath = ".github/CODEOWNERS"
)

// ProposalBranch is the branch of the pull request setup proposes files
// in; no ruleset covers it, and nothing else writes it.
const ProposalBranch = "purrvision/setup"

// RequiredApprovals is how many approvals a pull request into the tenants
// repo's base branch needs.
const RequiredApprovals = 1

// Names of the rulesets setup keeps on the tenants repo.
const (
	RulesetStore   = "purrvision: store branches"
	RulesetRollout = "purrvision: rollout branches"
	RulesetLedger  = "purrvision: ledger branch"
)

// botRules are the rules of each ruleset on the bot's branches: nobody
// but the App creates, updates, deletes or force-pushes them.
var botRules = []string{"creation", "deletion", "non_fast_forward", "update"}

// Settings are the settings of one repository that setup manages. Desired
// fills what should be; Read what GitHub holds.
type Settings struct {
	Repo forge.Repo
	// Base is the branch files are read from and proposed to: the
	// default branch of the requests repo ("" until Read asks GitHub),
	// tenantsRepo.branch of the tenants repo.
	Base string
	// Labels, by name; Files, path to content ("" absent: not managed).
	Labels []forge.Label
	Files  []forge.File
	// Protection of Base; nil for none (or not managed, in desired).
	Protection *forge.BranchProtection
	Rulesets   []forge.Ruleset
	// Proposal is the open pull request of ProposalBranch and the
	// files on that branch, as read; nil when none is open.
	Proposal *Proposal
}

// Proposal is setup's open pull request proposing files.
type Proposal struct {
	URL   string
	Files []forge.File // the managed files as they are on ProposalBranch
}

// Options are what the desired settings depend on beyond the config.
type Options struct {
	// AppID is the GitHub App's ID: the required check is bound to it,
	// and it alone bypasses the rulesets.
	AppID int64
}

// Desired is the settings of the requests repo and of the tenants repo,
// in that order, from the config: the error names the key to fix.
func Desired(cfg *config.Config, o Options) ([]Settings, error) {
	requests, tenants, err := cfg.Repos()
	if err != nil {
		return nil, err
	}
	var errs []error
	if o.AppID <= 0 {
		errs = append(errs, errors.New("github.app.id: setup binds the required check and the rulesets' bypass to the App; give github.app or --app-id"))
	}
	team := cfg.GitHub.PlatformTeam
	if team == "" {
		errs = append(errs, errors.New("github.platformTeam: required by setup, the org/team that owns the tenants folder, flux/ and .sops.yaml in CODEOWNERS (such as acme/platform)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var labels []forge.Label
	for _, l := range v1alpha1.BotLabels {
		labels = append(labels, forge.Label(l))
	}
	var tenantLabels []forge.Label
	for _, l := range labels {
		if l.Name == v1alpha1.LabelRollout {
			tenantLabels = append(tenantLabels, l) // on each wave's pull request
		}
	}
	branch := cfg.TenantsRepo.Branch
	return []Settings{
		{
			Repo:   requests,
			Labels: labels,
			Files:  []forge.File{{Path: IssueFormPath, Content: string(templates.RequestStoreForm)}},
		},
		{
			Repo:   tenants,
			Base:   branch,
			Labels: tenantLabels,
			Files:  []forge.File{{Path: CodeOwnersPath, Content: codeOwners(cfg.TenantsRepo.Path, team)}},
			Protection: &forge.BranchProtection{
				Branch:        branch,
				Checks:        []forge.RequiredCheck{{Context: v1alpha1.ReadyCheckName, AppID: o.AppID}},
				Strict:        true,
				Reviews:       true,
				Approvals:     RequiredApprovals,
				DismissStale:  true,
				CodeOwners:    true,
				EnforceAdmins: true,
			},
			Rulesets: []forge.Ruleset{
				botRuleset(RulesetStore, "refs/heads/"+v1alpha1.BranchPrefix+"**", o.AppID),
				botRuleset(RulesetRollout, "refs/heads/"+v1alpha1.RolloutBranchPrefix+"**", o.AppID),
				botRuleset(RulesetLedger, "refs/heads/"+v1alpha1.LedgerBranch, o.AppID),
			},
		},
	}, nil
}

func botRuleset(name, include string, appID int64) forge.Ruleset {
	return forge.Ruleset{
		Name: name, Enforcement: "active", Include: []string{include}, Rules: botRules,
		Bypass: []forge.BypassActor{{Type: "Integration", ID: appID, Mode: "always"}},
	}
}

// codeOwners is the tenants repo's CODEOWNERS: the platform team owns the
// stores, Flux, the encryption recipients and this file.
func codeOwners(tenantsPath, team string) string {
	owner := "@" + team
	var b strings.Builder
	b.WriteString("# Written by `purrvision setup`: every change to the stores, Flux, the\n")
	b.WriteString("# encryption recipients and this file needs the platform team's review.\n")
	for _, p := range []string{"/" + path.Clean(strings.Trim(tenantsPath, "/")) + "/", "/flux/", "/.sops.yaml", "/" + CodeOwnersPath} {
		fmt.Fprintf(&b, "%s %s\n", p, owner)
	}
	return b.String()
}
