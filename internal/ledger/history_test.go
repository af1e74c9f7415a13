package ledger_test

import (
	"context"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
)

// TestHistory_EveryVersionOfARecord: the history of a record holds every
// version the ledger branch held, newest first, and none of another
// issue's: the audit reads from it every commit the bot recorded pushing
// to a store's branch, where the record keeps only the last.
func TestHistory_EveryVersionOfARecord(t *testing.T) {
	l := testutil.Ledger(t)
	ctx := context.Background()
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	other := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 2}
	push := func(ref forge.IssueRef, commit string) {
		t.Helper()
		if _, err := l.Update(ctx, ref, func(r *ledger.Record) (string, error) {
			r.Status = &storestatus.State{Store: "cat-cafe", Branch: commit}
			return "pushed " + commit, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	push(ref, "aaaa")
	push(other, "cccc")
	push(ref, "bbbb")
	recs, err := l.History(ref)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Status.Branch)
	}
	if len(got) != 2 || got[0] != "bbbb" || got[1] != "aaaa" {
		t.Errorf("history of %s: %v, want [bbbb aaaa]", ref, got)
	}
	if _, err := l.History(forge.IssueRef{Repo: forge.Repo{Owner: "..", Name: "x"}, Number: 1}); err == nil {
		t.Error("the history of a path outside the ledger's issues was read")
	}
}
