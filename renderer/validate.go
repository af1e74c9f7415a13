package renderer

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// Limits on request values.
const (
	MinNameLength  = 3
	MaxNameLength  = 40
	MaxTitleLength = 80
	MaxEmailLength = 254
)

// builtinReserved are names no store may take; a trailing * matches a prefix.
var builtinReserved = []string{"default", "kube-*", "flux-system", "purrvision*"}

// Validate checks a parsed request against the config and returns every
// problem, each naming its field and saying how to fix it. An empty list
// means the request can be rendered.
func Validate(cfg *config.Config, req *v1alpha1.StoreRequest) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateName(cfg, req.Metadata.Name)...)

	spec := field.NewPath("spec")
	s := req.Spec
	switch {
	case s.Plan == "":
		errs = append(errs, field.Required(spec.Child("plan"), "choose one of "+strings.Join(cfg.PlanNames(), ", ")))
	case !hasPlan(cfg, s.Plan):
		errs = append(errs, field.NotSupported(spec.Child("plan"), s.Plan, cfg.PlanNames()))
	}

	switch {
	case s.Owner == "":
		errs = append(errs, field.Required(spec.Child("owner"), "give the GitHub login of the store's owner"))
	default:
		if msg := checkGitHubLogin(s.Owner); msg != "" {
			errs = append(errs, field.Invalid(spec.Child("owner"), s.Owner, msg))
		}
	}

	if s.AdminEmail == "" {
		errs = append(errs, field.Required(spec.Child("adminEmail"), "give the e-mail address of the store's administrator, like owner@example.com"))
	} else if msg := checkEmail(s.AdminEmail); msg != "" {
		errs = append(errs, field.Invalid(spec.Child("adminEmail"), s.AdminEmail, msg))
	}

	if len([]rune(s.Title)) > MaxTitleLength {
		errs = append(errs, field.TooLong(spec.Child("title"), "", MaxTitleLength))
	} else if msg := checkTitle(s.Title); msg != "" {
		errs = append(errs, field.Invalid(spec.Child("title"), s.Title, msg))
	}

	if s.Cluster != "" && !cfg.HasCluster(s.Cluster) {
		errs = append(errs, field.NotSupported(spec.Child("cluster"), s.Cluster, cfg.ClusterNames()))
	}
	if s.Region != "" {
		for _, msg := range validation.IsValidLabelValue(s.Region) {
			errs = append(errs, field.Invalid(spec.Child("region"), s.Region, msg))
		}
	}
	return errs
}

// checkTitle says what is wrong with a shop title: it is shown to
// shoppers and handed to the installer, so it is printable text on one
// line that no option parser can take for an option.
func checkTitle(title string) string {
	if strings.HasPrefix(title, "-") {
		return "must not start with '-'; start it with a letter or digit"
	}
	if strings.IndexFunc(title, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) >= 0 {
		return "remove control characters, line breaks and invisible characters: use printable text on one line"
	}
	return ""
}

func hasPlan(cfg *config.Config, name string) bool {
	_, ok := cfg.Plans[name]
	return ok
}

func validateName(cfg *config.Config, name string) field.ErrorList {
	p := field.NewPath("metadata", "name")
	if name == "" {
		return field.ErrorList{field.Required(p, fmt.Sprintf("give the store a name of %d to %d lowercase letters, digits and '-', like cat-cafe", MinNameLength, MaxNameLength))}
	}
	if n := len(name); n < MinNameLength || n > MaxNameLength {
		return field.ErrorList{field.Invalid(p, truncate(name), fmt.Sprintf("must be %d to %d characters long; it is %d", MinNameLength, MaxNameLength, n))}
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, name, "use only lowercase letters a-z, digits and '-', starting and ending with a letter or digit, like cat-cafe")}
	}
	if len(name) >= 4 && name[2:4] == "--" {
		// RFC 5891 4.2.3.1: such labels are reserved for IDNA; "xn--..."
		// is punycode, which browsers show as a Unicode look-alike name.
		return field.ErrorList{field.Invalid(p, name, "must not have '--' as its third and fourth characters: such host names (like xn--...) are shown by browsers as other, look-alike Unicode names; choose another name")}
	}
	for _, r := range append(append([]string{}, builtinReserved...), cfg.ReservedNames...) {
		if matchReserved(r, name) {
			return field.ErrorList{field.Forbidden(p, fmt.Sprintf("%q is reserved; choose another name", name))}
		}
	}
	return nil
}

func matchReserved(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}

// checkGitHubLogin follows GitHub's rules: 1 to 39 ASCII letters, digits and
// single hyphens, not at either end.
func checkGitHubLogin(login string) string {
	const msg = "must be a GitHub login: up to 39 letters, digits and single hyphens, not starting or ending with a hyphen"
	if len(login) > 39 {
		return msg
	}
	prev := byte('-')
	for i := 0; i < len(login); i++ {
		c := login[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && prev != '-':
		default:
			return msg
		}
		prev = c
	}
	if prev == '-' {
		return msg
	}
	return ""
}

// checkEmail accepts a bare ASCII address with a dotted domain.
func checkEmail(addr string) string {
	const msg = "must be a plain e-mail address like owner@example.com"
	if len(addr) > MaxEmailLength {
		return msg
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] <= ' ' || addr[i] >= 0x7f {
			return msg
		}
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return msg
	}
	_, domain, _ := strings.Cut(addr, "@")
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(domain)); len(msgs) > 0 || !strings.Contains(domain, ".") {
		return msg
	}
	return ""
}

// truncate shortens a value quoted back in an error.
func truncate(s string) string {
	if r := []rune(s); len(r) > 50 {
		return string(r[:50]) + "..."
	}
	return s
}
