package provision

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeSecret stands in for a SOPS-encrypted Secret, whose ciphertext
// differs on every render: the check reads only its object and its lines.
func fakeSecret(name, namespace string) []byte {
	return []byte(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n    name: %s\n    namespace: %s\ndata:\n    password: ENC[AES256_GCM,data:...]\nsops:\n    version: 3.13.3\n", name, namespace))
}

// withStores is base with each store rendered into it as issue's request,
// its Secrets fakeSecret: the same tree on every run.
func (f planFixture) withStores(t *testing.T, base testutil.Tree, issue forge.IssueRef, reqs ...*v1alpha1.StoreRequest) testutil.Tree {
	t.Helper()
	out := testutil.Tree{}
	for k, v := range base {
		out[k] = v
	}
	for _, req := range reqs {
		ns := v1alpha1.Namespace(req.Metadata.Name)
		r, err := renderer.Render(renderer.Input{Config: f.cfg, Request: req, Rand: strings.NewReader(""), Now: now, Origin: issue.String(),
			KeepSecret: fakeSecret(renderer.SecretName, ns), KeepDatabaseSecret: fakeSecret(renderer.DatabaseSecretName, ns)})
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range r.Files {
			out[file.Path] = file.Data
		}
	}
	return out
}

func (f planFixture) request(name, plan string) *v1alpha1.StoreRequest {
	spec := f.req.Spec
	spec.Plan = plan
	return v1alpha1.New(name, spec)
}

// golden compares got with testdata/check/<name>.md, or writes it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "check", name+".md")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the golden file (go test ./internal/provision -run TestPlanCheck_Markdown -update writes it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun: go test ./internal/provision -run TestPlanCheck_Markdown -update", file, diff)
	}
}

// show is a check as its golden file holds it: the conclusion, the link,
// then the title, summary and text as GitHub shows them.
func show(c *CheckPlan) string {
	return fmt.Sprintf("<!-- conclusion: %s; details: %s -->\n# %s\n\n%s\n---\n\n%s", c.Conclusion, c.DetailsURL, c.Output.Title, c.Output.Summary, c.Output.Text)
}

// TestPlanCheck_Markdown: the check run's Markdown for a request pull
// request with two stores, the bot's own store pull requests (provision,
// resize, decommission), an invalid request and a fork.
func TestPlanCheck_Markdown(t *testing.T) {
	f := newPlanFixture(t)
	catCafe, dogDiner := f.request("cat-cafe", "small"), f.request("dog-diner", "medium")
	merged := f.withStores(t, testutil.Tree{"README.md": []byte("# tenants\n")}, issueB, catCafe)
	resized := f.withStores(t, merged, issueB, f.request("cat-cafe", "large"))
	rotated := testutil.Tree{}
	for k, v := range merged {
		rotated[k] = v
	}
	secret := path.Join(renderer.StoreDir(f.cfg, "default", "cat-cafe"), renderer.FileSecret)
	rotated[secret] = []byte(strings.Replace(string(merged[secret]), "data:...", "data:rotated...", 1))
	decommissioned := testutil.Tree{}
	for k, v := range merged {
		if !strings.HasPrefix(k, renderer.StoreDir(f.cfg, "default", "cat-cafe")+"/") {
			decommissioned[k] = v
		}
	}
	tests := []struct {
		name string
		in   CheckInput
	}{
		{"request-pull-two-stores", CheckInput{Base: merged, Head: f.withStores(t, merged, issueA, dogDiner, f.request("emu-eatery", "large")),
			Op: v1alpha1.OpProvision, Stores: []string{"dog-diner", "emu-eatery"}, StatusPage: "https://status.example.com/"}},
		{"store-pull-provision", CheckInput{Base: testutil.Tree{}, Head: merged, Op: v1alpha1.OpProvision, Stores: []string{"cat-cafe"}, StatusPage: "https://status.example.com/"}},
		{"store-pull-resize", CheckInput{Base: merged, Head: resized, Op: v1alpha1.OpResize, Stores: []string{"cat-cafe"}}},
		{"store-pull-decommission", CheckInput{Base: merged, Head: decommissioned, Op: v1alpha1.OpDecommission, Stores: []string{"cat-cafe"}}},
		{"store-pull-rotate", CheckInput{Base: merged, Head: rotated, Op: v1alpha1.OpRotate, Stores: []string{"cat-cafe"}}},
		{"invalid-request", CheckInput{Problems: []FieldError{
			{Field: "requests/dog-diner.yaml", Msg: `spec.plan: "xl" is not one of large, medium, small`},
			{Field: "README.md", Msg: "is not a store request; a request pull request changes only requests/<name>.yaml (Purrvision adds the rendered store)"},
			{Field: "requests/<!-- x -->.yaml", Msg: "@octocat <!-- forged -->"},
		}}},
		{"fork", CheckInput{Refused: "pull requests from forks are not validated: push your branch to acme/tenants."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Config = f.cfg
			got, err := PlanCheck(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, show(got))
		})
	}
}

// TestPlanCheck_Changes: what the check says a pull request changes, read
// from the trees: a resize changes the quota, the release and the request
// copy and nothing else; a decommission deletes every object; a new store creates
// them all.
func TestPlanCheck_Changes(t *testing.T) {
	f := newPlanFixture(t)
	merged := f.withStores(t, testutil.Tree{}, issueA, f.request("cat-cafe", "small"))
	resized := f.withStores(t, merged, issueA, f.request("cat-cafe", "large"))
	plan := func(base, head testutil.Tree) storeChange {
		t.Helper()
		sc, err := planStore(f.cfg, base, head, "cat-cafe")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	changes := func(sc storeChange) map[string]string {
		out := map[string]string{}
		for _, o := range sc.Objects {
			out[o.Kind+" "+o.Name] = o.Change
		}
		for _, fc := range sc.Files {
			out[fc.Path] = fc.Change
		}
		return out
	}
	r := plan(merged, resized)
	got := changes(r)
	want := map[string]string{"ResourceQuota store-cat-cafe/store-quota": "changed", "LimitRange store-cat-cafe/store-limits": "changed",
		"HelmRelease store-cat-cafe/woocommerce": "changed", // the chart's resources follow the plan
		"manifests/quota.yaml":                   "changed", "manifests/helmrelease.yaml": "changed", "store.yaml": "changed"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("resize: %s is %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if r.Change != "changed" || r.Plan != "small → large" || !strings.Contains(r.Quota, "4 CPU") {
		t.Errorf("resize: %+v", r)
	}
	for k := range got {
		if _, ok := want[k]; !ok && !strings.Contains(k, "NetworkPolicy") && !strings.Contains(k, "network-policies") {
			t.Errorf("resize also changes %s (%s)", k, got[k])
		}
	}
	// What someone pushed into the store's folder shows only inside code
	// spans, where GitHub renders no HTML, link or mention, and in no cell
	// of its own; a kind that is not a word is not shown at all.
	hostile := testutil.Tree{}
	for k, v := range merged {
		hostile[k] = v
	}
	hostile[path.Join(f.dir(), "manifests/x|`@octocat`.yaml")] = []byte("kind: <img src=x>\nmetadata:\n  name: a\n---\nkind: ConfigMap\nmetadata:\n  name: \"b`|<img src=y>\"\n")
	text := storeSection(plan(merged, hostile))
	for _, want := range []string{"| ConfigMap `b<img src=y>` | created |\n", "| `manifests/x@octocat.yaml` | added, 7 lines |\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the check lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "<img src=x>") {
		t.Errorf("a kind that is not a word is shown:\n%s", text)
	}
	for name, tt := range map[string]struct {
		base, head testutil.Tree
		change     string
	}{"new store": {testutil.Tree{}, merged, "created"}, "decommission": {merged, testutil.Tree{}, "deleted"}} {
		sc := plan(tt.base, tt.head)
		if len(sc.Objects) < 10 {
			t.Errorf("%s: %d objects, want every object of a store", name, len(sc.Objects))
		}
		for _, o := range sc.Objects {
			if o.Change != tt.change {
				t.Errorf("%s: %s %s is %s, want %s", name, o.Kind, o.Name, o.Change, tt.change)
			}
		}
	}
}

// TestPlanCheck_WithinGitHubLimits: with hundreds of stores of 40
// characters, thousands of long problems or a long refusal, every field of
// the check stays within GitHub's limits, and says what it left out.
func TestPlanCheck_WithinGitHubLimits(t *testing.T) {
	f := newPlanFixture(t)
	var reqs []*v1alpha1.StoreRequest
	var names []string
	for i := range 400 {
		name := fmt.Sprintf("%s-%03d", strings.Repeat("s", 36), i)
		names = append(names, name)
		reqs = append(reqs, f.request(name, "medium"))
	}
	head := f.withStores(t, testutil.Tree{}, issueA, reqs...)
	var problems []FieldError
	for i := range 3000 {
		problems = append(problems, FieldError{Field: "requests/" + strings.Repeat("p", 4000) + ".yaml", Msg: fmt.Sprint(i, strings.Repeat(" é", 500))})
	}
	tests := []struct {
		name string
		in   CheckInput
		says []string
	}{
		{"400 stores", CheckInput{Base: testutil.Tree{}, Head: head, Op: v1alpha1.OpProvision, Stores: names},
			[]string{names[0], "more, not shown", "not shown"}},
		{"3 stores", CheckInput{Base: testutil.Tree{}, Head: head, Op: v1alpha1.OpProvision, Stores: names[:3]}, []string{names[2]}},
		{"3000 problems", CheckInput{Problems: problems}, []string{"3000 problems", "more, listed once these are fixed"}},
		{"a long refusal", CheckInput{Refused: strings.Repeat("no ", 40000)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Config = f.cfg
			c, err := PlanCheck(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, field := range []struct {
				name, text string
				max        int
			}{{"title", c.Output.Title, forge.MaxCheckTitle}, {"summary", c.Output.Summary, forge.MaxCheckSummary}, {"text", c.Output.Text, forge.MaxCheckText}} {
				if n := utf8.RuneCountInString(field.text); n > field.max {
					t.Errorf("%s has %d characters, over GitHub's %d", field.name, n, field.max)
				}
			}
			all := c.Output.Title + c.Output.Summary + c.Output.Text
			for _, s := range tt.says {
				if !strings.Contains(all, s) {
					t.Errorf("the check does not say %q", s)
				}
			}
		})
	}
}
