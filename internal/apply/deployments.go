package apply

import (
	"context"
	"fmt"

	"github.com/purrvision/purrvision/internal/forge"
)

// Deployer is what EnsureDeployments needs.
type Deployer interface {
	// EnsureDeployment finds the deployment of sha to environment that
	// by created, or creates it.
	EnsureDeployment(ctx context.Context, repo forge.Repo, environment, sha, description, by string) (forge.Deployment, error)
	// LatestDeploymentStatus is the newest status; nil when there is none.
	LatestDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, by string) (*forge.DeploymentStatus, error)
	CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error
}

// Deployment is a deployment a merge wants: its commit in a store's
// environment, for the watcher to report on.
type Deployment struct {
	Environment, SHA, Description string
	// LogURL is where people follow it (the store's row on the status
	// page); "" when there is none.
	LogURL string
}

// Queued is the first status of a deployment the bot makes.
const Queued = "queued"

// EnsureDeployments makes each of ds a deployment created by the bot (one
// someone else created is never taken for it) with a status: queued, with
// its LogURL, when it has none yet. A second run writes nothing.
func (b Bot) EnsureDeployments(ctx context.Context, gh Deployer, ds []Deployment) error {
	for _, want := range ds {
		d, err := gh.EnsureDeployment(ctx, b.Tenants, want.Environment, want.SHA, forge.KeepStart(want.Description, forge.MaxStatusDescription), b.Login)
		if err != nil {
			return fmt.Errorf("creating the deployment of %s to %s: %w", Short(want.SHA), want.Environment, err)
		}
		if d.Creator != "" && d.Creator != b.Login {
			return fmt.Errorf("creating the deployment of %s to %s: GitHub answered with deployment %d of %s", Short(want.SHA), want.Environment, d.ID, d.Creator)
		}
		latest, err := gh.LatestDeploymentStatus(ctx, b.Tenants, d.ID, b.Login)
		if err != nil {
			return fmt.Errorf("reading the status of deployment %d: %w", d.ID, err)
		}
		if latest != nil {
			continue
		}
		if err := gh.CreateDeploymentStatus(ctx, b.Tenants, d.ID, forge.DeploymentStatus{State: Queued, Description: "merged; waiting for Flux", LogURL: want.LogURL}); err != nil {
			return fmt.Errorf("setting deployment %d queued: %w", d.ID, err)
		}
	}
	return nil
}
