// Package templates holds what Purrvision ships as text: the "Request a
// store" issue form, also copied to .github/ISSUE_TEMPLATE/, and the
// GitHub App manifest.
package templates

import _ "embed"

// RequestStoreForm is the issue form, as GitHub reads it.
//
//go:embed request-store.yml
var RequestStoreForm []byte

// AppManifest is the GitHub App manifest: the permissions and events the
// product needs, the one list of them. `purrvision setup app` posts it,
// with the webhook and redirect URLs of an install, through GitHub's
// manifest flow.
//
//go:embed github-app-manifest.json
var AppManifest []byte
