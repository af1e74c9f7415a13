package ledger

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/tenants"
)

// History returns every version of ref's record the ledger branch held,
// newest first, as last fetched: what the bot recorded over time (every
// commit it recorded pushing to the store's branch, for one), where Read
// gives only the latest.
//
// Each version must be the bot's as Read requires, signed by a key of the
// service, except versions from before the ledger was signed (the commits
// before the one that wrote FormatFile), which were written unsigned. A
// version that is neither (pushed by someone else in between two of the
// bot's) is left out: history is what the bot recorded, never what anyone
// with a push could add to it. Versions signed by a key rotated out since
// are left out too. Older versions are not checked against rollback: they
// are old by definition.
func (l *Ledger) History(ref forge.IssueRef) ([]Record, error) {
	file, err := File(ref)
	if err != nil {
		return nil, err
	}
	commits, err := l.repo.Log(v1alpha1.LedgerBranch, file)
	if err != nil {
		return nil, fmt.Errorf("reading the history of the ledger of %s: %w", ref, err)
	}
	signedFrom, err := l.signedFrom()
	if err != nil {
		return nil, fmt.Errorf("reading the history of the ledger of %s: %w", ref, err)
	}
	var out []Record
	for _, c := range commits {
		snap, err := l.repo.Snapshot(c.Hash)
		if err != nil {
			return nil, fmt.Errorf("reading the ledger of %s at %s: %w", ref, c.Hash, err)
		}
		data, ok, err := snap.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the ledger of %s at %s: %w", ref, c.Hash, err)
		}
		if !ok {
			continue
		}
		raw, _, _, err := l.keys.open(file, data)
		var refused *RefusedError
		if errors.As(err, &refused) {
			if refused.Reason != ReasonUnsigned {
				continue
			}
			before, err := beforeSigning(snap, signedFrom)
			if err != nil {
				return nil, fmt.Errorf("reading the ledger of %s at %s: %w", ref, c.Hash, err)
			}
			if !before {
				continue
			}
			raw = data
		} else if err != nil {
			return nil, err
		}
		var rec Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			continue // not a record the bot wrote
		}
		out = append(out, rec)
	}
	return out, nil
}

// signedFrom is the commit that started signing the ledger (the first to
// write FormatFile along the branch), nil when none has yet.
func (l *Ledger) signedFrom() (*tenants.Snapshot, error) {
	commits, err := l.repo.Log(v1alpha1.LedgerBranch, FormatFile)
	if err != nil || len(commits) == 0 {
		return nil, err
	}
	return l.repo.Snapshot(commits[len(commits)-1].Hash)
}

// beforeSigning reports whether snap was committed before signedFrom: an
// ancestor of it, and not it. Commits pushed after it cannot become its
// ancestors without rewriting the branch.
func beforeSigning(snap, signedFrom *tenants.Snapshot) (bool, error) {
	if signedFrom == nil {
		return true, nil
	}
	if snap.Hash() == signedFrom.Hash() {
		return false, nil
	}
	return snap.IsAncestorOf(signedFrom)
}
