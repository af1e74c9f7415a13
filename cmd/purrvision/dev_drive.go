//go:build dev

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// Tenants is the git URL of the tenants repo on the dev git server.
	Tenants string `json:"tenants"`
	// Chart is the git URL of the chart repo on the dev git server.
	Chart string `json:"chart,omitempty"`
	// Config is the service's config file; ChartVersion the chart version
	// the service runs with (dev chart-release waits for it).
	Config       string `json:"config,omitempty"`
	ChartVersion string `json:"chartVersion,omitempty"`
	// Age is the age CLI the dev system was started with (PURRVISION_AGE),
	// for the commands printed from another terminal without its env.
	Age string `json:"age,omitempty"`
	// Tokens are the git tokens of the dev system's people (login ->
	// token): a push carries its pusher's, as on GitHub.
	Tokens map[string]string `json:"tokens,omitempty"`
}

// pushURL is the tenants repo's URL with login's token; without one, the
// URL as it is (a push then is refused, unless the git server takes
// pushes from anyone).
func (s devState) pushURL(login string) string {
	token, ok := s.Tokens[login]
	if !ok {
		return s.Tenants
	}
	u, err := url.Parse(s.Tenants)
	if err != nil {
		return s.Tenants
	}
	u.User = url.UserPassword(login, token)
	return u.String()
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
	// Written beside and renamed into place: the driving commands read it
	// while dev rewrites it (a reload), and must never see half of it.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil { // it holds the people's tokens
		return nil, err
	}
	if err := os.Rename(tmp, p); err != nil {
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
	var name, plan, as, email, title, cluster, region string
	var waitFor time.Duration
	var pr bool
	cmd := &cobra.Command{
		Use:   "request --name NAME --plan PLAN [--pr]",
		Short: "Open a store request on the running dev system: an issue, or with --pr a pull request",
		Long: `Open a store request as a person (--as) on the running dev system: by default an
issue with the request form; with --pr a pull request in the tenants repo, from a
branch request/NAME pushed to the dev git server with one commit by that person
adding requests/NAME.yaml. The requester gets an SSH key first, so the
credentials Purrvision seals for them can be read. With --wait, it waits for
Purrvision's pull request (issue) or for its check run purrvision/plan (--pr),
and prints it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || plan == "" {
				return usageError(errors.New("--name and --plan are required"))
			}
			st, err := readDevState()
			if err != nil {
				return err
			}
			if st.Dir == "" || (pr && st.Tenants == "") {
				return usageError(errors.New("the running `purrvision dev` is older than this command: restart it"))
			}
			// The credentials are encrypted to the requester's keys when
			// the request is read: give them one first.
			key, err := devenv.GiveKey(cmd.Context(), st.GitHub, as, st.Dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if key.Added {
				fmt.Fprintf(out, "gave @%s the SSH key %s.pub\n", as, key.Private)
			}
			spec := v1alpha1.StoreSpec{Plan: plan, AdminEmail: email, Title: title, Cluster: cluster, Region: region}
			if pr {
				spec.Owner = as
				return requestPull(cmd.Context(), out, st, v1alpha1.New(name, spec), as, waitFor)
			}
			body := provision.RenderForm(v1alpha1.New(name, spec))
			var issue struct {
				Number int `json:"number"`
			}
			if err := standinCall(cmd.Context(), http.MethodPost, "repos/"+devenv.RequestsRepo+"/issues", as,
				map[string]any{"title": "Store: " + name, "body": body, "labels": []string{v1alpha1.LabelRequest}}, &issue); err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "opened %s#%d as @%s\ncredentials, once posted: %s dev credentials %d\n", devenv.RequestsRepo, issue.Number, as, os.Args[0], issue.Number); err != nil {
				return err
			}
			if waitFor <= 0 {
				return nil
			}
			// Say which pull request to merge, once Purrvision opened it.
			// Purrvision's pull request for this issue (another request's
			// pull request may be open on the same branch), or its word on
			// what to fix.
			ref := fmt.Sprintf("%s#%d", devenv.RequestsRepo, issue.Number)
			var found int
			var invalid string
			outcome := func(ctx context.Context) (bool, error) {
				var pulls []struct {
					Number int    `json:"number"`
					Title  string `json:"title"`
					Body   string `json:"body"`
					User   struct {
						Login string `json:"login"`
					} `json:"user"`
				}
				owner, _, _ := strings.Cut(devenv.TenantsRepo, "/")
				if err := standinCall(ctx, http.MethodGet, "repos/"+devenv.TenantsRepo+"/pulls?state=open&head="+owner+":"+v1alpha1.Branch(name), as, nil, &pulls); err != nil {
					return false, nil
				}
				for _, p := range pulls {
					if p.User.Login == ghstandin.BotLogin && strings.Contains(p.Body, " in "+ref+".") {
						// Mergeable once the bot's purrvision/ready is on
						// its head: branch protection requires it.
						found = p.Number
						ready, err := findCheck(ctx, p.Number, as, v1alpha1.ReadyCheckName)
						return err == nil && ready != nil, nil
					}
				}
				var comments []struct {
					Body string `json:"body"`
					User struct {
						Login string `json:"login"`
					} `json:"user"`
				}
				if err := standinCall(ctx, http.MethodGet, fmt.Sprintf("repos/%s/issues/%d/comments?per_page=100", devenv.RequestsRepo, issue.Number), as, nil, &comments); err != nil {
					return false, nil
				}
				for _, c := range comments {
					if c.User.Login == ghstandin.BotLogin && v1alpha1.Marked(c.Body, v1alpha1.MarkerValidation) && !strings.Contains(c.Body, "(resolved)") {
						invalid = c.Body
						return true, nil
					}
				}
				return false, nil
			}
			if err := wait.PollUntilContextTimeout(cmd.Context(), 250*time.Millisecond, waitFor, true, outcome); err != nil {
				if found != 0 {
					return fmt.Errorf("waiting for the check %s on pull request %s#%d (--wait %v): %w; read its checks, then merge it with: %s dev merge %d",
						v1alpha1.ReadyCheckName, devenv.TenantsRepo, found, waitFor, err, os.Args[0], found)
				}
				return fmt.Errorf("waiting for Purrvision's pull request (--wait %v): %w; read the issue's comments (%s issues/%d/comments on the stand-in) and purrvision.log in the dev folder",
					waitFor, err, devenv.RequestsRepo, issue.Number)
			}
			if invalid != "" {
				_, after, _ := strings.Cut(invalid, "\n")
				if i := strings.LastIndex(after, "\n<!-- purrvision:post "); i >= 0 {
					after = after[:i]
				}
				return fmt.Errorf("purrvision found the request invalid:\n%s", strings.TrimSpace(after))
			}
			_, err = fmt.Fprintf(out, "pull request %s#%d opened; merge it with: %s dev merge %d\n", devenv.TenantsRepo, found, os.Args[0], found)
			return err
		},
	}
	cmd.Flags().DurationVar(&waitFor, "wait", 30*time.Second, "how long to wait for Purrvision's pull request and its check "+v1alpha1.ReadyCheckName+", or with --pr its check "+v1alpha1.CheckName+" (0: do not wait; past it, the command fails)")
	cmd.Flags().BoolVar(&pr, "pr", false, "request by pull request: push requests/NAME.yaml on a branch and open a pull request in the tenants repo")
	cmd.Flags().StringVar(&name, "name", "", "store name")
	cmd.Flags().StringVar(&plan, "plan", "", "plan")
	cmd.Flags().StringVar(&email, "email", "owner@example.com", "admin e-mail")
	cmd.Flags().StringVar(&title, "title", "", "shop title")
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster to put the store on (default: Purrvision places it)")
	cmd.Flags().StringVar(&region, "region", "", "region whose clusters the store may go to (a cluster label region)")
	cmd.Flags().StringVar(&as, "as", "octocat", "GitHub login that opens the issue or pull request, and owns the store")
	return cmd
}

// requestPull pushes a branch with req's request file to the dev tenants
// repo and opens its pull request as the person as; with a wait, it waits
// for Purrvision's check run on the pull request's head and prints its
// conclusion.
func requestPull(ctx context.Context, out io.Writer, st devState, req *v1alpha1.StoreRequest, as string, waitFor time.Duration) error {
	name := req.Metadata.Name
	branch := "request/" + name
	if _, err := devenv.PushRequest(ctx, st.pushURL(as), "main", branch, as, req, st.Dir); err != nil {
		return err
	}
	var pull struct {
		Number int `json:"number"`
	}
	if err := standinCall(ctx, http.MethodPost, "repos/"+devenv.TenantsRepo+"/pulls", as,
		map[string]any{"title": "Request store " + name, "head": branch, "base": "main", "body": "Adds `requests/" + name + ".yaml`."}, &pull); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "opened %s#%d as @%s from %s\ncredentials, once posted: %s dev credentials --pr %d\n",
		devenv.TenantsRepo, pull.Number, as, branch, os.Args[0], pull.Number); err != nil {
		return err
	}
	if waitFor <= 0 {
		return nil
	}
	var run *checkRun
	done := func(ctx context.Context) (bool, error) {
		var err error
		run, err = findCheck(ctx, pull.Number, as, v1alpha1.CheckName)
		return err == nil && run != nil, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, waitFor, true, done); err != nil {
		return fmt.Errorf("waiting for the check %s (--wait %v): %w; read the pull request's comments (%s issues/%d/comments on the stand-in) and purrvision.log in the dev folder",
			v1alpha1.CheckName, waitFor, err, devenv.TenantsRepo, pull.Number)
	}
	if _, err := fmt.Fprintf(out, "check %s on %.12s: %s: %s\n", v1alpha1.CheckName, run.HeadSHA, run.Conclusion, run.Output.Title); err != nil {
		return err
	}
	if run.Conclusion == provision.CheckFailure {
		return invalidError(fmt.Errorf("the check failed; what to fix:\n%s", run.Output.Summary))
	}
	_, err := fmt.Fprintf(out, "merge it with: %s dev merge %d\n", os.Args[0], pull.Number)
	return err
}

// checkRun is a check run as the stand-in answers.
type checkRun struct {
	HeadSHA    string `json:"head_sha"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	App        struct {
		Slug string `json:"slug"`
	} `json:"app"`
	Output struct {
		Title   string `json:"title"`
		Summary string `json:"summary"`
	} `json:"output"`
}

// findCheck is Purrvision's completed check run name (purrvision/plan,
// purrvision/ready) on the pull request's current head; nil while there is
// none. Purrvision's is the one its App created, as GitHub records it.
func findCheck(ctx context.Context, number int, as, name string) (*checkRun, error) {
	var pull struct {
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
	}
	if err := standinCall(ctx, http.MethodGet, fmt.Sprintf("repos/%s/pulls/%d", devenv.TenantsRepo, number), as, nil, &pull); err != nil {
		return nil, err
	}
	var runs struct {
		CheckRuns []checkRun `json:"check_runs"`
	}
	if err := standinCall(ctx, http.MethodGet, fmt.Sprintf("repos/%s/commits/%s/check-runs?check_name=%s&per_page=100", devenv.TenantsRepo, pull.Head.SHA, url.QueryEscape(name)), as, nil, &runs); err != nil {
		return nil, err
	}
	for _, r := range runs.CheckRuns {
		if r.App.Slug+"[bot]" == ghstandin.BotLogin && r.Status == "completed" {
			return &r, nil
		}
	}
	return nil, nil
}

func newDevMergeCommand() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "merge PR",
		Short: "Approve and merge a tenants pull request on the running dev system",
		Long: `Approve a tenants pull request and merge it through the merge API, as a person
with write access to the tenants repo (--as; dev makes "` + devenv.Reviewer + `" a maintainer and a
code owner, a member of the platform team). The tenants repo has ` + "`purrvision setup`" + `'s
rules, so GitHub refuses a merge without a code owner's approval, or by someone
without write access; its message is shown.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return usageError(fmt.Errorf("%q is not a pull request number", args[0]))
			}
			st, err := readDevState()
			if err != nil {
				return err
			}
			// A refusal reads as GitHub's: its status and message.
			sha, err := devenv.ApproveAndMerge(cmd.Context(), st.GitHub, devenv.TenantsRepo, n, as, as)
			if status, msg, ok := devenv.Refused(err); ok && status == http.StatusMethodNotAllowed &&
				(strings.Contains(msg, "out of date") || strings.Contains(msg, v1alpha1.ReadyCheckName)) {
				// What a reviewer sees after another merge: the bot is on it.
				return fmt.Errorf("%w\n(Purrvision brings its own pull requests up to date after each merge and checks the new head, which dismisses the approval: run dev merge %d again in a few seconds)", err, n)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "merged %s#%d as %s by @%s\n", devenv.TenantsRepo, n, sha, as)
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
	var pr bool
	cmd := &cobra.Command{
		Use:   "credentials [--pr] NUMBER",
		Short: "Save the encrypted credentials of a store issue (or with --pr a request pull request) in the dev folder and print the command that decrypts them",
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
			repo := devenv.RequestsRepo
			if pr {
				repo = devenv.TenantsRepo // a request pull request's credentials are on it
			}
			if err := standinCall(cmd.Context(), http.MethodGet, fmt.Sprintf("repos/%s/issues/%d", repo, n), ghstandin.BotLogin, nil, &issue); err != nil {
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
			file, err := devenv.SaveCredentials(cmd.Context(), st.GitHub, repo, n, st.Dir)
			if err != nil {
				return err
			}
			if os.Getenv("PURRVISION_AGE") == "" && st.Age != "" {
				_ = os.Setenv("PURRVISION_AGE", st.Age) // the one dev printed at its start
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), devenv.DecryptCommand(key.Private, file))
			return err
		},
	}
	cmd.Flags().BoolVar(&pr, "pr", false, "NUMBER is a request pull request of the tenants repo, not an issue")
	return cmd
}
