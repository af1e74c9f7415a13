package ledger

import (
	"context"
	"sync"

	"github.com/purrvision/purrvision/internal/storestatus"
)

// statusLocks serialize, in this process, the writers of one issue's
// status (the request flow, the watcher), so the comment shows the last
// state recorded; across processes the ledger's compare-and-swap keeps the
// state itself whole.
var statusLocks sync.Map // file -> *sync.Mutex

// EditStatus applies edit to the freshest recorded state of the thread's
// store, inside the ledger's compare-and-swap (edit may run again on a
// newer record, so it must only change the state it is given), and shows
// the result in the status comment with body. edit reports whether it
// changed anything; the comment is brought up to date either way.
func (l *Ledger) EditStatus(ctx context.Context, gh GitHub, t *Thread, edit func(*storestatus.State) bool, body func(storestatus.State) string) error {
	file, err := File(t.Ref)
	if err != nil {
		return err
	}
	mu, _ := statusLocks.LoadOrStore(file, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	rec, err := l.Update(ctx, t.Ref, func(r *Record) (string, error) {
		st := r.State()
		if !edit(&st) {
			return "", ErrUnchanged
		}
		return r.SetStatus(st.Bounded()), nil
	})
	if err != nil {
		return err
	}
	t.Record = rec
	if rec.Status == nil {
		return nil // nothing recorded, nothing to show
	}
	_, err = l.Put(ctx, gh, t, KindStatus, body(*rec.Status))
	return err
}
