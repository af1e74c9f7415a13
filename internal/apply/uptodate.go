package apply

import "fmt"

// BaseMovedNote is the section of a bot pull request's body after the
// bot rendered its branch again on the base head sha, because the base
// moved past it: why the approval was dismissed, and what to do. It says
// it on the pull request itself, edited in place, never as a new comment.
// sha comes only from the bot's own recorded push.
func BaseMovedNote(sha string) string {
	return fmt.Sprintf("\n**The base moved to `%s`**; Purrvision re-rendered this branch on it (credentials unchanged). "+
		"The push dismissed any approval given before it: approve again.\n", sha)
}
