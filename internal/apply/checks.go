package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
)

// CheckWriter is what WriteCheck needs.
type CheckWriter interface {
	// ListCheckRuns returns the check runs of a commit named name, by any
	// App, newest first.
	ListCheckRuns(ctx context.Context, repo forge.Repo, sha, name string) ([]forge.CheckRun, error)
	CreateCheckRun(ctx context.Context, repo forge.Repo, run forge.CheckRun) (forge.CheckRun, error)
	UpdateCheckRun(ctx context.Context, repo forge.Repo, id int64, run forge.CheckRun) error
}

// WriteCheck makes the bot's check run of want's name on want's commit
// say what want says: found and left as it is, updated, or created. The
// bot's run is the one GitHub records as created by its App, on exactly
// want's commit; a run of the same name by another App is never taken for
// it (GitHub lets only the App that created a run change it), so a
// redelivery writes nothing.
func (b Bot) WriteCheck(ctx context.Context, gh CheckWriter, want forge.CheckRun) error {
	runs, err := gh.ListCheckRuns(ctx, b.Tenants, want.HeadSHA, want.Name)
	if err != nil {
		return fmt.Errorf("listing the check runs %s of %s: %w", want.Name, Short(want.HeadSHA), err)
	}
	for _, r := range runs { // newest first
		if r.App != b.Login || r.Name != want.Name || r.HeadSHA != want.HeadSHA {
			continue
		}
		if r.Conclusion == want.Conclusion && r.Output == want.Output && r.DetailsURL == want.DetailsURL {
			return nil
		}
		if err := gh.UpdateCheckRun(ctx, b.Tenants, r.ID, want); err != nil {
			return fmt.Errorf("updating the check run %s of %s: %w", want.Name, Short(want.HeadSHA), err)
		}
		return nil
	}
	if _, err := gh.CreateCheckRun(ctx, b.Tenants, want); err != nil {
		return fmt.Errorf("creating the check run %s of %s: %w", want.Name, Short(want.HeadSHA), err)
	}
	return nil
}

// ReportCheck is WriteCheck where the check run is a view of what other
// writes say too (a commit status, a pull request's body): GitHub's 403 (a
// token, or an App without checks: write) is logged and the work goes on.
func (b Bot) ReportCheck(ctx context.Context, gh CheckWriter, want forge.CheckRun) error {
	err := b.WriteCheck(ctx, gh, want)
	if errors.Is(err, forge.ErrForbidden) {
		logctx.From(ctx).Warn("the check run "+want.Name+" cannot be written: grant the GitHub App checks: write", "sha", want.HeadSHA, "error", err)
		return nil
	}
	return err
}

// Short is a commit's first 12 hex digits, as records and comments show it.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// StatusWriter is what WriteStatus needs.
type StatusWriter interface {
	// ListStatuses returns every status of a commit, newest first.
	ListStatuses(ctx context.Context, repo forge.Repo, sha string) ([]forge.Status, error)
	SetStatus(ctx context.Context, repo forge.Repo, st forge.Status) error
}

// WriteStatus makes the newest commit status of want's context on want's
// commit the bot's, saying what want says: left as it is when it already
// is (a redelivery, or the pull_request event of the bot's own push, sets
// no second one), created otherwise. GitHub's combined status (and an
// older branch protection requiring the context by name alone) reads the
// newest status of a context whoever set it, so a newer one by anyone
// else is answered with the bot's word again; the bot's is told by its
// creator as GitHub records it, never by its text.
func (b Bot) WriteStatus(ctx context.Context, gh StatusWriter, repo forge.Repo, want forge.Status) error {
	sts, err := gh.ListStatuses(ctx, repo, want.SHA)
	if err != nil {
		return fmt.Errorf("listing the statuses of %s: %w", Short(want.SHA), err)
	}
	for _, st := range sts { // newest first: the context's last word
		if st.Context != want.Context {
			continue
		}
		if st.Creator == b.Login && st.State == want.State && st.Description == want.Description && st.TargetURL == want.TargetURL {
			return nil
		}
		break
	}
	if err := gh.SetStatus(ctx, repo, want); err != nil {
		return fmt.Errorf("setting the status %s of %s: %w", want.Context, Short(want.SHA), err)
	}
	return nil
}
