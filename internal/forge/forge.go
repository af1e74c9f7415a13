// Package forge holds Purrvision's own view of the code host: the issues,
// comments, pull requests and users it works with, and the small interfaces
// through which it reads and changes them. internal/ghclient implements them
// on GitHub; domain code never sees a go-github type.
package forge

import (
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
