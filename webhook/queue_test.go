package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/testutil"
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

// TestQueue_GivesUpAfterMaxAttempts: work that keeps failing is tried
// MaxAttempts times, each attempt observed, and the giving up is logged
// with the logger of the queue's context.
func TestQueue_GivesUpAfterMaxAttempts(t *testing.T) {
	var buf testutil.SyncBuffer
	ctx := logctx.Into(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)))
	var mu sync.Mutex
	var attempts []int
	q := webhook.NewQueue(func(context.Context, webhook.Intent) error {
		return errors.New("always")
	}, webhook.QueueOptions{Workers: 2, MaxAttempts: 3, BaseBackoff: time.Millisecond, Context: ctx,
		Observe: func(_ webhook.Intent, attempt int, err error) {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, attempt)
		}})
	if err := q.Add(intent(7)); err != nil {
		t.Fatal(err)
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3}; !slices.Equal(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	logs := buf.String()
	for _, want := range []string{`msg="work failed; retrying" intent=reconcile-request key=request:o/r#7 priority=interactive attempt=1 backoff=1ms`,
		`msg="work failed; giving up" intent=reconcile-request key=request:o/r#7 priority=interactive attempts=3 error=always`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if q.Depth() != 0 {
		t.Errorf("depth after giving up = %d", q.Depth())
	}
}

// TestQueue_AddWhileRunningRunsAgain: an intent added while its key runs
// runs once more after, with the latest intent.
func TestQueue_AddWhileRunningRunsAgain(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var got []int64
	q := webhook.NewQueue(func(_ context.Context, it webhook.Intent) error {
		mu.Lock()
		got = append(got, it.Comment.ID)
		first := len(got) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
		return nil
	}, webhook.QueueOptions{Workers: 4})
	first := intent(1)
	first.Comment.ID = 1
	if err := q.Add(first); err != nil {
		t.Fatal(err)
	}
	<-started
	second := first
	second.Comment.ID = 2
	if err := q.Add(second); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("runs saw comments %v, want %v", got, want)
	}
}

// TestQueue_RateLimitWaitsAsAsked: work that failed on a GitHub rate limit
// is tried again after the wait GitHub asked for, not the queue's backoff.
func TestQueue_RateLimitWaitsAsAsked(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	q := webhook.NewQueue(func(context.Context, webhook.Intent) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			return fmt.Errorf("listing comments: %w", &forge.RateLimitError{Wait: 300 * time.Millisecond, Secondary: true})
		}
		return nil
	}, webhook.QueueOptions{Workers: 1, BaseBackoff: time.Millisecond})
	if err := q.Add(intent(1)); err != nil {
		t.Fatal(err)
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 {
		t.Fatalf("ran %d times, want 2", len(at))
	}
	if d := at[1].Sub(at[0]); d < 300*time.Millisecond {
		t.Errorf("tried again after %v, before the 300ms GitHub asked for", d)
	}
}

// TestQueue_InteractiveBeforeBackground plays a flood of open requests:
// thousands of resync reconciles are queued, and a command that arrives
// after them runs as soon as a worker is free, not after them.
//
// What is measured is what the queue hands out, not how fast workers run:
// every resync item past the ones the workers hold when the command comes
// waits for the command, so a queue that hands out the flood first stalls
// both workers on them and the command never runs. With priorities, a
// worker freed after the release takes the command, and the other worker
// (freed at the same moment) may take one resync item first: the command
// starts after at most 2*workers-1 of them.
func TestQueue_InteractiveBeforeBackground(t *testing.T) {
	const workers, flood = 2, 3000
	command := webhook.Intent{Kind: webhook.RunCommand, Issue: forge.IssueRef{Repo: forge.Repo{Owner: "o", Name: "r"}, Number: 1}, Comment: forge.Comment{ID: 7}}
	release, commandDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(commandDone) }) }
	var started atomic.Int32
	startedBefore := make(chan int32, 1)
	q := webhook.NewQueue(func(_ context.Context, it webhook.Intent) error {
		if it.Kind == webhook.RunCommand {
			startedBefore <- started.Load()
			done()
			return nil
		}
		if started.Add(1) <= workers {
			<-release // each worker holds a resync item until the command is queued
			return nil
		}
		<-commandDone // the rest of the flood waits for the command
		return nil
	}, webhook.QueueOptions{Workers: workers, MaxPending: 2 * flood})
	t.Cleanup(func() { _ = q.Shutdown(context.Background()) })
	for i := range flood {
		if err := q.AddBackground(intent(i + 2)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "every worker holds a resync item", func() bool { return started.Load() == workers })
	if err := q.Add(command); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case n := <-startedBefore:
		if n > 2*workers-1 {
			t.Errorf("the command started after %d resync items, want at most %d: the %d the workers held when it came and one a freed worker took beside it", n, 2*workers-1, workers)
		}
	case <-time.After(30 * time.Second):
		done()
		t.Fatal("the command did not run within 30s: the workers were handed resync items queued before it")
	}
}

// TestQueue_BackgroundLeavesRoomForDeliveries: a resync stops at three
// quarters of MaxPending; deliveries still get the rest.
func TestQueue_BackgroundLeavesRoomForDeliveries(t *testing.T) {
	release := make(chan struct{})
	q := webhook.NewQueue(func(context.Context, webhook.Intent) error { <-release; return nil }, webhook.QueueOptions{Workers: 1, MaxPending: 8})
	t.Cleanup(func() { close(release); _ = q.Shutdown(context.Background()) })
	n := 0
	for ; n < 8; n++ {
		if err := q.AddBackground(intent(n)); err != nil {
			if !errors.Is(err, webhook.ErrQueueFull) {
				t.Fatal(err)
			}
			break
		}
	}
	if n != 6 {
		t.Errorf("a resync queued %d of MaxPending 8, want 6", n)
	}
	if err := q.AddBackground(intent(0)); err != nil {
		t.Errorf("a resync item already queued: %v, want it absorbed", err)
	}
	for i := range 2 {
		if err := q.Add(intent(100 + i)); err != nil {
			t.Errorf("delivery %d after the resync filled its share: %v", i, err)
		}
	}
	if err := q.Add(intent(200)); !errors.Is(err, webhook.ErrQueueFull) {
		t.Errorf("a delivery past MaxPending: %v, want ErrQueueFull", err)
	}
}
