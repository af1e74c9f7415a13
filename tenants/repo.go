package tenants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ErrStale means the remote branch moved since it was fetched; fetch and
// build the change again.
var ErrStale = errors.New("the remote branch moved")

// Options say which repository to keep a clone of.
type Options struct {
	URL string
	// Branch is the branch Flux applies.
	Branch string
	// Dir holds the bare clone; empty keeps it in memory.
	Dir string
	// Auth for fetch and push; nil for none.
	Auth transport.AuthMethod
	// Author signs the commits.
	Author Signature
}

// Signature is a commit author.
type Signature struct {
	Name, Email string
}

// Repo is one bare clone. It is safe for concurrent use; operations on it
// are serialized.
type Repo struct {
	opts Options
	mu   sync.Mutex
	repo *git.Repository
	now  func() time.Time
}

const remoteName = "origin"

// Open clones the repository, or reuses the clone in opts.Dir.
func Open(ctx context.Context, opts Options) (*Repo, error) {
	if opts.Author.Name == "" {
		opts.Author = Signature{Name: "Purrvision", Email: "purrvision@users.noreply.github.com"}
	}
	var st storage.Storer = memory.NewStorage()
	if opts.Dir != "" {
		st = filesystem.NewStorage(osfs.New(opts.Dir), cache.NewObjectLRUDefault())
	}
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, nil)
		if err == nil {
			_, err = repo.CreateRemote(&gitconfig.RemoteConfig{Name: remoteName, URLs: []string{opts.URL}})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening clone of %s: %w", opts.URL, err)
	}
	r := &Repo{opts: opts, repo: repo, now: time.Now}
	if err := r.Fetch(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Fetch brings every branch of the remote up to date, dropping deleted ones.
func (r *Repo) Fetch(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetch(ctx)
}

func (r *Repo) fetch(ctx context.Context) error {
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []gitconfig.RefSpec{"+refs/heads/*:refs/remotes/origin/*"},
		Auth:       r.opts.Auth,
		Prune:      true,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("fetching %s: %w", r.opts.URL, err)
	}
	return nil
}

// Head returns the fetched commit of a remote branch, and false when the
// branch does not exist.
func (r *Repo) Head(branch string) (plumbing.Hash, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head(branch)
}

func (r *Repo) head(branch string) (plumbing.Hash, bool, error) {
	ref, err := r.repo.Reference(plumbing.NewRemoteReferenceName(remoteName, branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	return ref.Hash(), true, nil
}

// Branches lists the fetched remote branches with a prefix.
func (r *Repo) Branches(prefix string) (map[string]plumbing.Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	refs, err := r.repo.References()
	if err != nil {
		return nil, fmt.Errorf("listing branches: %w", err)
	}
	out := map[string]plumbing.Hash{}
	remotePrefix := "refs/remotes/" + remoteName + "/"
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name().String()
		if b, ok := strings.CutPrefix(name, remotePrefix); ok && strings.HasPrefix(b, prefix) {
			out[b] = ref.Hash()
		}
		return nil
	})
	return out, err
}

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

// Change is one edit of a commit: write Data at Path, or with Delete remove
// the file or the whole directory at Path.
type Change struct {
	Path   string
	Data   []byte
	Delete bool
}

// Commit writes a commit on parent (zero for a root commit) with changes
// applied, and returns its hash. Only the trees on the changed paths are
// rewritten. It does not move any branch.
func (r *Repo) Commit(parent plumbing.Hash, changes []Change, message string) (plumbing.Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var root plumbing.Hash
	var parents []plumbing.Hash
	if !parent.IsZero() {
		c, err := r.repo.CommitObject(parent)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading parent %s: %w", parent, err)
		}
		root = c.TreeHash
		parents = []plumbing.Hash{parent}
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

// DeleteBranch removes a remote branch if it is still at expected.
func (r *Repo) DeleteBranch(ctx context.Context, branch string, expected plumbing.Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := plumbing.NewBranchReferenceName(branch)
	err := r.repo.PushContext(ctx, &git.PushOptions{
		RemoteName:        remoteName,
		RefSpecs:          []gitconfig.RefSpec{gitconfig.RefSpec(":" + ref.String())},
		RequireRemoteRefs: []gitconfig.RefSpec{gitconfig.RefSpec(expected.String() + ":" + ref.String())},
		Auth:              r.opts.Auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if isRejected(err) {
			return fmt.Errorf("deleting branch %q: %w", branch, ErrStale)
		}
		return fmt.Errorf("deleting branch %q: %w", branch, err)
	}
	if err := r.repo.Storer.RemoveReference(plumbing.NewRemoteReferenceName(remoteName, branch)); err != nil {
		return fmt.Errorf("forgetting deleted branch %q: %w", branch, err)
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

// CommitInfo is one commit of the history.
type CommitInfo struct {
	Hash    string
	Author  string
	When    time.Time
	Subject string
	Message string
	// Parents counts the commit's parents; a merge has two.
	Parents int
}

// Log lists, newest first, the commits of branch that changed anything
// under one of prefixes.
func (r *Repo) Log(branch string, prefixes ...string) ([]CommitInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, ok, err := r.head(branch)
	if err != nil || !ok {
		return nil, err
	}
	iter, err := r.repo.Log(&git.LogOptions{From: head, PathFilter: func(p string) bool {
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}})
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", branch, err)
	}
	var out []CommitInfo
	err = iter.ForEach(func(c *object.Commit) error {
		if c.NumParents() == 0 && !treeHasAny(c, prefixes) {
			return nil // go-git lists root commits whatever they touch
		}
		subject, _, _ := strings.Cut(c.Message, "\n")
		out = append(out, CommitInfo{Hash: c.Hash.String(), Author: c.Author.Name, When: c.Committer.When, Subject: subject, Message: c.Message, Parents: c.NumParents()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", branch, err)
	}
	return out, nil
}

func treeHasAny(c *object.Commit, prefixes []string) bool {
	t, err := c.Tree()
	if err != nil {
		return false
	}
	for _, p := range prefixes {
		if _, err := t.FindEntry(strings.TrimSuffix(p, "/")); err == nil {
			return true
		}
	}
	return false
}
