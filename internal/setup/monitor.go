package setup

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/logctx"
)

// ErrNoAppID is the reason the service's check does not run: it compares
// with the App setup binds the required check and the bypass to, and the
// config names none.
var ErrNoAppID = errors.New("the check needs the GitHub App's ID: set github.app, or github.setupAppID when the service acts with a token")

// CheckTimeout bounds one check: a handful of GETs.
const CheckTimeout = 2 * time.Minute

// Monitor runs Check for the service, the same check as `purrvision setup
// --check`, with the service's GitHub client, and keeps its last result for
// the status page and the metrics. The service calls Check at start and
// after each resync; it never touches readiness.
type Monitor struct {
	Config *config.Config
	// AppID is the App the desired settings name; 0 leaves the check
	// undone with ErrNoAppID.
	AppID  int64
	Reader Reader
	// Now is time.Now when nil.
	Now func() time.Time

	run    sync.Mutex // one check at a time
	mu     sync.Mutex
	status Status
}

// Status is the result of the last check.
type Status struct {
	// Checked is when the last check started; zero before the first.
	Checked time.Time
	// Drift is each setting GitHub holds otherwise than setup writes;
	// none when the check found none or could not run.
	Drift []Drift
	// Err is why the last check could not run: ErrNoAppID, a config key to
	// set, a *PermissionError naming the permission, or GitHub's failure.
	Err error
}

// Ran is whether the last check compared GitHub's settings.
func (s Status) Ran() bool { return !s.Checked.IsZero() && s.Err == nil }

// Status is the result of the last check.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Check runs the check once, waiting for one already running, and keeps
// its result; a check cut short because ctx ended leaves the last result.
func (m *Monitor) Check(ctx context.Context) {
	m.run.Lock()
	defer m.run.Unlock()
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	st := Status{Checked: now()}
	if m.AppID <= 0 {
		st.Err = ErrNoAppID
	} else {
		cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
		st.Drift, st.Err = Check(cctx, m.Config, Options{AppID: m.AppID}, m.Reader)
		cancel()
		if ctx.Err() != nil {
			return // shutting down: not a result
		}
	}
	m.mu.Lock()
	was := m.status
	m.status = st
	m.mu.Unlock()
	log := logctx.From(ctx)
	switch {
	case st.Err != nil:
		if was.Err == nil || was.Err.Error() != st.Err.Error() {
			log.Warn("checking GitHub's settings: the check could not run", "error", st.Err)
		}
	case len(st.Drift) > 0:
		var names []string
		for _, d := range st.Drift {
			names = append(names, d.String())
		}
		log.Warn("GitHub's settings differ from what purrvision setup writes; run purrvision setup", "settings", len(names), "drift", names)
	case !was.Ran() || len(was.Drift) > 0:
		log.Info("GitHub's settings are as purrvision setup writes them")
	}
}

// Register registers the check's metrics with reg: how many settings
// drifted, whether the last check ran, and when it was.
func (m *Monitor) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purrvision_setup_drift_settings",
			Help: "Settings on GitHub that differ from what purrvision setup writes, at the last check (0 when it could not run; see purrvision_setup_check_success).",
		}, func() float64 { return float64(len(m.Status().Drift)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purrvision_setup_check_success",
			Help: "1 when the last check of GitHub's settings ran, 0 when it could not (a missing permission or App ID: the status page says which) or has not yet.",
		}, func() float64 {
			if m.Status().Ran() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purrvision_setup_check_timestamp_seconds",
			Help: "When the last check of GitHub's settings started, in seconds since the epoch; 0 before the first.",
		}, func() float64 {
			if t := m.Status().Checked; !t.IsZero() {
				return float64(t.Unix())
			}
			return 0
		}),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
