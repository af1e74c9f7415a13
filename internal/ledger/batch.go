package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// A handling of an issue commits to the ledger once: one write-ahead
// commit holds the new state and the nonces of the comments it is about
// to post (BeginPost), then the posts are made. Their IDs are resolved by
// the next handling (Resolve), which finds each pending post by its
// nonce among the bot's comments updated since the post was begun, and
// records it with its own commit. A post that never reached GitHub is
// made again with the same nonce, so a crash anywhere posts nothing twice.

// SinceLister lists an issue's comments updated at or after since, as
// GitHub's "List issue comments" does with its since parameter.
type SinceLister interface {
	ListCommentsSince(ctx context.Context, ref forge.IssueRef, since time.Time) ([]forge.Comment, error)
}

// ClockSkew is how far GitHub's clock may be behind ours: a pending post
// is looked for among the comments updated since it was begun, less this.
const ClockSkew = 10 * time.Minute

// NewNonce is a fresh nonce for a post: random, known only to the bot.
func NewNonce() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Stamp is body as posted with nonce: its last line carries the nonce.
func Stamp(body, nonce string) string { return body + "\n" + nonceLine(nonce) }

// BeginPost notes that the post of key (a kind, or "reply-<comment ID>")
// is about to be made with nonce, begun at at; a post already pending
// keeps its nonce, which it returns.
func (r *Record) BeginPost(key, nonce string, at time.Time) string {
	if n, ok := r.Pending[key]; ok {
		return n
	}
	if r.Pending == nil {
		r.Pending = map[string]string{}
	}
	if r.PendingSince == nil {
		r.PendingSince = map[string]time.Time{}
	}
	r.Pending[key] = nonce
	r.PendingSince[key] = at.UTC()
	return nonce
}

// EndPost records the post of key as c: for a kind, c is the bot's
// comment of that kind from now on.
func (r *Record) EndPost(key string, c forge.Comment) {
	delete(r.Pending, key)
	delete(r.PendingSince, key)
	if len(r.PendingSince) == 0 {
		r.PendingSince = nil
	}
	if _, isKind := Markers[key]; isKind {
		r.setComment(key, c.ID)
	}
}

// Resolve finds the comments of the thread's pending posts: a comment of
// the bot's, updated since the post was begun, ending with the post's
// nonce and opening as a post of its key does. It returns them by key;
// the thread adopts those of a kind. A key it does not find is still
// pending: its post did not reach GitHub, and is made again with the
// same nonce.
func (l *Ledger) Resolve(ctx context.Context, gh SinceLister, t *Thread) (map[string]forge.Comment, error) {
	return l.ResolveOnly(ctx, gh, t, nil)
}

// ResolveOnly is Resolve of the pending posts whose key want accepts (nil
// accepts all); it lists no comment when none is pending. A handling that
// posts no reply of another's leaves those to the next full Resolve, so
// its cost does not grow with the comments posted since they were begun.
func (l *Ledger) ResolveOnly(ctx context.Context, gh SinceLister, t *Thread, want func(key string) bool) (map[string]forge.Comment, error) {
	pending := map[string]string{}
	for key, nonce := range t.Record.Pending {
		if want == nil || want(key) {
			pending[key] = nonce
		}
	}
	if len(pending) == 0 {
		return nil, nil
	}
	var since time.Time
	for key := range pending {
		at, ok := t.Record.PendingSince[key]
		if !ok {
			since = time.Time{} // begun by Post, before batches: every comment
			break
		}
		if at = at.Add(-ClockSkew); since.IsZero() || at.Before(since) {
			since = at
		}
	}
	cs, err := gh.ListCommentsSince(ctx, t.Ref, since)
	if err != nil {
		return nil, fmt.Errorf("finding the pending posts of %s: %w", t.Ref, err)
	}
	found := map[string]forge.Comment{}
	for key, nonce := range pending {
		for _, c := range cs {
			if c.Author == t.Bot && c.Issue == t.Ref.Number && strings.HasSuffix(strings.TrimRight(c.Body, "\n"), nonceLine(nonce)) && opensAs(key, c.Body) {
				found[key] = c
				if _, isKind := Markers[key]; isKind {
					t.Own[key] = c
				}
				break
			}
		}
	}
	return found, nil
}

// opensAs reports whether body opens as a post of key does: the marker of
// its kind, or the reply marker naming the command comment.
func opensAs(key, body string) bool {
	if m, ok := Markers[key]; ok {
		return v1alpha1.Marked(body, m)
	}
	id, ok := strings.CutPrefix(key, "reply-")
	if _, err := strconv.ParseInt(id, 10, 64); !ok || err != nil {
		return false
	}
	return strings.HasPrefix(v1alpha1.FirstLine(body), v1alpha1.MarkerReply+" comment="+id+" ") ||
		strings.HasPrefix(v1alpha1.FirstLine(body), v1alpha1.MarkerReply+" comment="+id+"\t")
}
