// Package storestatus is the one progress comment on a store's issue: the
// state Purrvision keeps there (hidden JSON) and the timeline it shows.
// The request flow and the cluster watcher both write it, so a store's
// issue reads as one timeline, and no state lives in a process's memory.
package storestatus

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Marker identifies the progress comment.
const Marker = "<!-- purrvision:status -->"

// Phases of a store, in the order they usually come.
const (
	PhasePendingReview  = "pending-review"
	PhaseMerged         = "merged"
	PhaseApplied        = "applied"
	PhaseInstalling     = "installing"
	PhaseReady          = "ready"
	PhaseFailed         = "failed"
	PhaseDecommissioned = "decommissioned"
)

// State is what Purrvision records about a store.
type State struct {
	Store       string   `json:"store,omitempty"`
	Cluster     string   `json:"cluster,omitempty"`
	Pull        int      `json:"pull,omitempty"`
	PullURL     string   `json:"pullURL,omitempty"`
	Operation   string   `json:"operation,omitempty"`
	MergeCommit string   `json:"mergeCommit,omitempty"`
	MergedBy    string   `json:"mergedBy,omitempty"`
	ApprovedBy  []string `json:"approvedBy,omitempty"`
	Phase       string   `json:"phase,omitempty"`
	URL         string   `json:"url,omitempty"`
	Timeline    []Event  `json:"timeline,omitempty"`
}

// Event is one line of the timeline.
type Event struct {
	Phase  string    `json:"phase"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
	Source string    `json:"source,omitempty"` // github, git or cluster
}

var stateRE = regexp.MustCompile(`<!-- purrvision:state (\{.*?\}) -->`)

// Parse reads the State of a progress comment; a missing or garbled one
// is a fresh State.
func Parse(body string) State {
	var s State
	if m := stateRE.FindStringSubmatch(body); m != nil {
		if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
			return State{}
		}
	}
	return s
}

// Record moves the store to phase, adding a timeline line unless the last
// line already says the same. It reports whether anything changed.
func (s *State) Record(phase, detail, source string, at time.Time) bool {
	if n := len(s.Timeline); n > 0 && s.Timeline[n-1].Phase == phase && s.Timeline[n-1].Detail == detail {
		return s.Phase != phase && s.setPhase(phase)
	}
	s.Phase = phase
	s.Timeline = append(s.Timeline, Event{Phase: phase, At: at.UTC().Truncate(time.Second), Detail: detail, Source: source})
	return true
}

func (s *State) setPhase(p string) bool { s.Phase = p; return true }

var titles = map[string]string{
	PhasePendingReview:  "Waiting for review",
	PhaseMerged:         "Merged",
	PhaseApplied:        "Applied by Flux",
	PhaseInstalling:     "Chart installing",
	PhaseReady:          "Ready",
	PhaseFailed:         "Failed",
	PhaseDecommissioned: "Decommissioned",
}

// Title is a phase in words.
func Title(phase string) string {
	if t, ok := titles[phase]; ok {
		return t
	}
	return phase
}

// Body writes the progress comment of a State.
func Body(s State) string {
	data, err := json.Marshal(s)
	if err != nil {
		data = []byte("{}")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n<!-- purrvision:state %s -->\n", Marker, data)
	fmt.Fprintf(&b, "**Store `%s`: %s**", s.Store, Title(s.Phase))
	if s.Phase == PhaseReady && s.URL != "" {
		fmt.Fprintf(&b, " at %s", s.URL)
	}
	b.WriteString("\n\n| when (UTC) | what |\n|---|---|\n")
	for _, e := range s.Timeline {
		line := Title(e.Phase)
		if e.Detail != "" {
			line += ": " + strings.ReplaceAll(e.Detail, "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), strings.ReplaceAll(line, "\n", " "))
	}
	return b.String()
}
