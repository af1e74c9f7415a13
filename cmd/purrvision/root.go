package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/version"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "purrvision",
		Short:         "Provision WooCommerce stores on Kubernetes through GitOps pull requests",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.PersistentFlags().String("config", "", "path of purrvision.yaml (default ./"+config.DefaultPath+")")
	root.AddCommand(newRenderCommand(), newValidateCommand(), newServeCommand(), newFluxCommand(), newAuditCommand(), newRolloutCommand(), newLedgerCommand(), newSetupCommand(), newDevCommand(), newVersionCommand())
	return root
}

// loadConfig reads --config, or ./purrvision.yaml when it is not given.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path, err := cmd.Flags().GetString("config")
	if err != nil {
		return nil, usageError(err)
	}
	explicit := path != ""
	if !explicit {
		path = config.DefaultPath
	}
	cfg, err := config.Load(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, usageError(fmt.Errorf("no config: pass --config FILE or create ./%s (see examples/purrvision.yaml)", config.DefaultPath))
		}
		return nil, usageError(err)
	}
	return cfg, nil
}

// readRequestFile reads -f, or standard input for "-".
func readRequestFile(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "" {
		return nil, usageError(errors.New("-f is required: give the StoreRequest file, or - for standard input"))
	}
	if path == "-" {
		data, err := readLimited(cmd.InOrStdin())
		if err != nil {
			return nil, usageError(fmt.Errorf("reading standard input: %w", err))
		}
		return data, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError(fmt.Errorf("reading request: %w", err))
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, usageError(fmt.Errorf("reading request %s: %w", path, err))
	}
	return data, nil
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "purrvision", version.String())
			return err
		},
	}
}
