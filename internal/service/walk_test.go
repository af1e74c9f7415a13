package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/webhook"
)

// walkStep is one step of a walk: a log line of the service, a call it
// made to GitHub, or the end of a piece of work the queue ran.
type walkStep struct {
	// Msg and Attrs are a log line's; Call is "GET /repos/..." for a call
	// to GitHub; Done is the kind of the work that ended, Err its error.
	Msg   string
	Attrs map[string]string
	Call  string
	Done  string
	Err   string
}

func (s walkStep) String() string {
	switch {
	case s.Call != "":
		return "call " + s.Call
	case s.Done != "":
		return "done " + s.Done + " " + s.Err
	}
	return fmt.Sprintf("log %q %v", s.Msg, s.Attrs)
}

// walk records, in one order, the service's log lines (as an slog
// handler), its calls to GitHub (as its client's transport, when each call
// is sent: the stand-in records an exchange only once it has answered,
// which can come after the caller's next log line) and the end of each
// piece of work (as the queue's Observe).
type walk struct {
	mu    sync.Mutex
	steps []walkStep
}

func (w *walk) add(s walkStep) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.steps = append(w.steps, s)
}

// take returns the steps so far and starts afresh.
func (w *walk) take() []walkStep {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.steps
	w.steps = nil
	return out
}

func (w *walk) RoundTrip(r *http.Request) (*http.Response, error) {
	w.add(walkStep{Call: r.Method + " " + r.URL.Path})
	return http.DefaultTransport.RoundTrip(r)
}

func (w *walk) observe(it webhook.Intent, _ int, err error) {
	s := walkStep{Done: it.Kind.String()}
	if err != nil {
		s.Err = err.Error()
	}
	w.add(s)
}

// handler is an slog.Handler that adds every line to w.
func (w *walk) handler() slog.Handler { return &walkHandler{w: w} }

type walkHandler struct {
	w     *walk
	attrs []slog.Attr
}

func (h *walkHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *walkHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]string{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	h.w.add(walkStep{Msg: r.Message, Attrs: attrs})
	return nil
}

func (h *walkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &walkHandler{w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *walkHandler) WithGroup(string) slog.Handler { return h }

// handlings cuts a walk into the request handlings of issue: for each, its
// steps from its "stage=read" line to the end of its work.
func handlings(steps []walkStep, issue string) [][]walkStep {
	var out [][]walkStep
	var cur []walkStep
	for _, s := range steps {
		switch {
		case s.Msg == "handling a request" && s.Attrs["stage"] == "read" && s.Attrs["issue"] == issue:
			cur = []walkStep{s}
		case cur == nil:
		case s.Done != "":
			out = append(out, append(cur, s))
			cur = nil
		default:
			cur = append(cur, s)
		}
	}
	return out
}

// stagesOf checks one handling: read, then plan, then apply, in that
// order; no call to GitHub from its plan line to its apply line. It
// returns the stages it went through and the writes it made.
func stagesOf(t *testing.T, steps []walkStep) (stages, writes []string) {
	t.Helper()
	stage := ""
	for _, s := range steps {
		switch {
		case s.Msg == "handling a request":
			next := s.Attrs["stage"]
			if (stage == "" && next != "read") || (stage == "read" && next == "read") || (stage == "plan" && next != "apply") || stage == "apply" {
				t.Errorf("stage %q after %q in the walk:\n%s", next, stage, walkText(steps))
			}
			stage = next
			stages = append(stages, stage)
		case s.Call != "" && stage == "plan":
			t.Errorf("a call to GitHub while planning: %s\n%s", s.Call, walkText(steps))
		case s.Call != "" && stage == "apply" && !strings.HasPrefix(s.Call, http.MethodGet+" "):
			writes = append(writes, s.Call)
		case s.Call != "" && !strings.HasPrefix(s.Call, http.MethodGet+" "):
			t.Errorf("a write to GitHub in stage %q: %s\n%s", stage, s.Call, walkText(steps))
		case s.Err != "":
			t.Errorf("the handling failed: %s\n%s", s.Err, walkText(steps))
		}
	}
	return stages, writes
}

func walkText(steps []walkStep) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString("  " + s.String() + "\n")
	}
	return b.String()
}

// ledgerCommits is how many commits the ledger branch has; 0 before it
// exists.
func (h *harness) ledgerCommits() int {
	h.t.Helper()
	repo := h.tenantsClone()
	head, ok, err := repo.Head(v1alpha1.LedgerBranch)
	if err != nil {
		h.t.Fatalf("reading the ledger branch: %v", err)
	}
	if !ok {
		return 0
	}
	cs, err := repo.FirstParents(head, "", 1<<20)
	if err != nil {
		h.t.Fatalf("reading the ledger branch: %v", err)
	}
	return len(cs)
}

// TestWalk_RequestReadPlanApply walks one request's handling: it reads,
// then plans, then applies, with no call to GitHub while it plans, and
// writes to GitHub only when it applies; the request's handling makes one
// commit on the ledger branch. A redelivery of the same event makes no
// commit and writes nothing to GitHub.
func TestWalk_RequestReadPlanApply(t *testing.T) {
	w := &walk{}
	queue := ghQueueOptions
	queue.Workers = 1 // one piece of work at a time: the walk is one line
	queue.Observe = w.observe
	h := newHarness(t, harnessOptions{queue: &queue, transport: w, log: w.handler()})
	h.settle()
	before := h.ledgerCommits()
	w.take()

	n := h.request("octocat", "walk-cafe", "small")
	h.settle()
	issue := fmt.Sprintf("%s#%d", requestsRepo, n)
	steps := w.take()
	hs := handlings(steps, issue)
	if len(hs) == 0 {
		t.Fatalf("no handling of %s in the walk:\n%s", issue, walkText(steps))
	}
	stages, writes := stagesOf(t, hs[0])
	if got := strings.Join(stages, ","); got != "read,plan,apply" {
		t.Errorf("the first handling went through %s, want read,plan,apply", got)
	}
	if len(writes) == 0 {
		t.Errorf("the first handling wrote nothing to GitHub:\n%s", walkText(hs[0]))
	}
	for _, hd := range hs[1:] {
		stagesOf(t, hd)
	}
	if len(h.pulls()[v1alpha1.Branch("walk-cafe")]) != 1 {
		t.Fatalf("no pull request for walk-cafe")
	}
	if got := h.ledgerCommits() - before; got != 1 {
		t.Errorf("%d commits on the ledger branch for one request, want 1", got)
	}

	// The same event again, twice: the store is as planned. The first
	// handling's comments were posted after its ledger commit (write
	// ahead), so the next handling adopts them in its one commit; after
	// that nothing changes.
	for round := range 2 {
		before = h.ledgerCommits()
		redelivered := 0
		for _, d := range h.gh.Deliveries() {
			if d.Event == "issues" && strings.Contains(string(d.Body), "walk-cafe") {
				h.gh.Redeliver(d)
				redelivered++
			}
		}
		if redelivered == 0 {
			t.Fatal("no issues delivery of walk-cafe to redeliver")
		}
		h.settle()
		steps = w.take()
		hs = handlings(steps, issue)
		if len(hs) == 0 {
			t.Fatalf("redelivery %d was not handled:\n%s", round+1, walkText(steps))
		}
		for _, hd := range hs {
			if _, writes := stagesOf(t, hd); len(writes) > 0 {
				t.Errorf("redelivery %d wrote to GitHub: %v", round+1, writes)
			}
		}
		got := h.ledgerCommits() - before
		switch subject := strings.TrimSpace(h.git_("log", "-1", "--format=%s", v1alpha1.LedgerBranch)); {
		case round == 0 && got == 1 && adoptsPosts(subject, issue):
		case round == 1 && got == 0:
		default:
			t.Errorf("redelivery %d: %d commits on the ledger branch (the last %q), want %d", round+1, got, subject, 1-round)
		}
	}
}

// adoptsPosts reports whether a ledger commit's subject says only that
// it records the comments of earlier posts.
func adoptsPosts(subject, issue string) bool {
	why, ok := strings.CutPrefix(subject, "Ledger: "+issue+": ")
	if !ok {
		return false
	}
	for _, w := range strings.Split(why, "; ") {
		if !strings.HasPrefix(w, "its ") || !strings.Contains(w, " post is comment ") {
			return false
		}
	}
	return true
}

var _ http.RoundTripper = (*walk)(nil)
var _ slog.Handler = (*walkHandler)(nil)
