package webhook

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
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
	// Context is the base of the context the workers pass to ProcessFunc,
	// and holds their logger (logctx); Background when nil. Its values are
	// kept, its end is not: Shutdown ends the work.
	Context context.Context
	// Observe, when set, is told the outcome of every attempt.
	Observe func(it Intent, attempt int, err error)
}

// Priority orders queued work: the workers take every ready intent of
// Interactive before any of Background.
type Priority int

const (
	// Background is the resync's reconciles of open requests: thousands
	// of them (anyone can open an issue) must not hold up the rest.
	Background Priority = iota
	// Interactive is everything a delivery asks for (a command, a pull
	// request, an issue just opened or edited) and a rollout's gate.
	Interactive
)

func (p Priority) String() string {
	if p == Background {
		return "background"
	}
	return "interactive"
}

// Queue is a bounded worker pool over controller-runtime's priority queue
// (client-go's workqueue with priorities), with controller-style
// semantics: intents with the same key coalesce while queued (at the
// higher of their priorities), one key is never worked on by two workers
// at once, an intent added while its key runs runs again after, failures
// retry with exponential backoff up to MaxAttempts at their priority, and
// panics are recovered and retried. Interactive work is handed out before
// Background work. The queue has no bound of its own: Add refuses a new
// key while MaxPending keys are queued, running or waiting to retry, and
// AddBackground already at three quarters of it, so a resync never takes
// the room of a delivery.
type Queue struct {
	opts    QueueOptions
	process ProcessFunc
	limiter workqueue.TypedRateLimiter[string]
	wq      priorityqueue.PriorityQueue[string]
	ctx     context.Context // the workers' context, ended by stop
	stop    context.CancelFunc
	wg      sync.WaitGroup

	shutdownOnce sync.Once

	mu       sync.Mutex
	pending  map[string]Intent // accepted and not finished, by key: the latest intent
	priority map[string]Priority
	attempts map[string]int // attempts since the key was last added afresh
	running  map[string]bool
	again    map[string]bool // added afresh while running: runs again from attempt 1
	closing  bool
	drained  chan struct{} // closed once closing and nothing is pending
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
	base := o.Context
	if base == nil {
		base = context.Background()
	}
	base = context.WithoutCancel(base)
	ctx, cancel := context.WithCancel(base)
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](o.BaseBackoff, o.MaxBackoff)
	q := &Queue{
		opts: o, process: process, ctx: ctx, stop: cancel,
		limiter: limiter,
		// Unnamed, the queue registers no metrics: Metrics has ours.
		wq:      priorityqueue.New("", func(po *priorityqueue.Opts[string]) { po.RateLimiter = limiter }),
		pending: map[string]Intent{}, priority: map[string]Priority{}, attempts: map[string]int{}, running: map[string]bool{}, again: map[string]bool{},
		drained: make(chan struct{}),
	}
	for range o.Workers {
		q.wg.Add(1)
		go q.worker()
	}
	return q
}

// Add queues interactive work; a duplicate of an intent already queued
// is absorbed, and raises it to Interactive.
func (q *Queue) Add(it Intent) error { return q.add(it, Interactive) }

// AddBackground queues work that waits for every interactive intent: the
// resync's. It is refused while the queue is three quarters full, so the
// rest is kept for deliveries.
func (q *Queue) AddBackground(it Intent) error { return q.add(it, Background) }

func (q *Queue) add(it Intent, p Priority) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return ErrShuttingDown
	}
	key := it.Key()
	limit := q.opts.MaxPending
	if p == Background {
		limit -= q.opts.MaxPending / 4
	}
	if _, ok := q.pending[key]; !ok && len(q.pending) >= limit {
		return ErrQueueFull
	}
	q.pending[key] = it
	q.priority[key] = max(q.priority[key], p)
	if q.running[key] {
		q.again[key] = true
	} else {
		q.attempts[key] = 0
		q.limiter.Forget(key)
	}
	q.wq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr(int(q.priority[key]))}, key)
	return nil
}

func ptr[T any](v T) *T { return &v }

// Depth is the number of intents queued, running or waiting to retry.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Idle reports whether nothing is queued, running or waiting to retry.
func (q *Queue) Idle() bool { return q.Depth() == 0 }

func (q *Queue) worker() {
	defer q.wg.Done()
	for q.next() {
	}
}

// next works on one key from the workqueue; false once it is shut down.
func (q *Queue) next() bool {
	key, shutdown := q.wq.Get()
	if shutdown {
		return false
	}
	defer q.wq.Done(key)
	q.mu.Lock()
	it, ok := q.pending[key]
	if !ok {
		// A retry of work that ran again, added afresh, and finished.
		q.mu.Unlock()
		return true
	}
	q.running[key] = true
	q.attempts[key]++
	attempt := q.attempts[key]
	prio := q.priority[key]
	q.mu.Unlock()

	ctx, log := logctx.With(q.ctx, "intent", it.Kind.String(), "key", key, "priority", prio.String())
	err := q.run(ctx, it)
	if q.opts.Observe != nil {
		q.opts.Observe(it, attempt, err)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, key)
	switch {
	case q.again[key]:
		// The workqueue runs it again after Done, as the key was added
		// while it ran.
		delete(q.again, key)
		q.attempts[key] = 0
		q.limiter.Forget(key)
	case err != nil && attempt < q.opts.MaxAttempts && q.ctx.Err() == nil:
		backoff := q.limiter.When(key)
		if wait, ok := forge.RetryAfter(err); ok && wait > backoff {
			// GitHub asked to wait this long: trying sooner only fails again.
			backoff = wait
		}
		log.Warn("work failed; retrying", "attempt", attempt, "backoff", backoff, "error", err)
		q.wq.AddWithOpts(priorityqueue.AddOpts{After: backoff, Priority: ptr(int(prio))}, key)
	default:
		if err != nil {
			log.Error("work failed; giving up", "attempts", attempt, "error", err)
		}
		delete(q.pending, key)
		delete(q.priority, key)
		delete(q.attempts, key)
		q.limiter.Forget(key)
		q.checkDrained()
	}
	return true
}

// checkDrained closes drained once Shutdown has begun and nothing is
// pending. Call it with mu held.
func (q *Queue) checkDrained() {
	if !q.closing || len(q.pending) > 0 {
		return
	}
	select {
	case <-q.drained:
	default:
		close(q.drained)
	}
}

// run calls process, turning a panic into an error.
func (q *Queue) run(ctx context.Context, it Intent) (err error) {
	defer func() {
		if r := recover(); r != nil {
			logctx.From(ctx).Error("work panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return q.process(ctx, it)
}

// Shutdown stops taking work and waits for what was accepted, retries
// included, to finish; when ctx ends first, running work is cancelled and
// retries not yet due are dropped.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	q.closing = true
	q.checkDrained()
	q.mu.Unlock()
	var err error
	select {
	case <-q.drained:
	case <-ctx.Done():
		err = fmt.Errorf("shutting down the work queue: %w", ctx.Err())
	}
	q.stop()
	// The priority queue's ShutDown may be called once.
	q.shutdownOnce.Do(q.wq.ShutDown)
	q.wg.Wait()
	return err
}
