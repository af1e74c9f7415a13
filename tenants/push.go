package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Push moves the remote branch to commit if it still is at expected (zero:
// if it does not exist). Otherwise it returns ErrStale.
func (r *Repo) Push(ctx context.Context, branch string, commit, expected plumbing.Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	local := plumbing.NewBranchReferenceName(branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(local, commit)); err != nil {
		return fmt.Errorf("pushing branch %q: %w", branch, err)
	}
	opts := &git.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec("+" + local.String() + ":" + local.String())},
		Auth:       r.opts.Auth,
	}
	if expected.IsZero() {
		// A new branch: without force the server refuses to replace a branch
		// someone else created meanwhile.
		opts.RefSpecs = []gitconfig.RefSpec{gitconfig.RefSpec(local.String() + ":" + local.String())}
	} else {
		opts.RequireRemoteRefs = []gitconfig.RefSpec{gitconfig.RefSpec(expected.String() + ":" + local.String())}
	}
	err := r.repo.PushContext(ctx, opts)
	switch {
	case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
	case isRejected(err):
		return fmt.Errorf("pushing branch %q: %w: %v", branch, ErrStale, err)
	default:
		return fmt.Errorf("pushing branch %q: %w", branch, err)
	}
	// Record what we pushed as the remote's state, as git does.
	remote := plumbing.NewRemoteReferenceName(remoteName, branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(remote, commit)); err != nil {
		return fmt.Errorf("recording pushed branch %q: %w", branch, err)
	}
	return nil
}

func isRejected(err error) bool {
	if errors.Is(err, git.ErrNonFastForwardUpdate) || errors.Is(err, git.ErrForceNeeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"non-fast-forward", "rejected", "remote ref", "fetch first", "stale info", "failed to update ref", "required ref"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
