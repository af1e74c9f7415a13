package renderer_test

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*v1alpha1.StoreRequest)
		// want lists substrings of the single expected error; empty: valid.
		want []string
	}{
		{name: "example is valid"},
		{name: "three characters", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "cat" }},
		{name: "forty characters", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = strings.Repeat("a", 40) }},
		{name: "missing name", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "" }, want: []string{"metadata.name", "Required", "cat-cafe"}},
		{name: "two characters", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "ab" }, want: []string{"metadata.name", "3 to 40"}},
		{name: "300 characters", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = strings.Repeat("a", 300) }, want: []string{"metadata.name", "3 to 40", "it is 300"}},
		{name: "path traversal", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "../x" }, want: []string{"metadata.name", "lowercase letters"}},
		{name: "uppercase", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "CatCafe" }, want: []string{"metadata.name", "lowercase"}},
		{name: "cyrillic look-alike", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "cаt-cafe" }, want: []string{"metadata.name", "a-z"}},
		{name: "trailing hyphen", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "cat-" }, want: []string{"metadata.name"}},
		{name: "default reserved", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "default" }, want: []string{"metadata.name", "reserved"}},
		{name: "kube-system reserved", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "kube-system" }, want: []string{"metadata.name", "reserved"}},
		{name: "kube prefix reserved", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "kube-shop" }, want: []string{"reserved"}},
		{name: "flux-system reserved", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "flux-system" }, want: []string{"reserved"}},
		{name: "purrvision prefix reserved", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "purrvision-shop" }, want: []string{"reserved"}},
		{name: "configured reserved name", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "www" }, want: []string{"reserved"}},
		{name: "unknown plan", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Plan = "xl" }, want: []string{"spec.plan", `"xl"`, `"large", "medium", "small"`}},
		{name: "missing plan", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Plan = "" }, want: []string{"spec.plan", "large, medium, small"}},
		{name: "missing owner", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Owner = "" }, want: []string{"spec.owner", "Required"}},
		{name: "owner with double hyphen", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Owner = "oct--cat" }, want: []string{"spec.owner", "GitHub login"}},
		{name: "owner too long", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Owner = strings.Repeat("a", 40) }, want: []string{"spec.owner"}},
		{name: "owner leading hyphen", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Owner = "-octocat" }, want: []string{"spec.owner"}},
		{name: "owner with at", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Owner = "@octocat" }, want: []string{"spec.owner"}},
		{name: "missing email", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.AdminEmail = "" }, want: []string{"spec.adminEmail", "Required"}},
		{name: "email without domain dot", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.AdminEmail = "owner@localhost" }, want: []string{"spec.adminEmail", "owner@example.com"}},
		{name: "email with display name", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.AdminEmail = "Owner <owner@example.com>" }, want: []string{"spec.adminEmail"}},
		{name: "email with newline", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.AdminEmail = "owner@example.com\nBcc: x@y.z" }, want: []string{"spec.adminEmail"}},
		{name: "email not an address", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.AdminEmail = "not-an-email" }, want: []string{"spec.adminEmail"}},
		{name: "title too long", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = strings.Repeat("x", 81) }, want: []string{"spec.title", "80"}},
		{name: "title with newline", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "Cat\nCafe" }, want: []string{"spec.title", "line breaks"}},
		{name: "title read as an option", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "--exec=system('id');" }, want: []string{"spec.title", "must not start with '-'"}},
		{name: "title with one leading hyphen", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "-shop" }, want: []string{"spec.title", "'-'"}},
		{name: "title with a bidi override", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "Cat \u202eefaC" }, want: []string{"spec.title", "invisible"}},
		{name: "title with a zero-width space", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "Cat\u200bCafe" }, want: []string{"spec.title", "printable"}},
		{name: "title with a hyphen inside", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "Cat-Cafe -- since 2026" }},
		{name: "punycode name", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "xn--80ak6aa92e" }, want: []string{"metadata.name", "look-alike"}},
		{name: "other IDNA-reserved name", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "ab--shop" }, want: []string{"metadata.name", "'--'"}},
		{name: "double hyphen elsewhere", mutate: func(r *v1alpha1.StoreRequest) { r.Metadata.Name = "cat--cafe" }},
		{name: "unicode title", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Title = "Café des Chats 🐈" }},
		{name: "unknown cluster", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Cluster = "mars" }, want: []string{"spec.cluster", `"mars"`, `"default"`}},
		{name: "known cluster", mutate: func(r *v1alpha1.StoreRequest) { r.Spec.Cluster = "default" }},
	}
	cfg := testutil.ExampleConfig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testutil.ExampleRequest(t)
			if tt.mutate != nil {
				tt.mutate(req)
			}
			errs := renderer.Validate(cfg, req)
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("Validate() = %v, want no errors", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("Validate() = %v, want exactly one error", errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("error %q does not contain %q", errs[0].Error(), w)
				}
			}
		})
	}
}

func TestValidate_ReportsEveryField(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	req := v1alpha1.New("x", v1alpha1.StoreSpec{Plan: "xl", Owner: "-", AdminEmail: "nope", Cluster: "mars"})
	errs := renderer.Validate(cfg, req)
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Field] = true
	}
	for _, f := range []string{"metadata.name", "spec.plan", "spec.owner", "spec.adminEmail", "spec.cluster"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, errs)
		}
	}
}
