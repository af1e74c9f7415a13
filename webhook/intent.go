package webhook

import (
	"fmt"

	"github.com/purrvision/purrvision/internal/forge"
)

// Kind is what an intent asks for.
type Kind int

// Kinds of intent.
const (
	// ReconcileRequest re-derives a store-request issue's state.
	ReconcileRequest Kind = iota + 1
	// RunCommand carries out a /purrvision command comment.
	RunCommand
	// InspectPull looks at a tenants pull request (merge, request files).
	InspectPull
	// InspectRolloutPull looks at a rollout's pull request (a wave merged
	// or closed, its branch pushed to).
	InspectRolloutPull
	// ReconcileRollout runs a rollout's gate: its tracking issue.
	ReconcileRollout
)

// Intent is one piece of work derived from a delivery.
type Intent struct {
	Kind    Kind
	Issue   forge.IssueRef // ReconcileRequest, RunCommand, ReconcileRollout
	Comment forge.Comment  // RunCommand
	Repo    forge.Repo     // InspectPull, InspectRolloutPull
	Number  int            // InspectPull, InspectRolloutPull
}

// Key identifies intents that converge on the same state, so duplicates
// coalesce in the queue.
func (i Intent) Key() string {
	switch i.Kind {
	case ReconcileRequest:
		return "request:" + i.Issue.String()
	case RunCommand:
		return fmt.Sprintf("command:%s:%d", i.Issue, i.Comment.ID)
	case InspectPull:
		return fmt.Sprintf("pull:%s#%d", i.Repo, i.Number)
	case InspectRolloutPull:
		return fmt.Sprintf("rollout-pull:%s#%d", i.Repo, i.Number)
	case ReconcileRollout:
		return "rollout:" + i.Issue.String()
	}
	return "unknown"
}

func (k Kind) String() string {
	switch k {
	case ReconcileRequest:
		return "reconcile-request"
	case RunCommand:
		return "run-command"
	case InspectPull:
		return "inspect-pull"
	case InspectRolloutPull:
		return "inspect-rollout-pull"
	case ReconcileRollout:
		return "reconcile-rollout"
	}
	return "unknown"
}
