package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/forge"
)

// MergeReader is what ReadMerge needs.
type MergeReader interface {
	// Approvers are the reviewers whose last review approved.
	Approvers(ctx context.Context, repo forge.Repo, number int) ([]string, error)
	Permission(ctx context.Context, repo forge.Repo, login string) (string, error)
}

// Merge is what the record of a merged pull request says: which, the
// commit, who merged it and who approved it, as GitHub records them.
type Merge struct {
	Pull   int
	URL    string
	Commit string
	By     string
	// Approvers are the approving reviewers with write access: the
	// approvals branch protection counts. Anyone who can read a pull
	// request can review it; the record names only these.
	Approvers []string
}

// ReadMerge reads the merge of pr, which GitHub says is merged (Commit is
// "" while GitHub has not made the merge commit known).
func ReadMerge(ctx context.Context, gh MergeReader, pr *forge.PullRequest) (Merge, error) {
	m := Merge{Pull: pr.Number, URL: pr.URL, Commit: pr.MergeCommitSHA, By: pr.MergedBy}
	if !pr.Merged {
		return m, fmt.Errorf("reading the merge of pull request %d: it is not merged", pr.Number)
	}
	all, err := gh.Approvers(ctx, pr.Repo, pr.Number)
	if err != nil {
		return m, fmt.Errorf("reading the approvals of pull request %d: %w", pr.Number, err)
	}
	for _, login := range all {
		perm, err := gh.Permission(ctx, pr.Repo, login)
		if err != nil {
			return m, fmt.Errorf("reading the permission of %s: %w", login, err)
		}
		if forge.Writes(perm) {
			m.Approvers = append(m.Approvers, login)
		}
	}
	return m, nil
}

// Short is the merge commit's first 12 hex digits.
func (m Merge) Short() string { return Short(m.Commit) }

// Approved says who approved, as a record's line says it.
func (m Merge) Approved() string {
	if len(m.Approvers) == 0 {
		return "no approving review"
	}
	return "approved by @" + strings.Join(m.Approvers, ", @")
}
