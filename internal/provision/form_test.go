package provision_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/provision"
)

// A body as GitHub renders the "Request a store" form.
const githubBody = "### Store name\n\ncat-cafe\n\n### Plan\n\nsmall\n\n### Admin email\n\nowner@example.com\n\n### Shop title\n\n_No response_\n\n### Cluster\n\n_No response_"

func TestParseForm_GitHubBody(t *testing.T) {
	req, errs := provision.ParseForm(githubBody, "octocat")
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small", Owner: "octocat", AdminEmail: "owner@example.com"})
	if req.Metadata.Name != want.Metadata.Name || req.Spec != want.Spec {
		t.Errorf("ParseForm = %+v, want %+v", req, want)
	}
	// CRLF bodies, as browsers submit them, parse the same.
	req2, errs := provision.ParseForm(strings.ReplaceAll(githubBody, "\n", "\r\n"), "octocat")
	if len(errs) > 0 || req2.Spec != req.Spec {
		t.Errorf("CRLF body: %+v, %v", req2, errs)
	}
}

func TestParseForm_RoundTrip(t *testing.T) {
	in := v1alpha1.New("dog-diner", v1alpha1.StoreSpec{Plan: "large", Owner: "x", AdminEmail: "a@b.co", Title: "Dog Diner", Cluster: "eu"})
	out, errs := provision.ParseForm(provision.RenderForm(in), "x")
	if len(errs) > 0 || out.Spec != in.Spec || out.Metadata.Name != in.Metadata.Name {
		t.Errorf("round trip: %+v, %v", out, errs)
	}
}

func TestParseForm_Errors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not a form", "please give me a shop", "Issue body"},
		{"missing plan", "### Store name\n\ncat-cafe\n\n### Admin email\n\na@b.co", "Plan: is missing"},
		{"duplicate field", githubBody + "\n\n### Plan\n\nlarge", "Plan: appears twice"},
		{"unknown field", githubBody + "\n\n### Budget\n\nlots", "Budget: is not a field"},
		{"multi-line name", strings.Replace(githubBody, "cat-cafe", "cat\ncafe", 1), "Store name: must be a single line"},
		{"huge body", strings.Repeat("x", provision.MaxFormBytes+1), "Issue body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := provision.ParseForm(tt.body, "octocat")
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e.Error(), tt.want)
			}
			if !found {
				t.Errorf("errors %v lack %q", errs, tt.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
		name string
		args int
	}{
		{"/purrvision resize medium", true, "resize", 1},
		{"  /purrvision rotate-credentials\nthanks!", true, "rotate-credentials", 0},
		{"/purrvision", true, "", 0},
		{"please /purrvision resize", false, "", 0},
		{"/purrvisionx resize", false, "", 0},
		{"", false, "", 0},
	}
	for _, tt := range tests {
		c, ok := provision.ParseCommand(tt.body)
		if ok != tt.ok || c.Name != tt.name || len(c.Args) != tt.args {
			t.Errorf("ParseCommand(%q) = %+v, %v", tt.body, c, ok)
		}
	}
}

// FuzzParseForm: the issue-form parser never panics, and whatever it
// accepts without errors survives a round trip through RenderForm.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		githubBody,
		"### Store name\n\n../x\n\n### Plan\n\nsmall\n\n### Admin email\n\na@b.co",
		"### Store name\n\nсat-cafe\n\n### Plan\n\nsmall\n\n### Admin email\n\na@b.co",
		"### Store name\n\n" + strings.Repeat("a", 300) + "\n\n### Plan\n\nsmall\n\n### Admin email\n\na@b.co",
		"### Store name\n\nkube-system\n\n### Plan\n\nsmall\n\n### Admin email\n\na@b.co",
		"###\n\n### \n\n#### Plan",
		"### Plan\n\nsmall\n\n### Plan\n\nlarge",
		"\x00### Store name\r\n\r\n\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, errs := provision.ParseForm(body, "octocat")
		if len(errs) > 0 || req == nil {
			return
		}
		back, errs := provision.ParseForm(provision.RenderForm(req), "octocat")
		if len(errs) > 0 {
			t.Fatalf("a form that parsed does not parse again: %v", errs)
		}
		if strings.TrimSpace(req.Metadata.Name) != back.Metadata.Name || strings.TrimSpace(req.Spec.Plan) != back.Spec.Plan {
			t.Fatalf("round trip changed the request: %+v -> %+v", req, back)
		}
	})
}

// FuzzParseCommand: any comment parses without panicking; a command is
// only ever read from the first line, and its name and arguments hold no
// blanks.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/purrvision resize medium", "/purrvision", "  /purrvision  rotate-credentials \r\n/purrvision decommission", "thanks\n/purrvision retry", "/purrvisionx resize", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, ok := provision.ParseCommand(body)
		first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
		if ok != (len(strings.Fields(first)) > 0 && strings.Fields(first)[0] == "/purrvision") {
			t.Fatalf("ParseCommand(%q) ok = %v", body, ok)
		}
		for _, s := range append([]string{cmd.Name}, cmd.Args...) {
			if strings.ContainsFunc(s, unicode.IsSpace) {
				t.Fatalf("ParseCommand(%q) = %+v: blanks in a field", body, cmd)
			}
		}
		if ok && cmd.Name != "" && !strings.Contains(first, cmd.Name) {
			t.Fatalf("ParseCommand(%q) = %+v: not from the first line", body, cmd)
		}
	})
}
