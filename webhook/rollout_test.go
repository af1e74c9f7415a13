package webhook_test

import (
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/webhook"
)

// TestRoute_RolloutPulls: events of pull requests on rollout branches go to
// the rollout, the others to the request flow.
func TestRoute_RolloutPulls(t *testing.T) {
	tenants := forge.Repo{Owner: "acme", Name: "tenants"}
	r := &webhook.Router{Requests: forge.Repo{Owner: "acme", Name: "stores"}, Tenants: tenants}
	tests := []struct {
		head string
		want webhook.Kind
	}{
		{"rollout/20261130-abcdef/wave-2", webhook.InspectRolloutPull},
		{"rollout/20261130-abcdef/revert-1", webhook.InspectRolloutPull},
		{"store/cat-cafe", webhook.InspectPull},
		{"add-cat-cafe", webhook.InspectPull},
		{"my-rollout/wave-1", webhook.InspectPull},
	}
	for _, tt := range tests {
		t.Run(tt.head, func(t *testing.T) {
			e := &github.PullRequestEvent{
				Action:      github.String("closed"),
				Repo:        &github.Repository{FullName: github.String("acme/tenants")},
				PullRequest: &github.PullRequest{Number: github.Int(7), Head: &github.PullRequestBranch{Ref: github.String(tt.head)}},
			}
			its, err := r.Route(e)
			if err != nil || len(its) != 1 || its[0].Kind != tt.want || its[0].Number != 7 || its[0].Repo != tenants {
				t.Fatalf("Route() = %+v, %v; want one %s of #7", its, err, tt.want)
			}
		})
	}
}
