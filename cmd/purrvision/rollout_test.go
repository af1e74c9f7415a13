package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// rolloutConfig writes the example config, without GitHub, for the
// tenants repo at url, with the chart at version; returns its path.
func rolloutConfig(t *testing.T, url, version string) string {
	t.Helper()
	cfg := readFile(t, examplePath(t, "purrvision.yaml"))
	cfg = cfg[:strings.Index(cfg, "\ngithub:")] + "\n"
	cfg += "ledger:\n  signingKeyFiles: [" + testutil.LedgerKeyFile(t) + "]\n"
	if url == "" {
		cfg = strings.Replace(cfg, "  url: https://github.com/example/tenants.git\n", "", 1)
	}
	cfg = strings.Replace(cfg, "https://github.com/example/tenants.git", url, 1)
	cfg = strings.Replace(cfg, "version: 0.1.0", "version: "+version, 1)
	cfg = strings.Replace(cfg, "tag: woocommerce-0.1.0", "tag: woocommerce-"+version, 1)
	p := filepath.Join(t.TempDir(), "purrvision.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// seedTenants pushes three stores, rendered with the example config, to a
// new tenants repo and returns its URL.
func seedTenants(t *testing.T) string {
	t.Helper()
	url, _ := seedTenantsDir(t)
	return url
}

// seedTenantsDir is seedTenants that also returns the repo's directory.
func seedTenantsDir(t *testing.T) (string, string) {
	t.Helper()
	_, url, dir := testutil.GitRepo(t, "tenants", "main")
	cfg := testutil.ExampleConfig(t)
	var changes []tenants.Change
	for i, s := range []struct{ name, plan string }{{"cat-cafe", "small"}, {"dog-diner", "medium"}, {"emu-eats", "small"}} {
		req := v1alpha1.New(s.name, v1alpha1.StoreSpec{Plan: s.plan, Owner: "octocat", AdminEmail: "owner@example.com"})
		out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(uint64(i)), Now: time.Unix(0, 0), Origin: "acme/stores#1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Files {
			changes = append(changes, tenants.Change{Path: f.Path, Data: f.Data})
		}
	}
	repo, err := tenants.Open(context.Background(), tenants.Options{URL: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Commit("", changes, "stores\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(context.Background(), "main", head, ""); err != nil {
		t.Fatal(err)
	}
	return url, dir
}

var commitHash = regexp.MustCompile(`\b[0-9a-f]{12}\b`)

func TestRolloutPlan(t *testing.T) {
	url := seedTenants(t)
	noBranch := rolloutConfig(t, url, "0.2.0")
	if err := os.WriteFile(noBranch, []byte(strings.Replace(readFile(t, noBranch), "branch: main", "branch: nope", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
		out    string
	}{
		{name: "nothing to do", args: []string{"rollout", "plan", "--config", rolloutConfig(t, url, "0.1.0")}, code: 0, out: "3 stores at <base>: every store is up to date.\n"},
		{name: "a chart upgrade", args: []string{"rollout", "plan", "--config", rolloutConfig(t, url, "0.2.0")}, code: 3, golden: "rollout-plan.txt"},
		{name: "json", args: []string{"rollout", "plan", "-o", "json", "--config", rolloutConfig(t, url, "0.2.0")}, code: 3},
		{name: "json, nothing to do: empty lists, not null", args: []string{"rollout", "plan", "-o", "json", "--config", rolloutConfig(t, url, "0.1.0")}, code: 0, out: `"groups": [],`},
		{name: "bad output", args: []string{"rollout", "plan", "-o", "yaml", "--config", rolloutConfig(t, url, "0.2.0")}, code: 2, out: `-o "yaml": use text or json`},
		{name: "no such branch", args: []string{"rollout", "plan", "--config", noBranch}, code: 2, out: `tenantsRepo.branch: "nope" is not a branch of`},
		{name: "no tenants repo", args: []string{"rollout", "plan", "--config", rolloutConfig(t, "", "0.2.0")}, code: 2, out: "tenantsRepo.url: required by rollout plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			got := commitHash.ReplaceAllString(r.stdout, "<base>")
			if tt.out != "" && !strings.Contains(got+r.stderr, tt.out) {
				t.Errorf("output does not contain %q:\n%s%s", tt.out, got, r.stderr)
			}
			if tt.code == 3 && !strings.Contains(r.stderr, "a rollout would change 3 of 3 stores") {
				t.Errorf("stderr: %q", r.stderr)
			}
			if tt.golden != "" {
				goldenFile(t, tt.golden, got)
			}
			if tt.name == "json" {
				var p struct {
					Stores, WouldChange int
					Groups              []struct {
						Size   int
						Stores []string
						Files  []struct{ Path, Kind, Summary string }
					}
				}
				if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
					t.Fatal(err)
				}
				if p.Stores != 3 || p.WouldChange != 3 || len(p.Groups) != 1 || len(p.Groups[0].Stores) != 3 || p.Groups[0].Size != 3 ||
					p.Groups[0].Files[1].Summary != "chart-version 0.1.0 -> 0.2.0" {
					t.Errorf("json: %+v", p)
				}
			}
		})
	}
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading %s (run go test ./cmd/purrvision -run Rollout -update to create it): %v", p, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun: go test ./cmd/purrvision -run Rollout -update", p, diff)
	}
}
