package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/audit"
)

func newAuditCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "audit STORE",
		Short: "Print a store's timeline: tenants repo commits, GitHub actions and cluster events",
		Long: `Print one timeline of a store, from the git history of the tenants repo (who
requested, who approved, what changed) and what Purrvision recorded on the
store's issue from GitHub and the cluster. With no GitHub credentials in the
config, the git history alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError(fmt.Errorf("-o %q: use text or json", output))
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.TenantsRepo.URL == "" {
				return usageError(fmt.Errorf("tenantsRepo.url: required by audit"))
			}
			conn, err := app.Connect(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			entries, err := audit.Timeline(cmd.Context(), cfg, conn.Tenants, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), audit.Text(entries))
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
