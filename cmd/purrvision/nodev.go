//go:build !dev

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDevCommand stands in for `purrvision dev` in a binary built without
// the dev tag, as the image is: the local cluster, the git server and the
// GitHub stand-in are not linked into it.
func newDevCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "dev",
		Short:              "Not in this build: rebuild with -tags dev (make build)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return usageError(errors.New("this purrvision is built without the dev tools: build it with `make build` (go build -tags dev ./cmd/purrvision)"))
		},
	}
}
