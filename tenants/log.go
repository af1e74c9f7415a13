package tenants

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitInfo is one commit of the history.
type CommitInfo struct {
	Hash    Hash
	Author  string
	When    time.Time
	Subject string
	Message string
	// Parents counts the commit's parents; a merge has two.
	Parents int
	// Merge is, for a commit a merge brought in, that merge; "" for a
	// commit of the branch itself.
	Merge Hash
	// MergedHead is, for a merge, its second parent: the head of the
	// branch it merged. "" for any other commit.
	MergedHead Hash
}

// Log lists, newest first, the commits that brought changes under one of
// prefixes (folders, ending in "/") to branch. It walks the branch's first
// parents and keeps each commit that changed those folders against its
// first parent: a merge counts only when it changed them on the branch,
// never because the merged side lacked what the branch had. A merge that
// counts is followed by the commits of its merged side that changed the
// folders, newest first.
func (r *Repo) Log(branch string, prefixes ...string) ([]CommitInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, ok, err := r.head(branch)
	if err != nil || !ok {
		return nil, err
	}
	c, err := r.commitObject(head)
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", branch, err)
	}
	var out []CommitInfo
	for c != nil {
		parent, changed, err := changedUnder(c, prefixes)
		if err != nil {
			return nil, fmt.Errorf("reading history of %s: %w", branch, err)
		}
		if changed {
			out = append(out, info(c))
			if c.NumParents() > 1 {
				side, err := r.sideCommits(c, prefixes)
				if err != nil {
					return nil, fmt.Errorf("reading history of %s: %w", branch, err)
				}
				out = append(out, side...)
			}
		}
		c = parent
	}
	return out, nil
}

// sideCommits are the commits a merge brought in, from its second parent
// back to where that side left the first, that changed the folders.
func (r *Repo) sideCommits(merge *object.Commit, prefixes []string) ([]CommitInfo, error) {
	first, err := merge.Parent(0)
	if err != nil {
		return nil, err
	}
	second, err := merge.Parent(1)
	if err != nil {
		return nil, err
	}
	bases, err := first.MergeBase(second)
	if err != nil {
		return nil, err
	}
	stop := plumbing.ZeroHash
	if len(bases) > 0 {
		stop = bases[0].Hash
	}
	var out []CommitInfo
	for c := second; c != nil && c.Hash != stop; {
		parent, changed, err := changedUnder(c, prefixes)
		if err != nil {
			return nil, err
		}
		if changed {
			ci := info(c)
			ci.Merge = hashOf(merge.Hash)
			out = append(out, ci)
		}
		c = parent
	}
	return out, nil
}

// changedUnder reports whether c changed anything under prefixes against
// its first parent (a root commit: whether it has anything there), and
// returns that parent; nil for a root commit.
func changedUnder(c *object.Commit, prefixes []string) (*object.Commit, bool, error) {
	var parent *object.Commit
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return nil, false, err
		}
		parent = p
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, false, err
	}
	var parentTree *object.Tree
	if parent != nil {
		if parentTree, err = parent.Tree(); err != nil {
			return nil, false, err
		}
	}
	for _, p := range prefixes {
		if entryHash(tree, p) != entryHash(parentTree, p) {
			return parent, true, nil
		}
	}
	return parent, false, nil
}

// entryHash is the hash of the folder p in t; zero when absent.
func entryHash(t *object.Tree, p string) plumbing.Hash {
	if t == nil {
		return plumbing.ZeroHash
	}
	e, err := t.FindEntry(strings.TrimSuffix(p, "/"))
	if err != nil {
		return plumbing.ZeroHash
	}
	return e.Hash
}

func info(c *object.Commit) CommitInfo {
	subject, _, _ := strings.Cut(c.Message, "\n")
	ci := CommitInfo{Hash: hashOf(c.Hash), Author: c.Author.Name, When: c.Committer.When, Subject: subject, Message: c.Message, Parents: c.NumParents()}
	if len(c.ParentHashes) > 1 {
		ci.MergedHead = hashOf(c.ParentHashes[1])
	}
	return ci
}
