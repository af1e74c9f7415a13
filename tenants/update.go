package tenants

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// State is what a change is built from: the fetched heads of the target
// branch and of the base branch.
type State struct {
	Branch       string
	BranchHead   Hash // "" when the branch does not exist
	BaseHead     Hash
	BranchExists bool
}

// Plan is a change to push. A nil Plan means the branch is already as
// wanted.
type Plan struct {
	// Parent is the commit to build on: usually State.BranchHead, or
	// State.BaseHead to start the branch over.
	Parent  Hash
	Changes []Change
	Message string
}

// BuildFunc plans a change from a fresh state. It may be called several
// times, once per attempt; it must not have side effects.
type BuildFunc func(s State, base, branch *Snapshot) (*Plan, error)

// Result says what Update did.
type Result struct {
	Commit Hash // the branch head after the update
	Pushed bool // false when the branch was already as wanted
}

// MaxAttempts bounds the fetch-build-push loop of Update.
const MaxAttempts = 8

// Update fetches, builds a change of branch with build and pushes it,
// compare-and-swap: when someone else moved the branch meanwhile, it backs
// off, fetches and builds again.
func (r *Repo) Update(ctx context.Context, branch string, build BuildFunc) (Result, error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := r.updateOnce(ctx, branch, build)
		if !errors.Is(err, ErrStale) || attempt == MaxAttempts {
			return res, err
		}
		sleep := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("updating branch %q: %w", branch, ctx.Err())
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (r *Repo) updateOnce(ctx context.Context, branch string, build BuildFunc) (Result, error) {
	if err := r.Fetch(ctx); err != nil {
		return Result{}, err
	}
	r.mu.Lock()
	baseHead, _, err := r.head(r.opts.Branch)
	if err != nil {
		r.mu.Unlock()
		return Result{}, err
	}
	branchHead, exists, err := r.head(branch)
	if err != nil {
		r.mu.Unlock()
		return Result{}, err
	}
	base, err := r.snapshot(baseHead)
	if err != nil {
		r.mu.Unlock()
		return Result{}, err
	}
	cur, err := r.snapshot(branchHead)
	r.mu.Unlock()
	if err != nil {
		return Result{}, err
	}
	plan, err := build(State{Branch: branch, BranchHead: branchHead, BaseHead: baseHead, BranchExists: exists}, base, cur)
	if err != nil {
		return Result{}, err
	}
	if plan == nil {
		return Result{Commit: branchHead}, nil
	}
	commit, err := r.Commit(plan.Parent, plan.Changes, plan.Message)
	if err != nil {
		return Result{}, err
	}
	if err := r.Push(ctx, branch, commit, branchHead); err != nil {
		return Result{}, err
	}
	return Result{Commit: commit, Pushed: true}, nil
}

// Trailer is one "Key: value" line at the end of a commit message.
type Trailer struct{ Key, Value string }

// Message joins a subject, a body and trailers into a commit message.
func Message(subject, body string, trailers ...Trailer) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(subject))
	b.WriteString("\n")
	if body = strings.TrimSpace(body); body != "" {
		b.WriteString("\n" + body + "\n")
	}
	if len(trailers) > 0 {
		b.WriteString("\n")
		for _, t := range trailers {
			if t.Value == "" {
				continue
			}
			fmt.Fprintf(&b, "%s: %s\n", t.Key, strings.ReplaceAll(t.Value, "\n", " "))
		}
	}
	return b.String()
}

// Trailers parses the trailers of a commit message.
func Trailers(message string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(strings.TrimRight(message, "\n"), "\n")
	for i := len(lines) - 1; i > 0; i-- {
		k, v, ok := strings.Cut(lines[i], ": ")
		if !ok || strings.ContainsAny(k, " \t") || k == "" {
			break
		}
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}
