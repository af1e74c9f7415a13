package tenants

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// Mode is a path's mode as git records it.
type Mode uint32

// The modes git knows.
const (
	ModeNone       Mode = 0
	ModeDir        Mode = 0o040000
	ModeRegular    Mode = 0o100644
	ModeExecutable Mode = 0o100755
	ModeSymlink    Mode = 0o120000
	ModeSubmodule  Mode = 0o160000
)

func (m Mode) String() string {
	switch m {
	case ModeRegular:
		return "a regular file"
	case ModeExecutable:
		return "an executable file"
	case ModeSymlink:
		return "a symbolic link"
	case ModeSubmodule:
		return "a submodule"
	case ModeDir:
		return "a folder"
	case ModeNone:
		return "nothing"
	}
	return fmt.Sprintf("mode %o", uint32(m))
}

// DiffEntry is one path that differs between two commits.
type DiffEntry struct {
	Path string
	// Mode is the path's mode in the newer commit; ModeNone when it was
	// deleted.
	Mode    Mode
	Deleted bool
}

// MergeBase is the best common ancestor of two commits; "" when they have
// none.
func (r *Repo) MergeBase(a, b Hash) (Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ca, err := r.commitObject(a)
	if err != nil {
		return "", err
	}
	cb, err := r.commitObject(b)
	if err != nil {
		return "", err
	}
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return "", fmt.Errorf("finding the merge base of %s and %s: %w", a, b, err)
	}
	if len(bases) == 0 {
		return "", nil
	}
	return hashOf(bases[0].Hash), nil
}

// Diff lists every path whose content or mode differs from commit from to
// commit to ("" for from is the empty tree), in path order.
func (r *Repo) Diff(from, to Hash) ([]DiffEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fromTree, err := r.treeOf(from)
	if err != nil {
		return nil, err
	}
	toTree, err := r.treeOf(to)
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", from, to, err)
	}
	out := make([]DiffEntry, 0, len(changes))
	for _, c := range changes {
		action, err := c.Action()
		if err != nil {
			return nil, fmt.Errorf("comparing %s with %s: %w", from, to, err)
		}
		if action == merkletrie.Delete {
			out = append(out, DiffEntry{Path: c.From.Name, Deleted: true})
			continue
		}
		out = append(out, DiffEntry{Path: c.To.Name, Mode: modeOf(c.To.TreeEntry.Mode)})
	}
	return out, nil
}

// FirstParents lists head and its first parents, newest first, stopping
// before stop (or at the root), and at most max of them.
func (r *Repo) FirstParents(head, stop Hash, max int) ([]Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Hash
	c, err := r.commitObject(head)
	for err == nil && c != nil && len(out) < max && hashOf(c.Hash) != stop {
		out = append(out, hashOf(c.Hash))
		if c.NumParents() == 0 {
			break
		}
		c, err = c.Parent(0)
	}
	if err != nil {
		return nil, fmt.Errorf("walking the first parents of %s: %w", head, err)
	}
	return out, nil
}

func (r *Repo) commitObject(h Hash) (*object.Commit, error) {
	oh, err := h.object()
	if err != nil {
		return nil, err
	}
	if oh.IsZero() {
		return nil, errors.New("no commit")
	}
	c, err := r.repo.CommitObject(oh)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}

// treeOf is the tree of a commit; an empty tree for "".
func (r *Repo) treeOf(h Hash) (*object.Tree, error) {
	if h == "" {
		return &object.Tree{}, nil
	}
	c, err := r.commitObject(h)
	if err != nil {
		return nil, err
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", h, err)
	}
	return t, nil
}

func modeOf(m filemode.FileMode) Mode {
	switch m {
	case filemode.Regular, filemode.Deprecated:
		return ModeRegular
	case filemode.Executable:
		return ModeExecutable
	case filemode.Symlink:
		return ModeSymlink
	case filemode.Submodule:
		return ModeSubmodule
	case filemode.Dir:
		return ModeDir
	}
	return Mode(uint32(m))
}

// Contains reports whether commit descendant holds commit ancestor (a
// commit holds itself). It fetches once when either is not in the clone
// yet; a commit the remote does not have either holds nothing.
func (r *Repo) Contains(ctx context.Context, ancestor, descendant Hash) (bool, error) {
	ok, known, err := r.contains(ancestor, descendant)
	if err != nil || known {
		return ok, err
	}
	if err := r.Fetch(ctx); err != nil {
		return false, err
	}
	ok, _, err = r.contains(ancestor, descendant)
	return ok, err
}

// contains is Contains on the clone as it is; known is false when one of
// the commits is not in it.
func (r *Repo) contains(ancestor, descendant Hash) (ok, known bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, err := r.commitObject(ancestor)
	if err != nil {
		return false, false, nil
	}
	d, err := r.commitObject(descendant)
	if err != nil {
		return false, false, nil
	}
	ok, err = a.IsAncestor(d)
	if err != nil {
		return false, true, fmt.Errorf("walking the history of %s: %w", descendant, err)
	}
	return ok, true, nil
}

// TreeHash is the hash of the tree at dir in commit ("" when commit has
// no such folder), fetching once when commit is not in the clone: it
// changes exactly when something under dir does.
func (r *Repo) TreeHash(ctx context.Context, commit Hash, dir string) (string, error) {
	h, known, err := r.treeHash(commit, dir)
	if err != nil || known {
		return h, err
	}
	if err := r.Fetch(ctx); err != nil {
		return "", err
	}
	h, _, err = r.treeHash(commit, dir)
	return h, err
}

func (r *Repo) treeHash(commit Hash, dir string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commitObject(commit)
	if err != nil {
		return "", false, nil
	}
	root, err := c.Tree()
	if err != nil {
		return "", true, fmt.Errorf("reading the tree of %s: %w", commit, err)
	}
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return root.Hash.String(), true, nil
	}
	e, err := root.FindEntry(dir)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return "", true, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("reading %s at %s: %w", dir, commit, err)
	}
	return e.Hash.String(), true, nil
}
