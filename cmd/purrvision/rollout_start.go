package main

import (
	"errors"
	"fmt"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/fleet"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
)

// connectFleet opens GitHub and the tenants repo as `serve` would and
// returns the rollout runner; it needs the bot's GitHub credentials, and
// learns the bot's login from GitHub as the service does (checked against
// github.botLogin when that is set).
func connectFleet(cmd *cobra.Command, what string) (*fleet.Roller, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if err := requireFleetConfig(cfg, what); err != nil {
		return nil, err
	}
	keys, err := ledger.LoadKeys(cfg.Ledger.SigningKeyFiles)
	if err != nil {
		return nil, usageError(err)
	}
	conn, err := app.Connect(cmd.Context(), cfg, nil)
	if err != nil {
		return nil, err
	}
	if conn.GitHub == nil {
		return nil, usageError(fmt.Errorf("github: %s acts on GitHub as the bot; give github.token, github.tokenFile or github.app", what))
	}
	login, err := app.Identify(cmd.Context(), conn.GitHub, cfg.GitHub.BotLogin)
	if err != nil {
		return nil, err
	}
	return fleet.New(fleet.Options{Config: cfg, GitHub: conn.GitHub, Repo: conn.Tenants, Ledger: ledger.New(conn.Tenants, keys), Identity: forge.NewIdentity(login)})
}

func requireFleetConfig(cfg *config.Config, what string) error {
	switch {
	case cfg.TenantsRepo.URL == "":
		return usageError(fmt.Errorf("tenantsRepo.url: required by %s", what))
	case cfg.TenantsRepo.Repo == "":
		return usageError(fmt.Errorf("tenantsRepo.repo: required by %s (where wave pull requests go)", what))
	case cfg.GitHub.Repo == "":
		return usageError(fmt.Errorf("github.repo: required by %s (where the tracking issue goes)", what))
	}
	return nil
}

// cliUser names who ran a rollout command from the CLI, as the tracking
// issue shows it.
func cliUser(command string) string {
	name := "unknown user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return fmt.Sprintf("`purrvision rollout %s` (local user %s)", command, name)
}

func newRolloutStartCommand() *cobra.Command {
	var waves, maxFailures, title string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a rollout: a tracking issue with the plan, and wave 1's pull request",
		Long: `Plan the rollout as 'rollout plan' does, then open a tracking issue in the
requests repo (label rollout) with the grouped plan, and wave 1's pull
request in the tenants repo (branch rollout/<id>/wave-1). The service opens
each next wave once the stores of the last are Ready at its revision, or
pauses over --max-failures. Refused while another rollout is open.
Exit codes: 0 started, or nothing to roll out; 1 refused, as another rollout
is open; 2 usage, config, GitHub or tenants repo error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := rollout.ParseWaves(waves); err != nil {
				return usageError(err)
			}
			if _, err := rollout.ParseMaxFailures(maxFailures); err != nil {
				return usageError(err)
			}
			r, err := connectFleet(cmd, "rollout start")
			if err != nil {
				return err
			}
			started, err := r.Start(cmd.Context(), fleet.StartOptions{Waves: waves, MaxFailures: maxFailures, Title: title, By: cliUser("start")})
			if errors.Is(err, fleet.ErrNothing) {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Nothing to roll out: %d stores, none would change (%d skipped).\n", started.Plan.Stores, len(started.Plan.Skipped))
				return err
			}
			if errors.Is(err, fleet.ErrOpen) {
				return invalidError(err)
			}
			if started != nil && started.Issue != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Rollout %s: %s\n", started.State.ID, started.Issue.URL)
				if w := started.State.Last(); w != nil && w.URL != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "Wave %d (%d stores): %s\n", w.Number, len(w.Stores), w.URL)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&waves, "waves", rollout.DefaultWaves, "cumulative shares of the fleet each wave reaches, ending in 100%")
	cmd.Flags().StringVar(&maxFailures, "max-failures", rollout.DefaultMaxFailures, "failed stores a wave may have before the rollout pauses: N or P%")
	cmd.Flags().StringVar(&title, "title", "", "what the rollout is for, in the tracking issue's title")
	return cmd
}

func newRolloutStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print the open rollout: its phase and waves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := connectFleet(cmd, "rollout status")
			if err != nil {
				return err
			}
			s, err := r.Status(cmd.Context())
			if errors.Is(err, fleet.ErrNoneOpen) {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), "No rollout is open.")
				return err
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), s)
			return err
		},
	}
}

func newRolloutSteerCommand(name, short string, run func(*fleet.Roller, *cobra.Command) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := connectFleet(cmd, "rollout "+name)
			if err != nil {
				return err
			}
			msg, err := run(r, cmd)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
}

func newRolloutResumeCommand() *cobra.Command {
	return newRolloutSteerCommand("resume", "Resume the paused rollout, as /purrvision rollout resume does", func(r *fleet.Roller, cmd *cobra.Command) (string, error) {
		return r.Resume(cmd.Context(), cliUser("resume"))
	})
}

func newRolloutAbortCommand() *cobra.Command {
	return newRolloutSteerCommand("abort", "Abort the open rollout and close its open wave's pull request", func(r *fleet.Roller, cmd *cobra.Command) (string, error) {
		return r.Abort(cmd.Context(), cliUser("abort"))
	})
}
