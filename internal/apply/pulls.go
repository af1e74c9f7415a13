package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/forge"
)

// PullLister lists the pull requests of a branch.
type PullLister interface {
	// ListPulls lists the pull requests of a head branch, open, closed
	// and merged, newest first.
	ListPulls(ctx context.Context, repo forge.Repo, head string) ([]forge.PullRequest, error)
}

// Puller is what EnsurePull needs.
type Puller interface {
	PullLister
	CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error)
	EditPull(ctx context.Context, repo forge.Repo, number int, title, body string) error
}

// PullCloser is what ClosePull needs.
type PullCloser interface {
	PullLister
	ClosePull(ctx context.Context, repo forge.Repo, number int) error
}

// Pull is the pull request a plan wants: of Branch into Base, with Title
// and Body.
type Pull struct {
	Branch, Base, Title, Body string
	// Pushed is the commit the bot pushed onto Branch, when the caller
	// recorded it: a pull request of the bot's merged at that very commit
	// (opened before a lost answer, and merged since) is found instead of
	// a new one opened. "" finds open ones only.
	Pushed string
}

// FindPull is the bot's open pull request of branch, or, when pushed is
// not "", the bot's one merged at pushed; nil when there is none.
// Someone else's pull request of the same branch, or one from a fork, is
// never taken for the bot's.
func (b Bot) FindPull(ctx context.Context, gh PullLister, branch, pushed string) (*forge.PullRequest, error) {
	prs, err := gh.ListPulls(ctx, b.Tenants, branch)
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests of %s: %w", branch, err)
	}
	for _, pr := range prs { // newest first
		if pr.Head != branch || !b.Owns(&pr, "") {
			continue
		}
		if pr.Open || (pushed != "" && pr.Merged && b.Owns(&pr, pushed)) {
			return &pr, nil
		}
	}
	return nil, nil
}

// EnsurePull finds the bot's pull request of want's branch (FindPull) or
// opens it, and keeps the title and body of an open one as want says:
// edited only when they differ.
func (b Bot) EnsurePull(ctx context.Context, gh Puller, want Pull) (*forge.PullRequest, error) {
	pr, err := b.FindPull(ctx, gh, want.Branch, want.Pushed)
	if err != nil {
		return nil, err
	}
	if pr == nil {
		pr, err = gh.CreatePull(ctx, b.Tenants, forge.NewPullRequest{Title: want.Title, Body: want.Body, Head: want.Branch, Base: want.Base})
		if errors.Is(err, forge.ErrAlreadyExists) {
			// Opened meanwhile, or before a lost answer.
			pr, err = b.FindPull(ctx, gh, want.Branch, want.Pushed)
			if err == nil && pr == nil {
				err = errors.New("GitHub says one exists, and none is the bot's: someone else opened one from the branch; close it")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("opening the pull request for %s: %w", want.Branch, err)
		}
		return pr, nil
	}
	if pr.Open && (pr.Title != want.Title || pr.Body != want.Body) {
		if err := gh.EditPull(ctx, b.Tenants, pr.Number, want.Title, want.Body); err != nil {
			return nil, fmt.Errorf("editing pull request %d of %s: %w", pr.Number, want.Branch, err)
		}
		pr.Title, pr.Body = want.Title, want.Body
	}
	return pr, nil
}

// ClosePull closes the bot's open pull request of branch when keep says
// it is not to be kept (keep nil closes it); it returns the one closed,
// nil when none was.
func (b Bot) ClosePull(ctx context.Context, gh PullCloser, branch string, keep func(*forge.PullRequest) bool) (*forge.PullRequest, error) {
	pr, err := b.FindPull(ctx, gh, branch, "")
	if err != nil || pr == nil || (keep != nil && keep(pr)) {
		return nil, err
	}
	if err := gh.ClosePull(ctx, b.Tenants, pr.Number); err != nil {
		return nil, fmt.Errorf("closing pull request %d of %s: %w", pr.Number, branch, err)
	}
	pr.Open = false
	return pr, nil
}
