package ledger

import (
	"context"
	"sync"

	"github.com/purrvision/purrvision/internal/storestatus"
)

// EditStatus applies edit to the freshest recorded state of the thread's
// store, inside the ledger's compare-and-swap (edit may run again on a
// newer record, so it must only change the state it is given), and shows
// the result in the status comment with body. edit reports whether it
// changed anything; the comment is brought up to date either way.
//
// The writers of one issue's status in this process (the request flow,
// the watcher) take turns, on the Ledger they share, so the comment shows
// the last state recorded; across processes the ledger's compare-and-swap
// keeps the state itself whole.
func (l *Ledger) EditStatus(ctx context.Context, gh GitHub, t *Thread, edit func(*storestatus.State) bool, body func(storestatus.State) string) error {
	file, err := File(t.Ref)
	if err != nil {
		return err
	}
	mu, _ := l.statusLocks.LoadOrStore(file, &sync.Mutex{})
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
