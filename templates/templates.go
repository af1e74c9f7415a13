// Package templates holds what Purrvision ships as text: the "Request a
// store" issue form, also copied to .github/ISSUE_TEMPLATE/.
package templates

import _ "embed"

// RequestStoreForm is the issue form, as GitHub reads it.
//
//go:embed request-store.yml
var RequestStoreForm []byte
