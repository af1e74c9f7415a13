// Package tenants owns the tenants git repository. It keeps one bare clone,
// fetches before each change, builds commits by editing only the trees on
// the changed paths (a commit costs in proportion to what it changes, not to
// the number of stores), and pushes with compare-and-swap semantics,
// retrying on a race with backoff.
package tenants
