package apply_test

import (
	"context"
	"slices"
	"testing"

	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
)

// statuses stands in for GitHub's commit statuses: newest first.
type statuses struct {
	sts    []forge.Status
	writes int
}

var _ apply.StatusWriter = (*statuses)(nil)

func (f *statuses) ListStatuses(_ context.Context, _ forge.Repo, sha string) ([]forge.Status, error) {
	var out []forge.Status
	for _, st := range f.sts {
		if st.SHA == sha {
			out = append(out, st)
		}
	}
	return out, nil
}

func (f *statuses) SetStatus(_ context.Context, _ forge.Repo, st forge.Status) error {
	st.Creator = bot.Login
	f.sts = append([]forge.Status{st}, f.sts...)
	f.writes++
	return nil
}

// TestWriteStatus_Cases: the bot sets a status once; its own same word,
// newest of its context, is not set again (a redelivery, its own push's
// event); a changed word is; and another's status of the same context,
// saying the same or not, never stands for the bot's: newer than the
// bot's, it is answered with the bot's word again.
func TestWriteStatus_Cases(t *testing.T) {
	want := forge.Status{SHA: "aaaa", Context: "purrvision/validate", State: "success", Description: "Valid"}
	mine := want
	mine.Creator = bot.Login
	theirs := want
	theirs.Creator = "maint"
	failed := mine
	failed.State, failed.Description = "failure", "spec.plan: unsupported"
	tests := []struct {
		name   string
		have   []forge.Status
		writes int
	}{
		{"none yet", nil, 1},
		{"the bot's own, the same", []forge.Status{mine}, 0},
		{"the bot's own, newest says otherwise", []forge.Status{failed, mine}, 1},
		{"someone else's newer, the same words", []forge.Status{theirs}, 1},
		{"someone else's newer over the bot's same", []forge.Status{theirs, mine}, 1},
		{"someone else's older under the bot's same", []forge.Status{mine, theirs}, 0},
		{"another commit's", []forge.Status{{SHA: "bbbb", Context: want.Context, State: "success", Description: "Valid", Creator: bot.Login}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := &statuses{sts: slices.Clone(tt.have)}
			if err := bot.WriteStatus(context.Background(), gh, tenants, want); err != nil {
				t.Fatal(err)
			}
			if gh.writes != tt.writes {
				t.Errorf("%d writes, want %d", gh.writes, tt.writes)
			}
		})
	}
}
