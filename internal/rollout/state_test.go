package rollout

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

func TestObservation_Outcome(t *testing.T) {
	tests := []struct {
		name string
		obs  Observation
		want Outcome
		msg  string
	}{
		{"no deployment of the wave yet", Observation{Store: "a"}, Pending, ""},
		{"success of an older revision", Observation{Store: "a", State: "success"}, Pending, ""},
		{"success at the wave's revision", Observation{Store: "a", Deployed: true, State: "success"}, Ready, ""},
		{"failure at the wave's revision", Observation{Store: "a", Deployed: true, State: "failure", Description: "install failed"}, Failed, "install failed"},
		{"error", Observation{Store: "a", Deployed: true, State: "error", Description: "boom"}, Failed, "boom"},
		{"failure of an older revision", Observation{Store: "a", State: "failure"}, Pending, ""},
		{"queued", Observation{Store: "a", Deployed: true, State: "queued"}, Pending, ""},
		{"in progress", Observation{Store: "a", Deployed: true, State: "in_progress"}, Pending, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.obs.Outcome()
			if got.Outcome != tt.want || got.Message != tt.msg || got.Store != "a" {
				t.Errorf("Outcome() = %+v, want %v %q", got, tt.want, tt.msg)
			}
		})
	}
}

func TestGate(t *testing.T) {
	ready := func(s string) Observation { return Observation{Store: s, Deployed: true, State: "success"} }
	failed := func(s string) Observation {
		return Observation{Store: s, Deployed: true, State: "failure", Description: s + " failed"}
	}
	pending := func(s string) Observation { return Observation{Store: s, Deployed: true, State: "queued"} }
	tests := []struct {
		name     string
		obs      []Observation
		max      MaxFailures
		accepted bool
		want     Decision
	}{
		{"all ready", []Observation{ready("a"), ready("b")}, MaxFailures{}, false, Continue},
		{"one pending", []Observation{ready("a"), pending("b")}, MaxFailures{}, false, Wait},
		{"a failure over a budget of 0", []Observation{ready("a"), failed("b")}, MaxFailures{}, false, Pause},
		{"over budget pauses without waiting", []Observation{pending("a"), failed("b")}, MaxFailures{}, false, Pause},
		{"a failure within a budget of 1", []Observation{ready("a"), failed("b")}, MaxFailures{Count: 1}, false, Continue},
		{"within budget, still pending", []Observation{pending("a"), failed("b")}, MaxFailures{Count: 1}, false, Wait},
		{"two failures over 1", []Observation{failed("a"), failed("b")}, MaxFailures{Count: 1}, false, Pause},
		{"resumed past its failures", []Observation{failed("a"), failed("b"), ready("c")}, MaxFailures{}, true, Continue},
		{"resumed, still pending", []Observation{failed("a"), pending("b")}, MaxFailures{}, true, Wait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Gate(GateInput{Wave: &WaveState{Accepted: tt.accepted}, Observations: tt.obs, MaxFailures: tt.max})
			if v.Decision != tt.want {
				t.Errorf("Gate() = %s (%+v), want %s", v.Decision, v, tt.want)
			}
			for _, f := range v.Failed {
				if f.Message != f.Store+" failed" {
					t.Errorf("failed store %s has message %q, want Flux's", f.Store, f.Message)
				}
			}
		})
	}
}

func TestParseBranch(t *testing.T) {
	tests := []struct {
		branch string
		id     string
		revert bool
		wave   int
		ok     bool
	}{
		{WaveBranch("20261130-abcdef", 1), "20261130-abcdef", false, 1, true},
		{WaveBranch("20261130-abcdef", 12), "20261130-abcdef", false, 12, true},
		{RevertBranch("20261130-abcdef", 2), "20261130-abcdef", true, 2, true},
		{"rollout/x/wave-0", "", false, 0, false},
		{"rollout/x/wave-1/more", "", false, 0, false},
		{"rollout/X/wave-1", "", false, 0, false},
		{"store/x", "", false, 0, false},
		{"rollout/../wave-1", "", false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.branch, func(t *testing.T) {
			id, revert, wave, ok := ParseBranch(tt.branch)
			if id != tt.id || revert != tt.revert || wave != tt.wave || ok != tt.ok {
				t.Errorf("ParseBranch(%q) = %q %t %d %t", tt.branch, id, revert, wave, ok)
			}
		})
	}
}

// smallFleet is a tree of stores rendered at chart 0.0.9, and today's
// config (the example's chart).
func smallFleet(t *testing.T, stores ...string) (testutil.Tree, *config.Config) {
	t.Helper()
	cfg := exampleConfig(t)
	old := withChart(cfg, "0.0.9")
	var specs []storeSpec
	for _, s := range stores {
		specs = append(specs, storeSpec{name: s, plan: "small"})
	}
	return testutil.Tree(fleetFiles(t, old, sealedSecrets(t, cfg), specs)), cfg
}

func TestNextWave(t *testing.T) {
	stores := []string{"a-store", "b-store", "c-store", "d-store"}
	tree, cfg := smallFleet(t, stores...)
	p := plan(t, cfg, tree)
	start := func() *State {
		return &State{ID: "r1", Waves: "1,50%,100%", MaxFailures: "0", Phase: Active, Fleet: p.StoreNames(), Changes: Signatures(p)}
	}
	canary := CanaryOrder(stores, "r1")

	t.Run("first wave is the canary", func(t *testing.T) {
		next, err := NextWave(NextInput{State: start(), Plan: p})
		if err != nil {
			t.Fatal(err)
		}
		if next.Done || next.Wave.Number != 1 || !slices.Equal(next.Wave.Stores, canary[:1]) || next.Replanned {
			t.Errorf("NextWave() = %+v, want wave 1 of %s", next, canary[0])
		}
	})
	t.Run("after a merged wave, the next share", func(t *testing.T) {
		st := start()
		st.WaveList = []WaveState{{Number: 1, Stores: canary[:1], MergeCommit: "m1"}}
		// The canary is re-rendered on the base branch now.
		now := applied(tree, p.Only(canary[:1]))
		next, err := NextWave(NextInput{State: st, Plan: plan(t, cfg, now)})
		if err != nil {
			t.Fatal(err)
		}
		if next.Wave.Number != 2 || !slices.Equal(next.Wave.Stores, canary[1:2]) {
			t.Errorf("NextWave() = %+v, want wave 2 of %s", next.Wave, canary[1])
		}
	})
	t.Run("a closed wave opens again with its number", func(t *testing.T) {
		st := start()
		st.WaveList = []WaveState{{Number: 1, Stores: canary[:1], Closed: true}}
		next, err := NextWave(NextInput{State: st, Plan: p})
		if err != nil {
			t.Fatal(err)
		}
		if next.Wave.Number != 1 || !slices.Equal(next.Wave.Stores, canary[:1]) {
			t.Errorf("NextWave() = %+v, want wave 1 again", next.Wave)
		}
	})
	t.Run("a pending store is left for later", func(t *testing.T) {
		next, err := NextWave(NextInput{State: start(), Plan: p, Pending: map[string]bool{canary[0]: true}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(next.Wave.Stores, canary[1:2]) || !slices.Equal(next.Wave.Deferred, canary[:1]) {
			t.Errorf("NextWave() = %+v, want %s deferred", next.Wave, canary[0])
		}
	})
	t.Run("stores that no longer change count as done", func(t *testing.T) {
		st := start()
		st.WaveList = []WaveState{{Number: 1, Stores: canary[:1], MergeCommit: "m1"}}
		// A store command rendered two more with today's config.
		now := applied(tree, p.Only(canary[:3]))
		next, err := NextWave(NextInput{State: st, Plan: plan(t, cfg, now)})
		if err != nil {
			t.Fatal(err)
		}
		if next.Wave.Number != 3 || !slices.Equal(next.Wave.Stores, canary[3:]) {
			t.Errorf("NextWave() = %+v, want wave 3 of %s only", next.Wave, canary[3])
		}
	})
	t.Run("done, with the pending stores left", func(t *testing.T) {
		st := start()
		st.WaveList = []WaveState{{Number: 3, Stores: canary[:3], MergeCommit: "m3"}}
		now := applied(tree, p.Only(canary[:3]))
		next, err := NextWave(NextInput{State: st, Plan: plan(t, cfg, now), Pending: map[string]bool{canary[3]: true}})
		if err != nil {
			t.Fatal(err)
		}
		if !next.Done || !slices.Equal(next.Left, canary[3:]) {
			t.Errorf("NextWave() = %+v, want done with %s left", next, canary[3])
		}
	})
	t.Run("a config change re-plans the next wave", func(t *testing.T) {
		st := start()
		st.WaveList = []WaveState{{Number: 1, Stores: canary[:1], MergeCommit: "m1"}}
		now := applied(tree, p.Only(canary[:1]))
		next, err := NextWave(NextInput{State: st, Plan: plan(t, withPlanCPU(cfg, "small", "3"), now)})
		if err != nil {
			t.Fatal(err)
		}
		if !next.Replanned {
			t.Errorf("NextWave() = %+v, want it re-planned", next)
		}
	})
}

func TestPlanRevert(t *testing.T) {
	before, cfg := smallFleet(t, "a-store", "b-store", "c-store")
	p := plan(t, cfg, before)
	now := applied(before, p)
	dir := func(s string) string { return renderer.StoreDir(cfg, "default", s) }
	// Since the wave: a-store's admin Secret rotated and its backup
	// password made, c-store gone.
	rotated := []byte("rotated admin secret\n")
	now[path.Join(dir("a-store"), renderer.FileSecret)] = rotated
	backupPW := []byte("sealed backup password\n")
	now[path.Join(dir("a-store"), renderer.FileBackupPasswordSecret)] = backupPW
	for k := range now {
		if strings.HasPrefix(k, dir("c-store")+"/") {
			delete(now, k)
		}
	}
	rev, err := PlanRevert(RevertInput{Config: cfg, Before: before, Now: now, Base: "0123456789012345678901234567890123456789",
		Stores: []string{"a-store", "b-store", "c-store", "d-store"}, ID: "r1", Wave: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rev.Stores, []string{"a-store", "b-store"}) || len(rev.Skipped) != 2 {
		t.Fatalf("reverts %v, skips %+v", rev.Stores, rev.Skipped)
	}
	got := now.With(rev.Commit.Changes)
	for _, s := range []string{"a-store", "b-store"} {
		hr := path.Join(dir(s), renderer.FileHelmRelease)
		if string(got[hr]) != string(before[hr]) {
			t.Errorf("%s: the HelmRelease is not as before the wave", s)
		}
	}
	if sec := path.Join(dir("a-store"), renderer.FileSecret); string(got[sec]) != string(rotated) {
		t.Error("a-store: the revert brought its old Secret back")
	}
	if pw := path.Join(dir("a-store"), renderer.FileBackupPasswordSecret); string(got[pw]) != string(backupPW) {
		t.Error("a-store: the revert removed the backup password made since the wave")
	}
	if !strings.Contains(rev.Commit.Message, "Rollout: r1") || !strings.Contains(rev.Commit.Message, "Wave: 1") {
		t.Errorf("message lacks the trailers:\n%s", rev.Commit.Message)
	}

	again, err := PlanRevert(RevertInput{Config: cfg, Before: before, Now: got, Stores: []string{"a-store", "b-store"}, ID: "r1", Wave: 1})
	if err != nil {
		t.Fatal(err)
	}
	if again.Commit != nil {
		t.Errorf("a revert of reverted stores changes %d files", len(again.Commit.Changes))
	}
}

func TestTableAndPauseComment(t *testing.T) {
	st := &State{ID: "r1", Waves: "1,100%", MaxFailures: "0", Phase: Paused, Reason: "wave 2 has 1 failed stores", Fleet: names(3),
		WaveList: []WaveState{
			{Number: 1, PullState: PullState{Pull: 7, URL: "https://github.com/acme/tenants/pull/7"}, Stores: names(1), Ready: 1, MergeCommit: "m"},
			{Number: 2, PullState: PullState{Pull: 9}, Stores: names(2), Ready: 1, Failed: []Result{{Store: "s", Outcome: Failed, Message: "x"}}, MergeCommit: "m2", Replanned: true},
		}}
	table := Table(st)
	for _, want := range []string{"**paused**: wave 2", "| 1 | https://github.com/acme/tenants/pull/7 (merged) | 1 | 1 | 0 |", "| 2 (re-planned) | #9 (merged) | 2 | 1 | 1 |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	var failed []Result
	for i := range MaxPauseList + 5 {
		failed = append(failed, Result{Store: fmt.Sprintf("store-%03d", i), Outcome: Failed, Message: "Helm install failed: `oops`"})
	}
	c := PauseComment(&WaveState{Number: 2}, Verdict{Failed: failed, Allowed: 0})
	if !strings.Contains(c, "store-000") || !strings.Contains(c, "and 5 more") || strings.Contains(c, fmt.Sprintf("store-%03d", MaxPauseList)) {
		t.Errorf("pause comment is not bounded to %d stores:\n%s", MaxPauseList, c)
	}
	if !strings.Contains(c, "Helm install failed") {
		t.Errorf("pause comment lacks Flux's message:\n%s", c)
	}
}

// TestNextWave_MixedPlansNotReplanned: a chart bump over stores of several
// plans is one change; the canary wave (one store, so one plan) is not
// "replanned" for being of a single plan (the newcomer saw wave 1 say the
// start's plan did not foresee the very change it listed).
func TestNextWave_MixedPlansNotReplanned(t *testing.T) {
	cfg := exampleConfig(t)
	old := withChart(cfg, "0.0.9")
	specs := []storeSpec{{name: "a-store", plan: "small"}, {name: "b-store", plan: "medium"}, {name: "c-store", plan: "large"}}
	tree := testutil.Tree(fleetFiles(t, old, sealedSecrets(t, cfg), specs))
	p := plan(t, cfg, tree)
	st := &State{ID: "r1", Waves: "1,100%", MaxFailures: "0", Phase: Active, Fleet: p.StoreNames(), Changes: Signatures(p)}
	next, err := NextWave(NextInput{State: st, Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Wave.Stores) != 1 || next.Replanned {
		t.Fatalf("NextWave() = %+v; want the canary, not replanned", next)
	}
}
