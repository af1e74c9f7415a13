package webhook

import (
	"github.com/google/go-github/v60/github"
)

// fromPullRequest turns activity on a tenants pull request into an
// inspection: a merge to record, or request files to validate.
func (r *Router) fromPullRequest(e *github.PullRequestEvent) ([]Intent, error) {
	repo, err := repoOf(e.GetRepo(), "repository")
	if err != nil || repo != r.Tenants {
		return nil, err
	}
	switch e.GetAction() {
	case "opened", "reopened", "synchronize", "closed":
	default:
		return nil, nil
	}
	n := e.GetPullRequest().GetNumber()
	if n == 0 {
		n = e.GetNumber()
	}
	if n == 0 {
		return nil, missing("pull_request.number")
	}
	if isRolloutBranch(e.GetPullRequest().GetHead().GetRef()) {
		return []Intent{{Kind: InspectRolloutPull, Repo: repo, Number: n}}, nil
	}
	return []Intent{{Kind: InspectPull, Repo: repo, Number: n}}, nil
}
