package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/tenants"
)

// TestRolloutStartStatusAbort runs the CLI against the GitHub stand-in:
// start opens the tracking issue and wave 1, a second start is refused
// with the open one's address, status shows it, abort closes it. The
// config sets no github.botLogin: the CLI learns it from GitHub, as the
// service does, and knows its tracking issue by it; a github.botLogin
// that is not GitHub's is refused, naming the login to set.
func TestRolloutStartStatusAbort(t *testing.T) {
	url, dir := seedTenantsDir(t)
	gh, client := testutil.GitHub(t, "acme/stores")
	gh.AddRepo("acme/tenants", "main", dir)
	cfgPath := rolloutConfig(t, url, "0.2.0")
	withGitHub := readFile(t, cfgPath) + strings.Join([]string{
		"github:",
		"  apiURL: " + gh.URL(),
		"  token: test-token",
		"  repo: acme/stores",
		"",
	}, "\n")
	withGitHub = strings.Replace(withGitHub, "  branch: main\n", "  branch: main\n  repo: acme/tenants\n", 1)
	if err := os.WriteFile(cfgPath, []byte(withGitHub), 0o644); err != nil {
		t.Fatal(err)
	}

	// Before the service ever ran there is no ledger to keep the rollout.
	if r := runCLI(t, "", "rollout", "start", "--config", cfgPath); r.code != 2 || !strings.Contains(r.stderr, "ledger branch") {
		t.Fatalf("start without a ledger: exit %d, %s", r.code, r.stderr)
	}
	if len(gh.Pulls("acme/tenants")) != 0 {
		t.Fatal("a refused start opened a pull request")
	}
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.New(repo, testutil.LedgerKeys()).Migrate(context.Background(), client, ghstandin.BotLogin, nil); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "", "rollout", "start", "--waves", "1,100%", "--title", "chart 0.2.0", "--config", cfgPath)
	if r.code != 0 || !strings.Contains(r.stdout, "Wave 1 (1 stores): ") || !strings.Contains(r.stdout, "/pull/") {
		t.Fatalf("start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	issueURL := strings.TrimSpace(strings.SplitN(strings.SplitN(r.stdout, ": ", 2)[1], "\n", 2)[0])
	again := runCLI(t, "", "rollout", "start", "--config", cfgPath)
	if again.code != 1 || !strings.Contains(again.stderr, "is open") || !strings.Contains(again.stderr, issueURL) {
		t.Fatalf("a second start: exit %d, %s", again.code, again.stderr)
	}
	if st := runCLI(t, "", "rollout", "status", "--config", cfgPath); st.code != 0 || !strings.Contains(st.stdout, "wave 1: 1 stores") || !strings.Contains(st.stdout, "chart 0.2.0") {
		t.Fatalf("status: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	if ab := runCLI(t, "", "rollout", "abort", "--config", cfgPath); ab.code != 0 || !strings.Contains(ab.stdout, "aborted by `purrvision rollout abort`") {
		t.Fatalf("abort: exit %d\n%s%s", ab.code, ab.stdout, ab.stderr)
	}
	if st := runCLI(t, "", "rollout", "status", "--config", cfgPath); st.code != 0 || !strings.Contains(st.stdout, "No rollout is open.") {
		t.Fatalf("status after abort: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}

	wrong := strings.Replace(withGitHub, "  repo: acme/stores\n", "  repo: acme/stores\n  botLogin: someone-else[bot]\n", 1)
	if err := os.WriteFile(cfgPath, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `github.botLogin is "someone-else[bot]", but GitHub says the service acts as "` + ghstandin.BotLogin + `"`
	if st := runCLI(t, "", "rollout", "start", "--config", cfgPath); st.code != 2 || !strings.Contains(st.stderr, want) {
		t.Fatalf("start with a github.botLogin that is not GitHub's: exit %d, %s; want 2 with %q", st.code, st.stderr, want)
	}
}

func TestRolloutStart_Usage(t *testing.T) {
	cfg := rolloutConfig(t, "https://example.com/tenants.git", "0.2.0")
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"waves not ending at 100%", []string{"--waves", "1,50%"}, "end with 100%"},
		{"bad max failures", []string{"--max-failures", "x"}, "--max-failures \"x\""},
		{"no tenants repo on GitHub", nil, "tenantsRepo.repo: required by rollout start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"rollout", "start", "--config", cfg}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.out) {
				t.Errorf("exit %d, stderr %q; want 2 with %q", r.code, r.stderr, tt.out)
			}
		})
	}
}
