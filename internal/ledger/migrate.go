package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

var credentialsRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerCredentials) + ` id=([0-9a-f]+) -->$`)

var replyRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerReply) + ` comment=([0-9]+)(?: denied=([A-Za-z0-9-]+))? -->$`)

// Scan is the Thread of an issue from before the ledger, read from its
// comments: the bot's own, by author, which GitHub authenticates, and by
// the marker on their first line only, where nothing the bot quotes can
// stand. Migrate records it; nothing else reads a thread this way.
func Scan(ref forge.IssueRef, bot string, cs []forge.Comment) *Thread {
	t := &Thread{Ref: ref, Own: map[string]forge.Comment{}, Bot: bot}
	for _, c := range cs {
		if c.Author != bot {
			continue
		}
		for kind, m := range Markers {
			if _, seen := t.Own[kind]; !seen && v1alpha1.Marked(c.Body, m) {
				t.Own[kind] = c
				t.Record.setComment(kind, c.ID)
				if kind == KindStatus {
					st := storestatus.Parse(c.Body)
					t.Record.Status = &st
				}
				if m := credentialsRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); kind == KindCredentials && m != nil {
					t.Record.creds().Delivered = m[1]
				}
			}
		}
		if m := replyRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); m != nil {
			if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				t.Record.Answer(id)
			}
			if m[2] != "" {
				t.Record.Deny(m[2])
			}
		}
	}
	return t
}

// does nothing, so every replica may call it at start.
func (l *Ledger) Migrate(ctx context.Context, gh GitHub, bot string, issues []forge.IssueRef) (int, error) {
	if err := l.repo.Fetch(ctx); err != nil {
		return 0, fmt.Errorf("starting the ledger: %w", err)
	}
	if _, ok, err := l.repo.Head(v1alpha1.LedgerBranch); err != nil || ok {
		return 0, err
	}
	changes := []tenants.Change{{Path: "README.md", Data: []byte(readme)}}
	for _, ref := range issues {
		file, err := File(ref)
		if err != nil {
			return 0, err
		}
		cs, err := gh.ListComments(ctx, ref)
		if err != nil {
			return 0, fmt.Errorf("starting the ledger: %w", err)
		}
		rec := Scan(ref, bot, cs).Record
		data, err := json.Marshal(rec)
		if err != nil {
			return 0, err
		}
		if data, err = l.keys.seal(file, 1, data); err != nil {
			return 0, err
		}
		changes = append(changes, tenants.Change{Path: file, Data: data})
	}
	format, err := l.format()
	if err != nil {
		return 0, err
	}
	changes = append(changes, format)
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		if s.BranchExists {
			return nil, nil // another replica started it
		}
		return &tenants.Plan{Changes: changes, Message: tenants.Message(fmt.Sprintf("Ledger: start, with the records of %d issues", len(issues)), "")}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("starting the ledger: %w", err)
	}
	return len(issues), nil
}

const readme = `# Purrvision's ledger

This branch is written by Purrvision only: one file per issue, with the IDs
of the bot's own comments there and the commands it has answered, and one
per held store name. Each file is signed with a key only the service holds;
a file edited, moved or added by anyone else is refused, and reported.
Protect the branch with a ruleset that lets only the Purrvision App update
it (docs/security.md).
`

// FormatFile records, signed, that every record on the branch is signed:
// once it is there, an unsigned file is refused, never signed.
const FormatFile = "format.json"

// formatVersion is the version of the signed format.
const formatVersion = 1

type formatRecord struct {
	Version int `json:"version"`
}

// format is the signed FormatFile.
func (l *Ledger) format() (tenants.Change, error) {
	data, err := json.Marshal(formatRecord{Version: formatVersion})
	if err != nil {
		return tenants.Change{}, err
	}
	if data, err = l.keys.seal(FormatFile, 1, data); err != nil {
		return tenants.Change{}, err
	}
	return tenants.Change{Path: FormatFile, Data: data}, nil
}

// Signed is what Sign did at start.
type Signed struct {
	// Unsigned counts the records from before signing signed now, once.
	Unsigned int
	// Resigned counts the records signed again with the first key, signed
	// before with another listed one (a key rotation).
	Resigned int
	// Refused are the files refused: left as they are, and reported.
	Refused []RefusedError
}

// ErrFormatRemoved is returned by Sign when the ledger holds signed files
// but no FormatFile: someone removed it, perhaps to have unsigned records
// of their own signed at the next start. Restore it from the branch's
// history (docs/operations.md).
var ErrFormatRemoved = errors.New("the ledger holds signed records but no " + FormatFile + ": it was removed; restore it from the history of the ledger branch (docs/operations.md)")

// Sign runs at every start, after Migrate. The first time (no FormatFile
// yet: an install from before signing) it signs every record, and records
// FormatFile with them, in one commit; after that it never signs an
// unsigned file again. Each time, it signs again with the first key the
// records another listed key signed, so an old key can be dropped once
// every replica has started with the new one first; and it reads every
// file, reporting those it refuses. Every replica may call it.
func (l *Ledger) Sign(ctx context.Context) (Signed, error) {
	if err := l.repo.Fetch(ctx); err != nil {
		return Signed{}, fmt.Errorf("signing the ledger: %w", err)
	}
	var out Signed
	written := map[string]uint64{}
	_, err := l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		out, written = Signed{}, map[string]uint64{}
		if !s.BranchExists {
			return nil, ErrNoLedger
		}
		issues, holds, err := files(cur)
		if err != nil {
			return nil, err
		}
		fdata, formatted, err := cur.ReadFile(FormatFile)
		if err != nil {
			return nil, err
		}
		var changes []tenants.Change
		if formatted {
			raw, gen, signer, err := l.keys.open(FormatFile, fdata)
			if r := (*RefusedError)(nil); errors.As(err, &r) {
				return nil, l.refuse(ctx, r)
			}
			if signer != l.keys.Signer() {
				sealed, err := l.keys.seal(FormatFile, gen, raw)
				if err != nil {
					return nil, err
				}
				changes = append(changes, tenants.Change{Path: FormatFile, Data: sealed})
			}
		}
		for _, file := range append(issues, holds...) {
			data, ok, err := cur.ReadFile(file)
			if err != nil || !ok {
				return nil, err
			}
			if !formatted {
				if isEnvelope(data) {
					return nil, ErrFormatRemoved
				}
				var raw json.RawMessage
				if json.Unmarshal(data, &raw) != nil {
					out.Refused = append(out.Refused, *l.refuse(ctx, &RefusedError{File: file, Reason: ReasonUnreadable}))
					continue
				}
				sealed, err := l.keys.seal(file, 1, raw)
				if err != nil {
					return nil, err
				}
				changes = append(changes, tenants.Change{Path: file, Data: sealed})
				written[file] = 1
				out.Unsigned++
				continue
			}
			raw, gen, signer, err := l.keys.open(file, data)
			if r := (*RefusedError)(nil); errors.As(err, &r) {
				out.Refused = append(out.Refused, *l.refuse(ctx, r))
				continue
			}
			if _, _, err := l.verify(ctx, file, data, true); err != nil {
				var r *RefusedError
				if errors.As(err, &r) {
					out.Refused = append(out.Refused, *r)
				}
				continue
			}
			if signer != l.keys.Signer() {
				sealed, err := l.keys.seal(file, gen, raw)
				if err != nil {
					return nil, err
				}
				changes = append(changes, tenants.Change{Path: file, Data: sealed})
				out.Resigned++
			}
		}
		if !formatted {
			format, err := l.format()
			if err != nil {
				return nil, err
			}
			changes = append(changes, format)
		}
		if len(changes) == 0 {
			return nil, nil
		}
		msg := fmt.Sprintf("Ledger: sign %d records from before signing", out.Unsigned)
		if formatted {
			msg = fmt.Sprintf("Ledger: sign %d records with key %s", out.Resigned, l.keys.Signer())
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: tenants.Message(msg, "")}, nil
	})
	if err != nil {
		return Signed{}, fmt.Errorf("signing the ledger: %w", err)
	}
	for file, gen := range written {
		l.wrote(file, gen)
	}
	return out, nil
}
