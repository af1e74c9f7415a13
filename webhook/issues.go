package webhook

import (
	"github.com/google/go-github/v60/github"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// fromIssues turns an issues event into a request to reconcile: opened,
// edited or reopened issues with the label, and the moment it is added.
func (r *Router) fromIssues(e *github.IssuesEvent) ([]Intent, error) {
	repo, err := repoOf(e.GetRepo(), "repository")
	if err != nil || repo != r.Requests {
		return nil, err
	}
	if e.GetIssue().IsPullRequest() {
		return nil, nil
	}
	switch e.GetAction() {
	case "opened", "edited", "reopened":
		if !hasLabel(e.GetIssue().Labels, v1alpha1.LabelRequest) {
			return nil, nil
		}
	case "labeled":
		if e.GetLabel().GetName() != v1alpha1.LabelRequest {
			return nil, nil
		}
	default:
		return nil, nil
	}
	ref, err := issueRef(repo, e.GetIssue(), "issue.number")
	if err != nil {
		return nil, err
	}
	return []Intent{{Kind: ReconcileRequest, Issue: ref}}, nil
}

func hasLabel(labels []*github.Label, name string) bool {
	for _, l := range labels {
		if l.GetName() == name {
			return true
		}
	}
	return false
}
