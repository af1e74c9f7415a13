// Package ledger is where Purrvision records what it must find again on
// GitHub: the IDs of its own comments on each issue (the status comment,
// the validation comment, the credentials comment) and the commands it has
// answered. The ledger is a branch of the tenants repo that only the bot
// writes, one small JSON file per issue, updated compare-and-swap.
//
// With it, the bot finds its status comment by the ID it recorded, never by
// searching a thread for a marker, and handling a comment costs the same
// few API calls however long the thread is.
//
// Every file is signed (sign.go) with a key only the service holds; one
// that is not signed as it is, where it is, is refused (a *RefusedError)
// and reported, never read as state.
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/tenants"
)

// Ledger reads and writes records on the ledger branch of a tenants repo.
// One Ledger serves a process: it holds the locks of its writers and what
// it has read (the generations that keep a record from being rolled back,
// the files it refused).
type Ledger struct {
	repo *tenants.Repo
	keys *Keys
	// statusLocks serialize, in this process, the writers of one issue's
	// status (EditStatus).
	statusLocks sync.Map // file -> *sync.Mutex

	mu sync.Mutex
	// seen is the newest generation read or written of each file.
	seen map[string]uint64
	// refused are the files refused, until read again as signed.
	refused map[string]*RefusedError
	// refusals counts refusals by reason.
	refusals *prometheus.CounterVec
}

// New returns the ledger kept in repo, on branch v1alpha1.LedgerBranch,
// signed and verified with keys.
func New(repo *tenants.Repo, keys *Keys) *Ledger {
	l := &Ledger{repo: repo, keys: keys, seen: map[string]uint64{}, refused: map[string]*RefusedError{},
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purrvision_ledger_refused_total",
			Help: "Ledger files refused (unsigned, wrongly signed, moved, rolled back or removed), by reason; each counts once until it is read as signed again.",
		}, []string{"reason"})}
	for _, r := range Reasons {
		l.refusals.WithLabelValues(string(r))
	}
	return l
}

// Register registers the ledger's metrics in reg:
// purrvision_ledger_refused_total and purrvision_ledger_refused_records.
func (l *Ledger) Register(reg prometheus.Registerer) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "purrvision_ledger_refused_records",
		Help: "Ledger files refused now: their issues' handling stops until an operator restores them.",
	}, func() float64 { return float64(len(l.Refused())) })
	if err := reg.Register(l.refusals); err != nil {
		return err
	}
	return reg.Register(g)
}

// Signer is the id of the key the ledger signs with (never the key).
func (l *Ledger) Signer() string { return l.keys.Signer() }

// maxRefused bounds the refusals kept for the status page; the metric
// counts them all.
const maxRefused = 1000

// Refused lists the files this process refused and has not read as signed
// since, by path.
func (l *Ledger) Refused() []RefusedError {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RefusedError, 0, len(l.refused))
	for _, e := range l.refused {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b RefusedError) int { return strings.Compare(a.File, b.File) })
	return out
}

// refuse reports err: logged, counted and listed once, until the file
// reads as signed again.
func (l *Ledger) refuse(ctx context.Context, err *RefusedError) *RefusedError {
	l.mu.Lock()
	old, known := l.refused[err.File]
	fresh := !known || old.Reason != err.Reason
	if fresh && (known || len(l.refused) < maxRefused) {
		l.refused[err.File] = err
	}
	l.mu.Unlock()
	if fresh {
		l.refusals.WithLabelValues(string(err.Reason)).Inc()
		logctx.From(ctx).Error("refused a ledger record", "file", err.File, "reason", string(err.Reason))
	}
	return err
}

// verify opens data, the content of file (ok: there is one), as signed by
// the service and no older than what this process read of it. It returns
// the record (nil when there is none) and its generation.
func (l *Ledger) verify(ctx context.Context, file string, data []byte, ok bool) (json.RawMessage, uint64, error) {
	if !ok {
		l.mu.Lock()
		gen := l.seen[file]
		l.mu.Unlock()
		if gen > 0 {
			if l.caughtUp(file) {
				// Not a removal: this clone holds the file, and the
				// snapshot read was taken before another worker of this
				// process fetched or wrote it.
				return nil, 0, errStale
			}
			// The bot never removes a file it signed: an issue's record
			// stays, and a released name hold stays holding no issue.
			return nil, 0, l.refuse(ctx, &RefusedError{File: file, Reason: ReasonRemoved})
		}
		return nil, 0, nil
	}
	rec, gen, _, err := l.keys.open(file, data)
	if r := (*RefusedError)(nil); errors.As(err, &r) {
		return nil, 0, l.refuse(ctx, r)
	}
	l.mu.Lock()
	back := gen < l.seen[file]
	if !back {
		l.seen[file] = gen
		delete(l.refused, file)
	}
	l.mu.Unlock()
	if back {
		if l.caughtUp(file) {
			// Not a rollback: this clone holds the newer version, and the
			// snapshot read was taken before another worker of this
			// process wrote it.
			return nil, 0, errStale
		}
		return nil, 0, l.refuse(ctx, &RefusedError{File: file, Reason: ReasonRolledBack})
	}
	return rec, gen, nil
}

// errStale is verify's answer for a version older than this process has
// read or written of the file, read from a snapshot older than the
// clone's branch: the caller reads again from the branch's head.
var errStale = errors.New("ledger: read from a snapshot older than the clone's branch")

// caughtUp reports whether the ledger branch of the clone, as it is now,
// holds a version of file that this process has seen (verified, and no
// older than it read or wrote).
func (l *Ledger) caughtUp(file string) bool {
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return false
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return false
	}
	data, ok, err := snap.ReadFile(file)
	if err != nil || !ok {
		return false
	}
	_, gen, _, err := l.keys.open(file, data)
	if err != nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return gen >= l.seen[file]
}

// wrote notes that this process committed generation gen of file.
func (l *Ledger) wrote(file string, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[file] = max(l.seen[file], gen)
	delete(l.refused, file)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// File is where the record of an issue lives on the ledger branch.
func File(ref forge.IssueRef) (string, error) {
	if !nameRE.MatchString(ref.Repo.Owner) || !nameRE.MatchString(ref.Repo.Name) || ref.Number <= 0 ||
		ref.Repo.Owner == "." || ref.Repo.Owner == ".." || ref.Repo.Name == "." || ref.Repo.Name == ".." {
		return "", fmt.Errorf("ledger: %q is not an issue of a GitHub repository", ref.String())
	}
	return path.Join("issues", ref.Repo.Owner, ref.Repo.Name, strconv.Itoa(ref.Number)+".json"), nil
}

// snapshot is the ledger branch as last fetched; nil when there is none.
func (l *Ledger) snapshot(ctx context.Context, fetch bool) (*tenants.Snapshot, error) {
	if fetch {
		if err := l.repo.Fetch(ctx); err != nil {
			return nil, err
		}
	}
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return nil, err
	}
	return l.repo.Snapshot(head)
}

// Read returns the record of ref and whether there is one, from the
// ledger as last fetched; fetch asks the remote first. A record the
// service did not sign as it is, where it is, is refused: the error is a
// *RefusedError.
func (l *Ledger) Read(ctx context.Context, ref forge.IssueRef, fetch bool) (Record, bool, error) {
	file, err := File(ref)
	if err != nil {
		return Record{}, false, err
	}
	snap, err := l.snapshot(ctx, fetch)
	if err != nil || snap == nil {
		if err != nil {
			err = fmt.Errorf("reading the ledger of %s: %w", ref, err)
		}
		return Record{}, false, err
	}
	for {
		rec, _, ok, err := l.read(ctx, snap, file)
		if !errors.Is(err, errStale) {
			return rec, ok, err
		}
		// Another worker of this process wrote it since: read the newer
		// version the clone holds.
		if snap, err = l.snapshot(ctx, false); err != nil {
			return Record{}, false, fmt.Errorf("reading the ledger of %s: %w", ref, err)
		}
	}
}

// files lists the issue records (issues/<owner>/<repo>/<n>.json) and the
// name holds (names/<name>.json) of snap.
func files(snap *tenants.Snapshot) (issues, holds []string, err error) {
	owners, err := snap.ReadDir("issues")
	if err != nil {
		return nil, nil, err
	}
	for _, owner := range owners {
		repos, err := snap.ReadDir(path.Join("issues", owner))
		if err != nil {
			return nil, nil, err
		}
		for _, repo := range repos {
			fs, err := snap.ReadDir(path.Join("issues", owner, repo))
			if err != nil {
				return nil, nil, err
			}
			for _, f := range fs {
				if strings.HasSuffix(f, ".json") {
					issues = append(issues, path.Join("issues", owner, repo, f))
				}
			}
		}
	}
	names, err := snap.ReadDir("names")
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".json") {
			holds = append(holds, path.Join("names", n))
		}
	}
	return issues, holds, nil
}

// Each calls f with every issue record on the ledger branch, as last
// fetched, whose file holds want (a cheap filter before verifying: "" for
// all). A refused record is skipped, and reported (Refused, the metric),
// not made every reader's failure.
func (l *Ledger) Each(want string, f func(ref string, rec Record) error) error {
	snap, err := l.snapshot(context.Background(), false)
	if err != nil || snap == nil {
		if err != nil {
			err = fmt.Errorf("reading the ledger: %w", err)
		}
		return err
	}
	issues, _, err := files(snap)
	if err != nil {
		return err
	}
	for _, p := range issues {
		data, ok, err := snap.ReadFile(p)
		if err != nil {
			return err
		}
		if !ok || !bytes.Contains(data, []byte(want)) {
			continue
		}
		rec, err := l.decode(context.Background(), p, data, true)
		if r := (*RefusedError)(nil); errors.As(err, &r) || errors.Is(err, errStale) {
			continue // refused, or newer than this listing: the next one has it
		} else if err != nil {
			return err
		}
		ref := strings.TrimSuffix(strings.TrimPrefix(p, "issues/"), ".json")
		i := strings.LastIndex(ref, "/")
		if err := f(ref[:i]+"#"+ref[i+1:], rec); err != nil {
			return err
		}
	}
	return nil
}

// read returns the record in file of snap, its generation and whether
// there is one.
func (l *Ledger) read(ctx context.Context, snap *tenants.Snapshot, file string) (Record, uint64, bool, error) {
	data, ok, err := snap.ReadFile(file)
	if err != nil {
		return Record{}, 0, false, err
	}
	raw, gen, err := l.verify(ctx, file, data, ok)
	if err != nil || raw == nil {
		return Record{}, 0, false, err
	}
	var rec Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Record{}, 0, false, fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return rec, gen, true, nil
}

// decode is read of data already at hand.
func (l *Ledger) decode(ctx context.Context, file string, data []byte, ok bool) (Record, error) {
	raw, _, err := l.verify(ctx, file, data, ok)
	if err != nil || raw == nil {
		return Record{}, err
	}
	var rec Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Record{}, fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return rec, nil
}

// ErrNoLedger is returned when the ledger branch is missing: restore it
// from a clone, or start it again (docs/operations.md).
var ErrNoLedger = errors.New("the ledger branch " + v1alpha1.LedgerBranch + " is missing")

// ErrUnchanged, returned by an edit, leaves the record as it is.
var ErrUnchanged = errors.New("ledger: unchanged")

// Update applies edit to the freshest record of ref (a zero Record when
// there is none) and commits it, signed, compare-and-swap: when the ledger
// moved meanwhile, edit runs again on the new record. edit returns why, for
// the commit message. Update returns the record as committed. A refused
// record is not edited: the error is its *RefusedError.
func (l *Ledger) Update(ctx context.Context, ref forge.IssueRef, edit func(*Record) (string, error)) (Record, error) {
	var why string
	file, err := File(ref)
	if err != nil {
		return Record{}, err
	}
	var out Record
	var gen uint64
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		if !s.BranchExists {
			// Only Migrate starts the ledger: a branch deleted under a
			// running service must not come back empty, as if nothing had
			// ever been recorded.
			return nil, ErrNoLedger
		}
		rec, curGen, _, err := l.read(ctx, cur, file)
		if errors.Is(err, errStale) {
			return nil, tenants.ErrStale // fetch and build again
		} else if err != nil {
			return nil, err
		}
		w, err := edit(&rec)
		if errors.Is(err, ErrUnchanged) {
			out, gen = rec, 0
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		why, out, gen = w, rec, curGen+1
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if data, err = l.keys.seal(file, gen, data); err != nil {
			return nil, err
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: file, Data: data}},
			Message: tenants.Message(fmt.Sprintf("Ledger: %s: %s", ref, why), "")}, nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("recording in the ledger of %s: %w", ref, err)
	}
	if gen > 0 {
		l.wrote(file, gen)
	}
	return out, nil
}
