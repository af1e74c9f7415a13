package provision

import (
	"context"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
)

// What the request flow asks of GitHub, by concern. GitHub is all of
// them; the adapter in internal/ghclient provides it, and tests use the
// stand-in behind the same adapter.
type (
	issueReader interface {
		GetIssue(ctx context.Context, ref forge.IssueRef) (*forge.Issue, error)
		ListOpenIssues(ctx context.Context, repo forge.Repo, label string) ([]forge.Issue, error)
	}
	commenter interface {
		ListComments(ctx context.Context, ref forge.IssueRef) ([]forge.Comment, error)
		ListCommentsSince(ctx context.Context, ref forge.IssueRef, since time.Time) ([]forge.Comment, error)
		GetComment(ctx context.Context, repo forge.Repo, id int64) (forge.Comment, error)
		DeleteComment(ctx context.Context, repo forge.Repo, id int64) error
		CreateComment(ctx context.Context, ref forge.IssueRef, body string) (forge.Comment, error)
		EditComment(ctx context.Context, repo forge.Repo, id int64, body string) error
		React(ctx context.Context, repo forge.Repo, commentID int64, content string) error
	}
	labeler interface {
		AddLabels(ctx context.Context, ref forge.IssueRef, labels ...string) error
		RemoveLabel(ctx context.Context, ref forge.IssueRef, label string) error
	}
	pullRequester interface {
		ListPulls(ctx context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error)
		CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error)
		EditPull(ctx context.Context, repo forge.Repo, number int, title, body string) error
		GetPull(ctx context.Context, repo forge.Repo, number int) (*forge.PullRequest, error)
		ClosePull(ctx context.Context, repo forge.Repo, number int) error
		ListPullFiles(ctx context.Context, repo forge.Repo, number int) ([]string, error)
		PullCommitAuthors(ctx context.Context, repo forge.Repo, number int) ([]string, error)
		Approvers(ctx context.Context, repo forge.Repo, number int) ([]string, error)
	}
	authorizer interface {
		Permission(ctx context.Context, repo forge.Repo, login string) (string, error)
		IsTeamMember(ctx context.Context, org, team, login string) (bool, error)
	}
	keyFetcher interface {
		SSHKeys(ctx context.Context, login string) ([]string, error)
	}
	statusSetter interface {
		SetStatus(ctx context.Context, repo forge.Repo, st forge.Status) error
		ListStatuses(ctx context.Context, repo forge.Repo, sha string) ([]forge.Status, error)
	}
	checkReporter interface {
		ListCheckRuns(ctx context.Context, repo forge.Repo, sha, name string) ([]forge.CheckRun, error)
		CreateCheckRun(ctx context.Context, repo forge.Repo, run forge.CheckRun) (forge.CheckRun, error)
		UpdateCheckRun(ctx context.Context, repo forge.Repo, id int64, run forge.CheckRun) error
	}
	deployer interface {
		EnsureDeployment(ctx context.Context, repo forge.Repo, environment, sha, description, by string) (forge.Deployment, error)
		LatestDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, by string) (*forge.DeploymentStatus, error)
		CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error
	}
)

// GitHub is what the Provisioner calls.
type GitHub interface {
	issueReader
	commenter
	labeler
	pullRequester
	authorizer
	keyFetcher
	statusSetter
	checkReporter
	deployer
}
