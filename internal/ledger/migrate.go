package ledger

import (
	"context"
	"encoding/json"
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
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return 0, err
		}
		changes = append(changes, tenants.Change{Path: file, Data: append(data, '\n')})
	}
	_, err := l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
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
of the bot's own comments there and the commands it has answered. Protect
it with a ruleset that lets only the Purrvision App update it
(docs/security.md).
`
