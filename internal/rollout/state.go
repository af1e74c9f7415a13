package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// Phase is where a rollout is.
type Phase string

// Phases of a rollout.
const (
	// Active: a wave is open or merged and followed; the next one opens
	// by itself.
	Active Phase = "active"
	// Paused: over budget, or a wave's pull request was closed or pushed
	// to by hand; nothing moves until someone resumes it.
	Paused Phase = "paused"
	// Done: every wave is merged and settled.
	Done Phase = "done"
	// Aborted: someone stopped it; its open wave was closed.
	Aborted Phase = "aborted"
)

// Open reports whether the rollout still counts as the one open rollout.
func (p Phase) Open() bool { return p == Active || p == Paused }

// State is what a rollout records of itself, in the ledger record of its
// tracking issue: everything it must find again after a restart.
type State struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Waves and MaxFailures are the flags it was started with.
	Waves       string `json:"waves"`
	MaxFailures string `json:"maxFailures"`
	Phase       Phase  `json:"phase"`
	// Reason says why it is paused or aborted.
	Reason string `json:"reason,omitempty"`
	// Pauses counts the times it paused.
	Pauses int `json:"pauses,omitempty"`
	// Fleet are the stores the plan changed when it started: the fleet its
	// shares are of.
	Fleet []string `json:"fleet"`
	// Changes are the signatures of the plan's groups when it started;
	// a later wave whose change is not among them says so.
	Changes   []string  `json:"changes"`
	Started   time.Time `json:"started"`
	StartedBy string    `json:"startedBy,omitempty"`
	// StartedFrom is the comment that started it ("acme/stores#12
	// comment 345"), for a rollout started by `/purrvision rollout start`
	// on an issue: a redelivery of that comment finds it started.
	StartedFrom string `json:"startedFrom,omitempty"`
	// WaveList are the waves opened, in order.
	WaveList []WaveState `json:"waveList,omitempty"`
	// Reverts are the pull requests of revert commands, by wave.
	Reverts map[string]PullState `json:"reverts,omitempty"`
	// LastError is the write that failed last, until it succeeds; nil
	// when the last attempt of each write succeeded.
	LastError *Failure `json:"lastError,omitempty"`
}

// Failure is a write of a rollout that failed, to be tried again: what it
// was doing ("open the pull request of wave 2"), what GitHub or git said,
// and when.
type Failure struct {
	Action  string    `json:"action"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// String says it as the status page shows it: "could not open the pull
// request of wave 2: ..., retrying", on one line of at most maxLine
// characters of the message.
func (f *Failure) String() string {
	msg := oneLine(f.Message)
	if r := []rune(msg); len(r) > maxLine {
		msg = string(r[:maxLine]) + "…"
	}
	return "could not " + f.Action + ": " + msg + ", retrying"
}

// StoreID is who a store is: the issue that asked for it and its owner,
// as the tenants repo's request copy records them. A store's name is a
// label that can be reused after a decommission; a store of the same name
// and another StoreID is another store.
type StoreID struct {
	Issue string `json:"issue,omitempty"`
	Owner string `json:"owner"`
}

// PullState is a pull request the bot opened and the commit it pushed.
type PullState struct {
	Branch string `json:"branch"`
	// Pushed is the commit the bot pushed last onto Branch.
	Pushed string `json:"pushed,omitempty"`
	Pull   int    `json:"pull,omitempty"`
	URL    string `json:"url,omitempty"`
	// MergeCommit is the pull request's merge, once merged at Pushed.
	MergeCommit string `json:"mergeCommit,omitempty"`
}

// WaveState is one wave of a rollout.
type WaveState struct {
	Number int `json:"number"`
	PullState
	Stores []string `json:"stores"`
	// IDs are who each of Stores is, by name, as the commit the bot
	// pushed found them: the stores the wave changes. The gate, a revert
	// and the merge act only on a store of the name that is still the
	// same one.
	IDs      map[string]StoreID `json:"ids,omitempty"`
	Deferred []string           `json:"deferred,omitempty"`
	// Replanned: today's config changes these stores in a way the plan at
	// the start did not.
	Replanned bool      `json:"replanned,omitempty"`
	Opened    time.Time `json:"opened"`
	// Closed: its pull request was closed without a merge.
	Closed      bool   `json:"closed,omitempty"`
	MergeCommit string `json:"mergeCommit,omitempty"`
	MergedBy    string `json:"mergedBy,omitempty"`
	// ApprovedBy are the approving reviewers with write access.
	ApprovedBy []string  `json:"approvedBy,omitempty"`
	Merged     time.Time `json:"merged,omitzero"`
	Ready      int       `json:"ready"`
	Failed     []Result  `json:"failed,omitempty"`
	// Settled is when the gate let the rollout go on past this wave.
	Settled time.Time `json:"settled,omitzero"`
	// Accepted: resumed past its failures by someone's command.
	Accepted bool `json:"accepted,omitempty"`
}

// Last is the newest wave, nil before the first.
func (s *State) Last() *WaveState {
	if len(s.WaveList) == 0 {
		return nil
	}
	return &s.WaveList[len(s.WaveList)-1]
}

// Wave returns wave n, nil when it was not opened.
func (s *State) Wave(n int) *WaveState {
	for i := range s.WaveList {
		if s.WaveList[i].Number == n {
			return &s.WaveList[i]
		}
	}
	return nil
}

// WaveBranch is the branch of wave n of rollout id.
func WaveBranch(id string, n int) string {
	return fmt.Sprintf("%s%s/wave-%d", v1alpha1.RolloutBranchPrefix, id, n)
}

// RevertBranch is the branch that reverts wave n of rollout id.
func RevertBranch(id string, n int) string {
	return fmt.Sprintf("%s%s/revert-%d", v1alpha1.RolloutBranchPrefix, id, n)
}

var branchRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.RolloutBranchPrefix) + `([a-z0-9-]{1,40})/(wave|revert)-([0-9]{1,2})$`)

// ParseBranch reads a rollout branch: the rollout's ID, whether it
// reverts, and the wave's number.
func ParseBranch(branch string) (id string, revert bool, wave int, ok bool) {
	m := branchRE.FindStringSubmatch(branch)
	if m == nil {
		return "", false, 0, false
	}
	n, err := strconv.Atoi(m[3])
	if err != nil || n < 1 {
		return "", false, 0, false
	}
	return m[1], m[2] == "revert", n, true
}

var idRE = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// ValidID reports whether id can name a rollout (and its branches).
func ValidID(id string) bool { return idRE.MatchString(id) }

// Signatures are the changes of the plan's groups, one short hash each,
// sorted: what two plans are compared by, whatever their stores.
func Signatures(p *Plan) []string {
	seen := map[string]bool{}
	for _, g := range p.Groups {
		seen[g.signature()] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// signature is what the group changes, without its stores or their count.
func (g *Group) signature() string {
	h := sha256.New()
	// Not the group's plan: that says which stores share the change, and a
	// subset of them (a wave) may all be of one plan.
	fmt.Fprintf(h, "moved=%t\x00", g.Moved)
	for _, f := range g.Files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", f.Path, f.Kind, f.Summary)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// NextInput is what NextWave reads.
type NextInput struct {
	State *State
	// Plan is today's plan of the fleet, from the base branch now.
	Plan *Plan
	// Pending are stores with an open store pull request.
	Pending map[string]bool
}

// Next is the wave NextWave picked.
type Next struct {
	// Wave is the wave to open; its Stores are empty when the rollout is
	// done.
	Wave Wave
	// Done: no store is left to change (but the Left ones, pending).
	Done bool
	// Left are the stores still to change that only pending store pull
	// requests hold back, when the rollout is done.
	Left []string
	// Replanned: the wave's stores change in a way the plan at the start
	// did not (the config changed meanwhile).
	Replanned bool
	// Changes are the signatures of the wave's change, Replanned or not.
	Changes []string
}

// NextWave plans the wave after the rollout's last: the stores of today's
// plan not done by an earlier wave, in the rollout's canary order, up to
// the next share of --waves that has any. Stores that no longer change
// (a store command rendered them with today's config) count as done. It
// does not look at whether the last wave is settled; the gate does.
func NextWave(in NextInput) (Next, error) {
	st := in.State
	waves, err := ParseWaves(st.Waves)
	if err != nil {
		return Next{}, err
	}
	changes := map[string]bool{}
	for _, s := range in.Plan.StoreNames() {
		changes[s] = true
	}
	fleet := slices.Clone(st.Fleet)
	for s := range changes {
		if !slices.Contains(st.Fleet, s) {
			fleet = append(fleet, s)
		}
	}
	sort.Strings(fleet)
	done := map[string]bool{}
	for _, w := range st.WaveList {
		if w.MergeCommit == "" {
			continue // a closed wave's stores are still to do
		}
		for _, s := range w.Stores {
			done[s] = true
		}
	}
	for _, s := range fleet {
		if !changes[s] {
			done[s] = true
		}
	}
	from := 1
	if last := st.Last(); last != nil {
		from = last.Number + 1
		if last.MergeCommit == "" {
			from = last.Number // opened again
		}
	}
	for n := from; n <= len(waves); n++ {
		w, err := PlanWave(WaveInput{Stores: fleet, Seed: st.ID, Waves: waves, Number: n, Done: done, Pending: in.Pending})
		if err != nil {
			return Next{}, err
		}
		if len(w.Stores) == 0 {
			continue
		}
		sigs := Signatures(in.Plan.Only(w.Stores))
		replanned := false
		for _, s := range sigs {
			if !slices.Contains(st.Changes, s) {
				replanned = true
			}
		}
		return Next{Wave: w, Replanned: replanned, Changes: sigs}, nil
	}
	out := Next{Done: true}
	for _, s := range fleet {
		if !done[s] {
			out.Left = append(out.Left, s)
		}
	}
	return out, nil
}

// Observation is what GitHub says of one store of a merged wave.
type Observation struct {
	Store string
	// Deployed: the store has a deployment whose commit holds the wave's
	// merge commit.
	Deployed bool
	// State and Description are the deployment's latest status, as the
	// watcher set it: success, failure, error, in_progress, queued.
	State       string
	Description string
}

// Outcome is the store's outcome in the wave: Ready once its deployment
// at the wave's revision succeeded, Failed when it failed there, Pending
// before Flux applied the wave or while it works.
func (o Observation) Outcome() Result {
	r := Result{Store: o.Store, Outcome: Pending}
	if !o.Deployed {
		return r
	}
	switch o.State {
	case "success":
		r.Outcome = Ready
	case "failure", "error":
		r.Outcome, r.Message = Failed, o.Description
	}
	return r
}

// GateInput is what Gate reads.
type GateInput struct {
	Wave         *WaveState
	Observations []Observation
	MaxFailures  MaxFailures
}

// Gate decides, for a merged wave, from what GitHub says of its stores:
// Continue (open the next wave), Wait, or Pause over budget. A wave
// someone resumed past its failures continues once nothing is pending.
func Gate(in GateInput) Verdict {
	results := make([]Result, len(in.Observations))
	for i, o := range in.Observations {
		results[i] = o.Outcome()
	}
	max := in.MaxFailures
	if in.Wave.Accepted {
		max = MaxFailures{BasisPoints: 10000}
	}
	return Budget(results, max)
}

// Time formats a time of the table of waves.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// MaxPauseList bounds the failed stores a pause comment lists.
const MaxPauseList = 50

// PauseComment lists the failed stores of a wave with Flux's message.
func PauseComment(w *WaveState, v Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rollout paused: wave %d has %s failed, over the budget of %d.\n\n", w.Number, countStores(len(v.Failed)), v.Allowed)
	for i, f := range v.Failed {
		if i == MaxPauseList {
			fmt.Fprintf(&b, "- and %s more\n", thousands(len(v.Failed)-i))
			break
		}
		fmt.Fprintf(&b, "- %s: %s\n", codeSpan(f.Store, 60), codeSpan(f.Message, maxLine))
	}
	b.WriteString("\nNo further wave opens. `/purrvision rollout resume` goes on past these failures, `/purrvision rollout revert " +
		strconv.Itoa(w.Number) + "` opens a pull request that puts this wave's stores back, `/purrvision rollout abort` stops the rollout.\n")
	return b.String()
}

// Table is the tracking issue's table of waves: stores, Ready, failed,
// time, and the rollout's phase above it.
func Table(st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n### Rollout %s: %s\n\n", v1alpha1.MarkerRollout, st.ID, phaseLine(st))
	fmt.Fprintf(&b, "Waves `%s`, at most `%s` failures a wave, %s in all.\n\n", st.Waves, st.MaxFailures, countStores(len(st.Fleet)))
	if st.LastError != nil {
		fmt.Fprintf(&b, "> [!WARNING]\n> Could not %s: %s, retrying (since %s).\n\n", st.LastError.Action, codeSpan(st.LastError.Message, maxLine), Time(st.LastError.Time))
	}
	if len(st.WaveList) == 0 {
		b.WriteString("No wave opened yet.\n")
		return b.String()
	}
	b.WriteString("| Wave | Pull request | Stores | Ready | Failed | Time |\n|---|---|---|---|---|---|\n")
	for _, w := range st.WaveList {
		pr := "not opened yet"
		if w.Pull != 0 {
			pr = fmt.Sprintf("#%d", w.Pull)
			if w.URL != "" {
				pr = w.URL
			}
		}
		var when string
		switch {
		case w.Closed:
			pr += " (closed without merge)"
			when = at("opened", w.Opened)
		case !w.Settled.IsZero():
			pr += " (merged)"
			when = at("settled", w.Settled)
		case w.MergeCommit != "":
			pr += " (merged)"
			when = at("merged", w.Merged)
		default:
			when = at("opened", w.Opened)
		}
		note := ""
		if w.Replanned {
			note = " (re-planned)"
		}
		if rv, ok := st.Reverts[strconv.Itoa(w.Number)]; ok && rv.MergeCommit != "" {
			note += " (reverted)"
			if rv.URL != "" {
				when += ", reverted by " + rv.URL
			}
		}
		fmt.Fprintf(&b, "| %d%s | %s | %s | %s | %s | %s |\n", w.Number, note, pr, thousands(len(w.Stores)), thousands(w.Ready), thousands(len(w.Failed)), when)
	}
	return b.String()
}

// at is "merged 2026-11-30 12:00 UTC", or the word alone without a time.
func at(what string, t time.Time) string {
	if t.IsZero() {
		return what
	}
	return what + " " + Time(t)
}

func phaseLine(st *State) string {
	switch st.Phase {
	case Done:
		return "**done**"
	case Paused:
		return "**paused**: " + oneLine(st.Reason)
	case Aborted:
		return "**aborted**: " + oneLine(st.Reason)
	}
	return "**in progress**"
}
