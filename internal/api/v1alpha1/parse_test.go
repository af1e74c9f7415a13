package v1alpha1_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

const valid = `apiVersion: purrvision.dev/v1alpha1
kind: StoreRequest
metadata:
  name: cat-cafe
spec:
  plan: small
  owner: octocat
  adminEmail: owner@example.com
  title: Cat Cafe
`

func TestParse_Valid(t *testing.T) {
	req, err := v1alpha1.Parse([]byte(valid))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small", Owner: "octocat", AdminEmail: "owner@example.com", Title: "Cat Cafe"})
	if !reflect.DeepEqual(req, want) {
		t.Errorf("Parse() = %+v, want %+v", req, want)
	}
}

// anchorBomb is the "billion laughs" of YAML: each alias doubles the size.
func anchorBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n")
		prev = n
	}
	return b.String()
}

func TestParse_Invalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", []string{"empty"}},
		{"whitespace", "  \n\t\n", []string{"empty"}},
		{"too large", valid + "# " + strings.Repeat("x", v1alpha1.MaxRequestBytes), []string{"bytes", "under 65536"}},
		{"not utf-8", "apiVersion: \xff\xfe", []string{"UTF-8"}},
		{"not yaml", "apiVersion: [", []string{"not valid YAML"}},
		{"anchor bomb", anchorBomb(), []string{"anchors", "line 1"}},
		{"alias", strings.Replace(valid, "plan: small", "plan: *x", 1), []string{"not valid YAML"}},
		{"anchor and alias", strings.Replace(strings.Replace(valid, "plan: small", "plan: &p small", 1), "title: Cat Cafe", "title: *p", 1), []string{"spec.plan", "anchors"}},
		{"merge key", valid + "extra: &e {a: 1}\nmore:\n  <<: *e\n", []string{"extra", "anchors"}},
		{"duplicate key", valid + "  plan: large\n", []string{"spec.plan", "twice"}},
		{"duplicate top-level key", valid + "kind: StoreRequest\n", []string{"kind", "twice"}},
		{"unknown field", strings.Replace(valid, "title:", "color: red\n  title:", 1), []string{"color", "not found"}},
		{"unknown top-level field", valid + "status: {}\n", []string{"status"}},
		{"second document", valid + "---\n" + valid, []string{"second YAML document"}},
		{"wrong apiVersion", strings.Replace(valid, "purrvision.dev/v1alpha1", "v1", 1), []string{"apiVersion", `"purrvision.dev/v1alpha1"`}},
		{"wrong kind", strings.Replace(valid, "kind: StoreRequest", "kind: Store", 1), []string{"kind", `"StoreRequest"`}},
		{"name is a map", strings.Replace(valid, "name: cat-cafe", "name: {a: b}", 1), []string{"cannot unmarshal"}},
		{"binary tag", strings.Replace(valid, "plan: small", "plan: !!binary c21hbGw=", 1), []string{"spec.plan", "tag"}},
		{"custom tag", strings.Replace(valid, "plan: small", "plan: !foo small", 1), []string{"spec.plan", "tag"}},
		{"list document", "- a\n- b\n", []string{"cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := v1alpha1.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", req)
			}
			if !errors.Is(err, v1alpha1.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
