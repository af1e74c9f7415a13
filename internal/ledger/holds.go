package ledger

import (
	"context"
	"encoding/json"
	"errors"
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
	// Issue holds the name; "" once released.
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
	return l.editHold(ctx, name, func(cur hold) (*hold, string) {
		if cur.Issue == issue {
			return nil, ""
		}
		return &hold{Issue: issue}, fmt.Sprintf("name %s held by %s until its Namespace is gone", name, issue)
	})
}

// Held returns the issue that holds name, "" when none; fetch asks the
// remote first. A hold the service did not sign as it is, where it is, is
// refused (a *RefusedError): the name is neither free nor held.
func (l *Ledger) Held(ctx context.Context, name string, fetch bool) (string, error) {
	file, err := holdFile(name)
	if err != nil {
		return "", err
	}
	snap, err := l.snapshot(ctx, fetch)
	if err != nil || snap == nil {
		return "", err
	}
	for {
		h, _, err := l.readHold(ctx, snap, file)
		if !errors.Is(err, errStale) {
			return h.Issue, err
		}
		if snap, err = l.snapshot(ctx, false); err != nil {
			return "", err
		}
	}
}

// Release frees name, if issue holds it. The file stays, holding no
// issue, so its generation keeps counting.
func (l *Ledger) Release(ctx context.Context, name, issue string) error {
	return l.editHold(ctx, name, func(cur hold) (*hold, string) {
		if cur.Issue != issue {
			return nil, ""
		}
		return &hold{}, fmt.Sprintf("name %s free: the Namespace of %s's store is gone", name, issue)
	})
}

func (l *Ledger) readHold(ctx context.Context, snap *tenants.Snapshot, file string) (hold, uint64, error) {
	data, ok, err := snap.ReadFile(file)
	if err != nil {
		return hold{}, 0, err
	}
	raw, gen, err := l.verify(ctx, file, data, ok)
	if err != nil || raw == nil {
		return hold{}, 0, err
	}
	var h hold
	if err := json.Unmarshal(raw, &h); err != nil {
		return hold{}, 0, fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return h, gen, nil
}

func (l *Ledger) editHold(ctx context.Context, name string, edit func(cur hold) (*hold, string)) error {
	file, err := holdFile(name)
	if err != nil {
		return err
	}
	var gen uint64
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		gen = 0
		if !s.BranchExists {
			return nil, ErrNoLedger
		}
		h, curGen, err := l.readHold(ctx, cur, file)
		if errors.Is(err, errStale) {
			return nil, tenants.ErrStale // fetch and build again
		} else if err != nil {
			return nil, err
		}
		next, why := edit(h)
		if next == nil {
			return nil, nil
		}
		data, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		gen = curGen + 1
		if data, err = l.keys.seal(file, gen, data); err != nil {
			return nil, err
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: file, Data: data}}, Message: tenants.Message("Ledger: "+why, "")}, nil
	})
	if err != nil {
		return fmt.Errorf("recording in the ledger of name %s: %w", name, err)
	}
	if gen > 0 {
		l.wrote(file, gen)
	}
	return nil
}
