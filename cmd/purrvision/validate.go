package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
)

func newValidateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f REQUEST",
		Short: "Check a StoreRequest and print what to fix",
		Long: `Check a StoreRequest against the config and print every problem with the
field and the fix. Exit codes: 0 valid, 1 invalid request, 2 usage or config error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
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
