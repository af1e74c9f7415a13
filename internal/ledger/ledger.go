// Package ledger is where Purrvision records what it must find again on
// GitHub: the IDs of its own comments on each issue (the status comment,
// the validation comment, the credentials comment) and the commands it has
// answered. The ledger is a branch of the tenants repo that only the bot
// writes, one small JSON file per issue, updated compare-and-swap.
//
// With it, the bot finds its status comment by the ID it recorded, never by
// searching a thread for a marker, and handling a comment costs the same
// few API calls however long the thread is.
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/tenants"
)

// Ledger reads and writes records on the ledger branch of a tenants repo.
type Ledger struct {
	repo *tenants.Repo
}

// New returns the ledger kept in repo, on branch v1alpha1.LedgerBranch.
func New(repo *tenants.Repo) *Ledger { return &Ledger{repo: repo} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// File is where the record of an issue lives on the ledger branch.
func File(ref forge.IssueRef) (string, error) {
	if !nameRE.MatchString(ref.Repo.Owner) || !nameRE.MatchString(ref.Repo.Name) || ref.Number <= 0 ||
		ref.Repo.Owner == "." || ref.Repo.Owner == ".." || ref.Repo.Name == "." || ref.Repo.Name == ".." {
		return "", fmt.Errorf("ledger: %q is not an issue of a GitHub repository", ref.String())
	}
	return path.Join("issues", ref.Repo.Owner, ref.Repo.Name, strconv.Itoa(ref.Number)+".json"), nil
}

// Read returns the record of ref and whether there is one, from the
// ledger as last fetched; fetch asks the remote first.
func (l *Ledger) Read(ctx context.Context, ref forge.IssueRef, fetch bool) (Record, bool, error) {
	file, err := File(ref)
	if err != nil {
		return Record{}, false, err
	}
	if fetch {
		if err := l.repo.Fetch(ctx); err != nil {
			return Record{}, false, fmt.Errorf("reading the ledger of %s: %w", ref, err)
		}
	}
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return Record{}, false, err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return Record{}, false, fmt.Errorf("reading the ledger of %s: %w", ref, err)
	}
	return read(snap, file)
}

// Each calls f with every issue record on the ledger branch, as last
// fetched, whose file holds want (a cheap filter before decoding: "" for
// all).
func (l *Ledger) Each(want string, f func(ref string, rec Record) error) error {
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return fmt.Errorf("reading the ledger: %w", err)
	}
	owners, err := snap.ReadDir("issues")
	if err != nil {
		return err
	}
	for _, owner := range owners {
		repos, err := snap.ReadDir(path.Join("issues", owner))
		if err != nil {
			return err
		}
		for _, repo := range repos {
			files, err := snap.ReadDir(path.Join("issues", owner, repo))
			if err != nil {
				return err
			}
			for _, file := range files {
				n, isRecord := strings.CutSuffix(file, ".json")
				if !isRecord {
					continue
				}
				p := path.Join("issues", owner, repo, file)
				data, ok, err := snap.ReadFile(p)
				if err != nil || !ok || !bytes.Contains(data, []byte(want)) {
					if err != nil {
						return err
					}
					continue
				}
				var rec Record
				if err := json.Unmarshal(data, &rec); err != nil {
					return fmt.Errorf("reading ledger file %s: %w", p, err)
				}
				if err := f(owner+"/"+repo+"#"+n, rec); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func read(snap *tenants.Snapshot, file string) (Record, bool, error) {
	data, ok, err := snap.ReadFile(file)
	if err != nil || !ok {
		return Record{}, false, err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, false, fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return rec, true, nil
}

// ErrNoLedger is returned when the ledger branch is missing: restore it
// from a clone, or start it again (docs/operations.md).
var ErrNoLedger = errors.New("the ledger branch " + v1alpha1.LedgerBranch + " is missing")

// ErrUnchanged, returned by an edit, leaves the record as it is.
var ErrUnchanged = errors.New("ledger: unchanged")

// Update applies edit to the freshest record of ref (a zero Record when
// there is none) and commits it, compare-and-swap: when the ledger moved
// meanwhile, edit runs again on the new record. edit returns why, for the
// commit message. Update returns the record as committed.
func (l *Ledger) Update(ctx context.Context, ref forge.IssueRef, edit func(*Record) (string, error)) (Record, error) {
	var why string
	file, err := File(ref)
	if err != nil {
		return Record{}, err
	}
	var out Record
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		if !s.BranchExists {
			// Only Migrate starts the ledger: a branch deleted under a
			// running service must not come back empty, as if nothing had
			// ever been recorded.
			return nil, ErrNoLedger
		}
		rec, _, err := read(cur, file)
		if err != nil {
			return nil, err
		}
		w, err := edit(&rec)
		if errors.Is(err, ErrUnchanged) {
			out = rec
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		why = w
		out = rec
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: file, Data: append(data, '\n')}},
			Message: tenants.Message(fmt.Sprintf("Ledger: %s: %s", ref, why), "")}, nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("recording in the ledger of %s: %w", ref, err)
	}
	return out, nil
}
