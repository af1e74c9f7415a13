// Package storestatus is the one progress comment on a store's issue: the
// state Purrvision keeps there (hidden JSON) and the timeline it shows.
// The request flow and the cluster watcher both write it, so a store's
// issue reads as one timeline, and no state lives in a process's memory.
package storestatus

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// State is what Purrvision records about a store.
type State struct {
	Store       string `json:"store,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	Pull        int    `json:"pull,omitempty"`
	PullURL     string `json:"pullURL,omitempty"`
	Operation   string `json:"operation,omitempty"`
	MergeCommit string `json:"mergeCommit,omitempty"`
	// Branch is the commit the bot last pushed to the store's branch: only
	// a branch at that commit holds what the bot wrote.
	Branch     string         `json:"branch,omitempty"`
	MergedBy   string         `json:"mergedBy,omitempty"`
	ApprovedBy []string       `json:"approvedBy,omitempty"`
	Phase      v1alpha1.Phase `json:"phase,omitempty"`
	URL        string         `json:"url,omitempty"`
	Timeline   []Event        `json:"timeline,omitempty"`
	// Omitted counts the events left out of Timeline to keep the comment
	// within GitHub's limit (see Bounded).
	Omitted int `json:"omitted,omitempty"`
	// LastError is the write on GitHub that failed last, while it keeps
	// failing; nil once it succeeds.
	LastError *LastError `json:"lastError,omitempty"`
}

// LastError is a write of the bot's that failed, shown until it succeeds.
type LastError struct {
	// Action is what the bot was doing: "open the pull request".
	Action string `json:"action"`
	// Message is what GitHub answered, neutralized by the writer (it is
	// text from GitHub) and at most MaxErrorMessage characters.
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// MaxErrorMessage bounds LastError.Message, in characters.
const MaxErrorMessage = 300

// Text is the error as a person reads it: "could not open the pull
// request: <message>, retrying".
func (e LastError) Text() string {
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	return "could not " + e.Action + msg + ", retrying"
}

// Event is one line of the timeline.
type Event struct {
	Phase  v1alpha1.Phase `json:"phase"`
	At     time.Time      `json:"at"`
	Detail string         `json:"detail,omitempty"`
	Source string         `json:"source,omitempty"` // github, git or cluster
	// Commit is the merge commit of a merge the bot recorded.
	Commit string `json:"commit,omitempty"`
	// Cluster is the cluster whose watcher saw the event (source
	// cluster), when the watcher knew its name.
	Cluster string `json:"cluster,omitempty"`
}

var stateRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerState) + ` (\{.*\}) -->\r?$`)

// Parse reads the State of a progress comment: the status marker on the
// first line, the state on the second, where Body puts them and nothing
// the comment quotes can. A missing or garbled one is a fresh State.
func Parse(body string) State {
	var s State
	if !v1alpha1.Marked(body, v1alpha1.MarkerStatus) {
		return s
	}
	lines := strings.SplitN(body, "\n", 3)
	if len(lines) < 2 {
		return s
	}
	if m := stateRE.FindStringSubmatch(lines[1]); m != nil {
		if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
			return State{}
		}
	}
	return s
}

// Record moves the store to phase, adding a timeline line unless the last
// line already says the same. It reports whether anything changed.
func (s *State) Record(phase v1alpha1.Phase, detail, source string, at time.Time) bool {
	return s.record(Event{Phase: phase, At: at, Detail: detail, Source: source})
}

// RecordOn is Record of what the watcher of cluster saw (source
// "cluster"); its line names the cluster.
func (s *State) RecordOn(cluster string, phase v1alpha1.Phase, detail string, at time.Time) bool {
	return s.record(Event{Phase: phase, At: at, Detail: detail, Source: "cluster", Cluster: forge.KeepStart(cluster, maxField)})
}

func (s *State) record(e Event) bool {
	e.Detail = cutDetail(e.Detail, e.Source) // as the timeline keeps it, to compare
	if n := len(s.Timeline); n > 0 && s.Timeline[n-1].Phase == e.Phase && s.Timeline[n-1].Detail == e.Detail && s.Timeline[n-1].Cluster == e.Cluster {
		return s.Phase != e.Phase && s.setPhase(e.Phase)
	}
	s.Phase = e.Phase
	e.At = e.At.UTC().Truncate(time.Second)
	s.Timeline = append(s.Timeline, e)
	return true
}

// RecordMerge records a merge of the store's pull request as commit.
func (s *State) RecordMerge(detail, commit string, at time.Time) {
	s.Phase = v1alpha1.PhaseMerged
	s.Timeline = append(s.Timeline, Event{Phase: v1alpha1.PhaseMerged, At: at.UTC().Truncate(time.Second), Detail: cutDetail(detail, "github"), Source: "github", Commit: commit})
}

// Merges are the merge commits the timeline records.
func (s *State) Merges() map[string]bool {
	out := map[string]bool{}
	for _, e := range s.Timeline {
		if e.Phase == v1alpha1.PhaseMerged && e.Commit != "" {
			out[e.Commit] = true
		}
	}
	return out
}

func (s *State) setPhase(p v1alpha1.Phase) bool { s.Phase = p; return true }

// The bounds of a progress comment, which GitHub refuses past
// forge.MaxBody characters however long a store lives. Whoever can make
// events (Flux's messages, a flapping release, many approvers, an admin
// editing the comment) grows it only within them.
const (
	// MaxDetail is the longest detail of an event, in characters.
	MaxDetail = 280
	// keepFirst events that are not merges are kept from the start of the
	// timeline (the request, its pull request), and keepLast from its end.
	// Merges are all kept, for the audit's trust in them, within maxState.
	keepFirst, keepLast = 3, 30
	// maxState bounds the hidden state's JSON, in bytes; the table shown
	// under it, at most keepFirst+keepLast rows, takes the rest.
	maxState = 36000
	// maxField is the longest of the state's other strings.
	maxField = 200
	// maxApprovers are the approvers kept of one merge.
	maxApprovers = 20
)

// cutDetail bounds an event's detail: Flux puts the cause at the end of
// its messages, people the point at the start of theirs.
func cutDetail(detail, source string) string {
	if source == "cluster" {
		return forge.KeepEnd(detail, MaxDetail)
	}
	return forge.KeepStart(detail, MaxDetail)
}

// Bounded is s as its progress comment keeps it: within its bounds, with
// the events it leaves out counted in Omitted. It keeps the first events,
// every merge and the newest events; past maxState it drops the oldest
// events that are not merges, then the details of the oldest merges, then
// the oldest merges.
func (s State) Bounded() State {
	out := s
	for _, f := range []*string{&out.Store, &out.Cluster, &out.PullURL, &out.Operation, &out.MergeCommit, &out.Branch, &out.MergedBy, &out.URL} {
		*f = forge.KeepStart(*f, maxField)
	}
	out.Phase = v1alpha1.Phase(forge.KeepStart(string(out.Phase), maxField))
	if len(out.ApprovedBy) > maxApprovers {
		out.ApprovedBy = out.ApprovedBy[:maxApprovers]
	}
	out.ApprovedBy = slices.Clone(out.ApprovedBy)
	for i, a := range out.ApprovedBy {
		out.ApprovedBy[i] = forge.KeepStart(a, maxField)
	}
	out.Omitted = max(out.Omitted, 0)
	if s.LastError != nil {
		e := *s.LastError
		e.Action = forge.KeepStart(e.Action, maxField)
		e.Message = forge.KeepStart(e.Message, MaxErrorMessage)
		out.LastError = &e
	}
	var others int
	for _, e := range s.Timeline {
		if !isMerge(e) {
			others++
		}
	}
	out.Timeline = make([]Event, 0, min(len(s.Timeline), keepFirst+keepLast))
	seen := 0
	for _, e := range s.Timeline {
		if !isMerge(e) {
			seen++
			if seen > keepFirst && seen <= others-keepLast {
				out.Omitted++
				continue
			}
		}
		e.Phase = v1alpha1.Phase(forge.KeepStart(string(e.Phase), maxField))
		e.Source = forge.KeepStart(e.Source, maxField)
		e.Commit = forge.KeepStart(e.Commit, maxField)
		e.Cluster = forge.KeepStart(e.Cluster, maxField)
		e.Detail = cutDetail(e.Detail, e.Source)
		out.Timeline = append(out.Timeline, e)
	}
	out.fit()
	return out
}

func isMerge(e Event) bool { return e.Phase == v1alpha1.PhaseMerged && e.Commit != "" }

// fit drops events until the state's JSON is within maxState bytes.
func (s *State) fit() {
	size := func(v any) int {
		data, err := json.Marshal(v)
		if err != nil {
			return 0
		}
		return len(data)
	}
	rest := *s
	rest.Timeline = nil
	total := size(rest) + len(`,"timeline":[]`) + len(`,"omitted":`) + 20
	sizes := make([]int, len(s.Timeline))
	for i, e := range s.Timeline {
		sizes[i] = size(e) + 1
		total += sizes[i]
	}
	drop := func(i int) {
		total -= sizes[i]
		s.Timeline = slices.Delete(s.Timeline, i, i+1)
		sizes = slices.Delete(sizes, i, i+1)
		s.Omitted++
	}
	// Events that are not merges, oldest first, but the first and the
	// newest; then the details of merges, oldest first; then the oldest
	// events of any kind, but the newest, which is the store's state.
	for i := 1; total > maxState && i < len(s.Timeline)-1; {
		if isMerge(s.Timeline[i]) {
			i++
			continue
		}
		drop(i)
	}
	for i := 0; total > maxState && i < len(s.Timeline)-1; i++ {
		if s.Timeline[i].Detail != "" {
			s.Timeline[i].Detail = ""
			n := size(s.Timeline[i]) + 1
			total -= sizes[i] - n
			sizes[i] = n
		}
	}
	for total > maxState && len(s.Timeline) > 1 {
		drop(0)
	}
}

// Body writes the progress comment of a State, bounded (see Bounded) so
// that it stays within forge.MaxBody characters. Its table shows the
// first events and the newest ones, and says how many it leaves out and
// where the whole history is: `purrvision audit <store>`, and the status
// page at statusPage when it is known.
func Body(s State, statusPage string) string {
	s = s.Bounded()
	data, err := json.Marshal(s)
	if err != nil {
		data = []byte("{}")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s %s -->\n", v1alpha1.MarkerStatus, v1alpha1.MarkerState, data)
	fmt.Fprintf(&b, "**Store `%s`: %s**", s.Store, s.Phase.Title())
	if s.Phase == v1alpha1.PhaseReady && s.URL != "" {
		fmt.Fprintf(&b, " at %s", s.URL)
	}
	if s.LastError != nil {
		fmt.Fprintf(&b, "\n\n:warning: %s (since %s UTC).", strings.NewReplacer("\n", " ", "\r", " ").Replace(s.LastError.Text()),
			s.LastError.At.UTC().Format("2006-01-02 15:04:05"))
	}
	if s.Phase == v1alpha1.PhaseDecommissioned {
		b.WriteString("\n\nThe store is gone, and this issue is closed: a decommission is final. A new store needs a new request.")
	}
	b.WriteString("\n\n| when (UTC) | what |\n|---|---|\n")
	rows := s.Timeline
	left := s.Omitted
	if len(rows) > keepFirst+keepLast {
		left += len(rows) - keepFirst - keepLast
	}
	for i, e := range rows {
		if i == keepFirst && left > 0 {
			b.WriteString(omittedRow(left, s.Store, statusPage))
		}
		if len(rows) > keepFirst+keepLast && i >= keepFirst && i < len(rows)-keepLast {
			continue
		}
		line := e.Phase.Title()
		if e.Cluster != "" {
			line += " on cluster " + strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(e.Cluster)
		}
		if e.Detail != "" {
			line += ": " + strings.ReplaceAll(e.Detail, "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), strings.ReplaceAll(line, "\n", " "))
	}
	if len(rows) <= keepFirst && left > 0 {
		b.WriteString(omittedRow(left, s.Store, statusPage))
	}
	return b.String()
}

func omittedRow(n int, store, statusPage string) string {
	store = strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(store)
	where := "the status page"
	if statusPage != "" && len(statusPage) <= 1000 {
		where = "[the status page](" + statusPage + ")"
	}
	return fmt.Sprintf("| … | %d events are left out here. The store's whole history: `purrvision audit %s`; its state now: %s. |\n", n, store, where)
}
