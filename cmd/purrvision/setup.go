package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/setup"
)

// exitDrift is setup --check's code when GitHub differs.
const exitDrift = exitChanges

func newSetupCommand() *cobra.Command {
	var dryRun, check bool
	var tokenFile string
	var appID int64
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Set up the GitHub side of an install: labels, issue form, branch protection, rulesets, CODEOWNERS",
		Long: `Bring the requests repo (github.repo) and the tenants repo (tenantsRepo.repo)
to the settings Purrvision needs, and change nothing that already fits:
  requests repo: the labels the bot uses, and the issue form
    .github/ISSUE_TEMPLATE/request-store.yml on the default branch;
  tenants repo: branch protection on tenantsRepo.branch (the check
    purrvision/ready of the App required, up to date, 1 approval, code
    owners, stale approvals dismissed, admins included), rulesets that let
    only the App create, update, delete or force-push store/**, rollout/**
    and the ledger branch, and .github/CODEOWNERS giving the tenants folder,
    flux/ and .sops.yaml to github.platformTeam.
Files are proposed in a pull request from purrvision/setup, never pushed to
a base branch. It acts with the App's credentials (github.app) or the config's
token, or --token-file: a person's token with admin rights on both repos.
--dry-run prints each change and writes nothing; --check lists each drifted
setting. Exit codes: 0 done, or nothing drifted; 3 --check found drift;
2 usage, config or GitHub error (a refusal names the permission it lacks).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun && check {
				return usageError(errors.New("--dry-run and --check: give one"))
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			o, err := ghclient.OptionsFromConfig(cfg.GitHub)
			if err != nil {
				return usageError(err)
			}
			if tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageError(fmt.Errorf("reading --token-file: %w", err))
				}
				o.Token, o.App = strings.TrimSpace(string(data)), nil
			}
			if o.Token == "" && o.App == nil {
				return usageError(errors.New("github: setup acts on GitHub; give github.app, github.tokenFile or --token-file"))
			}
			if appID == 0 {
				appID = cfg.GitHub.App.ID
			}
			gh, err := ghclient.New(o)
			if err != nil {
				return usageError(err)
			}
			want, err := setup.Desired(cfg, setup.Options{AppID: appID})
			if err != nil {
				return usageError(err)
			}
			have, err := setup.Read(cmd.Context(), gh, want)
			if err != nil {
				return err
			}
			return runSetup(cmd, setup.PlanChanges(want, have), gh, dryRun, check)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print each change and write nothing")
	cmd.Flags().BoolVar(&check, "check", false, "list each drifted setting and exit 3 when there is one")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding a token to act with instead of the config's credentials")
	cmd.Flags().Int64Var(&appID, "app-id", 0, "the GitHub App's ID, when the config gives a token (default github.app.id)")
	cmd.AddCommand(newSetupAppCommand())
	return cmd
}

// runSetup prints, checks or applies the plan.
func runSetup(cmd *cobra.Command, p setup.Plan, w setup.Writer, dryRun, check bool) error {
	out := cmd.OutOrStdout()
	if check {
		for _, d := range p.Drift {
			fmt.Fprintln(out, "drift:", d)
		}
		if len(p.Drift) > 0 {
			return &exitError{code: exitDrift, err: fmt.Errorf("%d settings differ from what setup writes; run purrvision setup", len(p.Drift))}
		}
		_, err := fmt.Fprintln(out, "No drift: GitHub holds every setting setup writes.")
		return err
	}
	for _, d := range p.Drift {
		if strings.Contains(d.Setting, "(proposed in ") {
			fmt.Fprintln(out, "waiting:", d)
		}
	}
	if len(p.Actions) == 0 {
		_, err := fmt.Fprintln(out, "Nothing to change: GitHub holds every setting setup writes.")
		return err
	}
	if dryRun {
		for _, a := range p.Actions {
			fmt.Fprintln(out, "would:", a)
		}
		_, err := fmt.Fprintf(out, "%d changes; nothing written (--dry-run).\n", len(p.Actions))
		return err
	}
	err := setup.Apply(cmd.Context(), w, p, func(a setup.Action, note string) {
		if note != "" {
			fmt.Fprintf(out, "done: %s: %s\n", a, note)
		} else {
			fmt.Fprintln(out, "done:", a)
		}
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%d changes made.\n", len(p.Actions))
	return err
}
