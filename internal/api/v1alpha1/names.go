package v1alpha1

import (
	"net/url"
	"strings"
)

// Kubernetes labels, annotations and object names: the renderer writes
// them, the watcher reads them.
const (
	// AnnotationIssue records the issue (owner/name#number) a store belongs to.
	AnnotationIssue = "purrvision.dev/issue"
	// AnnotationPlacement records, on a store's request copy, why it was
	// placed on its cluster: written by its first render, then kept.
	AnnotationPlacement = "purrvision.dev/placement"
	// AnnotationReported is where the watcher records the last transition
	// it reported.
	AnnotationReported = "purrvision.dev/reported"
	// Finalizer holds a store's Namespace until its decommission is reported.
	Finalizer = "purrvision.dev/report"

	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "purrvision"
	LabelStore     = "purrvision.dev/store"

	// NamespacePrefix starts every store's Namespace, per-store Flux
	// Kustomization and deployment environment.
	NamespacePrefix = "store-"
	// ReleaseName is the HelmRelease of every store.
	ReleaseName = "woocommerce"
)

// Namespace is the namespace of store name, also the name of its Flux
// Kustomization.
func Namespace(name string) string { return NamespacePrefix + name }

// Environment is the GitHub deployment environment of store name on the
// default cluster (the config's first).
func Environment(name string) string { return NamespacePrefix + name }

// EnvironmentOn is the GitHub deployment environment of store name on
// cluster: "<cluster>/store-<name>", except on the default cluster (or
// with no cluster named), whose stores keep Environment(name), the name
// every store had before each cluster reported its own stores, so their
// deployments go on where they are.
func EnvironmentOn(cluster, defaultCluster, name string) string {
	if cluster == "" || cluster == defaultCluster {
		return Environment(name)
	}
	return cluster + "/" + Environment(name)
}

// Host is the store's host name under baseDomain.
func Host(name, baseDomain string) string { return name + "." + baseDomain }

// URL is the store's address under baseDomain.
func URL(name, baseDomain string) string { return "https://" + Host(name, baseDomain) + "/" }

// StatusAnchor is the id of the store's row on the status page.
func StatusAnchor(name string) string { return "store-" + name }

// StatusPageURL is the store's row on the status page at base: the page
// searched for the store, so the row is on its first page, and the row's
// anchor.
func StatusPageURL(base, name string) string {
	return base + "?q=" + url.QueryEscape(name) + "#" + StatusAnchor(name)
}

// AdminURL is the store's WordPress admin.
func AdminURL(name, baseDomain string) string { return URL(name, baseDomain) + "wp-admin/" }

// Labels Purrvision reads and sets on store issues.
const (
	LabelRequest        = "store-request"
	LabelInvalid        = "store/invalid"
	LabelPendingReview  = "store/pending-review"
	LabelProvisioning   = "store/provisioning"
	LabelReady          = "store/ready"
	LabelFailed         = "store/failed"
	LabelDecommissioned = "store/decommissioned"
)

// LabelSpec is a label the bot uses, as `purrvision setup` creates it.
type LabelSpec struct {
	Name        string
	Color       string // six hex digits, without '#'
	Description string
}

// BotLabels are every label the bot reads or sets in the requests repo,
// with the colour and description `purrvision setup` gives them.
var BotLabels = []LabelSpec{
	{LabelRequest, "1d76db", "A request for a WooCommerce store, read by Purrvision"},
	{LabelInvalid, "d93f0b", "Purrvision cannot read this request; its comment says why"},
	{LabelPendingReview, "fbca04", "The store's pull request waits for review"},
	{LabelProvisioning, "0e8a16", "Merged; Flux is creating the store"},
	{LabelReady, "2ea44f", "The store is up"},
	{LabelFailed, "b60205", "The store failed to come up; its comment says why"},
	{LabelDecommissioned, "6a737d", "The store was removed"},
	{LabelRollout, "5319e7", "A fleet rollout's tracking issue or wave"},
	{LabelRolloutPaused, "e99695", "The rollout is paused; /purrvision rollout resume goes on"},
}

// LifecycleLabels are the labels of which a store issue carries one once
// its pull request is merged; the watcher swaps them.
var LifecycleLabels = []string{LabelProvisioning, LabelReady, LabelFailed, LabelDecommissioned}

// BranchPrefix starts the tenants repo branch of every store pull request.
const BranchPrefix = "store/"

// LedgerBranch is the branch of the tenants repo where Purrvision records
// the IDs of its own comments (internal/ledger). Only the bot writes it.
const LedgerBranch = "purrvision/ledger"

// Branch is the branch of every pull request about store name.
func Branch(name string) string { return BranchPrefix + name }

// StoreOfBranch is the store a branch is about, if it is a store branch.
func StoreOfBranch(branch string) (string, bool) {
	name, ok := strings.CutPrefix(branch, BranchPrefix)
	return name, ok && name != ""
}

// StatusContext is the commit status of request-by-pull-request checks.
const StatusContext = "purrvision/validate"

// ReadyCheckName is the one check `purrvision setup` requires on the
// tenants repo's base branch, bound to the App: every pull request the bot
// opens (request, store, command, wave, revert) must carry it on its exact
// head to merge. The other checks (CheckName, RolloutCheckName,
// StatusContext) keep their plans and are not required.
const ReadyCheckName = "purrvision/ready"

// CheckName is the check run that reports a pull request's plan: each
// store, the objects it creates or changes and a diff summary per file.
const CheckName = "purrvision/plan"

// RolloutCheckName is the check run on a rollout wave's pull request: the
// grouped summary of what the wave changes.
const RolloutCheckName = "purrvision/rollout"

// Commit trailer keys of the bot's commits in the tenants repo.
const (
	TrailerStore         = "Store"
	TrailerRequestedBy   = "Requested-by"
	TrailerIssue         = "Issue"
	TrailerApprovedBy    = "Approved-by"
	TrailerOperation     = "Operation"
	TrailerCommand       = "Command"
	TrailerCredentialsID = "Credentials-Id"
	// TrailerRollout and TrailerWave name the fleet rollout and the wave
	// of a rollout's commit.
	TrailerRollout = "Rollout"
	TrailerWave    = "Wave"
	// TrailerBaseMoved is the base branch's head a bot branch was
	// re-rendered on when the base moved past it (the pull request says
	// why its approval was dismissed). Read only from a head the ledger
	// records the bot pushed; whether the base moved is git's answer.
	TrailerBaseMoved = "Base-moved-to"
)

// Operations: what a store pull request does, as recorded in its marker
// and in the Operation trailer.
const (
	OpProvision    = "provision"
	OpResize       = "resize"
	OpRotate       = "rotate-credentials"
	OpDecommission = "decommission"
	// OpRollout re-renders stores with today's config, in waves.
	OpRollout = "rollout"
)

// Markers open the bot's own comments and pull request bodies, so each is
// found and edited in place.
const (
	MarkerStatus      = "<!-- purrvision:status -->"
	MarkerValidation  = "<!-- purrvision:validation -->"
	MarkerCredentials = "<!-- purrvision:credentials"
	MarkerReply       = "<!-- purrvision:reply"
	MarkerPull        = "<!-- purrvision:pull"
	MarkerState       = "<!-- purrvision:state"
	// MarkerRollout opens the table of waves on a rollout's tracking issue.
	MarkerRollout = "<!-- purrvision:rollout -->"
)

// Labels of a fleet rollout: its tracking issue and wave pull requests
// carry LabelRollout; a paused rollout's tracking issue LabelRolloutPaused.
const (
	LabelRollout       = "rollout"
	LabelRolloutPaused = "rollout/paused"
)

// RolloutBranchPrefix starts the tenants repo branch of every rollout pull
// request: rollout/<id>/wave-<n>, rollout/<id>/revert-<n>.
const RolloutBranchPrefix = "rollout/"

// Phase is where a store is in its life.
type Phase string

// Phases of a store, in the order they usually come.
const (
	PhasePendingReview  Phase = "pending-review"
	PhaseMerged         Phase = "merged"
	PhaseApplied        Phase = "applied"
	PhaseInstalling     Phase = "installing"
	PhaseReady          Phase = "ready"
	PhaseFailed         Phase = "failed"
	PhaseDecommissioned Phase = "decommissioned"
	// PhaseUnknown is a store in the tenants repo with nothing recorded yet.
	PhaseUnknown Phase = "unknown"
)

var phaseTitles = map[Phase]string{
	PhasePendingReview:  "Waiting for review",
	PhaseMerged:         "Merged",
	PhaseApplied:        "Applied by Flux",
	PhaseInstalling:     "Chart installing",
	PhaseReady:          "Ready",
	PhaseFailed:         "Failed",
	PhaseDecommissioned: "Decommissioned",
}

// Title is the phase as people read it.
func (p Phase) Title() string {
	if t, ok := phaseTitles[p]; ok {
		return t
	}
	return string(p)
}

// Label is the lifecycle label of a store issue in phase p, once merged.
func (p Phase) Label() string {
	switch p {
	case PhaseReady:
		return LabelReady
	case PhaseFailed:
		return LabelFailed
	case PhaseDecommissioned:
		return LabelDecommissioned
	}
	return LabelProvisioning
}

// Marked reports whether a body of the bot's opens with marker: its first
// line is the marker, or the marker followed by attributes. A marker
// anywhere else, such as in text the bot quotes, does not count.
func Marked(body, marker string) bool {
	line := FirstLine(body)
	if strings.HasSuffix(marker, "-->") {
		return line == marker
	}
	return strings.HasPrefix(line, marker+" ") && strings.HasSuffix(line, " -->") && !strings.Contains(line[len(marker):len(line)-3], "-->")
}

// FirstLine is the first line of a body, without its line break: where
// the bot's markers stand.
func FirstLine(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	return strings.TrimSuffix(line, "\r")
}
