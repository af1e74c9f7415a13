package tenants

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
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
	from, err := head.object()
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", branch, err)
	}
	iter, err := r.repo.Log(&git.LogOptions{From: from, PathFilter: func(p string) bool {
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
		out = append(out, CommitInfo{Hash: hashOf(c.Hash), Author: c.Author.Name, When: c.Committer.When, Subject: subject, Message: c.Message, Parents: c.NumParents()})
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
