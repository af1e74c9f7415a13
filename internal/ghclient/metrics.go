package ghclient

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count GitHub API calls, their errors and the rate limit left.
type Metrics struct {
	calls     *prometheus.CounterVec
	remaining prometheus.Gauge
}

// NewMetrics registers the GitHub client metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purrvision_github_api_calls_total",
			Help: "GitHub API calls by method and result (ok, not_modified, client_error, server_error, rate_limited, transport_error).",
		}, []string{"method", "result"}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "purrvision_github_rate_limit_remaining",
			Help: "Requests left in the current primary rate limit window, as GitHub last reported.",
		}),
	}
	reg.MustRegister(m.calls, m.remaining)
	return m
}

// metricsTransport observes every attempt, retries included.
type metricsTransport struct {
	next http.RoundTripper
	m    *Metrics
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	result := "ok"
	switch {
	case err != nil:
		result = "transport_error"
	case isRateLimit(resp):
		result = "rate_limited"
	case resp.StatusCode == http.StatusNotModified:
		result = "not_modified"
	case resp.StatusCode >= 500:
		result = "server_error"
	case resp.StatusCode >= 400:
		result = "client_error"
	}
	t.m.calls.WithLabelValues(strings.ToUpper(req.Method), result).Inc()
	if resp != nil {
		if n, perr := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); perr == nil {
			t.m.remaining.Set(float64(n))
		}
	}
	return resp, err
}

func isRateLimit(resp *http.Response) bool {
	_, ok := rateLimit(resp, time.Now())
	return ok
}
