package service_test

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkWebhookToPull measures, per request, the time from the issue
// being opened (GitHub sends the webhook) to its pull request being
// opened, with the stand-in and the git server on loopback. It reports p50
// and p99 over b.N requests, made one after another.
func BenchmarkWebhookToPull(b *testing.B) {
	h := newHarness(b, harnessOptions{})
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		h.request("octocat", name, "small")
		// GitHub's timestamps are to the second, so the time is taken here:
		// the stand-in's state is polled until it holds the pull request.
		for len(h.gh.Pulls(tenantsRepo)) <= i {
			if time.Since(start) > time.Minute {
				b.Fatalf("request %d: no pull request after a minute", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		h.settle()
		if prs := h.pulls()["store/"+name]; len(prs) != 1 {
			b.Fatalf("request %d: %d pull requests", i, len(prs))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
