package forge

// The settings of a repository that `purrvision setup` manages, as plain
// values: internal/ghclient translates them to and from GitHub's.

// Label is a repository label.
type Label struct {
	Name        string
	Color       string // six hex digits, without '#'
	Description string
}

// RequiredCheck is a check run or commit status a branch requires; with
// AppID set only that GitHub App's counts.
type RequiredCheck struct {
	Context string
	AppID   int64 // 0: any source
}

// BranchProtection is what GitHub's branch protection holds on one branch.
type BranchProtection struct {
	Branch string
	// Checks are the required checks; Strict, that a head must contain
	// the base before it merges.
	Checks []RequiredCheck
	Strict bool
	// Reviews is false when pull requests are not required.
	Reviews       bool
	Approvals     int
	DismissStale  bool
	CodeOwners    bool
	EnforceAdmins bool
}

// BypassActor may bypass a ruleset: an Integration (a GitHub App by its
// ID), a RepositoryRole, a Team, OrganizationAdmin or DeployKey; Mode is
// always or pull_request.
type BypassActor struct {
	Type string
	ID   int64
	Mode string
}

// Ruleset is a repository ruleset on branches. Rules are the types of its
// rules without parameters (creation, update, deletion, non_fast_forward).
type Ruleset struct {
	ID          int64 // 0 for one not created yet
	Name        string
	Enforcement string // active, evaluate or disabled
	Include     []string
	Exclude     []string
	Rules       []string
	Bypass      []BypassActor
}

// File is a file of a repository.
type File struct {
	Path    string
	Content string
}

// FileProposal is a pull request that brings files to Base: its Branch is
// made from Base when missing, each file committed to it when it differs,
// and the pull request opened when none is open.
type FileProposal struct {
	Base, Branch string
	Title, Body  string
	Message      string // of each commit
	Files        []File
}
