package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

func TestRecord_AnsweredStaysBounded(t *testing.T) {
	var r ledger.Record
	for id := int64(1000); id < 1250; id++ {
		r.Answer(id)
	}
	r.Answer(1100) // again: nothing changes
	if len(r.Answered) != ledger.KeepAnswered {
		t.Errorf("%d IDs listed, want %d", len(r.Answered), ledger.KeepAnswered)
	}
	for _, id := range []int64{1, 1000, 1149, 1150, 1249} {
		if !r.IsAnswered(id) {
			t.Errorf("%d not answered", id)
		}
	}
	if r.IsAnswered(1250) {
		t.Error("1250 answered, never was")
	}
	r.Deny("eve")
	r.Deny("eve")
	if !r.IsDenied("eve") || r.IsDenied("mallory") || len(r.Denied) != 1 {
		t.Errorf("denied %v, want eve once", r.Denied)
	}
}

func TestFile(t *testing.T) {
	for _, tt := range []struct {
		ref  forge.IssueRef
		want string
	}{
		{forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 7}, "issues/acme/stores/7.json"},
		{forge.IssueRef{Repo: forge.Repo{Owner: "..", Name: "stores"}, Number: 7}, ""},
		{forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "a/b"}, Number: 7}, ""},
		{forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 0}, ""},
	} {
		got, err := ledger.File(tt.ref)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("File(%v) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}

// TestThread_OnlyTheBotsRecordedComments: a record names comments; each
// counts only when GitHub says the bot wrote it on this issue with its
// marker first. A ledger edited by someone else with push rights, or a
// comment deleted since, makes the bot post a new one, never adopt one.
func TestThread_OnlyTheBotsRecordedComments(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.Ledger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	other := gh.OpenIssue("acme/stores", "octocat", "Store: dog-diner", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	status := v1alpha1.MarkerStatus + "\nstate"
	eves := gh.Comment("acme/stores", n, "eve", status)
	elsewhere := gh.Comment("acme/stores", other, ghstandin.BotLogin, status)
	unmarked := gh.Comment("acme/stores", n, ghstandin.BotLogin, "thanks\n"+v1alpha1.MarkerStatus)
	for _, id := range []int64{eves, elsewhere, unmarked, 999999} {
		if _, err := l.Update(ctx, ref, func(r *ledger.Record) (string, error) {
			r.Comments = map[string]int64{ledger.KindStatus: id}
			return "a forged entry", nil
		}); err != nil {
			t.Fatal(err)
		}
		th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := th.Own[ledger.KindStatus]; ok {
			t.Errorf("recorded comment %d taken for the status comment: %+v", id, c)
		}
	}
	th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Put(ctx, client, th, ledger.KindStatus, status+" 2")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == eves || c.ID == unmarked {
		t.Errorf("Put edited comment %d, want a new one", c.ID)
	}
	rec, _, err := l.Read(ctx, ref, true)
	if err != nil || rec.Comments[ledger.KindStatus] != c.ID {
		t.Errorf("record %+v, %v; want the new comment %d", rec, err, c.ID)
	}
}

// TestPut_TwoWorkersPostOnce: two workers that both found no status
// comment post one each; the ledger keeps the first recorded, and the
// other's comment is deleted, so the issue shows one.
func TestPut_TwoWorkersPostOnce(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.Ledger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	a, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	first, err := l.Put(ctx, client, a, ledger.KindStatus, v1alpha1.MarkerStatus+"\nfrom a")
	if err != nil {
		t.Fatal(err)
	}
	second, err := l.Put(ctx, client, b, ledger.KindStatus, v1alpha1.MarkerStatus+"\nfrom b")
	if err != nil {
		t.Fatal(err)
	}
	cs := gh.Comments("acme/stores", n)
	if len(cs) != 1 || cs[0].GetID() != first.ID || second.ID != first.ID || !strings.HasSuffix(cs[0].GetBody(), "from b") {
		t.Errorf("comments %d (first %d, second %d), want the first recorded, with the last body", len(cs), first.ID, second.ID)
	}
}

// TestMigrate_OnceWithTheBotsComments: the first start records the bot's
// comments on the issues from before the ledger; later starts do nothing.
func TestMigrate_OnceWithTheBotsComments(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.UnstartedLedger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	gh.Comment("acme/stores", n, "eve", v1alpha1.MarkerStatus+"\nforged")
	own := gh.Comment("acme/stores", n, ghstandin.BotLogin, v1alpha1.MarkerStatus+"\nstate")
	gh.Comment("acme/stores", n, ghstandin.BotLogin, v1alpha1.MarkerReply+" comment=77 denied=eve -->\n> x")
	if got, err := l.Migrate(ctx, client, ghstandin.BotLogin, []forge.IssueRef{ref}); err != nil || got != 1 {
		t.Fatalf("Migrate = %d, %v; want 1 issue", got, err)
	}
	rec, ok, err := l.Read(ctx, ref, true)
	if err != nil || !ok || rec.Comments[ledger.KindStatus] != own || !rec.IsAnswered(77) || !rec.IsDenied("eve") {
		t.Errorf("record %+v (%v, %v), want status %d, 77 answered, eve denied", rec, ok, err, own)
	}
	if got, err := l.Migrate(ctx, client, ghstandin.BotLogin, []forge.IssueRef{ref}); err != nil || got != 0 {
		t.Errorf("second Migrate = %d, %v; want nothing done", got, err)
	}
}

// failAfterCreate is GitHub taking a comment and then answering 502, once.
type failAfterCreate struct {
	ledger.GitHub
	failed bool
}

func (f *failAfterCreate) CreateComment(ctx context.Context, ref forge.IssueRef, body string) (forge.Comment, error) {
	c, err := f.GitHub.CreateComment(ctx, ref, body)
	if err == nil && !f.failed {
		f.failed = true
		return forge.Comment{}, errors.New("502 Bad Gateway")
	}
	return c, err
}

// TestPost_FailedPostIsFoundNotRepeated: a post GitHub took before failing
// is found by its nonce on the next try, recorded and brought up to date,
// not posted twice.
func TestPost_FailedPostIsFoundNotRepeated(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.Ledger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	flaky := &failAfterCreate{GitHub: client}
	th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Put(ctx, flaky, th, ledger.KindStatus, v1alpha1.MarkerStatus+"\nfirst"); err == nil {
		t.Fatal("the failed post did not fail")
	}
	th, err = l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Put(ctx, flaky, th, ledger.KindStatus, v1alpha1.MarkerStatus+"\nsecond")
	if err != nil {
		t.Fatal(err)
	}
	cs := gh.Comments("acme/stores", n)
	if len(cs) != 1 || cs[0].GetID() != c.ID || cs[0].GetBody() != v1alpha1.MarkerStatus+"\nsecond" {
		t.Errorf("%d comments (first %q), want the one post, recorded as %d, saying second", len(cs), cs[0].GetBody(), c.ID)
	}
	if rec, _, _ := l.Read(ctx, ref, true); rec.Comments[ledger.KindStatus] != c.ID || len(rec.Pending) != 0 {
		t.Errorf("record %+v, want the comment recorded and nothing pending", rec)
	}
}

// TestUpdate_NoLedgerNoRecord: a ledger branch deleted under a running
// service is not started again empty by the next record.
func TestUpdate_NoLedgerNoRecord(t *testing.T) {
	l := testutil.UnstartedLedger(t)
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	_, err := l.Update(context.Background(), ref, func(r *ledger.Record) (string, error) { return "x", nil })
	if !errors.Is(err, ledger.ErrNoLedger) {
		t.Errorf("Update on a missing ledger: %v, want ErrNoLedger", err)
	}
}

// TestPost_NonceOfAnotherKindIsNotAdopted: nonces are public once posted;
// one copied into a record's pending posts cannot make the bot adopt a
// comment of another kind (the credentials comment as its status).
func TestPost_NonceOfAnotherKindIsNotAdopted(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.Ledger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := l.Put(ctx, client, th, ledger.KindCredentials, v1alpha1.MarkerCredentials+" id=ab -->\nsealed")
	if err != nil {
		t.Fatal(err)
	}
	nonce := creds.Body[strings.LastIndex(creds.Body, "purrvision:post ")+len("purrvision:post ") : strings.LastIndex(creds.Body, " -->")]
	if _, err := l.Update(ctx, ref, func(r *ledger.Record) (string, error) {
		r.Pending = map[string]string{ledger.KindStatus: nonce}
		return "a forged pending post", nil
	}); err != nil {
		t.Fatal(err)
	}
	th, err = l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Put(ctx, client, th, ledger.KindStatus, v1alpha1.MarkerStatus+"\nstate")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == creds.ID {
		t.Fatal("the credentials comment was adopted as the status comment")
	}
	for _, c := range gh.Comments("acme/stores", n) {
		if c.GetID() == creds.ID && !strings.Contains(c.GetBody(), "sealed") {
			t.Errorf("the credentials comment was overwritten:\n%s", c.GetBody())
		}
	}
}

// TestRecord_WatermarkCannotBePushed: a record edited to move the
// watermark past the commands it lists answers no command more.
func TestRecord_WatermarkCannotBePushed(t *testing.T) {
	r := ledger.Record{Answered: []int64{5, 9}, AnsweredThrough: 1 << 62}
	if r.IsAnswered(1000) || r.IsAnswered(6) || !r.IsAnswered(9) {
		t.Errorf("a forged watermark answered commands: 1000 %v, 6 %v; 9 %v", r.IsAnswered(1000), r.IsAnswered(6), r.IsAnswered(9))
	}
}

func TestHold_UntilReleasedByItsIssue(t *testing.T) {
	l := testutil.Ledger(t)
	ctx := context.Background()
	if err := l.Hold(ctx, "cat-cafe", "acme/stores#1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, "cat-cafe", "acme/stores#2"); err != nil {
		t.Fatal(err)
	}
	if by, err := l.Held(ctx, "cat-cafe", true); err != nil || by != "acme/stores#1" {
		t.Fatalf("held by %q, %v after another issue's release; want acme/stores#1", by, err)
	}
	if err := l.Release(ctx, "cat-cafe", "acme/stores#1"); err != nil {
		t.Fatal(err)
	}
	if by, err := l.Held(ctx, "cat-cafe", true); err != nil || by != "" {
		t.Errorf("held by %q, %v after its release", by, err)
	}
	if err := l.Hold(ctx, "../x", "acme/stores#1"); err == nil {
		t.Error("a hold outside names/ was written")
	}
}

// TestEditStatus_ConcurrentWritersKeepBoth: the request flow and the
// watcher (here two clones, as two processes) change one store's state
// at once; each change is applied to the freshest state, so both stay.
func TestEditStatus_ConcurrentWritersKeepBoth(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	ctx := context.Background()
	open := func() *ledger.Ledger {
		repo, err := tenants.Open(ctx, tenants.Options{URL: url, Branch: "main"})
		if err != nil {
			t.Fatal(err)
		}
		return ledger.New(repo, testutil.LedgerKeys())
	}
	a, b := open(), open()
	if _, err := a.Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	body := func(st storestatus.State) string { return storestatus.Body(st, "") }
	var wg sync.WaitGroup
	for i, l := range []*ledger.Ledger{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
			if err != nil {
				t.Error(err)
				return
			}
			if err := l.EditStatus(ctx, client, th, func(st *storestatus.State) bool {
				st.Store = "cat-cafe"
				return st.Record(v1alpha1.PhaseApplied, fmt.Sprintf("writer %d", i), "cluster", time.Now())
			}, body); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rec, _, err := a.Read(ctx, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rec.State().Timeline); got != 4 {
		t.Errorf("%d timeline events, want the 4 writers'", got)
	}
}

// TestEditStatus_ThreadsReadBeforeAPostShowOneComment: two writers read
// the thread before either posted the status comment (a webhook and the
// resync, or the watcher); the second, whose record EditStatus reads
// again, edits the comment the first posted instead of posting another
// one the first would leave behind, stale (seen in the e2e).
func TestEditStatus_ThreadsReadBeforeAPostShowOneComment(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	l := testutil.Ledger(t)
	ctx := context.Background()
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
	a, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	body := func(st storestatus.State) string { return storestatus.Body(st, "") }
	for i, th := range []*ledger.Thread{a, b} {
		if err := l.EditStatus(ctx, client, th, func(st *storestatus.State) bool {
			st.Store = "cat-cafe"
			return st.Record(v1alpha1.PhaseApplied, fmt.Sprintf("writer %d", i), "cluster", time.Now())
		}, body); err != nil {
			t.Fatal(err)
		}
	}
	cs := gh.Comments("acme/stores", n)
	if len(cs) != 1 {
		t.Fatalf("%d comments, want one status comment", len(cs))
	}
	if !strings.Contains(cs[0].GetBody(), "writer 0") || !strings.Contains(cs[0].GetBody(), "writer 1") {
		t.Errorf("the status comment does not show both writers:\n%s", cs[0].GetBody())
	}
	rec, _, err := l.Read(ctx, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Comments[ledger.KindStatus] != cs[0].GetID() {
		t.Errorf("the record names comment %d, the issue shows %d", rec.Comments[ledger.KindStatus], cs[0].GetID())
	}
}
