package service_test

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/app"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

// rolloutChecks are the check runs purrvision/rollout the bot's App
// created on sha.
func (h *harness) rolloutChecks(sha string) []ghstandin.CheckRun {
	return h.botRuns(sha, v1alpha1.RolloutCheckName)
}

// TestRollout_WaveCheckRun: each wave's pull request carries the check run
// purrvision/rollout at its head with the wave's grouped summary, once,
// however often the rollout is reconciled.
func TestRollout_WaveCheckRun(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.seedFleet("cat-cafe", "dog-deli", "owl-outlet")
	started := h.startRollout("1,100%", "0")
	id := started.State.ID
	pr1, wave1 := h.openWave(id, 1)
	h.tick()
	runs := h.rolloutChecks(pr1.GetHead().GetSHA())
	if len(runs) != 1 {
		t.Fatalf("%d check runs %s of the bot on wave 1's head, want 1: %+v", len(runs), v1alpha1.RolloutCheckName, h.gh.CheckRuns(tenantsRepo, pr1.GetHead().GetSHA()))
	}
	r := runs[0]
	if r.Conclusion != "success" || !strings.Contains(r.Title, "wave 1") || !strings.Contains(r.Summary, "1 store") ||
		!strings.Contains(r.Summary, wave1[0]) || !strings.Contains(r.Summary, oldChart) || r.DetailsURL != started.Issue.URL {
		t.Errorf("wave 1's check run: %+v", r)
	}
	if len(r.Summary) > forge.MaxCheckSummary || len(r.Title) > forge.MaxCheckTitle {
		t.Errorf("the check run is over GitHub's limits: title %d, summary %d", len(r.Title), len(r.Summary))
	}

	h.merge(pr1.GetNumber())
	h.tick()
	h.deploy(wave1[0], "success", "Ready")
	h.tick()
	pr2, wave2 := h.openWave(id, 2)
	runs = h.rolloutChecks(pr2.GetHead().GetSHA())
	if len(runs) != 1 || !strings.Contains(runs[0].Title, "wave 2") || !strings.Contains(runs[0].Summary, "2 stores") {
		t.Fatalf("wave 2's check runs: %+v (stores %v)", runs, wave2)
	}
}

// TestRollout_WaveWithoutChecksPermission: GitHub's 403 for the check run
// (a token, or an App without checks: write) leaves the waves' pull
// requests open as ever, with a warning saying what to grant.
func TestRollout_WaveWithoutChecksPermission(t *testing.T) {
	h := newHarness(t, harnessOptions{wrap: func(c app.GitHub) app.GitHub { return noChecks{c} }})
	h.seedFleet("cat-cafe", "dog-deli")
	started := h.startRollout("1,100%", "0")
	pr1, wave1 := h.openWave(started.State.ID, 1)
	if runs := h.rolloutChecks(pr1.GetHead().GetSHA()); len(runs) != 0 {
		t.Errorf("check runs despite the 403: %+v", runs)
	}
	// The service opens wave 2, and logs the warning.
	h.mergePastTheRules(pr1.GetNumber())
	h.tick()
	h.deploy(wave1[0], "success", "Ready")
	h.tick()
	h.openWave(started.State.ID, 2)
	if !strings.Contains(h.logs.String(), "grant the GitHub App checks: write") {
		t.Error("no warning says what to grant")
	}
}
