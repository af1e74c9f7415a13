package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/purrvision/purrvision/internal/forge"
)

// noAdmin is the fake as an App without administration: read sees it.
type noAdmin struct{ *fakeGitHub }

func (noAdmin) GetProtection(context.Context, forge.Repo, string) (*forge.BranchProtection, error) {
	return nil, fmt.Errorf("reading the protection of main: %w: 403 Resource not accessible by integration", forge.ErrForbidden)
}

func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, name := range []string{"purrvision_setup_drift_settings", "purrvision_setup_check_success", "purrvision_setup_check_timestamp_seconds"} {
		n, err := promtest.GatherAndCount(reg, name)
		if err != nil || n != 1 {
			t.Fatalf("%s: %d series, %v", name, n, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	return out
}

func TestMonitor_Check(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	drifted := func(t *testing.T) Reader {
		have := inSync(t)
		have[1].Protection.Approvals = 0
		have[1].Rulesets = have[1].Rulesets[:2]
		return &fakeGitHub{have: have}
	}
	for _, tt := range []struct {
		name    string
		appID   int64
		reader  func(t *testing.T) Reader
		drift   []string
		err     string
		success float64
	}{
		{name: "in sync", appID: 7, reader: func(t *testing.T) Reader { return &fakeGitHub{have: inSync(t)} }, success: 1},
		{name: "drifted", appID: 7, reader: drifted, success: 1, drift: []string{
			"acme/tenants main: required approving reviews 0, want 1",
			`acme/tenants ruleset "` + RulesetLedger + `": missing`,
		}},
		{name: "no App ID", reader: drifted, err: ErrNoAppID.Error()},
		{name: "no administration: read", appID: 7, reader: func(t *testing.T) Reader { return noAdmin{&fakeGitHub{have: inSync(t)}} },
			err: "administration: read on acme/tenants is needed to read the protection of main"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &Monitor{Config: testConfig(), AppID: tt.appID, Reader: tt.reader(t), Now: func() time.Time { return at }}
			reg := prometheus.NewRegistry()
			if err := m.Register(reg); err != nil {
				t.Fatal(err)
			}
			if g := gauges(t, reg); g["purrvision_setup_check_timestamp_seconds"] != 0 || g["purrvision_setup_check_success"] != 0 {
				t.Errorf("before the first check: %v", g)
			}
			m.Check(context.Background())
			st := m.Status()
			var got []string
			for _, d := range st.Drift {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.drift, "\n") {
				t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.drift, "\n"))
			}
			if tt.err == "" && st.Err != nil || tt.err != "" && (st.Err == nil || !strings.HasPrefix(st.Err.Error(), tt.err)) {
				t.Errorf("error %v, want %q", st.Err, tt.err)
			}
			g := gauges(t, reg)
			if g["purrvision_setup_drift_settings"] != float64(len(tt.drift)) || g["purrvision_setup_check_success"] != tt.success ||
				g["purrvision_setup_check_timestamp_seconds"] != float64(at.Unix()) {
				t.Errorf("metrics %v", g)
			}
		})
	}
}

// TestMonitor_CheckCutShort: a check that ends with the context (the
// service stopping) keeps the last result.
func TestMonitor_CheckCutShort(t *testing.T) {
	have := inSync(t)
	have[1].Protection.Approvals = 0
	m := &Monitor{Config: testConfig(), AppID: 7, Reader: &fakeGitHub{have: have}}
	m.Check(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.Check(ctx)
	if st := m.Status(); len(st.Drift) != 1 || st.Err != nil {
		t.Errorf("after a cancelled check: %+v", st)
	}
}

// TestMonitor_NamesThePermission: GitHub's 403 on a read is the permission
// the check lacks, which the status page shows.
func TestMonitor_NamesThePermission(t *testing.T) {
	var pe *PermissionError
	m2 := &Monitor{Config: testConfig(), AppID: 7, Reader: noAdmin{&fakeGitHub{have: inSync(t)}}}
	m2.Check(context.Background())
	if !errors.As(m2.Status().Err, &pe) || pe.Permission != "administration: read" {
		t.Errorf("the refusal is not a PermissionError: %v", m2.Status().Err)
	}
}
