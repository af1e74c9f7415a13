package provision_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/templates"
)

// TestIssueForm_MatchesParser: the shipped form has exactly the fields the
// parser reads, applies the request label, and .github has the same copy.
func TestIssueForm_MatchesParser(t *testing.T) {
	var form struct {
		Labels []string `json:"labels"`
		Body   []struct {
			Type       string `json:"type"`
			Attributes struct {
				Label   string   `json:"label"`
				Options []string `json:"options"`
			} `json:"attributes"`
		} `json:"body"`
	}
	if err := yaml.Unmarshal(templates.RequestStoreForm, &form); err != nil {
		t.Fatalf("the issue form does not decode: %v", err)
	}
	if len(form.Labels) != 1 || form.Labels[0] != v1alpha1.LabelRequest {
		t.Errorf("form labels = %v, want [%s]", form.Labels, v1alpha1.LabelRequest)
	}
	var got []string
	var plans []string
	for _, b := range form.Body {
		if b.Type == "markdown" {
			continue
		}
		got = append(got, b.Attributes.Label)
		if b.Attributes.Label == provision.FormPlan {
			plans = b.Attributes.Options
		}
	}
	want := []string{provision.FormName, provision.FormPlan, provision.FormEmail, provision.FormTitle, provision.FormCluster, provision.FormRegion}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("form fields %v, parser fields %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("form fields %v, parser fields %v", got, want)
		}
	}
	cfgPlans := testutil.ExampleConfig(t).PlanNames()
	sort.Strings(plans)
	if len(plans) != len(cfgPlans) {
		t.Errorf("form plans %v, example config plans %v", plans, cfgPlans)
	}
	shipped, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), ".github", "ISSUE_TEMPLATE", "request-store.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, templates.RequestStoreForm) {
		t.Error(".github/ISSUE_TEMPLATE/request-store.yml differs from templates/request-store.yml")
	}
}
