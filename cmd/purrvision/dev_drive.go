//go:build dev

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/provision"
)

// devState is what a running `purrvision dev` publishes for its subcommands.
type devState struct {
	GitHub string `json:"github"`
	PID    int    `json:"pid"`
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
func standinCall(method, path, as string, in, out any) error {
	st, err := readDevState()
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, st.GitHub+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ghstandin.ActAsHeader, as)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("calling the dev GitHub stand-in: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func newDevRequestCommand() *cobra.Command {
	var name, plan, as, email, title string
	cmd := &cobra.Command{
		Use:   "request --name NAME --plan PLAN",
		Short: "Open a store request issue on the running dev system",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || plan == "" {
				return usageError(errors.New("--name and --plan are required"))
			}
			body := provision.RenderForm(v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, AdminEmail: email, Title: title}))
			var issue struct {
				Number int `json:"number"`
			}
			if err := standinCall(http.MethodPost, "repos/"+devenv.RequestsRepo+"/issues", as,
				map[string]any{"title": "Store: " + name, "body": body, "labels": []string{provision.LabelRequest}}, &issue); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "opened %s#%d as @%s\n", devenv.RequestsRepo, issue.Number, as)
			return err
		},
	}
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
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usageError(fmt.Errorf("%q is not a pull request number", args[0]))
			}
			var res struct {
				SHA string `json:"sha"`
			}
			if err := standinCall(http.MethodPut, fmt.Sprintf("repos/%s/pulls/%d/merge", devenv.TenantsRepo, n), as, map[string]any{}, &res); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "merged %s#%d as %s by @%s\n", devenv.TenantsRepo, n, res.SHA, as)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "reviewer", "GitHub login that approves and merges")
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
			if err := standinCall(http.MethodPost, fmt.Sprintf("repos/%s/issues/%d/comments", devenv.RequestsRepo, n), as, map[string]any{"body": args[1]}, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "commented on %s#%d as @%s\n", devenv.RequestsRepo, n, as)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "octocat", "GitHub login that comments")
	return cmd
}
