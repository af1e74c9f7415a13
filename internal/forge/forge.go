// Package forge holds Purrvision's own view of the code host: the issues,
// comments, pull requests and users it works with, and the small interfaces
// through which it reads and changes them. internal/ghclient implements them
// on GitHub; domain code never sees a go-github type.
package forge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned, wrapped, when an object does not exist.
var ErrNotFound = errors.New("not found")

// ErrForbidden is returned, wrapped, when GitHub refuses a call for want
// of a permission (not a rate limit).
var ErrForbidden = errors.New("forbidden")

// ErrAlreadyExists is returned, wrapped, when creating something that exists,
// such as a second pull request for the same branch.
var ErrAlreadyExists = errors.New("already exists")

// RateLimitError is returned, wrapped, when GitHub asks to wait longer
// than a call waits (a primary or secondary rate limit): the work is to be
// tried again after Wait, not at once.
type RateLimitError struct {
	Wait time.Duration
	// Secondary is a secondary rate limit (too many requests at once, or
	// too much content created), not the hourly primary one.
	Secondary bool
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	return fmt.Sprintf("GitHub's %s rate limit: retry after %s", kind, e.Wait.Round(time.Second))
}

// RetryAfter is how long to wait before trying err's work again, when err
// is a rate limit.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.Wait, true
	}
	return 0, false
}

// APIError is an answer of GitHub's that refused a call: its status and
// the message it gave. The message is GitHub's text, which may quote what
// people wrote: a comment of the bot's shows it only neutralized.
type APIError struct {
	Status  int
	Message string
	Err     error
}

func (e *APIError) Error() string { return e.Err.Error() }
func (e *APIError) Unwrap() error { return e.Err }

// Message is what GitHub said of err when it answered with an error;
// err's own text otherwise.
func Message(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Message != "" {
		return ae.Message
	}
	return err.Error()
}

// Repo is owner/name.
type Repo struct{ Owner, Name string }

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo parses owner/name.
func ParseRepo(s string) (Repo, error) {
	o, n, ok := strings.Cut(s, "/")
	if !ok || o == "" || n == "" || strings.Contains(n, "/") {
		return Repo{}, fmt.Errorf("%q is not owner/name", s)
	}
	return Repo{Owner: o, Name: n}, nil
}

// IssueRef names an issue.
type IssueRef struct {
	Repo   Repo
	Number int
}

func (r IssueRef) String() string { return r.Repo.String() + "#" + strconv.Itoa(r.Number) }

// ParseIssueRef parses owner/name#number.
func ParseIssueRef(s string) (IssueRef, error) {
	repo, num, ok := strings.Cut(s, "#")
	if !ok {
		return IssueRef{}, fmt.Errorf("%q is not owner/name#number", s)
	}
	r, err := ParseRepo(repo)
	if err != nil {
		return IssueRef{}, err
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return IssueRef{}, fmt.Errorf("%q is not owner/name#number", s)
	}
	return IssueRef{Repo: r, Number: n}, nil
}

// Issue is an issue (not a pull request).
type Issue struct {
	Ref    IssueRef
	Title  string
	Body   string
	Author string
	Labels []string
	Open   bool
	URL    string
}

// HasLabel reports whether the issue carries label.
func (i *Issue) HasLabel(label string) bool {
	for _, l := range i.Labels {
		if l == label {
			return true
		}
	}
	return false
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID        int64
	Issue     int // the number of the issue or pull request it is on
	Body      string
	Author    string
	URL       string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PullRequest is a pull request.
type PullRequest struct {
	Repo    Repo
	Number  int
	Title   string
	Body    string
	Head    string // branch name
	HeadSHA string
	// HeadRepo is the repository of the head branch: another one for a
	// pull request from a fork; zero when GitHub no longer knows it.
	HeadRepo Repo
	// Commits counts the pull request's commits.
	Commits        int
	Base           string
	Open           bool
	Merged         bool
	MergeCommitSHA string
	MergedBy       string
	Author         string
	URL            string
}

// NewPullRequest is what CreatePull needs.
type NewPullRequest struct {
	Title, Body, Head, Base string
}

// Status is a commit status.
type Status struct {
	SHA         string
	Context     string
	State       string // pending, success, failure, error
	Description string
	TargetURL   string
	// Creator is who set it, as GitHub records it; read only.
	Creator string
}

// CheckRun is a check run on a commit (GitHub's Checks API): a
// conclusion and a report in Markdown.
type CheckRun struct {
	ID      int64
	Name    string
	HeadSHA string
	// Conclusion is success, failure or neutral once it completed; ""
	// while it runs.
	Conclusion string
	// DetailsURL is where people read more; optional.
	DetailsURL string
	Output     CheckOutput
	// App is the GitHub App that created it, as GitHub records it, by its
	// bot account's login ("<app slug>[bot]"); read only.
	App string
}

// CheckOutput is what a check run reports: a title, a summary and the
// details, Markdown within GitHub's limits (MaxCheckTitle, MaxCheckSummary,
// MaxCheckText).
type CheckOutput struct {
	Title, Summary, Text string
}

// Permission levels of a collaborator, as GitHub names them.
const (
	PermissionAdmin    = "admin"
	PermissionMaintain = "maintain"
	PermissionWrite    = "write"
	PermissionTriage   = "triage"
	PermissionRead     = "read"
	PermissionNone     = "none"
)

// Deployment is a GitHub deployment of a commit to an environment.
type Deployment struct {
	ID          int64
	SHA         string
	Environment string
	// Creator is who created it, as GitHub records it.
	Creator string
}

// DeploymentStatus is one state of a deployment: queued, in_progress,
// success, failure, error or inactive.
type DeploymentStatus struct {
	State          string
	Description    string
	EnvironmentURL string
	// LogURL is where people follow the deployment: the store's row on
	// the status page.
	LogURL string
	// Creator is who set it, as GitHub records it; read only.
	Creator string
}

// Client is the whole of what Purrvision asks of GitHub, as the adapter in
// internal/ghclient implements it. Consumers do not take a Client: each
// declares the few methods it calls, next to itself, and the wiring hands
// them the adapter.
type Client interface {
	GetIssue(ctx context.Context, ref IssueRef) (*Issue, error)
	ListComments(ctx context.Context, ref IssueRef) ([]Comment, error)
	// ListCommentsSince lists an issue's comments updated at or after
	// since (all of them when since is zero).
	ListCommentsSince(ctx context.Context, ref IssueRef, since time.Time) ([]Comment, error)
	// ListRepoComments returns the comments on every issue and pull request
	// of repo updated at or after since (all of them when since is zero),
	// least recently updated first.
	ListRepoComments(ctx context.Context, repo Repo, since time.Time) ([]Comment, error)
	// ListOpenIssues lists the open issues with a label.
	ListOpenIssues(ctx context.Context, repo Repo, label string) ([]Issue, error)

	// GetComment reads one comment; ErrNotFound when it was deleted.
	GetComment(ctx context.Context, repo Repo, id int64) (Comment, error)
	CreateComment(ctx context.Context, ref IssueRef, body string) (Comment, error)
	EditComment(ctx context.Context, repo Repo, id int64, body string) error
	DeleteComment(ctx context.Context, repo Repo, id int64) error
	CloseIssue(ctx context.Context, ref IssueRef) error
	// React adds a reaction to an issue comment; repeating it is harmless.
	React(ctx context.Context, repo Repo, commentID int64, content string) error
	AddLabels(ctx context.Context, ref IssueRef, labels ...string) error
	RemoveLabel(ctx context.Context, ref IssueRef, label string) error

	FindOpenPull(ctx context.Context, repo Repo, head string) (*PullRequest, error)
	CreatePull(ctx context.Context, repo Repo, pr NewPullRequest) (*PullRequest, error)
	EditPull(ctx context.Context, repo Repo, number int, title, body string) error
	GetPull(ctx context.Context, repo Repo, number int) (*PullRequest, error)
	ClosePull(ctx context.Context, repo Repo, number int) error
	ListPullFiles(ctx context.Context, repo Repo, number int) ([]string, error)
	// PullCommitAuthors are the GitHub logins of the authors of a pull
	// request's commits, as GitHub links them by e-mail; "" for a commit
	// whose e-mail belongs to no account.
	PullCommitAuthors(ctx context.Context, repo Repo, number int) ([]string, error)
	// Approvers are the reviewers whose last review approved.
	Approvers(ctx context.Context, repo Repo, number int) ([]string, error)

	Permission(ctx context.Context, repo Repo, login string) (string, error)
	IsTeamMember(ctx context.Context, org, team, login string) (bool, error)
	// SSHKeys returns a user's public SSH keys.
	SSHKeys(ctx context.Context, login string) ([]string, error)
	SetStatus(ctx context.Context, repo Repo, st Status) error
	// ListStatuses returns the statuses of a commit, newest first.
	ListStatuses(ctx context.Context, repo Repo, sha string) ([]Status, error)
	// ListCheckRuns returns the check runs of a commit named name, by any
	// App, newest first.
	ListCheckRuns(ctx context.Context, repo Repo, sha, name string) ([]CheckRun, error)
	// CreateCheckRun creates a completed check run.
	CreateCheckRun(ctx context.Context, repo Repo, run CheckRun) (CheckRun, error)
	// UpdateCheckRun replaces the conclusion and output of a check run.
	UpdateCheckRun(ctx context.Context, repo Repo, id int64, run CheckRun) error

	// EnsureDeployment finds the deployment of sha to environment, or
	// creates it.
	EnsureDeployment(ctx context.Context, repo Repo, environment, sha, description, by string) (Deployment, error)
	// LatestDeploymentStatus is the newest status; nil when there is none.
	LatestDeploymentStatus(ctx context.Context, repo Repo, id int64) (*DeploymentStatus, error)
	CreateDeploymentStatus(ctx context.Context, repo Repo, id int64, st DeploymentStatus) error
	// LatestDeployment is the newest deployment to environment; nil when none.
	LatestDeployment(ctx context.Context, repo Repo, environment, by string) (*Deployment, error)

	// CreateIssue opens an issue with labels (a rollout's tracking issue).
	CreateIssue(ctx context.Context, repo Repo, title, body string, labels ...string) (*Issue, error)
	// ListPulls lists the pull requests of a head branch, open, closed
	// and merged, newest first.
	ListPulls(ctx context.Context, repo Repo, head string) ([]PullRequest, error)
	// ListOpenPulls lists every open pull request of repo.
	ListOpenPulls(ctx context.Context, repo Repo) ([]PullRequest, error)
}
