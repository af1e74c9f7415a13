// Package webhook turns GitHub webhook deliveries into intents: a store
// request, a command on a store issue, a merged pull request. GitHub types
// stop here; the rest of Purrvision sees only its own types.
package webhook
