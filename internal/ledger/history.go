package ledger

import (
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// History returns every version of ref's record the ledger branch held,
// newest first, as last fetched: what the bot recorded over time (every
// commit it recorded pushing to the store's branch, for one), where Read
// gives only the latest. Each version is read as Read reads one.
func (l *Ledger) History(ref forge.IssueRef) ([]Record, error) {
	file, err := File(ref)
	if err != nil {
		return nil, err
	}
	commits, err := l.repo.Log(v1alpha1.LedgerBranch, file)
	if err != nil {
		return nil, fmt.Errorf("reading the history of the ledger of %s: %w", ref, err)
	}
	var out []Record
	for _, c := range commits {
		snap, err := l.repo.Snapshot(c.Hash)
		if err != nil {
			return nil, fmt.Errorf("reading the ledger of %s at %s: %w", ref, c.Hash, err)
		}
		rec, ok, err := read(snap, file)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out, nil
}
