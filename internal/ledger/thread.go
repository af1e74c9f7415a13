package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// Reader is what reading the bot's own comments asks of GitHub.
type Reader interface {
	GetComment(ctx context.Context, repo forge.Repo, id int64) (forge.Comment, error)
}

// GitHub is what writing them, and starting the ledger, asks of GitHub.
type GitHub interface {
	Reader
	ListComments(ctx context.Context, ref forge.IssueRef) ([]forge.Comment, error)
	CreateComment(ctx context.Context, ref forge.IssueRef, body string) (forge.Comment, error)
	EditComment(ctx context.Context, repo forge.Repo, id int64, body string) error
	DeleteComment(ctx context.Context, repo forge.Repo, id int64) error
}

// Thread is what the bot knows of an issue's comments: the record, and
// the comments of its own that the record names.
type Thread struct {
	Ref    forge.IssueRef
	Record Record
	// Own are the bot's comments, by kind.
	Own map[string]forge.Comment
	// Bot is the bot's login.
	Bot string
}

// adopt makes the recorded comment id the thread's own of kind, when
// GitHub says the bot wrote it, on this issue, with the kind's marker
// first; otherwise (deleted, or not the bot's) the thread has none.
func (t *Thread) adopt(ctx context.Context, gh Reader, kind string, id int64) error {
	delete(t.Own, kind)
	c, err := gh.GetComment(ctx, t.Ref.Repo, id)
	if errors.Is(err, forge.ErrNotFound) {
		return nil // deleted: the next write posts a new one
	}
	if err != nil {
		return err
	}
	if c.Author == t.Bot && c.Issue == t.Ref.Number && v1alpha1.Marked(c.Body, Markers[kind]) {
		t.Own[kind] = c
	}
	return nil
}

// Thread reads the issue's record and the comments it names: a few API
// calls, however long the thread. A recorded comment counts only while
// GitHub says bot wrote it, on this issue, with its marker on the first
// line; fetch reads the ledger from the remote first. An issue the ledger
// has no record of has no comment of the bot's: every comment the bot
// posts is recorded, and Migrate recorded those from before the ledger.
func (l *Ledger) Thread(ctx context.Context, gh Reader, bot string, ref forge.IssueRef, fetch bool) (*Thread, error) {
	rec, ok, err := l.Read(ctx, ref, fetch)
	if err != nil {
		return nil, err
	}
	if !ok && !fetch {
		// Recorded since the last fetch, perhaps.
		if rec, ok, err = l.Read(ctx, ref, true); err != nil {
			return nil, err
		}
	}
	t := &Thread{Ref: ref, Record: rec, Own: map[string]forge.Comment{}, Bot: bot}
	for _, kind := range []string{KindStatus, KindValidation, KindCredentials, KindRollout} {
		if id, ok := rec.Comments[kind]; ok {
			if err := t.adopt(ctx, gh, kind, id); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// Note records a change of the thread's record; edit returns why.
func (l *Ledger) Note(ctx context.Context, t *Thread, edit func(*Record) string) error {
	rec, err := l.Update(ctx, t.Ref, func(r *Record) (string, error) {
		return edit(r), nil
	})
	if err != nil {
		return err
	}
	t.Record = rec
	return nil
}

// Put makes the bot's comment of kind read body: it edits the one the
// record names, or posts it and records its ID. When another worker
// recorded one meanwhile, that one is kept and edited, and the new one
// deleted, so an issue never shows two.
func (l *Ledger) Put(ctx context.Context, gh GitHub, t *Thread, kind, body string) (forge.Comment, error) {
	if id, ok := t.Record.Comments[kind]; ok && t.Own[kind].ID != id {
		// The record, read again since the thread was (EditStatus does),
		// names a comment another writer posted meanwhile: that one is
		// edited, not a second one posted.
		if err := t.adopt(ctx, gh, kind, id); err != nil {
			return forge.Comment{}, err
		}
	}
	if c, ok := t.Own[kind]; ok {
		if c.Body == body {
			return c, nil
		}
		if err := gh.EditComment(ctx, t.Ref.Repo, c.ID, body); err != nil {
			return forge.Comment{}, err
		}
		c.Body = body
		t.Own[kind] = c
		return c, nil
	}
	seen := t.Record.Comments[kind]
	var winner int64
	c, err := l.Post(ctx, gh, t, kind, body, func(r *Record, c forge.Comment) string {
		if id, ok := r.Comments[kind]; ok && id != seen && id != c.ID {
			winner = id
			return "another worker recorded its " + kind + " comment first"
		}
		r.setComment(kind, c.ID)
		return fmt.Sprintf("its %s comment is %d", kind, c.ID)
	})
	if err != nil {
		return forge.Comment{}, err
	}
	switch {
	case winner != 0:
		if err := gh.DeleteComment(ctx, t.Ref.Repo, c.ID); err != nil && !errors.Is(err, forge.ErrNotFound) {
			return forge.Comment{}, err
		}
		if err := gh.EditComment(ctx, t.Ref.Repo, winner, body); err != nil {
			return forge.Comment{}, err
		}
		c.ID, c.Body = winner, body
	case !strings.HasPrefix(c.Body, body+"\n"):
		// Found from an earlier attempt, which posted what it had then.
		if err := gh.EditComment(ctx, t.Ref.Repo, c.ID, body); err != nil {
			return forge.Comment{}, err
		}
		c.Body = body
	}
	t.Own[kind] = c
	return c, nil
}

// Post posts body as a new comment of the bot's, once, and records it
// with done, which returns why. The post is noted as pending first, with
// a nonce the comment carries; when a post failed (GitHub may have taken
// it before failing), the next Post with that key finds the comment by its
// nonce, which only the bot knows, and records it instead of posting it
// twice.
func (l *Ledger) Post(ctx context.Context, gh GitHub, t *Thread, key, body string, done func(*Record, forge.Comment) string) (forge.Comment, error) {
	record := func(c forge.Comment) (forge.Comment, error) {
		err := l.Note(ctx, t, func(r *Record) string {
			delete(r.Pending, key)
			return done(r, c)
		})
		return c, err
	}
	if nonce, ok := t.Record.Pending[key]; ok {
		// Reading the thread is for this recovery only.
		cs, err := gh.ListComments(ctx, t.Ref)
		if err != nil {
			return forge.Comment{}, err
		}
		for _, c := range cs {
			if c.Author == t.Bot && strings.HasSuffix(strings.TrimRight(c.Body, "\n"), nonceLine(nonce)) && sameKind(key, c.Body, body) {
				// The nonce, and the marker of this post's kind: a nonce
				// copied into a record cannot adopt another comment.
				return record(c)
			}
		}
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return forge.Comment{}, err
	}
	nonce := hex.EncodeToString(b[:])
	if err := l.Note(ctx, t, func(r *Record) string {
		if r.Pending == nil {
			r.Pending = map[string]string{}
		}
		r.Pending[key] = nonce
		return "posting its " + key + " comment"
	}); err != nil {
		return forge.Comment{}, err
	}
	c, err := gh.CreateComment(ctx, t.Ref, body+"\n"+nonceLine(nonce))
	if err != nil {
		return forge.Comment{}, err
	}
	return record(c)
}

// sameKind reports whether found opens as a post of key would.
func sameKind(key, found, body string) bool {
	if m, ok := Markers[key]; ok {
		return v1alpha1.Marked(found, m)
	}
	return v1alpha1.FirstLine(found) == v1alpha1.FirstLine(body)
}

func nonceLine(nonce string) string { return "<!-- purrvision:post " + nonce + " -->" }

// Migrate starts the ledger, once: when its branch does not exist yet, it
// reads the threads of issues (the open store issues, from before the
// ledger) for the bot's own comments and answered commands, and commits
// their records with the ledger's first commit. When the branch exists it
