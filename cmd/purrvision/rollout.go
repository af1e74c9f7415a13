package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/rollout"
)

func newRolloutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Move every store forward to what today's config and chart render",
	}
	cmd.AddCommand(newRolloutPlanCommand(), newRolloutStartCommand(), newRolloutStatusCommand(), newRolloutResumeCommand(), newRolloutAbortCommand())
	return cmd
}

func newRolloutPlanCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print which stores a rollout would change and how, grouped by identical change",
		Long: `Read the tenants repo's base branch, re-render every store with today's config
and chart (keeping each store's encrypted Secrets as they are) and print what
would change, grouped by identical change, each group with one representative
diff, then the stores that cannot be re-rendered and why. Read-only.
Exit codes: 0 nothing would change, 3 stores would change (or cannot be
re-rendered), 2 usage, config or tenants repo error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageError(fmt.Errorf("-o %q: use text or json", output))
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.TenantsRepo.URL == "" {
				return usageError(fmt.Errorf("tenantsRepo.url: required by rollout plan"))
			}
			conn, err := app.Connect(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			head, ok, err := conn.Tenants.Head(cfg.TenantsRepo.Branch)
			if err != nil {
				return err
			}
			if !ok {
				return usageError(fmt.Errorf("tenantsRepo.branch: %q is not a branch of %s", cfg.TenantsRepo.Branch, cfg.TenantsRepo.URL))
			}
			snap, err := conn.Tenants.Snapshot(head)
			if err != nil {
				return err
			}
			creds, err := cfg.LoadBackupCredentials()
			if err != nil {
				return usageError(err)
			}
			p, err := rollout.PlanFleet(rollout.Input{Config: cfg, Tree: snap, Base: head.String(), BackupCredentials: creds})
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(p)
			} else {
				_, err = fmt.Fprint(cmd.OutOrStdout(), rollout.Text(p))
			}
			if err != nil {
				return err
			}
			if p.Changed() {
				return &exitError{code: exitChanges, err: fmt.Errorf("a rollout would change %d of %d stores (%d skipped)", p.WouldChange, p.Stores, len(p.Skipped))}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
