package provision

import (
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// Labels of the fields of the "Request a store" issue form
// (templates/request-store.yml), as GitHub renders them into the issue body.
const (
	FormName    = "Store name"
	FormPlan    = "Plan"
	FormEmail   = "Admin email"
	FormTitle   = "Shop title"
	FormCluster = "Cluster"
	FormRegion  = "Region"
)

// formFields maps request field paths to form labels, to word errors in
// the person's terms.
var formFields = map[string]string{
	"metadata.name":   FormName,
	"spec.plan":       FormPlan,
	"spec.adminEmail": FormEmail,
	"spec.title":      FormTitle,
	"spec.cluster":    FormCluster,
	"spec.region":     FormRegion,
	"spec.owner":      "Issue author",
}

// noResponse is what GitHub writes for an empty optional field.
const noResponse = "_No response_"

// MaxFormBytes bounds an issue body we parse; GitHub caps bodies at 65536
// characters.
const MaxFormBytes = 256 << 10

// FieldError is one problem with a form field.
type FieldError struct {
	// Field is the form label, e.g. "Plan".
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseForm reads an issue form body ("### Label" sections) into a
// StoreRequest owned by author. It returns every problem it finds; the
// request is only meaningful when there are none.
func ParseForm(body, author string) (*v1alpha1.StoreRequest, []FieldError) {
	if len(body) > MaxFormBytes {
		return nil, []FieldError{{Field: "Issue body", Msg: fmt.Sprintf("is %d bytes; fill in the form fields only", len(body))}}
	}
	sections := map[string]string{}
	var order []string
	var errs []FieldError
	current := ""
	var value []string
	flush := func() {
		if current == "" {
			return
		}
		v := strings.TrimSpace(strings.Join(value, "\n"))
		if v == noResponse {
			v = ""
		}
		if _, dup := sections[current]; dup {
			errs = append(errs, FieldError{Field: current, Msg: "appears twice; keep one"})
		}
		sections[current] = v
		order = append(order, current)
	}
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			flush()
			current = strings.TrimSpace(h)
			value = nil
			continue
		}
		if current != "" {
			value = append(value, line)
		}
	}
	flush()

	if len(order) == 0 {
		return nil, []FieldError{{Field: "Issue body", Msg: "has none of the form's fields; open the issue from the \"Request a store\" form"}}
	}
	known := map[string]bool{FormName: true, FormPlan: true, FormEmail: true, FormTitle: true, FormCluster: true, FormRegion: true}
	for _, s := range order {
		if !known[s] {
			errs = append(errs, FieldError{Field: s, Msg: "is not a field of the \"Request a store\" form; remove it"})
		}
	}
	for _, f := range []string{FormName, FormPlan, FormEmail} {
		if _, ok := sections[f]; !ok {
			errs = append(errs, FieldError{Field: f, Msg: "is missing; open the issue from the \"Request a store\" form"})
		}
	}
	for f, v := range sections {
		if strings.Contains(v, "\n") && f != FormTitle {
			errs = append(errs, FieldError{Field: f, Msg: "must be a single line"})
		}
	}
	req := v1alpha1.New(sections[FormName], v1alpha1.StoreSpec{
		Plan:       sections[FormPlan],
		Owner:      author,
		AdminEmail: sections[FormEmail],
		Title:      sections[FormTitle],
		Cluster:    sections[FormCluster],
		Region:     sections[FormRegion],
	})
	return req, errs
}

// FormField returns the form label of a request field path.
func FormField(path string) string {
	if l, ok := formFields[path]; ok {
		return l
	}
	return path
}

// RenderForm writes a request back as an issue form body, as GitHub would.
func RenderForm(req *v1alpha1.StoreRequest) string {
	v := func(s string) string {
		if s == "" {
			return noResponse
		}
		return s
	}
	return fmt.Sprintf("### %s\n\n%s\n\n### %s\n\n%s\n\n### %s\n\n%s\n\n### %s\n\n%s\n\n### %s\n\n%s\n\n### %s\n\n%s",
		FormName, v(req.Metadata.Name), FormPlan, v(req.Spec.Plan), FormEmail, v(req.Spec.AdminEmail),
		FormTitle, v(req.Spec.Title), FormCluster, v(req.Spec.Cluster), FormRegion, v(req.Spec.Region))
}

// fieldLabel shows a problem's field in a comment: a label of the form in
// bold, anything else (a heading someone wrote) quoted as user text.
func fieldLabel(f string) string {
	if f == "Issue body" {
		return "**" + f + "**"
	}
	for _, l := range formFields {
		if l == f {
			return "**" + f + "**"
		}
	}
	return quoteUser(f)
}
