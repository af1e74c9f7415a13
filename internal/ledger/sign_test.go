package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// branch is a tenants repo on a loopback git server, and the way to open
// clones of it: the service's, or an attacker's who can push.
type branch struct {
	t   *testing.T
	url string
}

func newBranch(t *testing.T) *branch {
	t.Helper()
	_, url, _ := testutil.GitRepo(t, "tenants", "main")
	return &branch{t: t, url: url}
}

func (b *branch) clone() *tenants.Repo {
	b.t.Helper()
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: b.url, Branch: "main"})
	if err != nil {
		b.t.Fatal(err)
	}
	return repo
}

// ledger opens a Ledger on a fresh clone, as a process starting would.
func (b *branch) ledger(keys *ledger.Keys) *ledger.Ledger {
	b.t.Helper()
	return ledger.New(b.clone(), keys)
}

// push commits changes to the ledger branch as someone with push access
// and no key: a misconfigured ruleset, a leaked token.
func (b *branch) push(changes ...tenants.Change) {
	b.t.Helper()
	if _, err := b.clone().Update(context.Background(), v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: "Ledger: nothing to see here\n"}, nil
	}); err != nil {
		b.t.Fatal(err)
	}
}

// file is the content of path on the ledger branch ("" when absent).
func (b *branch) file(path string) string {
	b.t.Helper()
	return string(testutil.LedgerFile(b.t, b.clone(), path))
}

func keys(seeds ...string) *ledger.Keys {
	var ss [][]byte
	for _, seed := range seeds {
		s := sha256.Sum256([]byte(seed))
		ss = append(ss, s[:])
	}
	k, err := ledger.NewKeys(ss...)
	if err != nil {
		panic(err)
	}
	return k
}

func issue(n int) forge.IssueRef {
	return forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: n}
}

func issueFile(n int) string {
	f, err := ledger.File(issue(n))
	if err != nil {
		panic(err)
	}
	return f
}

// refusals sums purrvision_ledger_refused_total in reg.
func refusals(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "purrvision_ledger_refused_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// editRecord rewrites the record inside a signed file, keeping its
// signature.
func editRecord(t *testing.T, data string, edit func(map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal([]byte(data), &env); err != nil {
		t.Fatal(err)
	}
	edit(env["record"].(map[string]any))
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRead_TamperedRecordIsRefusedAndReported: whoever can push to the
// ledger branch but holds no key cannot make the bot read a record it did
// not sign as it is, where it is. Each forgery is refused with a
// *RefusedError naming the file and why, logged, counted and listed for
// the status page; Each skips it; a write to it is refused too.
func TestRead_TamperedRecordIsRefusedAndReported(t *testing.T) {
	const victim, other = 1, 2
	tests := []struct {
		name   string
		forge  func(b *branch, l *ledger.Ledger)
		read   int // the issue whose record is read
		reason ledger.Reason
	}{
		{name: "content edited", read: victim, reason: ledger.ReasonBadSignature, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(victim), Data: editRecord(t, b.file(issueFile(victim)), func(r map[string]any) {
				r["comments"] = map[string]any{"status": 999}
			})})
		}},
		{name: "signature removed", read: victim, reason: ledger.ReasonUnsigned, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(victim), Data: []byte(`{"comments": {"status": 999}}`)})
		}},
		{name: "signature kept, record replaced", read: victim, reason: ledger.ReasonUnsigned, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(victim), Data: []byte(`{"record": {"comments": {"status": 999}}, "gen": 9}`)})
		}},
		{name: "moved to another issue's path", read: other, reason: ledger.ReasonBadSignature, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(other), Data: []byte(b.file(issueFile(victim)))})
		}},
		{name: "signed with an unknown key", read: victim, reason: ledger.ReasonUnknownKey, forge: func(b *branch, _ *ledger.Ledger) {
			// The attacker signs, with a key of their own, a record at the
			// victim's path.
			al := b.ledger(keys("the attacker's"))
			b.push(tenants.Change{Path: issueFile(victim), Delete: true})
			if _, err := al.Update(context.Background(), issue(victim), func(r *ledger.Record) (string, error) {
				r.Comments = map[string]int64{ledger.KindStatus: 999}
				return "x", nil
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "rolled back to an older signed record", read: victim, reason: ledger.ReasonRolledBack, forge: func(b *branch, l *ledger.Ledger) {
			old := b.file(issueFile(victim))
			if _, err := l.Update(context.Background(), issue(victim), func(r *ledger.Record) (string, error) {
				r.Answer(77)
				return "answered 77", nil
			}); err != nil {
				t.Fatal(err)
			}
			b.push(tenants.Change{Path: issueFile(victim), Data: []byte(old)})
		}},
		{name: "removed", read: victim, reason: ledger.ReasonRemoved, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(victim), Delete: true})
		}},
		{name: "not JSON", read: victim, reason: ledger.ReasonUnreadable, forge: func(b *branch, _ *ledger.Ledger) {
			b.push(tenants.Change{Path: issueFile(victim), Data: []byte("{")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testutil.SyncBuffer{}
			ctx := logctx.Into(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)))
			b := newBranch(t)
			l := b.ledger(testutil.LedgerKeys())
			reg := prometheus.NewRegistry()
			if err := l.Register(reg); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Migrate(ctx, nil, "", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Update(ctx, issue(victim), func(r *ledger.Record) (string, error) {
				r.Comments = map[string]int64{ledger.KindStatus: 5}
				return "its status comment is 5", nil
			}); err != nil {
				t.Fatal(err)
			}
			if rec, ok, err := l.Read(ctx, issue(victim), true); err != nil || !ok || rec.Comments[ledger.KindStatus] != 5 {
				t.Fatalf("the signed record reads %+v, %v, %v", rec, ok, err)
			}
			tt.forge(b, l)
			before := b.file(issueFile(tt.read))

			_, _, err := l.Read(ctx, issue(tt.read), true)
			var refused *ledger.RefusedError
			if !errors.As(err, &refused) || refused.File != issueFile(tt.read) || refused.Reason != tt.reason {
				t.Fatalf("Read: %v, want %s refused: %s", err, issueFile(tt.read), tt.reason)
			}
			if _, err := l.Thread(ctx, nil, ghstandin.BotLogin, issue(tt.read), false); !errors.As(err, &refused) {
				t.Errorf("Thread: %v, want it refused", err)
			}
			if _, err := l.Update(ctx, issue(tt.read), func(r *ledger.Record) (string, error) {
				r.Comments = map[string]int64{ledger.KindStatus: 6}
				return "edited", nil
			}); !errors.As(err, &refused) {
				t.Errorf("Update: %v, want it refused", err)
			}
			if after := b.file(issueFile(tt.read)); after != before {
				t.Errorf("the refused record was written over:\n%s", after)
			}
			if err := l.Each("", func(ref string, _ ledger.Record) error {
				if ref == issue(tt.read).String() {
					t.Errorf("Each read the refused record of %s", ref)
				}
				return nil
			}); err != nil {
				t.Errorf("Each: %v, want the refused record skipped", err)
			}
			if got := l.Refused(); len(got) != 1 || got[0].File != issueFile(tt.read) || got[0].Reason != tt.reason {
				t.Errorf("Refused() = %+v, want %s", got, issueFile(tt.read))
			}
			if n := refusals(t, reg); n != 1 {
				t.Errorf("purrvision_ledger_refused_total = %v, want 1 (once per refused file)", n)
			}
			if !strings.Contains(logs.String(), `"msg":"refused a ledger record","file":"`+issueFile(tt.read)+`"`) {
				t.Errorf("no log of the refusal:\n%s", logs)
			}
		})
	}
}

// TestHeld_MovedHoldIsRefused: a signed hold copied to another name's
// path does not hold that name, nor free it.
func TestHeld_MovedHoldIsRefused(t *testing.T) {
	ctx := context.Background()
	b, l := holdingCatCafe(t)
	b.push(tenants.Change{Path: "names/dog-diner.json", Data: []byte(b.file("names/cat-cafe.json"))})
	var refused *ledger.RefusedError
	if by, err := l.Held(ctx, "dog-diner", true); !errors.As(err, &refused) || refused.File != "names/dog-diner.json" {
		t.Errorf("Held(dog-diner) = %q, %v; want it refused", by, err)
	}
	if by, err := l.Held(ctx, "cat-cafe", false); err != nil || by != "acme/stores#1" {
		t.Errorf("Held(cat-cafe) = %q, %v; want acme/stores#1", by, err)
	}
	// Released and held again: the generation goes on, so an old hold
	// pushed back is a rollback.
	held := b.file("names/cat-cafe.json")
	if err := l.Release(ctx, "cat-cafe", "acme/stores#1"); err != nil {
		t.Fatal(err)
	}
	if by, err := l.Held(ctx, "cat-cafe", true); err != nil || by != "" {
		t.Fatalf("Held after the release = %q, %v", by, err)
	}
	b.push(tenants.Change{Path: "names/cat-cafe.json", Data: []byte(held)})
	if by, err := l.Held(ctx, "cat-cafe", true); !errors.As(err, &refused) || refused.Reason != ledger.ReasonRolledBack {
		t.Errorf("Held after an old hold was pushed back = %q, %v; want it refused as rolled back", by, err)
	}
}

// TestEditStatus_RefusedRecordPostsNothing: a record forged after the
// thread was read (its status comment dropped, as if none were posted)
// does not make the bot post a second status comment, nor take the store
// for a new one: the handling stops with the refusal.
func TestEditStatus_RefusedRecordPostsNothing(t *testing.T) {
	gh, client := testutil.GitHub(t, "acme/stores")
	ctx := context.Background()
	b := newBranch(t)
	l := b.ledger(testutil.LedgerKeys())
	if _, err := l.Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	n := gh.OpenIssue("acme/stores", "octocat", "Store: cat-cafe", "body", "store-request")
	ref := issue(n)
	body := func(st storestatus.State) string { return storestatus.Body(st, "") }
	edit := func(phase v1alpha1.Phase) func(*storestatus.State) bool {
		return func(st *storestatus.State) bool {
			st.Store = "cat-cafe"
			return st.Record(phase, "", "", time.Now())
		}
	}
	th, err := l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.EditStatus(ctx, client, th, edit(v1alpha1.PhaseMerged), body); err != nil {
		t.Fatal(err)
	}
	file, _ := ledger.File(ref)
	b.push(tenants.Change{Path: file, Data: []byte(`{"comments": {}}`)})
	th, err = l.Thread(ctx, client, ghstandin.BotLogin, ref, true)
	var refused *ledger.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Thread of a forged record: %v, want it refused", err)
	}
	// A thread read before the forgery, written after it.
	old := &ledger.Thread{Ref: ref, Own: map[string]forge.Comment{}, Bot: ghstandin.BotLogin}
	if err := l.EditStatus(ctx, client, old, edit(v1alpha1.PhaseApplied), body); !errors.As(err, &refused) {
		t.Errorf("EditStatus on a forged record: %v, want it refused", err)
	}
	if cs := gh.Comments("acme/stores", n); len(cs) != 1 {
		t.Errorf("%d comments, want the one status comment", len(cs))
	}
}

// unsignedLedger is a ledger branch as the build before signing left it:
// plain JSON records and holds.
func unsignedLedger(b *branch) {
	b.t.Helper()
	if _, err := b.clone().Update(context.Background(), v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{
			{Path: "README.md", Data: []byte("# Purrvision's ledger\n")},
			{Path: issueFile(1), Data: []byte("{\n  \"comments\": {\n    \"status\": 11\n  },\n  \"answered\": [77]\n}\n")},
			{Path: "names/cat-cafe.json", Data: []byte(`{"issue":"acme/stores#1"}` + "\n")},
		}, Message: "Ledger: start, with the records of 1 issues\n"}, nil
	}); err != nil {
		b.t.Fatal(err)
	}
}

// TestSign_OldRecordsOnceNeverAgain: the first start of the build that
// signs signs the records from before, once, and records that it did;
// later starts refuse an unsigned file, never sign it, and one that finds
// the record of signing removed refuses to sign anything.
func TestSign_OldRecordsOnceNeverAgain(t *testing.T) {
	ctx := context.Background()
	b := newBranch(t)
	unsignedLedger(b)
	l := b.ledger(testutil.LedgerKeys())
	var refused *ledger.RefusedError
	if _, _, err := l.Read(ctx, issue(1), true); !errors.As(err, &refused) {
		t.Fatalf("an unsigned record read before signing: %v", err)
	}
	signed, err := l.Sign(ctx)
	if err != nil || signed.Unsigned != 2 || len(signed.Refused) != 0 {
		t.Fatalf("Sign = %+v, %v; want the 2 files from before signed", signed, err)
	}
	rec, ok, err := l.Read(ctx, issue(1), true)
	if err != nil || !ok || rec.Comments[ledger.KindStatus] != 11 || !rec.IsAnswered(77) {
		t.Errorf("the signed record reads %+v, %v, %v", rec, ok, err)
	}
	if by, err := l.Held(ctx, "cat-cafe", false); err != nil || by != "acme/stores#1" {
		t.Errorf("the signed hold reads %q, %v", by, err)
	}
	if !strings.Contains(b.file(ledger.FormatFile), `"sig"`) {
		t.Errorf("no signed %s:\n%s", ledger.FormatFile, b.file(ledger.FormatFile))
	}

	// Later: someone pushes an unsigned record; the next start (another
	// process) refuses it and signs nothing.
	b.push(tenants.Change{Path: issueFile(2), Data: []byte(`{"comments": {"status": 12}}`)})
	next := b.ledger(testutil.LedgerKeys())
	signed, err = next.Sign(ctx)
	if err != nil || signed.Unsigned != 0 || len(signed.Refused) != 1 || signed.Refused[0].File != issueFile(2) {
		t.Fatalf("second Sign = %+v, %v; want nothing signed, %s refused", signed, err, issueFile(2))
	}
	if _, _, err := next.Read(ctx, issue(2), true); !errors.As(err, &refused) || refused.Reason != ledger.ReasonUnsigned {
		t.Errorf("the unsigned record pushed later: %v, want it refused", err)
	}
	if got := next.Refused(); len(got) != 1 {
		t.Errorf("Refused() = %+v, want the pushed record", got)
	}

	// The record of signing removed, to have the next start sign again.
	b.push(tenants.Change{Path: ledger.FormatFile, Delete: true})
	if _, err := b.ledger(testutil.LedgerKeys()).Sign(ctx); !errors.Is(err, ledger.ErrFormatRemoved) {
		t.Errorf("Sign without %s: %v, want ErrFormatRemoved", ledger.FormatFile, err)
	}
	if data := b.file(issueFile(2)); strings.Contains(data, `"sig"`) {
		t.Errorf("the pushed record was signed:\n%s", data)
	}
}

// TestSign_Rotation: with a new key listed second, old records read and
// new ones are signed with the old key; moved first, the new key signs and
// the next start signs every record again with it; then the old key can
// go, and a ledger with only the old key reads nothing.
func TestSign_Rotation(t *testing.T) {
	ctx := context.Background()
	b := newBranch(t)
	old := b.ledger(keys("old"))
	if _, err := old.Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Update(ctx, issue(1), func(r *ledger.Record) (string, error) { r.Deny("eve"); return "x", nil }); err != nil {
		t.Fatal(err)
	}
	if err := old.Hold(ctx, "cat-cafe", "acme/stores#1"); err != nil {
		t.Fatal(err)
	}
	signedBy := func(path string) string {
		var env struct {
			Sig struct{ Key string } `json:"sig"`
		}
		if err := json.Unmarshal([]byte(b.file(path)), &env); err != nil {
			t.Fatal(err)
		}
		return env.Sig.Key
	}

	// Step 1: the new key listed second.
	added := b.ledger(keys("old", "new"))
	if rec, _, err := added.Read(ctx, issue(1), true); err != nil || !rec.IsDenied("eve") {
		t.Fatalf("old record with the new key second: %+v, %v", rec, err)
	}
	// Step 2: the new key first.
	rotated := b.ledger(keys("new", "old"))
	if rec, _, err := rotated.Read(ctx, issue(1), true); err != nil || !rec.IsDenied("eve") {
		t.Fatalf("old record with the new key first: %+v, %v", rec, err)
	}
	if _, err := rotated.Update(ctx, issue(2), func(r *ledger.Record) (string, error) { r.Deny("mallory"); return "x", nil }); err != nil {
		t.Fatal(err)
	}
	if signedBy(issueFile(2)) != rotated.Signer() || rotated.Signer() != keys("new").Signer() {
		t.Errorf("the new record is signed by %s, want the new key %s", signedBy(issueFile(2)), keys("new").Signer())
	}
	signed, err := rotated.Sign(ctx)
	if err != nil || signed.Resigned != 2 {
		t.Fatalf("Sign after the rotation = %+v, %v; want the old record and hold signed again", signed, err)
	}
	for _, f := range []string{issueFile(1), "names/cat-cafe.json", ledger.FormatFile} {
		if signedBy(f) != keys("new").Signer() {
			t.Errorf("%s is still signed by %s", f, signedBy(f))
		}
	}
	// Step 3: the old key removed.
	only := b.ledger(keys("new"))
	if signed, err := only.Sign(ctx); err != nil || signed.Resigned != 0 || len(signed.Refused) != 0 {
		t.Errorf("Sign with the new key alone = %+v, %v", signed, err)
	}
	if rec, _, err := only.Read(ctx, issue(1), true); err != nil || !rec.IsDenied("eve") {
		t.Errorf("the record with the new key alone: %+v, %v", rec, err)
	}
	if by, err := only.Held(ctx, "cat-cafe", false); err != nil || by != "acme/stores#1" {
		t.Errorf("the hold with the new key alone: %q, %v", by, err)
	}
	var refused *ledger.RefusedError
	if _, _, err := b.ledger(keys("old")).Read(ctx, issue(1), true); !errors.As(err, &refused) || refused.Reason != ledger.ReasonUnknownKey {
		t.Errorf("a ledger with the old key alone read: %v, want it refused", err)
	}
}

func TestLoadKeys_Errors(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/good"
	if err := ledger.WriteKeyFile(good); err != nil {
		t.Fatal(err)
	}
	if err := ledger.WriteKeyFile(good); err == nil {
		t.Error("WriteKeyFile wrote over a key")
	}
	short := dir + "/short"
	if err := os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{name: "none", want: "ledger.signingKeyFiles: required; create a key with `purrvision ledger keygen -o FILE`"},
		{name: "missing", files: []string{good, dir + "/gone"}, want: "ledger.signingKeyFiles[1]: reading the key file"},
		{name: "too short", files: []string{short}, want: "ledger.signingKeyFiles[0]: " + short + " does not hold a key"},
		{name: "twice", files: []string{good, good}, want: "ledger.signingKeyFiles: key 2 is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.LoadKeys(tt.files); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadKeys: %v, want %q", err, tt.want)
			}
		})
	}
	k, err := ledger.LoadKeys([]string{good})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(k.Signer())) {
		t.Error("the key id shows the key")
	}
}

// TestHistory_OnlyTheBotsVersions: the history of a record is what the
// bot wrote: its unsigned versions from before the ledger was signed, and
// signed ones after. A version pushed in between by someone with push
// access and no key (an unsigned record naming a commit the bot never
// pushed) is not part of it, even when the
// bot's own version is put back after it.
func TestHistory_OnlyTheBotsVersions(t *testing.T) {
	ctx := context.Background()
	b := newBranch(t)
	unsignedLedger(b)
	l := b.ledger(testutil.LedgerKeys())
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	signed := b.file(issueFile(1))
	b.push(tenants.Change{Path: issueFile(1), Data: []byte(`{"comments": {"status": 11}, "status": {"store": "cat-cafe", "branch": "f0f0f0"}}`)})
	b.push(tenants.Change{Path: issueFile(1), Data: []byte(signed)}) // the bot's version put back
	if _, err := l.Update(ctx, issue(1), func(r *ledger.Record) (string, error) {
		r.Status = &storestatus.State{Store: "cat-cafe", Branch: "b0b0b0"}
		return "pushed b0b0b0", nil
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := b.ledger(testutil.LedgerKeys()).History(issue(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.State().Branch)
	}
	// Newest first: the bot's update, the bot's signed version (put back,
	// and as Sign wrote it), the unsigned version from before signing.
	if want := []string{"b0b0b0", "", "", ""}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("history: %q, want %q (no forged branch f0f0f0)", got, want)
	}
	for _, r := range recs {
		if r.Comments[ledger.KindStatus] != 11 && r.State().Branch != "b0b0b0" {
			t.Errorf("a version the bot did not write: %+v", r)
		}
	}
}

// TestRead_OlderSnapshotOfThisProcessIsNotARollback: one worker of the
// service took a snapshot of the ledger, another wrote a newer version of
// a record since. The older version the first reads is not a rollback
// (nothing is refused, logged or counted): it reads again from the clone,
// which holds the newer one. A version older than the clone's (pushed
// back by someone) is still refused: TestRead_TamperedRecordIsRefusedAndReported.
func TestRead_OlderSnapshotOfThisProcessIsNotARollback(t *testing.T) {
	ctx := context.Background()
	b := newBranch(t)
	repo := b.clone()
	l := ledger.New(repo, testutil.LedgerKeys())
	reg := prometheus.NewRegistry()
	if err := l.Register(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Migrate(ctx, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	write := func(branch string) {
		t.Helper()
		if _, err := l.Update(ctx, issue(1), func(r *ledger.Record) (string, error) {
			r.Status = &storestatus.State{Store: "cat-cafe", Branch: branch}
			return "pushed " + branch, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("aaaa")
	head, _, err := repo.Head(v1alpha1.LedgerBranch)
	if err != nil {
		t.Fatal(err)
	}
	old, err := repo.Snapshot(head) // the first worker's snapshot
	if err != nil {
		t.Fatal(err)
	}
	write("bbbb") // the second worker's write
	if _, err := l.ReadSnapshot(ctx, old, issueFile(1)); !errors.Is(err, ledger.ErrStale) {
		t.Errorf("reading the older snapshot: %v, want it read again (ErrStale), not refused", err)
	}
	if got := l.Refused(); len(got) != 0 || refusals(t, reg) != 0 {
		t.Errorf("an older snapshot of this process was reported as refused: %+v", got)
	}
	rec, ok, err := l.Read(ctx, issue(1), false)
	if err != nil || !ok || rec.State().Branch != "bbbb" {
		t.Errorf("Read = %+v, %v, %v; want the newer version", rec.State(), ok, err)
	}
}

// TestHeld_DeletedHoldIsRefused: a released hold stays as a file holding
// no issue, so a hold deleted by someone who can push to the ledger branch
// is refused, not read as a free name, by the process that read it.
func TestHeld_DeletedHoldIsRefused(t *testing.T) {
	ctx := context.Background()
	b, l := holdingCatCafe(t)
	if by, err := l.Held(ctx, "cat-cafe", true); err != nil || by != "acme/stores#1" {
		t.Fatalf("Held = %q, %v", by, err)
	}
	b.push(tenants.Change{Path: "names/cat-cafe.json", Delete: true})
	var refused *ledger.RefusedError
	if by, err := l.Held(ctx, "cat-cafe", true); !errors.As(err, &refused) || refused.Reason != ledger.ReasonRemoved {
		t.Errorf("Held of a deleted hold = %q, %v; want it refused as removed, not free", by, err)
	}
}

// holdingCatCafe is a started ledger whose name cat-cafe is held by
// acme/stores#1, and its branch, for an attacker to push to.
func holdingCatCafe(t *testing.T) (*branch, *ledger.Ledger) {
	t.Helper()
	b := newBranch(t)
	l := b.ledger(testutil.LedgerKeys())
	if _, err := l.Migrate(context.Background(), nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Hold(context.Background(), "cat-cafe", "acme/stores#1"); err != nil {
		t.Fatal(err)
	}
	return b, l
}
