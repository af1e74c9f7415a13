package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Timeline builds the timeline of the stores named name from the tenants
// repo: its history, and what the bot recorded of each store in its
// ledger (Of).
func Timeline(ctx context.Context, cfg *config.Config, repo *tenants.Repo, name string) ([]Entry, error) {
	if err := repo.Fetch(ctx); err != nil {
		return nil, err
	}
	keys, err := ledger.LoadKeys(cfg.Ledger.SigningKeyFiles)
	if err != nil {
		return nil, err
	}
	return Of(ctx, repoHistory{cfg: cfg, repo: repo}, ledgerRecords{l: ledger.New(repo, keys)}, name)
}

// repoHistory is the History of a clone of the tenants repo.
type repoHistory struct {
	cfg  *config.Config
	repo *tenants.Repo
}

var _ History = repoHistory{}

func (h repoHistory) Changes(name string) ([]tenants.CommitInfo, error) {
	var prefixes []string
	for _, cl := range h.cfg.ClusterNames() {
		prefixes = append(prefixes, renderer.StoreDir(h.cfg, cl, name)+"/")
	}
	return h.repo.Log(h.cfg.TenantsRepo.Branch, prefixes...)
}

func (h repoHistory) StoreAt(commit tenants.Hash, name string) (Identity, error) {
	snap, err := h.repo.Snapshot(commit)
	if err != nil {
		return Identity{}, err
	}
	req, cl, err := renderer.FindStore(h.cfg, snap, name)
	if err != nil || req == nil {
		return Identity{}, err
	}
	return Identity{Issue: req.Metadata.Annotations[v1alpha1.AnnotationIssue], Owner: req.Spec.Owner, Cluster: cl}, nil
}

// ledgerRecords are the Records of the ledger, as last fetched.
type ledgerRecords struct{ l *ledger.Ledger }

var _ Records = ledgerRecords{}

func (r ledgerRecords) Status(ctx context.Context, issue string) (*storestatus.State, error) {
	ref, err := forge.ParseIssueRef(issue)
	if err != nil {
		return nil, fmt.Errorf("reading issue %s: %w", issue, err)
	}
	rec, _, err := r.l.Read(ctx, ref, false)
	return rec.Status, err
}

// Pushed reads every version of the issue's record: the status keeps only
// the commit last pushed.
func (r ledgerRecords) Pushed(_ context.Context, issue string) (map[string]bool, error) {
	ref, err := forge.ParseIssueRef(issue)
	if err != nil {
		return nil, fmt.Errorf("reading issue %s: %w", issue, err)
	}
	recs, err := r.l.History(ref)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, rec := range recs {
		if rec.Status != nil && rec.Status.Branch != "" {
			out[rec.Status.Branch] = true
		}
	}
	return out, nil
}

func (r ledgerRecords) Rollouts(context.Context) ([]rollout.State, error) {
	var out []rollout.State
	err := r.l.Each(`"rollout"`, func(ref string, rec ledger.Record) error {
		if len(rec.Rollout) == 0 {
			return nil
		}
		var st rollout.State
		if err := json.Unmarshal(rec.Rollout, &st); err != nil {
			return fmt.Errorf("reading the rollout of %s: %w", ref, err)
		}
		out = append(out, st)
		return nil
	})
	return out, err
}
