package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/ledger"
)

func newLedgerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Manage the keys the bot's records on the ledger branch are signed with",
	}
	cmd.AddCommand(newLedgerKeygenCommand())
	return cmd
}

func newLedgerKeygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen -o FILE",
		Short: "Write a new ledger signing key to FILE, readable by its owner only",
		Long: `Write a new ledger signing key (32 random bytes, base64) to FILE, which must
not exist, readable by its owner only, and print its key id. List the file
in ledger.signingKeyFiles: the first key listed signs, every one verifies;
docs/operations.md has the steps of a rotation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError(errors.New("-o is required: give the file to write the key to"))
			}
			if err := ledger.WriteKeyFile(out); err != nil {
				return usageError(err)
			}
			keys, err := ledger.LoadKeys([]string{out})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote ledger key %s to %s\n", keys.Signer(), out)
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the key to")
	return cmd
}
