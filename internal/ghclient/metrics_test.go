package ghclient_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
)

func TestMetrics_CountCallsErrorsAndRateLimit(t *testing.T) {
	s, _ := setup(t)
	reg := prometheus.NewRegistry()
	c, err := ghclient.New(ghclient.Options{APIURL: s.URL(), Token: "t", Metrics: ghclient.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	n := s.OpenIssue("acme/stores", "octocat", "t", "b")
	ctx := context.Background()
	if _, err := c.GetIssue(ctx, forge.IssueRef{Repo: stores, Number: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetIssue(ctx, forge.IssueRef{Repo: stores, Number: 999}); err == nil {
		t.Fatal("missing issue found")
	}
	s.SetFaults(ghstandin.Faults{Rate: 1, RateLimitShare: 0, Seed: 1})
	if _, err := c.CreateComment(ctx, forge.IssueRef{Repo: stores, Number: n}, "x"); err == nil {
		t.Fatal("a 502 on POST succeeded")
	}
	want := `
# HELP purrvision_github_api_calls_total GitHub API calls by method and result (ok, not_modified, client_error, server_error, rate_limited, transport_error).
# TYPE purrvision_github_api_calls_total counter
purrvision_github_api_calls_total{method="GET",result="client_error"} 1
purrvision_github_api_calls_total{method="GET",result="ok"} 1
purrvision_github_api_calls_total{method="POST",result="server_error"} 1
`
	if err := promtest.CollectAndCompare(reg, strings.NewReader(want), "purrvision_github_api_calls_total"); err != nil {
		t.Error(err)
	}
	// The stand-in counts every call against the token's 5000, as GitHub
	// does: three were made.
	if got := promtest.ToFloat64(mustGauge(t, reg)); got != 4997 {
		t.Errorf("rate limit remaining = %v, want 4997 as the stand-in reports", got)
	}
}

func mustGauge(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "purrvision_github_rate_limit_remaining" {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			g.Set(mf.GetMetric()[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatal("no rate limit gauge")
	return nil
}
