package ledger

import (
	"context"

	"github.com/purrvision/purrvision/tenants"
)

// ReadSnapshot is what every reader of a record does with a snapshot of
// the ledger branch it took: verify the file there. Tests hold a snapshot
// while another worker writes.
func (l *Ledger) ReadSnapshot(ctx context.Context, snap *tenants.Snapshot, file string) (Record, error) {
	rec, _, _, err := l.read(ctx, snap, file)
	return rec, err
}

// ErrStale is errStale, for tests.
var ErrStale = errStale
