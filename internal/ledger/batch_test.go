package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
)

// sinceLister is a hand-written fake of ledger.SinceLister: the comments
// of one issue, and how often they were listed.
type sinceLister struct {
	comments []forge.Comment
	calls    int
}

var _ ledger.SinceLister = (*sinceLister)(nil)

func (f *sinceLister) ListCommentsSince(_ context.Context, _ forge.IssueRef, _ time.Time) ([]forge.Comment, error) {
	f.calls++
	return f.comments, nil
}

// TestResolveOnly_OnlyTheKeysWanted: a handling that resolves only some
// pending posts lists no comment when none of them is pending, and finds
// by its nonce only what it asked for.
func TestResolveOnly_OnlyTheKeysWanted(t *testing.T) {
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	var r ledger.Record
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	other := r.BeginPost("reply-7", "aaaa", at)
	own := r.BeginPost("reply-9", "bbbb", at)
	gh := &sinceLister{comments: []forge.Comment{
		{ID: 1, Issue: 1, Author: "bot", Body: ledger.Stamp("<!-- purrvision:reply comment=7 -->\nno", other)},
		{ID: 2, Issue: 1, Author: "bot", Body: ledger.Stamp("<!-- purrvision:reply comment=9 -->\nyes", own)},
	}}
	th := &ledger.Thread{Ref: ref, Record: r, Own: map[string]forge.Comment{}, Bot: "bot"}
	l := &ledger.Ledger{}
	none, err := l.ResolveOnly(context.Background(), gh, th, func(key string) bool { return key == "reply-8" })
	if err != nil || len(none) != 0 || gh.calls != 0 {
		t.Fatalf("nothing wanted pending: %v, %v after %d listings, want nothing and no listing", none, err, gh.calls)
	}
	found, err := l.ResolveOnly(context.Background(), gh, th, func(key string) bool { return key == "reply-9" })
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found["reply-9"].ID != 2 {
		t.Errorf("found %v, want only reply-9 as comment 2", found)
	}
	all, err := l.Resolve(context.Background(), gh, th)
	if err != nil || len(all) != 2 {
		t.Errorf("Resolve found %v, %v; want both", all, err)
	}
}
