//go:build dev

package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// devEnvVar names the running dev system's folder in another terminal:
// its config is "$PURRVISION_DEV/purrvision.yaml", as the docs write it.
const devEnvVar = "PURRVISION_DEV"

func newDevEnvCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print the shell line that names the running dev system's folder: eval \"$(bin/purrvision dev env)\"",
		Long: `Print ` + "`export " + devEnvVar + "=<dev dir>`" + ` for the running dev system, for a shell to
eval in another terminal. The commands that are not dev's own then find
its config there, as the README writes them:

  eval "$(bin/purrvision dev env)"
  bin/purrvision audit --config "$` + devEnvVar + `/purrvision.yaml" cat-cafe`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := readDevState()
			if err != nil {
				return err
			}
			if st.Dir == "" {
				return usageError(errors.New("the running `purrvision dev` is older than this command: restart it"))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "export %s=%s\n", devEnvVar, shellQuote(st.Dir))
			return err
		},
	}
}

// shellQuote quotes s for a POSIX shell: one word, taken as it is.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
