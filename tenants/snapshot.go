package tenants

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is a read-only view of one commit.
type Snapshot struct {
	r      *Repo
	Commit *object.Commit
	root   *object.Tree
}

// Snapshot returns a view of commit; a zero hash gives an empty view.
func (r *Repo) Snapshot(commit plumbing.Hash) (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot(commit)
}

func (r *Repo) snapshot(commit plumbing.Hash) (*Snapshot, error) {
	if commit.IsZero() {
		return &Snapshot{r: r}, nil
	}
	c, err := r.repo.CommitObject(commit)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", commit, err)
	}
	return &Snapshot{r: r, Commit: c, root: t}, nil
}

// ReadFile returns the file at p, and false when there is none.
func (s *Snapshot) ReadFile(p string) ([]byte, bool, error) {
	if s.root == nil {
		return nil, false, nil
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	f, err := s.root.File(p)
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return data, true, nil
}

// ReadDir returns the names in the directory p, sorted; nil when absent.
func (s *Snapshot) ReadDir(p string) ([]string, error) {
	if s.root == nil {
		return nil, nil
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	t := s.root
	if p != "" && p != "." {
		sub, err := s.root.Tree(p)
		if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		t = sub
	}
	names := make([]string, len(t.Entries))
	for i, e := range t.Entries {
		names[i] = e.Name
	}
	sort.Strings(names)
	return names, nil
}
