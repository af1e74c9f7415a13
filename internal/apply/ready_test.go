package apply_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
)

// TestBranchReady_Cases: a bot branch's head is ready only when it is the
// commit the bot recorded pushing; a head someone else moved, or a branch
// with no recorded push, fails and says so, never success.
func TestBranchReady_Cases(t *testing.T) {
	for _, tt := range []struct {
		name, head, pushed string
		want               string
		says               string
	}{
		{name: "the commit the bot pushed", head: "aaaa", pushed: "aaaa", want: "success", says: "recorded pushing"},
		{name: "moved by someone else", head: "bbbb", pushed: "aaaa", want: "failure", says: "someone else moved the branch"},
		{name: "no push recorded", head: "bbbb", pushed: "", want: "failure", says: "not the commit Purrvision recorded pushing"},
		{name: "no head", head: "", pushed: "", want: "failure", says: "not the commit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := apply.BranchReady(tt.head, tt.pushed, "store cat-cafe's resize")
			if run.Name != v1alpha1.ReadyCheckName || run.HeadSHA != tt.head || run.Conclusion != tt.want || !strings.Contains(run.Output.Summary, tt.says) {
				t.Errorf("BranchReady(%q, %q) = %+v, want %s saying %q", tt.head, tt.pushed, run, tt.want, tt.says)
			}
		})
	}
}

// TestWriteReady_AnotherAppsRunIsNotTheBots: a purrvision/ready of another
// App on the same commit, success or not, is never taken for the bot's:
// the bot writes its own verdict beside it, and leaves it alone.
func TestWriteReady_AnotherAppsRunIsNotTheBots(t *testing.T) {
	forged := forge.CheckRun{ID: 1, App: "mallory-app[bot]", Name: v1alpha1.ReadyCheckName, HeadSHA: "bbbb", Conclusion: "success",
		Output: forge.CheckOutput{Title: "Ready"}}
	gh := &checks{runs: []forge.CheckRun{forged}}
	want := apply.BranchReady("bbbb", "aaaa", "store cat-cafe's render")
	if err := bot.WriteReady(ctx, gh, want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gh.writes, []string{"create"}) {
		t.Fatalf("writes %q, want the bot's own run created", gh.writes)
	}
	if gh.runs[0].App != bot.Login || gh.runs[0].Conclusion != "failure" || gh.runs[1] != forged {
		t.Errorf("runs %+v, want the bot's failure beside the other App's untouched run", gh.runs)
	}
	gh.writes = nil
	if err := bot.WriteReady(ctx, gh, want); err != nil || len(gh.writes) != 0 {
		t.Errorf("second run wrote %q, %v", gh.writes, err)
	}
}

// TestWriteReady_ForbiddenGoesOn: GitHub's 403 is logged, saying merges are
// blocked; another error is returned.
func TestWriteReady_ForbiddenGoesOn(t *testing.T) {
	gh := &checks{fail: forge.ErrForbidden}
	run := apply.Ready("abc", true, "t", "s")
	if err := bot.WriteReady(ctx, gh, run); err != nil {
		t.Errorf("WriteReady = %v, want nil on 403", err)
	}
	gh.fail = errors.New("boom")
	if err := bot.WriteReady(ctx, gh, run); err == nil {
		t.Error("WriteReady = nil on another error")
	}
}
