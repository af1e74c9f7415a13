package ghclient

import (
	"context"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// CreateIssue opens an issue as the bot (a
// rollout's tracking issue) with labels.
func (c *Client) CreateIssue(ctx context.Context, repo forge.Repo, title, body string, labels ...string) (*forge.Issue, error) {
	req := &github.IssueRequest{Title: &title, Body: &body}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	i, resp, err := c.gh.Issues.Create(ctx, repo.Owner, repo.Name, req)
	if err := translate("opening an issue in "+repo.String(), resp, err); err != nil {
		return nil, err
	}
	return issueFrom(repo, i), nil
}

// ListPulls lists the pull requests of a head branch
// of repo, open, closed and merged, newest first.
func (c *Client) ListPulls(ctx context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error) {
	var out []forge.PullRequest
	opts := &github.PullRequestListOptions{State: "all", Head: repo.Owner + ":" + head}
	err := eachPage("listing pull requests of "+head+" in "+repo.String(), &opts.ListOptions, func() (*github.Response, error) {
		prs, resp, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		for _, p := range prs {
			if p.GetHead().GetRef() == head {
				pr := pullFrom(repo, p)
				// A listing says merged_at, not merged.
				pr.Merged = pr.Merged || p.MergedAt != nil
				out = append(out, *pr)
			}
		}
		return resp, err
	})
	return out, err
}

// ListOpenPulls lists every open pull request of repo.
func (c *Client) ListOpenPulls(ctx context.Context, repo forge.Repo) ([]forge.PullRequest, error) {
	var out []forge.PullRequest
	opts := &github.PullRequestListOptions{State: "open"}
	err := eachPage("listing open pull requests of "+repo.String(), &opts.ListOptions, func() (*github.Response, error) {
		prs, resp, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		for _, p := range prs {
			out = append(out, *pullFrom(repo, p))
		}
		return resp, err
	})
	return out, err
}
