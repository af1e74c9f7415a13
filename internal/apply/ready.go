package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
)

// The check run purrvision/ready (v1alpha1.ReadyCheckName) is the one
// check `purrvision setup` makes branch protection require, bound to the
// App: every pull request the bot handles carries it on its exact head.
// Success means "this head is exactly a store request and its render, or
// exactly the bot's render or wave, as the bot recorded pushing it";
// anything else is failure with the reason, never success.

// Ready is the verdict purrvision/ready gives on sha: success when ok,
// failure otherwise, with title and summary saying why (cut to GitHub's
// limits).
func Ready(sha string, ok bool, title, summary string) forge.CheckRun {
	conclusion := "failure"
	if ok {
		conclusion = "success"
	}
	return forge.CheckRun{Name: v1alpha1.ReadyCheckName, HeadSHA: sha, Conclusion: conclusion,
		Output: forge.CheckOutput{Title: forge.KeepStart(title, forge.MaxCheckTitle), Summary: forge.KeepStart(summary, forge.MaxCheckSummary)}}
}

// BranchReady is the verdict on head, the head of a branch only the bot
// writes (store/*, rollout/*): success only when head is pushed, the
// commit the bot recorded pushing there; failure when pushed is "" or
// another commit, whoever moved the branch (a person who bypassed a rule,
// a commit the bot did not push). what names the render in the title
// ("store cat-cafe's resize", "wave 2 of rollout r1").
func BranchReady(head, pushed, what string) forge.CheckRun {
	if pushed != "" && head == pushed {
		return Ready(head, true, "Ready: "+what+" as Purrvision pushed it",
			fmt.Sprintf("The head `%s` is the commit Purrvision recorded pushing: exactly %s.", Short(head), what))
	}
	why := fmt.Sprintf("The head `%s` is not the commit Purrvision recorded pushing", Short(head))
	if pushed != "" {
		why += fmt.Sprintf(" (`%s`)", Short(pushed))
	}
	return Ready(head, false, "Not ready: the branch holds a commit Purrvision did not push",
		why+": someone else moved the branch. Purrvision does not vouch for a head it did not write; "+
			"it renders the branch again on its next handling, or close the pull request.")
}

// WriteReady makes the bot's purrvision/ready on run's commit say what run
// says (WriteCheck). Without checks: write (GitHub's 403) it logs and goes
// on, as ReportCheck does, but says what that costs: the required check is
// missing, so no pull request of the bot's can merge.
func (b Bot) WriteReady(ctx context.Context, gh CheckWriter, run forge.CheckRun) error {
	run.Name = v1alpha1.ReadyCheckName
	err := b.WriteCheck(ctx, gh, run)
	if errors.Is(err, forge.ErrForbidden) {
		logctx.From(ctx).Warn("the required check run "+v1alpha1.ReadyCheckName+" cannot be written, so branch protection blocks the merge of the bot's pull requests: grant the GitHub App checks: write",
			"sha", run.HeadSHA, "error", err)
		return nil
	}
	return err
}
