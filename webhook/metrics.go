package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the webhook path.
type Metrics struct {
	deliveries *prometheus.CounterVec
	signatures *prometheus.CounterVec
	work       *prometheus.CounterVec
}

// NewMetrics registers the webhook metrics, and a gauge of the queue depth
// read from depth, with reg.
func NewMetrics(reg prometheus.Registerer, depth func() int) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purrvision_webhook_deliveries_total",
			Help: "Webhook deliveries by event and outcome.",
		}, []string{"event", "outcome"}),
		signatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purrvision_webhook_signatures_total",
			Help: "Deliveries whose signature verified, by the secret that verified it: current, or previous during a rotation.",
		}, []string{"secret"}),
		work: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purrvision_work_attempts_total",
			Help: "Attempts at queued work by intent and result.",
		}, []string{"intent", "result"}),
	}
	reg.MustRegister(m.deliveries, m.signatures, m.work, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "purrvision_work_queue_depth",
		Help: "Intents queued, running or waiting to retry.",
	}, func() float64 { return float64(depth()) }))
	return m
}

// delivery counts one delivery; event is an eventLabel and outcome one
// of the handler's constants, so the series are a fixed set.
func (m *Metrics) delivery(event, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(event, outcome).Inc()
}

// signature counts a delivery whose signature verified with which
// secret ("current" or "previous").
func (m *Metrics) signature(which string) {
	if m == nil {
		return
	}
	m.signatures.WithLabelValues(which).Inc()
}

// Observe counts one attempt at queued work.
func (m *Metrics) Observe(it Intent, _ int, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.work.WithLabelValues(it.Kind.String(), result).Inc()
}
