package rollout

import (
	"bytes"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// errTree fails every read.
type errTree struct{}

func (errTree) ReadFile(string) ([]byte, bool, error) { return nil, false, errors.New("disk on fire") }
func (errTree) ReadDir(string) ([]string, error)      { return nil, errors.New("disk on fire") }

func plan(t *testing.T, cfg *config.Config, tree renderer.Tree) *Plan {
	t.Helper()
	p, err := PlanFleet(Input{Config: cfg, Tree: tree, Base: "base"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func headlines(p *Plan) []string {
	var out []string
	for _, g := range p.Groups {
		out = append(out, g.Headline())
	}
	return out
}

// applied is tree with every change of the plan made.
func applied(tree testutil.Tree, p *Plan) testutil.Tree {
	var all []tenants.Change
	for _, c := range p.Changes {
		all = append(all, c.TenantsChanges()...)
	}
	return tree.With(all)
}

func TestPlanFleet(t *testing.T) {
	cfg := exampleConfig(t)
	sec := sealedSecrets(t, cfg)
	stores := []storeSpec{{"cat-cafe", "small", false}, {"dog-diner", "medium", false}, {"emu-eats", "large", false},
		{"fox-food", "medium", false}, {"gnu-grill", "small", false}}
	tree := testutil.Tree(fleetFiles(t, cfg, sec, stores))
	flat := testutil.Tree(fleetFiles(t, cfg, sec, append(stores[:2:2], storeSpec{"old-shop", "small", true})))

	tests := []struct {
		name      string
		cfg       *config.Config
		tree      testutil.Tree
		headlines []string
		groups    [][]string
		unchanged int
	}{
		{name: "nothing changed", cfg: cfg, tree: tree, unchanged: 5},
		{
			name: "chart upgrade", cfg: withChart(cfg, "0.2.0"), tree: tree,
			headlines: []string{"5 stores: chart-source.yaml tag woocommerce-0.1.0 -> woocommerce-0.2.0; helmrelease.yaml chart-version 0.1.0 -> 0.2.0"},
			groups:    [][]string{{"cat-cafe", "dog-diner", "emu-eats", "fox-food", "gnu-grill"}},
		},
		{
			name: "one plan's quota", cfg: withPlanCPU(cfg, "medium", "3"), tree: tree, unchanged: 3,
			headlines: []string{"2 stores (plan medium): helmrelease.yaml changed (+4 -4); quota.yaml cpu 2 -> 3"},
			groups:    [][]string{{"dog-diner", "fox-food"}},
		},
		{
			name: "chart upgrade and a quota: two groups, the biggest first", cfg: withPlanCPU(withChart(cfg, "0.2.0"), "medium", "3"), tree: tree,
			headlines: []string{
				"3 stores: chart-source.yaml tag woocommerce-0.1.0 -> woocommerce-0.2.0; helmrelease.yaml chart-version 0.1.0 -> 0.2.0",
				"2 stores (plan medium): chart-source.yaml tag woocommerce-0.1.0 -> woocommerce-0.2.0; helmrelease.yaml changed (+5 -5); quota.yaml cpu 2 -> 3",
			},
			groups: [][]string{{"cat-cafe", "emu-eats", "gnu-grill"}, {"dog-diner", "fox-food"}},
		},
		{
			name: "a mirror for the store image", cfg: withImage(cfg, config.ChartImage{Repository: "registry.example.com/mirror/woocommerce", Tag: "6.8.3-wc10.3.5"}), tree: tree,
			headlines: []string{"5 stores: helmrelease.yaml changed (+4 -0)"},
			groups:    [][]string{{"cat-cafe", "dog-diner", "emu-eats", "fox-food", "gnu-grill"}},
		},
		{
			name: "older layout", cfg: cfg, tree: flat, unchanged: 2,
			headlines: []string{"1 store (plan small): older layout, moved to the current one"},
			groups:    [][]string{{"old-shop"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.cfg, tt.tree)
			if got := headlines(p); !reflect.DeepEqual(got, tt.headlines) {
				t.Errorf("headlines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.headlines, "\n"))
			}
			var groups [][]string
			for _, g := range p.Groups {
				groups = append(groups, g.Stores)
			}
			if !reflect.DeepEqual(groups, tt.groups) {
				t.Errorf("groups %v, want %v", groups, tt.groups)
			}
			if p.Unchanged != tt.unchanged || len(p.Skipped) != 0 {
				t.Errorf("unchanged %d, skipped %v; want %d unchanged, none skipped", p.Unchanged, p.Skipped, tt.unchanged)
			}
			for _, c := range p.Changes {
				for _, f := range c.Files {
					if (f.Path == renderer.FileSecret || f.Path == renderer.FileDatabaseSecret) && f.Kind != Kept {
						t.Errorf("store %s: %s is %s; a rollout keeps the Secrets as they are", c.Store, f.Path, f.Kind)
					}
				}
			}
			// Once the plan is carried out, nothing is left to change,
			// and the Secrets are the same bytes.
			after := applied(tt.tree, p)
			if again := plan(t, tt.cfg, after); len(again.Changes) != 0 || again.Unchanged != again.Stores {
				t.Errorf("after the rollout, still %d changes: %v", len(again.Changes), headlines(again))
			}
			for _, s := range []string{"cat-cafe", "old-shop"} {
				dir := renderer.StoreDir(cfg, "default", s)
				if _, ok := after[path.Join(dir, renderer.FileRequest)]; !ok {
					continue
				}
				for _, f := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
					want := sec.admin
					if f == renderer.FileDatabaseSecret {
						want = sec.database
					}
					if !bytes.Equal(after[path.Join(dir, f)], want) {
						t.Errorf("store %s: %s is not the same bytes after the rollout", s, f)
					}
				}
			}
		})
	}
}

func TestPlanFleet_MovesOlderLayout(t *testing.T) {
	cfg := exampleConfig(t)
	tree := testutil.Tree(fleetFiles(t, cfg, sealedSecrets(t, cfg), []storeSpec{{"old-shop", "small", true}}))
	p := plan(t, cfg, tree)
	c := p.Store("old-shop")
	if c == nil || !c.Moved || c.From != "tenants/default/old-shop" || c.Dir != renderer.StoreDir(cfg, "default", "old-shop") {
		t.Fatalf("change of old-shop = %+v, want a move from tenants/default/old-shop", c)
	}
	ch := c.TenantsChanges()
	if !ch[0].Delete || ch[0].Path != c.From || len(ch) != 1+12 {
		t.Errorf("changes: %d, first %+v; want the old folder deleted, then the 12 files written", len(ch), ch[0])
	}
	if !strings.Contains(p.Groups[0].Diff, "rename from tenants/default/old-shop/manifests/credentials.sops.yaml") ||
		!strings.Contains(p.Groups[0].Diff, "+  path: ./"+c.Dir+"/manifests") {
		t.Errorf("diff of a move:\n%s", p.Groups[0].Diff)
	}
}

func TestPlanFleet_Skips(t *testing.T) {
	cfg := exampleConfig(t)
	sec := sealedSecrets(t, cfg)
	tree := testutil.Tree(fleetFiles(t, cfg, sec, []storeSpec{{"cat-cafe", "small", false}, {"dog-diner", "medium", false},
		{"emu-eats", "large", false}, {"fox-food", "small", false}, {"one-secret", "small", true}, {"gnu-grill", "small", false}}))
	dir := func(s string) string { return renderer.StoreDir(cfg, "default", s) }
	delete(tree, path.Join(dir("cat-cafe"), renderer.FileSecret))
	tree[path.Join(dir("dog-diner"), renderer.FileRequest)] = []byte("kind: [")
	delete(tree, path.Join("tenants/default/one-secret", renderer.FileDatabaseSecret))
	tree[path.Join(dir("emu-eats"), renderer.FileRequest)] = bytes.Replace(tree[path.Join(dir("emu-eats"), renderer.FileRequest)], []byte("plan: large"), []byte("plan: huge"), 1)
	tree[path.Join(dir("fox-food"), renderer.FileRequest)] = bytes.Replace(tree[path.Join(dir("fox-food"), renderer.FileRequest)], []byte("name: fox-food"), []byte("name: fox-fire"), 1)

	p := plan(t, withChart(cfg, "0.2.0"), tree)
	want := map[string]string{
		"cat-cafe":   "no manifests/credentials.sops.yaml, and a rollout makes no credentials",
		"dog-diner":  "does not parse",
		"emu-eats":   "today's config refuses its request",
		"fox-food":   `names store "fox-fire"`,
		"one-secret": "older layout: the database passwords are in manifests/credentials.sops.yaml",
	}
	if len(p.Skipped) != len(want) {
		t.Errorf("skipped %v, want %d", p.Skipped, len(want))
	}
	for _, s := range p.Skipped {
		if !strings.Contains(s.Reason, want[s.Store]) || want[s.Store] == "" {
			t.Errorf("store %s skipped: %q, want %q", s.Store, s.Reason, want[s.Store])
		}
	}
	if len(p.Changes) != 1 || p.Changes[0].Store != "gnu-grill" || !p.Changed() {
		t.Errorf("changes %v, want gnu-grill only", p.StoreNames())
	}
	// Nothing would change but the skipped: still something to look at.
	if p := plan(t, cfg, tree); len(p.Changes) != 0 || !p.Changed() {
		t.Errorf("skipped stores alone: Changed() = %v", p.Changed())
	}
}

// TestPlanFleet_BothLayouts: a store in both layouts is not moved over
// itself; the one in the current layout is planned as usual.
func TestPlanFleet_BothLayouts(t *testing.T) {
	cfg := exampleConfig(t)
	sec := sealedSecrets(t, cfg)
	tree := testutil.Tree(fleetFiles(t, cfg, sec, []storeSpec{{"cat-cafe", "small", false}}))
	for p, d := range fleetFiles(t, cfg, sec, []storeSpec{{"cat-cafe", "large", true}}) {
		tree[p] = d
	}
	p := plan(t, withChart(cfg, "0.2.0"), tree)
	if len(p.Skipped) != 1 || p.Skipped[0].Dir != "tenants/default/cat-cafe" || !strings.Contains(p.Skipped[0].Reason, "also in the current layout") {
		t.Errorf("skipped %+v, want the copy in the older layout", p.Skipped)
	}
	if c := p.Store("cat-cafe"); c == nil || c.Moved || c.Plan != "small" {
		t.Errorf("change of cat-cafe = %+v, want the store in the current layout", c)
	}
}

func TestPlanFleet_ReadErrorFails(t *testing.T) {
	if _, err := PlanFleet(Input{Config: exampleConfig(t), Tree: errTree{}}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v, want the read error", err)
	}
}

// TestPlanFleet_NeverMakesSecrets: the renderer's random source fails, so
// a render that would generate credentials fails rather than writes them.
func TestPlanFleet_NeverMakesSecrets(t *testing.T) {
	if _, err := noRand.Read(noRand{}, make([]byte, 1)); !errors.Is(err, errNoRand) {
		t.Fatalf("noRand gave %v", err)
	}
	cfg := exampleConfig(t)
	req := request("cat-cafe", "small")
	_, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: noRand{}, KeepSecret: []byte("x")})
	if !errors.Is(err, errNoRand) {
		t.Errorf("a render that needs credentials: %v, want errNoRand", err)
	}
}

func TestPlanFleet_WorkersDoNotChangeThePlan(t *testing.T) {
	cfg := exampleConfig(t)
	tree := testutil.Tree(fleetFiles(t, cfg, sealedSecrets(t, cfg), manyStores(30)))
	next := withPlanCPU(withChart(cfg, "0.2.0"), "large", "5")
	one, err := PlanFleet(Input{Config: next, Tree: tree, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	four, err := PlanFleet(Input{Config: next, Tree: tree, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one.Groups, four.Groups) || Text(one) != Text(four) {
		t.Errorf("1 worker and 4 disagree:\n%s\n%s", Text(one), Text(four))
	}
}
