package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ErrQueueFull is returned by Add when the queue holds MaxPending keys.
var ErrQueueFull = errors.New("work queue is full")

// ErrShuttingDown is returned by Add once Shutdown has begun.
var ErrShuttingDown = errors.New("shutting down")

// ProcessFunc does one intent's work.
type ProcessFunc func(ctx context.Context, it Intent) error

// QueueOptions size a Queue.
type QueueOptions struct {
	Workers     int           // 4 when 0
	MaxPending  int           // 1024 when 0
	MaxAttempts int           // 8 when 0
	BaseBackoff time.Duration // 500ms when 0
	MaxBackoff  time.Duration // 30s when 0
	Log         *slog.Logger
	// Observe, when set, is told the outcome of every attempt.
	Observe func(it Intent, attempt int, err error)
}

// Queue is a bounded worker pool with controller-style semantics: intents
// with the same key coalesce while queued, one key is never worked on by
// two workers at once, an intent added while its key runs runs again after,
// failures retry with backoff, and panics are recovered and retried.
type Queue struct {
	opts    QueueOptions
	process ProcessFunc

	mu       sync.Mutex
	cond     *sync.Cond
	order    []string
	items    map[string]Intent
	attempts map[string]int
	running  map[string]bool
	dirty    map[string]bool
	waiting  int // retries scheduled but not yet re-queued
	closing  bool
	wg       sync.WaitGroup
	stop     context.CancelFunc
	ctx      context.Context
}

// NewQueue starts the workers.
func NewQueue(process ProcessFunc, o QueueOptions) *Queue {
	if o.Workers == 0 {
		o.Workers = 4
	}
	if o.MaxPending == 0 {
		o.MaxPending = 1024
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff == 0 {
		o.BaseBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{opts: o, process: process, items: map[string]Intent{}, attempts: map[string]int{},
		running: map[string]bool{}, dirty: map[string]bool{}, ctx: ctx, stop: cancel}
	q.cond = sync.NewCond(&q.mu)
	for range o.Workers {
		q.wg.Add(1)
		go q.worker()
	}
	return q
}

// Add queues an intent; a duplicate of one already queued is absorbed.
func (q *Queue) Add(it Intent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return ErrShuttingDown
	}
	return q.addLocked(it, false)
}

func (q *Queue) addLocked(it Intent, retry bool) error {
	key := it.Key()
	if q.running[key] {
		q.dirty[key] = true
		q.items[key] = it
		return nil
	}
	if _, queued := q.items[key]; queued {
		q.items[key] = it
		return nil
	}
	if !retry && len(q.items) >= q.opts.MaxPending {
		return ErrQueueFull
	}
	if !retry {
		q.attempts[key] = 0
	}
	q.items[key] = it
	q.order = append(q.order, key)
	q.cond.Signal()
	return nil
}

// Depth is the number of intents queued or running.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.waiting
}

// Idle reports whether nothing is queued, running or waiting to retry.
func (q *Queue) Idle() bool { return q.Depth() == 0 }

func (q *Queue) worker() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		for len(q.order) == 0 && !(q.closing && q.waiting == 0 && len(q.items) == 0) {
			q.cond.Wait()
		}
		if len(q.order) == 0 {
			q.mu.Unlock()
			return
		}
		key := q.order[0]
		q.order = q.order[1:]
		it := q.items[key]
		q.running[key] = true
		q.attempts[key]++
		attempt := q.attempts[key]
		q.mu.Unlock()

		err := q.run(it)
		if q.opts.Observe != nil {
			q.opts.Observe(it, attempt, err)
		}

		q.mu.Lock()
		delete(q.running, key)
		again := q.dirty[key]
		delete(q.dirty, key)
		switch {
		case again:
			q.attempts[key] = 0
			q.order = append(q.order, key)
			q.cond.Signal()
		case err != nil && attempt < q.opts.MaxAttempts && q.ctx.Err() == nil:
			delete(q.items, key)
			q.waiting++
			backoff := min(q.opts.BaseBackoff<<(attempt-1), q.opts.MaxBackoff)
			q.opts.Log.Warn("work failed; retrying", "intent", it.Kind.String(), "key", key, "attempt", attempt, "backoff", backoff, "error", err)
			time.AfterFunc(backoff, func() {
				q.mu.Lock()
				defer q.mu.Unlock()
				q.waiting--
				if err := q.addLocked(it, true); err != nil {
					q.opts.Log.Error("dropping work", "key", key, "error", err)
				}
				q.cond.Broadcast()
			})
		default:
			if err != nil {
				q.opts.Log.Error("work failed; giving up", "intent", it.Kind.String(), "key", key, "attempts", attempt, "error", err)
			}
			delete(q.items, key)
			delete(q.attempts, key)
		}
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

// run calls process, turning a panic into an error.
func (q *Queue) run(it Intent) (err error) {
	defer func() {
		if r := recover(); r != nil {
			q.opts.Log.Error("work panicked", "intent", it.Kind.String(), "key", it.Key(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return q.process(q.ctx, it)
}

// Shutdown stops taking work and waits for what was accepted, retries
// included, to finish; when ctx ends first, running work is cancelled.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	q.closing = true
	q.cond.Broadcast()
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
		q.stop()
		return nil
	case <-ctx.Done():
		q.stop()
		<-done
		return fmt.Errorf("shutting down the work queue: %w", ctx.Err())
	}
}
