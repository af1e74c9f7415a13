package tenants

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Push moves the remote branch to commit if it still is at expected ("":
// if it does not exist). Otherwise it returns ErrStale.
func (r *Repo) Push(ctx context.Context, branch string, commit, expected Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := commit.object()
	if err != nil {
		return fmt.Errorf("pushing branch %q: %w", branch, err)
	}
	if _, err := expected.object(); err != nil {
		return fmt.Errorf("pushing branch %q: expected head: %w", branch, err)
	}
	local := plumbing.NewBranchReferenceName(branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(local, c)); err != nil {
		return fmt.Errorf("pushing branch %q: %w", branch, err)
	}
	opts := &git.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec("+" + local.String() + ":" + local.String())},
		Auth:       r.auth,
	}
	if expected == "" {
		// A new branch: without force the server refuses to replace a branch
		// someone else created meanwhile.
		opts.RefSpecs = []gitconfig.RefSpec{gitconfig.RefSpec(local.String() + ":" + local.String())}
	} else {
		opts.RequireRemoteRefs = []gitconfig.RefSpec{gitconfig.RefSpec(expected.String() + ":" + local.String())}
	}
	err = r.repo.PushContext(ctx, opts)
	switch {
	case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
	case r.moved(ctx, branch, expected):
		return fmt.Errorf("pushing branch %q: %w: %v", branch, ErrStale, err)
	default:
		return fmt.Errorf("pushing branch %q: %w", branch, err)
	}
	// Record what we pushed as the remote's state, as git does.
	remote := plumbing.NewRemoteReferenceName(remoteName, branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(remote, c)); err != nil {
		return fmt.Errorf("recording pushed branch %q: %w", branch, err)
	}
	return nil
}

// moved reports whether the remote branch is no longer at expected, after
// a failed push, by asking the remote where it is.
//
// go-git has no typed error for a refused push: its own checks
// (RequireRemoteRefs: "remote ref ... required to be ...", a new branch that
// exists: "non-fast-forward update: ...") and the server's report status
// ("command error on ...: fetch first", "stale info", "failed to update
// ref") all come back from fmt.Errorf without %w, and the wording varies
// with the go-git version and the git server. (git.ErrNonFastForwardUpdate
// is returned by Worktree.Pull and git.ErrForceNeeded by Fetch, never by
// Push.) Where the branch is now is the one signal that depends on no text.
// When the remote cannot be asked, the push error stands as it is.
func (r *Repo) moved(ctx context.Context, branch string, expected Hash) bool {
	remote, err := r.repo.Remote(remoteName)
	if err != nil {
		return false
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return false
	}
	name := plumbing.NewBranchReferenceName(branch)
	for _, ref := range refs {
		if ref.Name() == name {
			return hashOf(ref.Hash()) != expected
		}
	}
	return expected != ""
}
