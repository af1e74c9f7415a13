package webhook

import (
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// isRolloutBranch reports whether a pull request's head is a rollout
// branch (rollout/<id>/wave-<n>): its events go to the rollout, which
// reads the pull request again and trusts only what GitHub authenticates.
func isRolloutBranch(head string) bool {
	return strings.HasPrefix(head, v1alpha1.RolloutBranchPrefix)
}
