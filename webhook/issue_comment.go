package webhook

import (
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// fromIssueComment turns a new "/purrvision ..." comment on a store issue
// into a command to run. Edits are not commands: a command runs once.
func (r *Router) fromIssueComment(e *github.IssueCommentEvent) ([]Intent, error) {
	repo, err := repoOf(e.GetRepo(), "repository")
	if err != nil || repo != r.Requests {
		return nil, err
	}
	if e.GetAction() != "created" || e.GetIssue().IsPullRequest() {
		return nil, nil
	}
	body := e.GetComment().GetBody()
	if !strings.HasPrefix(strings.TrimSpace(body), "/purrvision") {
		return nil, nil
	}
	ref, err := issueRef(repo, e.GetIssue(), "issue.number")
	if err != nil {
		return nil, err
	}
	if e.GetComment().GetID() == 0 {
		return nil, missing("comment.id")
	}
	if e.GetComment().GetUser().GetLogin() == "" {
		return nil, missing("comment.user.login")
	}
	c := forge.Comment{ID: e.GetComment().GetID(), Body: body, Author: e.GetComment().GetUser().GetLogin(), URL: e.GetComment().GetHTMLURL()}
	return []Intent{{Kind: RunCommand, Issue: ref, Comment: c}}, nil
}
