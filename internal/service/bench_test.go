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
		n := h.request("octocat", fmt.Sprintf("bench-%d", i), "small")
		h.settle()
		issue := h.gh.Issue(requestsRepo, n)
		prs := h.pulls()[fmt.Sprintf("store/bench-%d", i)]
		if len(prs) != 1 {
			b.Fatalf("request %d: %d pull requests", i, len(prs))
		}
		lat = append(lat, prs[0].GetCreatedAt().Sub(issue.GetCreatedAt().Time))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
