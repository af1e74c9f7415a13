// Package webhook turns GitHub webhook deliveries into intents (a store
// request to reconcile, a command to run, a pull request to look at) and
// hands them to a bounded worker pool, answering GitHub within its ten
// seconds. GitHub's payload types stop here: the intents carry only
// internal/forge types.
package webhook
