package rollout

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Share is a part of the fleet: a number of stores, or a percentage.
type Share struct {
	// Count is a number of stores; used when BasisPoints is zero.
	Count int
	// BasisPoints is a percentage in hundredths of a percent (10000 is
	// 100%); zero when the share is a Count.
	BasisPoints int
}

// Of is the share of n stores: a count as it is (at most n), a percentage
// rounded up, so a share above 0% takes at least one store.
func (s Share) Of(n int) int {
	if s.BasisPoints == 0 {
		return min(s.Count, n)
	}
	return (s.BasisPoints*n + 9999) / 10000
}

func (s Share) String() string {
	if s.BasisPoints == 0 {
		return strconv.Itoa(s.Count)
	}
	whole, frac := s.BasisPoints/100, s.BasisPoints%100
	if frac == 0 {
		return fmt.Sprintf("%d%%", whole)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%02d", whole, frac), "0") + "%"
}

// Waves are the cumulative shares of the fleet each wave brings to the
// change: "1,10%,50%,100%" is one store, then up to 10% of the stores,
// then half, then all.
type Waves []Share

// DefaultWaves is the --waves of a rollout that names none.
const DefaultWaves = "1,10%,50%,100%"

// maxCount bounds a count in --waves and --max-failures.
const maxCount = 1_000_000

func (w Waves) String() string {
	parts := make([]string, len(w))
	for i, s := range w {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ParseWaves reads --waves: a comma-separated list of counts and
// percentages, each above the one of its kind before it, ending in 100%.
func ParseWaves(s string) (Waves, error) {
	fail := func(format string, args ...any) (Waves, error) {
		return nil, fmt.Errorf("--waves %q: %s; for example --waves %s", s, fmt.Sprintf(format, args...), DefaultWaves)
	}
	if strings.TrimSpace(s) == "" {
		return fail("give at least one wave")
	}
	var out Waves
	lastCount, lastBP := 0, 0
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		sh, err := parseShare(part)
		if err != nil {
			return fail("wave %d: %v", i+1, err)
		}
		switch {
		case sh.BasisPoints == 0 && sh.Count <= lastCount:
			return fail("wave %d (%s) is not above the wave of %d before it; counts must grow", i+1, part, lastCount)
		case sh.BasisPoints > 0 && sh.BasisPoints <= lastBP:
			return fail("wave %d (%s) is not above the wave of %s before it; percentages must grow", i+1, part, Share{BasisPoints: lastBP})
		case lastBP == 10000:
			return fail("wave %d (%s) comes after 100%%, which is every store; end the list at 100%%", i+1, part)
		}
		if sh.BasisPoints == 0 {
			lastCount = sh.Count
		} else {
			lastBP = sh.BasisPoints
		}
		out = append(out, sh)
	}
	if last := out[len(out)-1]; last.BasisPoints != 10000 {
		return fail("the last wave is %s; end with 100%% so every store is reached", last)
	}
	if len(out) > maxWaves {
		return fail("%d waves; at most %d", len(out), maxWaves)
	}
	return out, nil
}

// maxWaves bounds the waves of a rollout: each is a pull request to
// review.
const maxWaves = 20

// parseShare reads "12" or "12%" or "0.5%" (at most two decimals).
func parseShare(s string) (Share, error) {
	if s == "" {
		return Share{}, fmt.Errorf("empty; give a number of stores like 1 or a percentage like 10%%")
	}
	num, pct := strings.CutSuffix(s, "%")
	if !pct {
		n, err := parseDigits(num, 7)
		if err != nil {
			return Share{}, fmt.Errorf("%q is not a number of stores or a percentage like 10%%", s)
		}
		if n < 1 || n > maxCount {
			return Share{}, fmt.Errorf("%q stores: give 1 to %d", s, maxCount)
		}
		return Share{Count: n}, nil
	}
	bp, err := parsePercent(num)
	if err != nil {
		return Share{}, fmt.Errorf("%q is not a percentage like 10%% or 0.5%%", s)
	}
	if bp < 1 || bp > 10000 {
		return Share{}, fmt.Errorf("%q: give a percentage above 0%% and at most 100%%", s)
	}
	return Share{BasisPoints: bp}, nil
}

// parseDigits reads 1 to maxLen ASCII digits.
func parseDigits(s string, maxLen int) (int, error) {
	if s == "" || len(s) > maxLen {
		return 0, strconv.ErrSyntax
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// parsePercent reads "12" or "12.5" or "0.25" as basis points.
func parsePercent(s string) (int, error) {
	whole, frac, dot := strings.Cut(s, ".")
	w, err := parseDigits(whole, 3)
	if err != nil {
		return 0, err
	}
	f := 0
	if dot {
		if f, err = parseDigits(frac, 2); err != nil {
			return 0, err
		}
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, nil
}

// CanaryOrder sorts stores by a hash of seed and their name: repeatable
// for the same seed (a rollout's ID), but not alphabetical, so the canary
// is not always the same store.
func CanaryOrder(stores []string, seed string) []string {
	type keyed struct {
		name string
		key  [32]byte
	}
	ks := make([]keyed, len(stores))
	for i, s := range stores {
		ks[i] = keyed{s, sha256.Sum256([]byte(seed + "\x00" + s))}
	}
	sort.Slice(ks, func(i, j int) bool {
		if c := strings.Compare(string(ks[i].key[:]), string(ks[j].key[:])); c != 0 {
			return c < 0
		}
		return ks[i].name < ks[j].name
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.name
	}
	return out
}

// WaveInput is what PlanWave reads.
type WaveInput struct {
	// Stores are the stores the rollout changes: the fleet its shares are
	// of.
	Stores []string
	// Seed orders the canaries (CanaryOrder); the rollout's ID.
	Seed  string
	Waves Waves
	// Number is the wave to plan, from 1.
	Number int
	// Done are the stores earlier waves changed.
	Done map[string]bool
	// Pending are stores with an open store pull request (a pending
	// resize, say): they are left for a later wave.
	Pending map[string]bool
}

// Wave is the stores of one wave.
type Wave struct {
	Number int
	// Target is how many of the fleet's stores have the change once the
	// wave is merged.
	Target int
	// Stores are in canary order.
	Stores []string
	// Deferred are stores this wave would have taken but left for a
	// later one, as they have an open store pull request.
	Deferred []string
	// MovedTo, when set, is the base head the wave's branch is rendered
	// again on, because the base moved past it; its commit says so.
	MovedTo string
}

// PlanWave picks the stores of wave in.Number: in canary order, the
// stores not done yet, enough to bring the stores done to the wave's
// share of the fleet. A store with an open pull request is left for a
// later wave, and the wave takes the next store instead; the last wave
// takes every store that is not pending.
func PlanWave(in WaveInput) (Wave, error) {
	if in.Number < 1 || in.Number > len(in.Waves) {
		return Wave{}, fmt.Errorf("planning wave %d: the rollout has waves 1 to %d (--waves %s)", in.Number, len(in.Waves), in.Waves)
	}
	w := Wave{Number: in.Number, Target: in.Waves[in.Number-1].Of(len(in.Stores))}
	done := 0
	for _, s := range in.Stores {
		if in.Done[s] {
			done++
		}
	}
	need := w.Target - done
	for _, s := range CanaryOrder(in.Stores, in.Seed) {
		if need <= 0 {
			break
		}
		switch {
		case in.Done[s]:
		case in.Pending[s]:
			w.Deferred = append(w.Deferred, s)
		default:
			w.Stores = append(w.Stores, s)
			need--
		}
	}
	return w, nil
}

// PlanWaves plans every wave ahead, as if each merged as planned and the
// pending stores stayed pending. A wave left empty (in a small fleet, a
// share an earlier wave reached already) is left out; the others keep
// their numbers, their place in --waves.
func PlanWaves(stores []string, seed string, waves Waves, pending map[string]bool) []Wave {
	done := map[string]bool{}
	var out []Wave
	for i := range waves {
		w, err := PlanWave(WaveInput{Stores: stores, Seed: seed, Waves: waves, Number: i + 1, Done: done, Pending: pending})
		if err != nil || len(w.Stores) == 0 {
			continue
		}
		for _, s := range w.Stores {
			done[s] = true
		}
		out = append(out, w)
	}
	return out
}
