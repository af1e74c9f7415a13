package ghstandin

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/forge"
)

// GitHub's limits on what it is sent (internal/forge/limits.go holds the
// numbers). Past one, GitHub refuses the call with 422, and so does the
// stand-in.

// limit is one text field GitHub limits.
type limit struct {
	resource, field, value string
	max                    int
}

// tooLong answers GitHub's 422 for the first field past its limit, and
// says whether it did.
func tooLong(w http.ResponseWriter, limits ...limit) bool {
	for _, l := range limits {
		if utf8.RuneCountInString(l.value) > l.max {
			validationFailed(w, l.resource, l.field, fmt.Sprintf("%s is too long (maximum is %d characters)", l.field, l.max))
			return true
		}
	}
	return false
}

func titleLimit(resource, title string) limit {
	return limit{resource: resource, field: "title", value: title, max: forge.MaxTitle}
}

func bodyLimit(resource, body string) limit {
	return limit{resource: resource, field: "body", value: body, max: forge.MaxBody}
}

func labelLimit(name string) limit {
	return limit{resource: "Label", field: "name", value: name, max: forge.MaxLabel}
}

func statusDescriptionLimit(resource, description string) limit {
	return limit{resource: resource, field: "description", value: description, max: forge.MaxStatusDescription}
}

func environmentLimit(environment string) limit {
	return limit{resource: "Deployment", field: "environment", value: environment, max: forge.MaxEnvironment}
}
