package storestatus_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
)

func TestBody_ParseRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := storestatus.State{Store: "cat-cafe", Pull: 3, PullURL: "https://github.com/acme/tenants/pull/3"}
	s.Record(v1alpha1.PhaseMerged, "by @maintainer", "github", at)
	s.Record(v1alpha1.PhaseFailed, `install failed: "x" --> <b>|y|</b>`, "cluster", at.Add(time.Minute))
	body := storestatus.Body(s, "")
	if !strings.Contains(body, v1alpha1.MarkerStatus) || !strings.Contains(body, `\|y\|`) {
		t.Errorf("body:\n%s", body)
	}
	if got := storestatus.Parse(body); !reflect.DeepEqual(got, s) {
		t.Errorf("Parse(Body(s)) = %+v, want %+v", got, s)
	}
	if got := storestatus.Parse("no state here"); !reflect.DeepEqual(got, storestatus.State{}) {
		t.Errorf("Parse of a comment without state = %+v", got)
	}
}

// FuzzState: whatever a progress comment holds (it can be edited by hand),
// Parse does not panic; and any State survives Body then Parse, whatever
// its strings hold (HTML comment ends, table pipes, newlines).
func FuzzState(f *testing.F) {
	f.Add("cat-cafe", "by @x", "<!-- purrvision:state {\"phase\":\"ready\"} -->", int64(0))
	f.Add("a", "-->", "<!-- purrvision:state {", int64(1))
	f.Add("", "|\n|", "<!-- purrvision:state {\"timeline\":[{\"at\":\"x\"}]} -->", int64(-1))
	f.Fuzz(func(t *testing.T, store, detail, raw string, sec int64) {
		_ = storestatus.Parse(raw)
		s := storestatus.State{Store: store, PullURL: detail}
		s.Record(v1alpha1.PhaseFailed, detail, "cluster", time.Unix(sec%(1<<33), 0))
		got := storestatus.Parse(storestatus.Body(s, ""))
		if want := s.Bounded(); !reflect.DeepEqual(got, want) {
			// JSON cannot carry invalid UTF-8 unchanged: it becomes U+FFFD.
			if !utf8.ValidString(store) || !utf8.ValidString(detail) {
				return
			}
			t.Fatalf("round trip:\n got %+v\nwant %+v\nbody:\n%s", got, want, storestatus.Body(s, ""))
		}
	})
}

func TestParse_StateOnlyWhereBodyPutsIt(t *testing.T) {
	real := storestatus.Body(storestatus.State{Store: "cat-cafe", Phase: v1alpha1.PhasePendingReview}, "")
	planted := v1alpha1.MarkerState + ` {"store":"cat-cafe","phase":"ready","url":"https://evil.example/"} -->`
	tests := []struct {
		name string
		body string
		want v1alpha1.Phase
	}{
		{"as written", real, v1alpha1.PhasePendingReview},
		{"state planted further down", v1alpha1.MarkerStatus + "\n\n> " + planted, ""},
		{"state without the status marker", planted, ""},
		{"status marker quoted, then a state", "> " + v1alpha1.MarkerStatus + "\n" + planted, ""},
		{"two states on the line", v1alpha1.MarkerStatus + "\n" + planted + " " + planted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := storestatus.Parse(tt.body).Phase; got != tt.want {
				t.Errorf("Parse().Phase = %q, want %q", got, tt.want)
			}
		})
	}
}

// longLived is a store that lived through n events: its request, a merge
// every 50 events, and between them its release failing and recovering.
func longLived(n int, detail string) storestatus.State {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := storestatus.State{Store: "cat-cafe", PullURL: "https://github.com/acme/tenants/pull/1"}
	s.Record(v1alpha1.PhasePendingReview, "the request is valid; pull request https://github.com/acme/tenants/pull/1 creates the store", "github", at)
	for i := 1; i < n; i++ {
		at = at.Add(time.Hour)
		switch {
		case i%50 == 1:
			s.RecordMerge(fmt.Sprintf("resize merged by @maintainer %d %s", i, detail), fmt.Sprintf("%040d", i), at)
		case i%2 == 0:
			s.Record(v1alpha1.PhaseFailed, fmt.Sprintf("event %d: Helm upgrade failed for release store-cat-cafe/woocommerce with chart woocommerce@0.3.1: "+
				"cannot patch \"woocommerce\" with kind Deployment: context deadline exceeded %s", i, detail), "cluster", at)
		default:
			s.Record(v1alpha1.PhaseReady, fmt.Sprintf("event %d: https://cat-cafe.shop.example.com/", i), "cluster", at)
		}
	}
	return s
}

// TestBody_LongLivedStore: after 500 events the progress comment is
// within GitHub's limit, shows the first events, the latest state and how
// many it leaves out, and keeps every merge for the audit.
func TestBody_LongLivedStore(t *testing.T) {
	s := longLived(500, "")
	s.Record(v1alpha1.PhaseInstalling, "the newest event", "cluster", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	body := storestatus.Body(s, "https://status.example.com/?q=cat-cafe#store-cat-cafe")
	if n := utf8.RuneCountInString(body); n > forge.MaxBody {
		t.Fatalf("the comment has %d characters, over GitHub's %d", n, forge.MaxBody)
	}
	got := storestatus.Parse(body)
	if got.Phase != v1alpha1.PhaseInstalling || got.Timeline[len(got.Timeline)-1].Detail != "the newest event" {
		t.Errorf("the state no longer ends with the newest event: phase %q", got.Phase)
	}
	if want := s.Merges(); !reflect.DeepEqual(got.Merges(), want) || len(want) != 10 {
		t.Errorf("merges kept: %d of %d", len(got.Merges()), len(want))
	}
	shown := strings.Count(body, "\n| 20")
	if shown > 40 || !strings.Contains(body, "the newest event |") || !strings.Contains(body, "Waiting for review: the request is valid") {
		t.Errorf("the table shows %d rows; want the first and the newest, at most 40:\n%s", shown, table(body))
	}
	if got.Omitted+len(got.Timeline) != len(s.Timeline) {
		t.Errorf("%d events kept and %d counted as left out, of %d", len(got.Timeline), got.Omitted, len(s.Timeline))
	}
	for _, want := range []string{fmt.Sprintf("| … | %d events are left out here", len(s.Timeline)-33), "`purrvision audit cat-cafe`", "[the status page](https://status.example.com/?q=cat-cafe#store-cat-cafe)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment does not say %q:\n%s", want, table(body))
		}
	}
	// Written again, with one more event, the count goes on.
	got.Record(v1alpha1.PhaseReady, "again", "cluster", time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC))
	again := storestatus.Parse(storestatus.Body(got, ""))
	if again.Omitted+len(again.Timeline) != len(s.Timeline)+1 || again.Phase != v1alpha1.PhaseReady {
		t.Errorf("rewritten: %d kept, %d left out, phase %q; want %d in all", len(again.Timeline), again.Omitted, again.Phase, len(s.Timeline)+1)
	}
}

// TestBody_HostileGrowth: what people can put into the events (long
// messages full of table pipes and HTML, many approvers, thousands of
// merges, a hand-edited state) does not take the comment past GitHub's
// limit, and its newest event is still there.
func TestBody_HostileGrowth(t *testing.T) {
	junk := strings.Repeat("|<!-- -->é", 2000)
	s := longLived(3000, junk)
	for i := range 2000 {
		s.ApprovedBy = append(s.ApprovedBy, fmt.Sprintf("reviewer-%d-%s", i, junk[:100]))
	}
	s.Store, s.URL, s.Phase = junk, junk, v1alpha1.Phase(junk)
	s.Timeline = append(s.Timeline, storestatus.Event{Phase: v1alpha1.PhaseReady, At: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Detail: "last " + junk, Source: "cluster"})
	body := storestatus.Body(s, junk)
	if n := utf8.RuneCountInString(body); n > forge.MaxBody {
		t.Fatalf("the comment has %d characters, over GitHub's %d", n, forge.MaxBody)
	}
	got := storestatus.Parse(body)
	if len(got.Timeline) == 0 || !strings.HasSuffix(got.Timeline[len(got.Timeline)-1].Detail, "é") || got.Timeline[len(got.Timeline)-1].Phase != v1alpha1.PhaseReady {
		t.Errorf("the newest event is gone")
	}
	if len(got.Merges()) < 50 {
		t.Errorf("only %d of %d merges kept", len(got.Merges()), len(s.Merges()))
	}
}

// FuzzBody: whatever a store's events hold and however many there are,
// its progress comment is within GitHub's limit.
func FuzzBody(f *testing.F) {
	f.Add("cat-cafe", "by @x", 10, 3, "")
	f.Add(strings.Repeat("x", 300), strings.Repeat("|", 3000), 2000, 1, "https://status.example.com/")
	f.Add("a", strings.Repeat("<é>", 500), 700, 0, strings.Repeat("u", 2000))
	f.Fuzz(func(t *testing.T, store, detail string, n, mergeEvery int, statusPage string) {
		n = min(max(n, 0), 3000)
		s := storestatus.State{Store: store, URL: detail, Phase: v1alpha1.Phase(detail)}
		at := time.Unix(0, 0)
		for i := range n {
			at = at.Add(time.Minute)
			if mergeEvery > 0 && i%mergeEvery == 0 {
				s.RecordMerge(detail, fmt.Sprint(i), at)
				continue
			}
			s.Timeline = append(s.Timeline, storestatus.Event{Phase: v1alpha1.Phase(detail), At: at, Detail: fmt.Sprint(i, detail), Source: detail})
		}
		if c := utf8.RuneCountInString(storestatus.Body(s, statusPage)); c > forge.MaxBody {
			t.Fatalf("%d events: the comment has %d characters, over %d", n, c, forge.MaxBody)
		}
	})
}

// table is the comment without its state line.
func table(body string) string {
	_, rest, _ := strings.Cut(body, "-->\n**")
	return rest
}

// TestRecord_LongDetailRepeated: a long message reported again (the
// watcher reports a failure each time it looks) is one event, not one per
// report.
func TestRecord_LongDetailRepeated(t *testing.T) {
	var s storestatus.State
	msg := strings.Repeat("x", 1000) + " the cause"
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		s.Record(v1alpha1.PhaseFailed, msg, "cluster", at.Add(time.Duration(i)*time.Minute))
	}
	if len(s.Timeline) != 1 || !strings.HasSuffix(s.Timeline[0].Detail, " the cause") || utf8.RuneCountInString(s.Timeline[0].Detail) != storestatus.MaxDetail {
		t.Errorf("timeline %+v: want one event, cut to its end", s.Timeline)
	}
}

// TestRecordOn_NamesTheCluster: what a cluster's watcher saw names the
// cluster in the timeline, and the same phase seen by another cluster is
// a line of its own.
func TestRecordOn_NamesTheCluster(t *testing.T) {
	var s storestatus.State
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Store = "cat-cafe"
	if !s.RecordOn("eu-1", v1alpha1.PhaseReady, "https://cat-cafe.shop.example.com/", at) {
		t.Fatal("the first event changed nothing")
	}
	if s.RecordOn("eu-1", v1alpha1.PhaseReady, "https://cat-cafe.shop.example.com/", at.Add(time.Minute)) {
		t.Error("the same event again changed the state")
	}
	if !s.RecordOn("us-1", v1alpha1.PhaseReady, "https://cat-cafe.shop.example.com/", at.Add(time.Minute)) {
		t.Error("the event seen by another cluster was not recorded")
	}
	body := storestatus.Body(s, "")
	for _, want := range []string{"| Ready on cluster eu-1: https://cat-cafe.shop.example.com/ |", "| Ready on cluster us-1: "} {
		if !strings.Contains(body, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, body)
		}
	}
	if got := storestatus.Parse(body); len(got.Timeline) != 2 || got.Timeline[0].Cluster != "eu-1" || got.Timeline[0].Source != "cluster" {
		t.Errorf("parsed timeline %+v, want two events, the first from cluster eu-1", got.Timeline)
	}
}
