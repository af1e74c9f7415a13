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
)

// Intent is one piece of work derived from a delivery.
type Intent struct {
	Kind    Kind
	Issue   forge.IssueRef // ReconcileRequest, RunCommand
	Comment forge.Comment  // RunCommand
	Repo    forge.Repo     // InspectPull
	Number  int            // InspectPull
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
	}
	return "unknown"
}
