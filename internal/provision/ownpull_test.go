package provision

import (
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// TestOwnPull_FromTheRecordNotTheBody: which issue one of the bot's pull
// requests belongs to is what that issue's ledger record says (the pull
// request it opened, or the commit it pushed), never the marker in the
// body, which anyone with write access can edit: rewritten to name issue
// B, the pull request of issue A is not B's to close when B is refused
// the name; rewritten to name nobody, it is still A's.
func TestOwnPull_FromTheRecordNotTheBody(t *testing.T) {
	a := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	b := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 2}
	pr := &forge.PullRequest{Number: 7, HeadSHA: "aaaa", Author: "purrvision[bot]"}
	recordOfA := storestatus.State{Store: "cat-cafe", Pull: 7, Branch: "aaaa"}
	recordOfB := storestatus.State{Store: "cat-cafe", Pull: 9, Branch: "bbbb"}
	tests := []struct {
		name string
		body string
		st   storestatus.State
		want bool
	}{
		{"A's, its marker intact", PullMarker(a, v1alpha1.OpProvision), recordOfA, true},
		{"A's, its marker edited to name B", PullMarker(b, v1alpha1.OpProvision), recordOfA, true},
		{"A's, its marker removed", "Tidy.", recordOfA, true},
		{"A's, read for B whose marker was typed in", PullMarker(b, v1alpha1.OpProvision), recordOfB, false},
		{"A's, read for an issue with no record", PullMarker(b, v1alpha1.OpProvision), storestatus.State{}, false},
		{"A's, found by the commit A recorded pushing", "", storestatus.State{Branch: "aaaa"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := *pr
			p.Body = tt.body
			if got := ownPull(&p, tt.st); got != tt.want {
				t.Errorf("ownPull = %v, want %v", got, tt.want)
			}
		})
	}
}
