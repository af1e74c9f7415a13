package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/tenants"
)

// Holds: a decommissioned store's name stays taken by its issue until the
// watcher reports its Namespace gone, whatever happens meanwhile to the
// issue (closed, its form edited) or the store's branch (deleted at the
// merge).

type hold struct {
	Issue string `json:"issue"`
}

func holdFile(name string) (string, error) {
	if !nameRE.MatchString(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("ledger: %q is not a store name", name)
	}
	return path.Join("names", name+".json"), nil
}

// Hold records that name stays taken by issue.
func (l *Ledger) Hold(ctx context.Context, name, issue string) error {
	data, err := json.Marshal(hold{Issue: issue})
	if err != nil {
		return err
	}
	return l.editFile(ctx, name, func(cur []byte, exists bool) (*tenants.Change, string) {
		if exists && string(cur) == string(data)+"\n" {
			return nil, ""
		}
		return &tenants.Change{Data: append(data, '\n')}, fmt.Sprintf("name %s held by %s until its Namespace is gone", name, issue)
	})
}

// Held returns the issue that holds name, "" when none; fetch asks the
// remote first.
func (l *Ledger) Held(ctx context.Context, name string, fetch bool) (string, error) {
	file, err := holdFile(name)
	if err != nil {
		return "", err
	}
	if fetch {
		if err := l.repo.Fetch(ctx); err != nil {
			return "", err
		}
	}
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return "", err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return "", err
	}
	data, ok, err := snap.ReadFile(file)
	if err != nil || !ok {
		return "", err
	}
	var h hold
	if err := json.Unmarshal(data, &h); err != nil {
		return "", fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return h.Issue, nil
}

// Release frees name, if issue holds it.
func (l *Ledger) Release(ctx context.Context, name, issue string) error {
	return l.editFile(ctx, name, func(cur []byte, exists bool) (*tenants.Change, string) {
		var h hold
		if !exists || json.Unmarshal(cur, &h) != nil || h.Issue != issue {
			return nil, ""
		}
		return &tenants.Change{Delete: true}, fmt.Sprintf("name %s free: the Namespace of %s's store is gone", name, issue)
	})
}

func (l *Ledger) editFile(ctx context.Context, name string, edit func(cur []byte, exists bool) (*tenants.Change, string)) error {
	file, err := holdFile(name)
	if err != nil {
		return err
	}
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		if !s.BranchExists {
			return nil, ErrNoLedger
		}
		data, ok, err := cur.ReadFile(file)
		if err != nil {
			return nil, err
		}
		ch, why := edit(data, ok)
		if ch == nil {
			return nil, nil
		}
		ch.Path = file
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{*ch}, Message: tenants.Message("Ledger: "+why, "")}, nil
	})
	if err != nil {
		return fmt.Errorf("recording in the ledger of name %s: %w", name, err)
	}
	return nil
}
