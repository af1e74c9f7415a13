package tenants

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Change is one edit of a commit: write Data at Path, or with Delete remove
// the file or the whole directory at Path.
type Change struct {
	Path   string
	Data   []byte
	Delete bool
}

// Commit writes a commit on parent ("" for a root commit) with changes
// applied, and returns its hash. Only the trees on the changed paths are
// rewritten. It does not move any branch.
func (r *Repo) Commit(parent Hash, changes []Change, message string) (Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.commit(parent, changes, message)
	if err != nil {
		return "", err
	}
	return hashOf(h), nil
}

func (r *Repo) commit(parent Hash, changes []Change, message string) (plumbing.Hash, error) {
	p, err := parent.object()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading parent: %w", err)
	}
	var root plumbing.Hash
	var parents []plumbing.Hash
	if !p.IsZero() {
		c, err := r.repo.CommitObject(p)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading parent %s: %w", parent, err)
		}
		root = c.TreeHash
		parents = []plumbing.Hash{p}
	}
	edits := map[string]Change{}
	for _, c := range changes {
		p := path.Clean(strings.TrimPrefix(c.Path, "/"))
		if p == "." || strings.HasPrefix(p, "../") || p == ".." {
			return plumbing.ZeroHash, fmt.Errorf("committing: path %q is outside the repository", c.Path)
		}
		c.Path = p
		edits[p] = c
	}
	tree, err := r.editTree(root, "", edits)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree.IsZero() {
		tree, err = r.writeTree(nil)
		if err != nil {
			return plumbing.ZeroHash, err
		}
	}
	sig := object.Signature{Name: r.opts.Author.Name, Email: r.opts.Author.Email, When: r.now().UTC().Truncate(time.Second)}
	commit := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree, ParentHashes: parents}
	obj := r.repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding commit: %w", err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("storing commit: %w", err)
	}
	return h, nil
}

// editTree applies the edits under prefix to the tree at hash (zero for an
// empty tree) and returns the new tree's hash, zero when it ends up empty.
// The existing entries are already in git's order; the few edited ones are
// replaced in place or inserted by binary search, so a tree of N entries
// costs one copy of N entries, not a sort.
func (r *Repo) editTree(hash plumbing.Hash, prefix string, edits map[string]Change) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !hash.IsZero() {
		t, err := r.repo.TreeObject(hash)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading tree %s: %w", prefix, err)
		}
		entries = t.Entries
	}
	// Group the edits by the child of this tree they fall under.
	direct := map[string]Change{}
	nested := map[string]map[string]Change{}
	for p, c := range edits {
		rel := strings.TrimPrefix(p, prefix)
		name, _, deeper := strings.Cut(rel, "/")
		if !deeper {
			direct[name] = c
			continue
		}
		if nested[name] == nil {
			nested[name] = map[string]Change{}
		}
		nested[name][p] = c
	}
	// The new entry of every touched name; a zero Hash deletes it.
	updates := map[string]object.TreeEntry{}
	for name, c := range direct {
		if c.Delete {
			updates[name] = object.TreeEntry{Name: name}
			continue
		}
		blob, err := r.writeBlob(c.Data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		updates[name] = object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: blob}
	}
	for name, sub := range nested {
		if c, ok := direct[name]; ok && c.Delete {
			continue
		}
		var childHash plumbing.Hash
		if i, ok := findEntry(entries, name); ok && entries[i].Mode == filemode.Dir {
			childHash = entries[i].Hash
		}
		h, err := r.editTree(childHash, prefix+name+"/", sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		updates[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
	}
	out := make([]object.TreeEntry, 0, len(entries)+len(updates))
	for _, e := range entries {
		if u, ok := updates[e.Name]; ok {
			delete(updates, e.Name)
			if u.Hash.IsZero() {
				continue
			}
			e = u
		}
		out = append(out, e)
	}
	for _, u := range updates {
		if u.Hash.IsZero() {
			continue
		}
		i := sort.Search(len(out), func(i int) bool { return gitLess(u, out[i]) })
		out = append(out, object.TreeEntry{})
		copy(out[i+1:], out[i:])
		out[i] = u
	}
	if len(out) == 0 {
		return plumbing.ZeroHash, nil
	}
	return r.writeTree(out)
}

// gitLess orders tree entries as git does: by name, with directories
// compared as if their names ended in '/'.
func gitLess(a, b object.TreeEntry) bool {
	an, bn := a.Name, b.Name
	n := min(len(an), len(bn))
	if an[:n] != bn[:n] {
		return an[:n] < bn[:n]
	}
	next := func(e object.TreeEntry, name string) int {
		if len(name) > n {
			return int(name[n])
		}
		if e.Mode == filemode.Dir {
			return '/'
		}
		return 0
	}
	return next(a, an) < next(b, bn)
}

// findEntry finds name among entries in git order.
func findEntry(entries []object.TreeEntry, name string) (int, bool) {
	for _, mode := range []filemode.FileMode{filemode.Dir, filemode.Regular} {
		probe := object.TreeEntry{Name: name, Mode: mode}
		i := sort.Search(len(entries), func(i int) bool { return !gitLess(entries[i], probe) })
		if i < len(entries) && entries[i].Name == name {
			return i, true
		}
	}
	return 0, false
}

// writeTree stores a tree whose entries are in git's order.
func (r *Repo) writeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	t := &object.Tree{Entries: entries}
	obj := r.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("storing tree: %w", err)
	}
	return h, nil
}

func (r *Repo) writeBlob(data []byte) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing blob: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing blob: %w", err)
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing blob: %w", err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("storing blob: %w", err)
	}
	return h, nil
}
