package webhook_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/webhook"
)

func intent(n int) webhook.Intent {
	return webhook.Intent{Kind: webhook.ReconcileRequest, Issue: forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: n}}
}

func TestQueue_CoalescesAndNeverRunsAKeyTwiceAtOnce(t *testing.T) {
	var running, maxRunning, runs atomic.Int32
	release := make(chan struct{})
	q := webhook.NewQueue(func(context.Context, webhook.Intent) error {
		if r := running.Add(1); r > maxRunning.Load() {
			maxRunning.Store(r)
		}
		runs.Add(1)
		<-release
		running.Add(-1)
		return nil
	}, webhook.QueueOptions{Workers: 4})
	for range 50 {
		if err := q.Add(intent(1)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if maxRunning.Load() != 1 {
		t.Errorf("one key ran %d times at once", maxRunning.Load())
	}
	// The first run, plus at most one more for the adds made while it ran.
	if r := runs.Load(); r < 1 || r > 2 {
		t.Errorf("50 adds of one key ran %d times, want 1 or 2", r)
	}
}

func TestQueue_RetriesAndRecoversPanics(t *testing.T) {
	var calls atomic.Int32
	q := webhook.NewQueue(func(_ context.Context, it webhook.Intent) error {
		switch calls.Add(1) {
		case 1:
			panic("boom")
		case 2:
			return errors.New("transient")
		}
		return nil
	}, webhook.QueueOptions{Workers: 1, BaseBackoff: time.Millisecond})
	if err := q.Add(intent(1)); err != nil {
		t.Fatal(err)
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("ran %d times, want 3 (panic, error, success)", calls.Load())
	}
}

func TestQueue_BoundedAndDrainsOnShutdown(t *testing.T) {
	block := make(chan struct{})
	var done sync.Map
	q := webhook.NewQueue(func(_ context.Context, it webhook.Intent) error {
		<-block
		done.Store(it.Issue.Number, true)
		return nil
	}, webhook.QueueOptions{Workers: 1, MaxPending: 3})
	for i := range 3 {
		if err := q.Add(intent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Add(intent(99)); !errors.Is(err, webhook.ErrQueueFull) {
		t.Errorf("fourth add: err = %v, want ErrQueueFull", err)
	}
	close(block)
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, ok := done.Load(i); !ok {
			t.Errorf("accepted intent %d was not finished by the shutdown", i)
		}
	}
	if err := q.Add(intent(5)); !errors.Is(err, webhook.ErrShuttingDown) {
		t.Errorf("add after shutdown: err = %v", err)
	}
}
