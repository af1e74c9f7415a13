package rollout

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
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
		t.Fatalf("reading %s (run go test ./internal/rollout -update to create it): %v", p, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun: go test ./internal/rollout -update", p, diff)
	}
}

// mixedPlan is a chart upgrade and a quota change over a few stores, with
// one in an older layout and one that cannot be re-rendered.
func mixedPlan(t *testing.T) *Plan {
	t.Helper()
	cfg := exampleConfig(t)
	stores := []storeSpec{{"cat-cafe", "small", false}, {"dog-diner", "medium", false}, {"emu-eats", "large", false},
		{"fox-food", "medium", false}, {"gnu-grill", "small", false}, {"old-shop", "small", true}, {"one-secret", "large", true}}
	tree := testutil.Tree(fleetFiles(t, cfg, sealedSecrets(t, cfg), stores))
	delete(tree, "tenants/default/one-secret/"+renderer.FileDatabaseSecret)
	return plan(t, withPlanCPU(withChart(cfg, "0.2.0"), "medium", "3"), tree)
}

func TestText_Golden(t *testing.T) {
	golden(t, "plan.txt", Text(mixedPlan(t)))
}

func TestMarkdown_Golden(t *testing.T) {
	md := Markdown(mixedPlan(t), forge.MaxBody)
	golden(t, "summary.md", md)
}

// bigPlan is a plan of stores stores in groups groups, the first holding
// most of them; every group has a diff of about 2 kB.
func bigPlan(stores, groups int) *Plan {
	p := &Plan{Base: strings.Repeat("ab", 20), Stores: stores + 7, Unchanged: 7}
	next := 0
	for g := range groups {
		size := 1
		if g == 0 {
			size = stores - (groups - 1)
		}
		grp := &Group{Files: []FileSummary{{Path: renderer.FileHelmRelease, Kind: Changed, Summary: fmt.Sprintf("chart-version 0.%d.0 -> 0.%d.0", g, g+1)}}}
		for range size {
			name := fmt.Sprintf("store-%05d", next)
			next++
			grp.Stores = append(grp.Stores, name)
			p.Changes = append(p.Changes, &StoreChange{Store: name})
		}
		grp.Representative = grp.Stores[0]
		grp.Diff = strings.Repeat(fmt.Sprintf("-    purrvision.dev/chart-version: 0.%d.0\n+    purrvision.dev/chart-version: 0.%d.0\n", g, g+1), 28)
		p.Groups = append(p.Groups, grp)
	}
	for i := range 40 {
		p.Skipped = append(p.Skipped, Skipped{Store: fmt.Sprintf("broken-%02d", i), Dir: "tenants/default/x", Reason: strings.Repeat("its store.yaml does not parse ", 20)})
	}
	return p
}

func TestMarkdown_BoundedAtAnySize(t *testing.T) {
	tests := []struct {
		name           string
		stores, groups int
		more           string
	}{
		{name: "one group", stores: 10000, groups: 1},
		{name: "500 groups", stores: 10000, groups: 500, more: "more groups ("},
		{name: "10,000 groups", stores: 10000, groups: 10000, more: "more groups ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := Markdown(bigPlan(tt.stores, tt.groups), forge.MaxBody)
			if len(md) > forge.MaxBody {
				t.Errorf("%d bytes, over %d", len(md), forge.MaxBody)
			}
			if !strings.Contains(md, "10,007 stores at abababababab: 10,000 would change") {
				t.Errorf("no overview:\n%s", md[:200])
			}
			if tt.more != "" && (!strings.Contains(md, tt.more) || !strings.Contains(md, "`"+PlanCommand+"` lists every group")) {
				t.Errorf("no %q pointing at %s", tt.more, PlanCommand)
			}
			if !strings.Contains(md, "- and 20 more") {
				t.Error("the skipped stores are not cut at 20")
			}
		})
	}
	// The biggest group comes first, and the golden file shows the whole
	// shape at 500 groups.
	golden(t, "summary-500-groups.md", Markdown(bigPlan(10000, 500), forge.MaxBody))
}

// TestMarkdown_FencesHold: what a tree holds (a diff with a fence of its
// own, a reason with backticks and a mention) stays inside its code.
func TestMarkdown_FencesHold(t *testing.T) {
	p := &Plan{Stores: 1, Groups: []*Group{{
		Stores: []string{"cat-cafe"}, Representative: "cat-cafe",
		Files: []FileSummary{{Path: renderer.FileHelmRelease, Kind: Changed, Summary: "title `x` -> ``@admin <!-- y -->``"}},
		Diff:  "+title: |\n+  ```\n+  </details> @admin\n+  ````\n",
	}}, Changes: []*StoreChange{{Store: "cat-cafe"}}, Skipped: []Skipped{{Store: "x`y", Reason: "bad\n# heading"}}}
	md := Markdown(p, forge.MaxBody)
	if !strings.Contains(md, "`````diff\n") || !strings.Contains(md, "\n`````\n") {
		t.Errorf("the diff's fence is not longer than the fences in it:\n%s", md)
	}
	if !strings.Contains(md, "``` helmrelease.yaml title `x` -> ``@admin <!-- y -->`` ```") {
		t.Errorf("the summary is not in a code span longer than its backticks:\n%s", md)
	}
	if strings.Contains(md, "\n# heading") {
		t.Errorf("a reason's line break reached the Markdown:\n%s", md)
	}
}

func TestMarkdown_NothingToDo(t *testing.T) {
	md := Markdown(&Plan{Base: "0123456789abcdef", Stores: 3, Unchanged: 3}, forge.MaxBody)
	if md != "**3 stores at 0123456789ab: every store is up to date.**\n" {
		t.Errorf("= %q", md)
	}
}
