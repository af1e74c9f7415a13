package setup

import (
	"context"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
)

// Reader reads the settings setup manages (internal/ghclient).
type Reader interface {
	DefaultBranch(ctx context.Context, repo forge.Repo) (string, error)
	ListLabels(ctx context.Context, repo forge.Repo) ([]forge.Label, error)
	// GetFile is a file at ref; ok false when it is not there.
	GetFile(ctx context.Context, repo forge.Repo, ref, path string) (content string, ok bool, err error)
	// GetProtection is branch's protection; nil when it has none.
	GetProtection(ctx context.Context, repo forge.Repo, branch string) (*forge.BranchProtection, error)
	ListRulesets(ctx context.Context, repo forge.Repo) ([]forge.Ruleset, error)
	FindOpenPull(ctx context.Context, repo forge.Repo, head string) (*forge.PullRequest, error)
}

// Writer writes them.
type Writer interface {
	SaveLabel(ctx context.Context, repo forge.Repo, l forge.Label, create bool) error
	SetProtection(ctx context.Context, repo forge.Repo, p forge.BranchProtection) error
	SaveRuleset(ctx context.Context, repo forge.Repo, rs forge.Ruleset) error
	ProposeFiles(ctx context.Context, repo forge.Repo, p forge.FileProposal) (*forge.PullRequest, error)
}

// PermissionError is GitHub refusing setup for want of a permission.
type PermissionError struct {
	Permission string // "administration: write"
	Repo       forge.Repo
	Action     string // "set branch protection"
	Err        error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s on %s is needed to %s (GitHub said: %v)", e.Permission, e.Repo, e.Action, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// refused turns GitHub's 403 and 404 into the permission an action needs;
// other errors are wrapped with the action.
func refused(err error, permission string, repo forge.Repo, action string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, forge.ErrForbidden) || errors.Is(err, forge.ErrNotFound) {
		return &PermissionError{Permission: permission, Repo: repo, Action: action, Err: err}
	}
	return fmt.Errorf("%s on %s: %w", action, repo, err)
}

// Read reads from GitHub what want names, for each repository.
func Read(ctx context.Context, r Reader, want []Settings) ([]Settings, error) {
	var out []Settings
	for _, w := range want {
		h, err := readRepo(ctx, r, w)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func readRepo(ctx context.Context, r Reader, w Settings) (Settings, error) {
	h := Settings{Repo: w.Repo, Base: w.Base}
	if h.Base == "" {
		b, err := r.DefaultBranch(ctx, w.Repo)
		if err != nil {
			return h, refused(err, "metadata: read", w.Repo, "read the repository")
		}
		h.Base = b
	}
	if len(w.Labels) > 0 {
		ls, err := r.ListLabels(ctx, w.Repo)
		if err != nil {
			return h, refused(err, "issues: read", w.Repo, "list labels")
		}
		h.Labels = ls
	}
	if len(w.Files) > 0 {
		fs, err := readFiles(ctx, r, w.Repo, h.Base, w.Files)
		if err != nil {
			return h, err
		}
		h.Files = fs
		pr, err := r.FindOpenPull(ctx, w.Repo, ProposalBranch)
		if err != nil {
			return h, refused(err, "pull_requests: read", w.Repo, "find setup's pull request")
		}
		if pr != nil {
			fs, err := readFiles(ctx, r, w.Repo, pr.HeadSHA, w.Files)
			if err != nil {
				return h, err
			}
			h.Proposal = &Proposal{URL: pr.URL, Files: fs}
		}
	}
	if w.Protection != nil {
		p, err := r.GetProtection(ctx, w.Repo, w.Protection.Branch)
		if err != nil {
			return h, refused(err, "administration: read", w.Repo, "read the protection of "+w.Protection.Branch)
		}
		h.Protection = p
	}
	if len(w.Rulesets) > 0 {
		rs, err := r.ListRulesets(ctx, w.Repo)
		if err != nil {
			return h, refused(err, "administration: read", w.Repo, "read the rulesets")
		}
		h.Rulesets = rs
	}
	return h, nil
}

func readFiles(ctx context.Context, r Reader, repo forge.Repo, ref string, want []forge.File) ([]forge.File, error) {
	var out []forge.File
	for _, f := range want {
		content, ok, err := r.GetFile(ctx, repo, ref, f.Path)
		if err != nil {
			return nil, refused(err, "contents: read", repo, "read "+f.Path+" at "+ref)
		}
		if ok {
			out = append(out, forge.File{Path: f.Path, Content: content})
		}
	}
	return out, nil
}

// Apply makes each of the plan's writes, in order, calling done after
// each; it stops at the first that fails.
func Apply(ctx context.Context, w Writer, p Plan, done func(Action, string)) error {
	for _, a := range p.Actions {
		var err error
		note := ""
		switch {
		case a.Label != nil:
			err = refused(w.SaveLabel(ctx, a.Repo, *a.Label, a.NewLabel), "issues: write", a.Repo, "write label "+a.Label.Name)
		case a.Protection != nil:
			err = refused(w.SetProtection(ctx, a.Repo, *a.Protection), "administration: write", a.Repo, "set branch protection")
		case a.Ruleset != nil:
			err = refused(w.SaveRuleset(ctx, a.Repo, *a.Ruleset), "administration: write", a.Repo, "write ruleset "+a.Ruleset.Name)
		case a.Proposal != nil:
			var pr *forge.PullRequest
			pr, err = w.ProposeFiles(ctx, a.Repo, *a.Proposal)
			err = refused(err, "contents: write and pull_requests: write", a.Repo, "propose "+a.Proposal.Title)
			if pr != nil {
				note = pr.URL
			}
		}
		if err != nil {
			return err
		}
		if done != nil {
			done(a, note)
		}
	}
	return nil
}

// Check is the drift of GitHub's settings from what cfg wants: each
// drifted setting, none when GitHub is as setup leaves it.
func Check(ctx context.Context, cfg *config.Config, o Options, r Reader) ([]Drift, error) {
	want, err := Desired(cfg, o)
	if err != nil {
		return nil, err
	}
	have, err := Read(ctx, r, want)
	if err != nil {
		return nil, err
	}
	return PlanChanges(want, have).Drift, nil
}
