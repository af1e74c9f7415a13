package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
)

func newValidateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate [-f REQUEST]",
		Short: "Check a StoreRequest, or the config alone, and print what to fix",
		Long: `Check a StoreRequest against the config and print every problem with the
field and the fix. Without -f, check the config alone: every key, and what
serve needs beyond rendering (listed, not refused: a config for render and
validate needs none of it). Exit codes: 0 valid, 1 invalid request, 2 usage
or config error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if file == "" {
				return validateConfig(cmd, cfg)
			}
			data, err := readRequestFile(cmd, file)
			if err != nil {
				return err
			}
			req, err := parseAndValidate(cfg, data)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "store request %q is valid\n", req.Metadata.Name)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "StoreRequest file, or - for standard input")
	return cmd
}

// validateConfig reports a config that loaded (so every key is valid),
// and what serve would still refuse.
func validateConfig(cmd *cobra.Command, cfg *config.Config) error {
	out := cmd.OutOrStdout()
	if _, err := fmt.Fprintf(out, "the config is valid (clusters: %d, plans: %d)\n", len(cfg.Clusters), len(cfg.Plans)); err != nil {
		return err
	}
	if err := cfg.ServeErrors(); err != nil {
		_, err = fmt.Fprintf(out, "serve would refuse it until these are set:\n%s\n", indent(err.Error()))
		return err
	}
	_, err := fmt.Fprintln(out, "serve has what it needs from it (the files it names are read at start)")
	return err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// parseAndValidate returns an invalidError listing every problem.
func parseAndValidate(cfg *config.Config, data []byte) (*v1alpha1.StoreRequest, error) {
	req, err := v1alpha1.Parse(data)
	if err != nil {
		return nil, invalidError(err)
	}
	if errs := renderer.Validate(cfg, req); len(errs) > 0 {
		return nil, invalidError(errors.New(errs.ToAggregate().Error()))
	}
	return req, nil
}

// readLimited reads at most one byte more than a request may have, so an
// oversized input is refused by the parser without being read whole.
func readLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, v1alpha1.MaxRequestBytes+1))
}
