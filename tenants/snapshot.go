package tenants

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is a read-only view of one commit.
type Snapshot struct {
	r      *Repo
	commit *object.Commit // nil for an empty view
	root   *object.Tree
}

// Snapshot returns a view of commit; "" gives an empty view.
func (r *Repo) Snapshot(commit Hash) (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot(commit)
}

func (r *Repo) snapshot(commit Hash) (*Snapshot, error) {
	h, err := commit.object()
	if err != nil {
		return nil, fmt.Errorf("reading commit: %w", err)
	}
	if h.IsZero() {
		return &Snapshot{r: r}, nil
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", commit, err)
	}
	return &Snapshot{r: r, commit: c, root: t}, nil
}

// Hash returns the commit of the view; "" for an empty view.
func (s *Snapshot) Hash() Hash {
	if s.commit == nil {
		return ""
	}
	return hashOf(s.commit.Hash)
}

// Message returns the commit message; "" for an empty view.
func (s *Snapshot) Message() string {
	if s.commit == nil {
		return ""
	}
	return s.commit.Message
}

// IsAncestorOf reports whether the commit of s is in the history of the
// commit of other (a commit is its own ancestor). An empty view is no
// ancestor and has none.
func (s *Snapshot) IsAncestorOf(other *Snapshot) (bool, error) {
	if s.commit == nil || other.commit == nil {
		return false, nil
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	ok, err := s.commit.IsAncestor(other.commit)
	if err != nil {
		return false, fmt.Errorf("walking the history of %s: %w", other.Hash(), err)
	}
	return ok, nil
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

// ReadTree returns every file under the directory p, keyed by its path
// relative to p; nil when there is no such directory. It reads them in one
// go, where ReadFile and ReadDir walk from the root for each file.
func (s *Snapshot) ReadTree(p string) (map[string][]byte, error) {
	if s.root == nil {
		return nil, nil
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	t, err := s.root.Tree(p)
	if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	out := map[string][]byte{}
	files := t.Files()
	defer files.Close()
	err = files.ForEach(func(f *object.File) error {
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		data, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		out[f.Name] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return out, nil
}
