package rollout

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseWaves(t *testing.T) {
	tests := []struct {
		in, want string // want: the waves as String() writes them
		err      string
	}{
		{in: "1,10%,50%,100%", want: "1,10%,50%,100%"},
		{in: " 5 , 100% ", want: "5,100%"},
		{in: "100%", want: "100%"},
		{in: "0.5%,12.25%,100%", want: "0.5%,12.25%,100%"},
		{in: "1,2,10%,100%", want: "1,2,10%,100%"},
		{in: "", err: "give at least one wave"},
		{in: "1,,100%", err: "wave 2: empty"},
		{in: "1,10%", err: "the last wave is 10%; end with 100%"},
		{in: "1", err: "the last wave is 1; end with 100%"},
		{in: "0,100%", err: `"0" stores: give 1 to`},
		{in: "0%,100%", err: "above 0% and at most 100%"},
		{in: "150%", err: "above 0% and at most 100%"},
		{in: "50%,10%,100%", err: "wave 2 (10%) is not above the wave of 50% before it"},
		{in: "5,5,100%", err: "wave 2 (5) is not above the wave of 5 before it"},
		{in: "100%,100%", err: "wave 2 (100%) is not above"},
		{in: "100%,5", err: "comes after 100%"},
		{in: "ten,100%", err: `"ten" is not a number of stores or a percentage`},
		{in: "1.5,100%", err: `"1.5" is not a number of stores`},
		{in: "-1,100%", err: "not a number of stores"},
		{in: "0.125%,100%", err: "not a percentage like 10%"},
		{in: "1e3,100%", err: "not a number"},
		{in: "10%%,100%", err: "not a percentage"},
		{in: strings.Repeat("1%,", 0) + "99999999,100%", err: "not a number of stores"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, err := ParseWaves(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--waves ") ||
					!strings.Contains(err.Error(), "for example --waves "+DefaultWaves) {
					t.Errorf("err = %v, want one naming --waves, %q and an example", err, tt.err)
				}
				return
			}
			if err != nil || w.String() != tt.want {
				t.Errorf("= %s, %v; want %s", w, err, tt.want)
			}
		})
	}
	var many []string
	for i := 1; i <= 21; i++ {
		many = append(many, fmt.Sprint(i))
	}
	if _, err := ParseWaves(strings.Join(many, ",") + ",100%"); err == nil || !strings.Contains(err.Error(), "at most 20") {
		t.Errorf("22 waves: %v", err)
	}
}

func FuzzParseWaves(f *testing.F) {
	for _, s := range []string{DefaultWaves, "1,100%", "0.5%,100%", "", ",", "100%,", "1e9%", "99.999%", "9999999,100%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWaves(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--waves ") {
				t.Errorf("error does not name the flag: %v", err)
			}
			return
		}
		// A parsed list ends at 100%, grows within each kind, and reads
		// back the same.
		if len(w) == 0 || w[len(w)-1].BasisPoints != 10000 {
			t.Errorf("%q parsed to %s", s, w)
		}
		again, err := ParseWaves(w.String())
		if err != nil || !reflect.DeepEqual(again, w) {
			t.Errorf("%q: %s reads back as %s, %v", s, w, again, err)
		}
		for _, n := range []int{0, 1, 7, 10000} {
			prev := 0
			for _, sh := range w {
				if got := sh.Of(n); got < 0 || got > n {
					t.Errorf("%s of %d = %d", sh, n, got)
				} else if sh.BasisPoints > 0 && got < prev {
					t.Errorf("%s of %d = %d, below %d before it", sh, n, got, prev)
				} else if sh.BasisPoints > 0 {
					prev = got
				}
			}
			if w[len(w)-1].Of(n) != n {
				t.Errorf("the last wave of %d stores takes %d", n, w[len(w)-1].Of(n))
			}
		}
	})
}

func TestShare_Of(t *testing.T) {
	tests := []struct {
		share Share
		n     int
		want  int
	}{
		{Share{Count: 1}, 10, 1},
		{Share{Count: 50}, 10, 10},
		{Share{BasisPoints: 1000}, 10000, 1000},
		{Share{BasisPoints: 1000}, 3, 1}, // rounded up: a share above 0% takes a store
		{Share{BasisPoints: 5000}, 3, 2},
		{Share{BasisPoints: 10000}, 3, 3},
		{Share{BasisPoints: 50}, 9812, 50},
		{Share{BasisPoints: 1}, 0, 0},
	}
	for _, tt := range tests {
		if got := tt.share.Of(tt.n); got != tt.want {
			t.Errorf("%s of %d = %d, want %d", tt.share, tt.n, got, tt.want)
		}
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("store-%02d", i)
	}
	return out
}

func TestCanaryOrder(t *testing.T) {
	stores := names(20)
	a, b := CanaryOrder(stores, "r1"), CanaryOrder(append([]string(nil), stores...), "r1")
	if !reflect.DeepEqual(a, b) {
		t.Error("the same stores and seed give another order")
	}
	reversed := make([]string, len(stores))
	for i, s := range stores {
		reversed[len(stores)-1-i] = s
	}
	if !reflect.DeepEqual(CanaryOrder(reversed, "r1"), a) {
		t.Error("the order depends on the input's order")
	}
	if reflect.DeepEqual(a, stores) || a[0] == "store-00" {
		t.Errorf("canary order is alphabetical: %v", a)
	}
	if reflect.DeepEqual(CanaryOrder(stores, "r2"), a) {
		t.Error("another seed gives the same order")
	}
}

func TestPlanWave(t *testing.T) {
	waves, err := ParseWaves("1,10%,50%,100%")
	if err != nil {
		t.Fatal(err)
	}
	stores := names(20)
	order := CanaryOrder(stores, "r1")
	set := func(s ...string) map[string]bool {
		m := map[string]bool{}
		for _, x := range s {
			m[x] = true
		}
		return m
	}
	tests := []struct {
		name     string
		number   int
		done     map[string]bool
		pending  map[string]bool
		stores   []string
		deferred []string
		err      string
	}{
		{name: "canary", number: 1, stores: order[:1]},
		{name: "10% after the canary", number: 2, done: set(order[0]), stores: order[1:2]},
		{name: "50%", number: 3, done: set(order[:2]...), stores: order[2:10]},
		{name: "100%", number: 4, done: set(order[:10]...), stores: order[10:]},
		{name: "a pending canary is left for later", number: 1, pending: set(order[0]), stores: order[1:2], deferred: order[:1]},
		{name: "pending stores in the last wave stay out", number: 4, done: set(order[:10]...), pending: set(order[12], order[15]),
			stores: append(append(append([]string(nil), order[10:12]...), order[13:15]...), order[16:]...), deferred: []string{order[12], order[15]}},
		{name: "a wave already reached takes nothing", number: 2, done: set(order[:5]...)},
		{name: "cumulative: the waves before it count", number: 3, done: set(order[:4]...), stores: order[4:10]},
		{name: "stores done that the plan no longer changes do not count", number: 2, done: set("gone-1", "gone-2", order[0]), stores: order[1:2]},
		{name: "wave 0", number: 0, err: "planning wave 0: the rollout has waves 1 to 4"},
		{name: "wave 5", number: 5, err: "waves 1 to 4 (--waves 1,10%,50%,100%)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := PlanWave(WaveInput{Stores: stores, Seed: "r1", Waves: waves, Number: tt.number, Done: tt.done, Pending: tt.pending})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(w.Stores, tt.stores) || !reflect.DeepEqual(w.Deferred, tt.deferred) {
				t.Errorf("stores %v deferred %v; want %v and %v", w.Stores, w.Deferred, tt.stores, tt.deferred)
			}
		})
	}
}

func TestPlanWaves(t *testing.T) {
	waves, err := ParseWaves("1,10%,50%,100%")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stores  int
		pending int
		sizes   map[int]int // wave number -> stores
	}{
		{stores: 1, sizes: map[int]int{1: 1}},
		{stores: 3, sizes: map[int]int{1: 1, 3: 1, 4: 1}}, // 10% of 3 is 1 store, which the canary is
		{stores: 20, sizes: map[int]int{1: 1, 2: 1, 3: 8, 4: 10}},
		{stores: 10000, sizes: map[int]int{1: 1, 2: 999, 3: 4000, 4: 5000}},
		{stores: 20, pending: 2, sizes: map[int]int{1: 1, 2: 1, 3: 8, 4: 8}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.stores, " stores, ", tt.pending, " pending"), func(t *testing.T) {
			stores := names(tt.stores)
			pending := map[string]bool{}
			for _, s := range stores[:tt.pending] {
				pending[s] = true
			}
			got := map[int]int{}
			seen := map[string]bool{}
			for _, w := range PlanWaves(stores, "r1", waves, pending) {
				got[w.Number] = len(w.Stores)
				for _, s := range w.Stores {
					if seen[s] || pending[s] {
						t.Errorf("store %s in wave %d: seen before %v, pending %v", s, w.Number, seen[s], pending[s])
					}
					seen[s] = true
				}
			}
			if !reflect.DeepEqual(got, tt.sizes) {
				t.Errorf("wave sizes %v, want %v", got, tt.sizes)
			}
		})
	}
}

func TestParseMaxFailures(t *testing.T) {
	tests := []struct {
		in   string
		want MaxFailures
		err  string
	}{
		{in: "0", want: MaxFailures{}},
		{in: "3", want: MaxFailures{Count: 3}},
		{in: "5%", want: MaxFailures{BasisPoints: 500}},
		{in: "0.5%", want: MaxFailures{BasisPoints: 50}},
		{in: "0%", want: MaxFailures{}},
		{in: "", err: "not a number of stores or a percentage"},
		{in: "-1", err: "not a number"},
		{in: "101%", err: "at most 100%"},
		{in: "lots", err: "not a number"},
		{in: "5.5", err: "not a number"},
		{in: "99999999", err: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMaxFailures(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--max-failures ") ||
					!strings.Contains(err.Error(), "for example --max-failures") {
					t.Errorf("err = %v, want one naming --max-failures, %q and an example", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseMaxFailures(f *testing.F) {
	for _, s := range []string{"0", "3", "5%", "0.5%", "100%", "", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMaxFailures(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--max-failures ") {
				t.Errorf("error does not name the flag: %v", err)
			}
			return
		}
		if again, err := ParseMaxFailures(m.String()); err != nil || again != m {
			t.Errorf("%q: %s reads back as %+v, %v", s, m, again, err)
		}
		for _, n := range []int{0, 1, 10, 10000} {
			if a := m.Allowed(n); a < 0 || (m.BasisPoints > 0 && a > n) {
				t.Errorf("%s allows %d failures of %d", m, a, n)
			}
		}
	})
}

func TestBudget(t *testing.T) {
	ready := func(s string) Result { return Result{Store: s, Outcome: Ready} }
	failed := func(s, msg string) Result { return Result{Store: s, Outcome: Failed, Message: msg} }
	pending := func(s string) Result { return Result{Store: s, Outcome: Pending} }
	tests := []struct {
		name    string
		results []Result
		max     MaxFailures
		want    Decision
		failed  []string
	}{
		{name: "all ready", results: []Result{ready("a"), ready("b")}, want: Continue},
		{name: "an empty wave", want: Continue},
		{name: "pending", results: []Result{ready("a"), pending("b")}, want: Wait},
		{name: "the canary failed", results: []Result{failed("a", "install retries exhausted")}, want: Pause, failed: []string{"a"}},
		{name: "a failure within a count", results: []Result{failed("a", "x"), ready("b"), ready("c")}, max: MaxFailures{Count: 1}, want: Continue, failed: []string{"a"}},
		{name: "a failure within budget, others pending", results: []Result{failed("a", "x"), pending("b")}, max: MaxFailures{Count: 1}, want: Wait, failed: []string{"a"}},
		{name: "over budget pauses without waiting", results: []Result{failed("b", "y"), failed("a", "x"), pending("c"), pending("d")},
			max: MaxFailures{Count: 1}, want: Pause, failed: []string{"a", "b"}},
		{name: "10% of one store allows none", results: []Result{failed("a", "x")}, max: MaxFailures{BasisPoints: 1000}, want: Pause, failed: []string{"a"}},
		{name: "10% of 20 allows two", results: append([]Result{failed("a", "x"), failed("b", "y")}, readies(18)...),
			max: MaxFailures{BasisPoints: 1000}, want: Continue, failed: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Budget(tt.results, tt.max)
			var failed []string
			for _, f := range v.Failed {
				failed = append(failed, f.Store)
				if f.Message == "" {
					t.Errorf("failed store %s without its message", f.Store)
				}
			}
			if v.Decision != tt.want || !reflect.DeepEqual(failed, tt.failed) {
				t.Errorf("= %s, failed %v; want %s, %v", v.Decision, failed, tt.want, tt.failed)
			}
		})
	}
}

func readies(n int) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = Result{Store: fmt.Sprintf("ok-%d", i), Outcome: Ready}
	}
	return out
}
