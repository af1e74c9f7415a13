package webhook

import (
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// Router translates GitHub events into intents for the repositories
// Purrvision serves.
type Router struct {
	// Requests is where store issues are filed.
	Requests forge.Repo
	// Tenants is where store pull requests are opened.
	Tenants forge.Repo
}

// ErrPayload marks a delivery whose payload lacks a field we need.
var ErrPayload = errors.New("payload")

func missing(path string) error {
	return fmt.Errorf("%w: %s is missing", ErrPayload, path)
}

// handled lists the events Purrvision acts on; others get 202 and nothing.
var handled = map[string]bool{"issues": true, "issue_comment": true, "pull_request": true, "ping": true}

// Route returns the intents of a parsed event.
func (r *Router) Route(event any) ([]Intent, error) {
	switch e := event.(type) {
	case *github.IssuesEvent:
		return r.fromIssues(e)
	case *github.IssueCommentEvent:
		return r.fromIssueComment(e)
	case *github.PullRequestEvent:
		return r.fromPullRequest(e)
	}
	return nil, nil
}

func repoOf(r *github.Repository, path string) (forge.Repo, error) {
	if r == nil {
		return forge.Repo{}, missing(path)
	}
	if r.GetFullName() != "" {
		return forge.ParseRepo(r.GetFullName())
	}
	if r.GetOwner().GetLogin() == "" || r.GetName() == "" {
		return forge.Repo{}, missing(path + ".full_name")
	}
	return forge.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}, nil
}

func issueRef(repo forge.Repo, is *github.Issue, path string) (forge.IssueRef, error) {
	if is.GetNumber() == 0 {
		return forge.IssueRef{}, missing(path)
	}
	return forge.IssueRef{Repo: repo, Number: is.GetNumber()}, nil
}
