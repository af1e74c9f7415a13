package storestatus_test

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/storestatus"
)

func TestBody_ParseRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := storestatus.State{Store: "cat-cafe", Pull: 3, PullURL: "https://github.com/acme/tenants/pull/3"}
	s.Record(v1alpha1.PhaseMerged, "by @maintainer", "github", at)
	s.Record(v1alpha1.PhaseFailed, `install failed: "x" --> <b>|y|</b>`, "cluster", at.Add(time.Minute))
	body := storestatus.Body(s)
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
		got := storestatus.Parse(storestatus.Body(s))
		if !reflect.DeepEqual(got, s) {
			// JSON cannot carry invalid UTF-8 unchanged: it becomes U+FFFD.
			if !utf8.ValidString(store) || !utf8.ValidString(detail) {
				return
			}
			t.Fatalf("round trip:\n got %+v\nwant %+v\nbody:\n%s", got, s, storestatus.Body(s))
		}
	})
}

func TestParse_StateOnlyWhereBodyPutsIt(t *testing.T) {
	real := storestatus.Body(storestatus.State{Store: "cat-cafe", Phase: v1alpha1.PhasePendingReview})
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
