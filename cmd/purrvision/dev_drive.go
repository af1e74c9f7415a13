//go:build dev

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/provision"
)

// devState is what a running `purrvision dev` publishes for its subcommands.
type devState struct {
	GitHub string `json:"github"`
	PID    int    `json:"pid"`
	// Dir is the dev folder: SSH keys generated for people, and saved
	// credentials.
	Dir string `json:"dir"`
}

// devStatePath is where the running dev system is described.
func devStatePath() string {
	cache := os.Getenv("PURRVISION_CACHE")
	if cache == "" {
		if c, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(c, "purrvision")
		}
	}
	return filepath.Join(cache, "dev", "state.json")
}

func writeDevState(s devState) (func(), error) {
	p := devStatePath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(p) }, nil
}

func readDevState() (devState, error) {
	var s devState
	data, err := os.ReadFile(devStatePath())
	if errors.Is(err, os.ErrNotExist) {
		return s, usageError(errors.New("no running `purrvision dev`: start it with `make dev` in another terminal"))
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}

// standinCall makes one REST call on the dev system's GitHub stand-in as a
// person.
func standinCall(ctx context.Context, method, path, as string, in, out any) error {
	st, err := readDevState()
	if err != nil {
		return err
	}
	return devenv.Call(ctx, st.GitHub, method, path, as, in, out)
}

func newDevRequestCommand() *cobra.Command {
	var name, plan, as, email, title string
	var waitFor time.Duration
	cmd := &cobra.Command{
		Use:   "request --name NAME --plan PLAN",
		Short: "Open a store request issue on the running dev system",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || plan == "" {
				return usageError(errors.New("--name and --plan are required"))
			}
			st, err := readDevState()
			if err != nil {
				return err
			}
			if st.Dir == "" {
				return usageError(errors.New("the running `purrvision dev` is older than this command: restart it"))
			}
			// The credentials are encrypted to the requester's keys when
			// the request is read: give them one first.
			key, err := devenv.GiveKey(cmd.Context(), st.GitHub, as, st.Dir)
			if err != nil {
				return err
			}
			body := provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: email, Title: title}))
			var issue struct {
				Number int `json:"number"`
			}
			if err := standinCall(cmd.Context(), http.MethodPost, "repos/"+devenv.RequestsRepo+"/issues", as,
				map[string]any{"title": "Store: " + name, "body": body, "labels": []string{v1alpha1.LabelRequest}}, &issue); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if key.Added {
				fmt.Fprintf(out, "gave @%s the SSH key %s.pub\n", as, key.Private)
			}
			if _, err := fmt.Fprintf(out, "opened %s#%d as @%s\ncredentials, once posted: %s dev credentials %d\n", devenv.RequestsRepo, issue.Number, as, os.Args[0], issue.Number); err != nil {
				return err
			}
			if waitFor <= 0 {
				return nil
			}
			// Say which pull request to merge, once Purrvision opened it.
			var pulls []struct {
				Number int `json:"number"`
			}
			opened := func(ctx context.Context) (bool, error) {
				owner, _, _ := strings.Cut(devenv.TenantsRepo, "/")
				err := standinCall(ctx, http.MethodGet, "repos/"+devenv.TenantsRepo+"/pulls?state=open&head="+owner+":"+v1alpha1.Branch(name), as, nil, &pulls)
				return err == nil && len(pulls) > 0, nil
			}
			if err := wait.PollUntilContextTimeout(cmd.Context(), 250*time.Millisecond, waitFor, true, opened); err != nil {
				_, err = fmt.Fprintf(out, "no pull request after %v: read the issue's comments (%s issues/%d/comments on the stand-in)\n", waitFor, devenv.RequestsRepo, issue.Number)
				return err
			}
			_, err = fmt.Fprintf(out, "pull request %s#%d opened; merge it with: %s dev merge %d\n", devenv.TenantsRepo, pulls[0].Number, os.Args[0], pulls[0].Number)
			return err
		},
	}
	cmd.Flags().DurationVar(&waitFor, "wait", 30*time.Second, "how long to wait for Purrvision's pull request (0: do not wait)")
	cmd.Flags().StringVar(&name, "name", "", "store name")
	cmd.Flags().StringVar(&plan, "plan", "", "plan")
	cmd.Flags().StringVar(&email, "email", "owner@example.com", "admin e-mail")
	cmd.Flags().StringVar(&title, "title", "", "shop title")
	cmd.Flags().StringVar(&as, "as", "octocat", "GitHub login that opens the issue")
	return cmd
}

func newDevMergeCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "merge PR",
		Short: "Approve and merge a tenants pull request on the running dev system",
		Long: `Approve a tenants pull request and merge it, as a person with write access to
the tenants repo (--as; dev makes "` + devenv.Reviewer + `" a maintainer). As on GitHub, the merge
is refused to someone without write access.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usageError(fmt.Errorf("%q is not a pull request number", args[0]))
			}
			pull := fmt.Sprintf("repos/%s/pulls/%d", devenv.TenantsRepo, n)
			if err := standinCall(cmd.Context(), http.MethodPost, pull+"/reviews", as, map[string]any{"event": "APPROVE"}, nil); err != nil {
				return fmt.Errorf("approving %s#%d as @%s: %w", devenv.TenantsRepo, n, as, err)
			}
			var res struct {
				SHA string `json:"sha"`
			}
			if err := standinCall(cmd.Context(), http.MethodPut, pull+"/merge", as, map[string]any{}, &res); err != nil {
				return fmt.Errorf("merging %s#%d as @%s: %w", devenv.TenantsRepo, n, as, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "merged %s#%d as %s by @%s\n", devenv.TenantsRepo, n, res.SHA, as)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", devenv.Reviewer, "GitHub login that approves and merges; needs write access to the tenants repo")
	return cmd
}

func newDevCommentCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "comment ISSUE TEXT",
		Short: "Comment on a store issue of the running dev system, e.g. \"/purrvision resize medium\"",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usageError(fmt.Errorf("%q is not an issue number", args[0]))
			}
			if err := standinCall(cmd.Context(), http.MethodPost, fmt.Sprintf("repos/%s/issues/%d/comments", devenv.RequestsRepo, n), as, map[string]any{"body": args[1]}, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "commented on %s#%d as @%s\n", devenv.RequestsRepo, n, as)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "octocat", "GitHub login that comments")
	return cmd
}

func newDevCredentialsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "credentials ISSUE",
		Short: "Save the encrypted credentials of a store issue in the dev folder and print the command that decrypts them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usageError(fmt.Errorf("%q is not an issue number", args[0]))
			}
			st, err := readDevState()
			if err != nil {
				return err
			}
			var issue struct {
				User struct {
					Login string `json:"login"`
				} `json:"user"`
			}
			if err := standinCall(cmd.Context(), http.MethodGet, fmt.Sprintf("repos/%s/issues/%d", devenv.RequestsRepo, n), ghstandin.BotLogin, nil, &issue); err != nil {
				return err
			}
			requester := issue.User.Login
			key, ok, err := devenv.FindKey(cmd.Context(), st.GitHub, requester, st.Dir)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("@%s has no SSH key whose private half is on this machine: open requests with `purrvision dev request`, which gives them one", requester)
			}
			file, err := devenv.SaveCredentials(cmd.Context(), st.GitHub, devenv.RequestsRepo, n, st.Dir)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), devenv.DecryptCommand(key.Private, file))
			return err
		},
	}
}
