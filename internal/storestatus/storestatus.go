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

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
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
}

// Event is one line of the timeline.
type Event struct {
	Phase  v1alpha1.Phase `json:"phase"`
	At     time.Time      `json:"at"`
	Detail string         `json:"detail,omitempty"`
	Source string         `json:"source,omitempty"` // github, git or cluster
	// Commit is the merge commit of a merge the bot recorded.
	Commit string `json:"commit,omitempty"`
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
	if n := len(s.Timeline); n > 0 && s.Timeline[n-1].Phase == phase && s.Timeline[n-1].Detail == detail {
		return s.Phase != phase && s.setPhase(phase)
	}
	s.Phase = phase
	s.Timeline = append(s.Timeline, Event{Phase: phase, At: at.UTC().Truncate(time.Second), Detail: detail, Source: source})
	return true
}

// RecordMerge records a merge of the store's pull request as commit.
func (s *State) RecordMerge(detail, commit string, at time.Time) {
	s.Phase = v1alpha1.PhaseMerged
	s.Timeline = append(s.Timeline, Event{Phase: v1alpha1.PhaseMerged, At: at.UTC().Truncate(time.Second), Detail: detail, Source: "github", Commit: commit})
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

// Body writes the progress comment of a State.
func Body(s State) string {
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
	if s.Phase == v1alpha1.PhaseDecommissioned {
		b.WriteString("\n\nThe store is gone, and this issue is closed: a decommission is final. A new store needs a new request.")
	}
	b.WriteString("\n\n| when (UTC) | what |\n|---|---|\n")
	for _, e := range s.Timeline {
		line := e.Phase.Title()
		if e.Detail != "" {
			line += ": " + strings.ReplaceAll(e.Detail, "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), strings.ReplaceAll(line, "\n", " "))
	}
	return b.String()
}
