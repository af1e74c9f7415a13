package rollout

import (
	"fmt"
	"sort"
	"strings"
)

// MaxFailures is how many stores of a wave may fail before the rollout
// pauses: a number, or a percentage of the wave's stores.
type MaxFailures Share

// DefaultMaxFailures is the --max-failures of a rollout that names none:
// any failure pauses it.
const DefaultMaxFailures = "0"

// ParseMaxFailures reads --max-failures: N stores (0 or more) or P% of
// each wave.
func ParseMaxFailures(s string) (MaxFailures, error) {
	fail := func(format string, args ...any) (MaxFailures, error) {
		return MaxFailures{}, fmt.Errorf("--max-failures %q: %s; for example --max-failures 0 (pause at the first failure), 2 or 5%%",
			s, fmt.Sprintf(format, args...))
	}
	s2 := strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s2, "%")
	if !pct {
		n, err := parseDigits(num, 7)
		if err != nil {
			return fail("not a number of stores or a percentage")
		}
		if n > maxCount {
			return fail("at most %d", maxCount)
		}
		return MaxFailures{Count: n}, nil
	}
	bp, err := parsePercent(num)
	if err != nil {
		return fail("not a percentage like 5%% or 0.5%%")
	}
	if bp > 10000 {
		return fail("a percentage of at most 100%%")
	}
	if bp == 0 {
		return MaxFailures{}, nil
	}
	return MaxFailures{BasisPoints: bp}, nil
}

func (m MaxFailures) String() string { return Share(m).String() }

// Allowed is how many failures a wave of n stores may have: a percentage
// is rounded down, so 10% of a one-store canary wave allows none.
func (m MaxFailures) Allowed(n int) int {
	if m.BasisPoints == 0 {
		return m.Count
	}
	return m.BasisPoints * n / 10000
}

// Outcome is where one store of a wave is.
type Outcome int

// Outcomes of a store in a wave.
const (
	// Pending: not Ready at the wave's revision yet, nor failed.
	Pending Outcome = iota
	Ready
	Failed
)

// Result is one store's outcome in a wave; Message is Flux's when it
// failed.
type Result struct {
	Store   string
	Outcome Outcome
	Message string
}

// Decision is what a rollout does after looking at a wave.
type Decision string

// Decisions of Budget.
const (
	// Continue: every store is Ready, or failed within the budget; open
	// the next wave.
	Continue Decision = "continue"
	// Wait: stores are still pending and the budget holds.
	Wait Decision = "wait"
	// Pause: more stores failed than the budget allows; open no further
	// wave.
	Pause Decision = "pause"
)

// Verdict is Budget's answer.
type Verdict struct {
	Decision Decision
	Ready    int
	Pending  int
	// Failed are the failed stores, by name, with Flux's message.
	Failed []Result
	// Allowed is how many failures the wave may have.
	Allowed int
}

// Budget decides from a wave's results: pause as soon as failures exceed
// the budget (without waiting for the pending stores), wait while stores
// are pending, continue when all are settled within it.
func Budget(results []Result, max MaxFailures) Verdict {
	v := Verdict{Allowed: max.Allowed(len(results))}
	for _, r := range results {
		switch r.Outcome {
		case Ready:
			v.Ready++
		case Failed:
			v.Failed = append(v.Failed, r)
		default:
			v.Pending++
		}
	}
	sort.Slice(v.Failed, func(i, j int) bool { return v.Failed[i].Store < v.Failed[j].Store })
	switch {
	case len(v.Failed) > v.Allowed:
		v.Decision = Pause
	case v.Pending > 0:
		v.Decision = Wait
	default:
		v.Decision = Continue
	}
	return v
}
