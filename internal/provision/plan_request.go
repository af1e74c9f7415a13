package provision

import (
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// checkRequest parses a store-request issue's form and validates it
// against the config: the request, or each field to fix.
func checkRequest(cfg *config.Config, body, author string) (*v1alpha1.StoreRequest, []FieldError) {
	req, problems := ParseForm(body, author)
	if req != nil && len(problems) == 0 {
		for _, e := range renderer.Validate(cfg, req) {
			problems = append(problems, FieldError{Field: FormField(e.Field), Msg: e.ErrorBody()})
		}
	}
	return req, problems
}

// RequestInput is what PlanRequest reads.
type RequestInput struct {
	Common
	Request *v1alpha1.StoreRequest
	Issue   forge.IssueRef
	// Author opened the issue: the requester.
	Author string
	// Delivered is the ID of the credentials last sealed on the issue.
	Delivered string
	// Claimed says, of the other request a store branch names (read up
	// front, see readRequest), whether it still asks for this store:
	// open, and its form naming it. The branch is free to reuse once it
	// does not. A branch naming a request that was not read is ErrUnread.
	Claimed map[string]bool
	// Recorded is what the issue's status comment (the bot's own) says of
	// its store: the name it was provisioned under, and the last operation
	// merged.
	Recorded Recorded
	// HeldBy is the issue whose decommissioned store still holds the name
	// until its Namespace is gone (the ledger's hold); "" when none.
	HeldBy string
}

// Recorded is what the bot recorded of an issue's store.
type Recorded struct {
	Store string
	// MergedOp is the operation of the last merge; "" before the first.
	MergedOp string
	// Branch is the commit the bot last pushed to the store's branch.
	Branch string
}

// ownBranch reports whether the store's branch is at the commit the bot
// last pushed there: only then is what it holds (its Secrets above all)
// the bot's. Anyone who can push to the branch can write its trailers.
func ownBranch(b BranchView, rec Recorded) bool {
	return b.Exists && rec.Branch != "" && b.Head == rec.Branch
}

// RequestPlan is what a valid store request needs.
type RequestPlan struct {
	// Draining: TakenBy's store is being decommissioned, and the name is
	// free again once its Namespace is gone.
	Draining bool
	// TakenBy is the issue that already owns the store's name; the
	// request is refused and nothing else happens.
	TakenBy string
	// Merged: the store is on the base branch already, and commands
	// change it from now on.
	Merged bool
	// Renamed, when set, is the name this issue's store was merged under:
	// the form now names another store, which is refused.
	Renamed string
	// Decommissioned: this issue's store was decommissioned; that is final
	// for the issue, and nothing is provisioned again from it.
	Decommissioned bool
	// Moved, when set, is the cluster this issue's merged store is on:
	// the form now asks for another cluster or region, which is refused,
	// since a store's data lives in its cluster.
	Moved string
	// Unplaced refuses a store that no cluster it may go to has room
	// for, or a cluster or region that does not exist; nothing else
	// happens.
	Unplaced *FieldError
	// Placement says why the store goes to Cluster.
	Placement string
	// Commit is nil when the branch already holds the render.
	Commit *CommitPlan
	// Seal holds fresh credentials; nil when the branch keeps its own.
	Seal   *Seal
	Pull   PullSpec
	Labels LabelChange
	// Cluster and URL are the store's, for the status comment.
	Cluster, URL string
}

// LabelChange adds and removes labels.
type LabelChange struct{ Add, Remove []string }

// PlanRequest renders a valid store request onto its branch
// store/<name>: new credentials unless the branch already holds the ones
// last delivered, the provisioning pull request and its labels.
func PlanRequest(in RequestInput) (*RequestPlan, error) {
	cfg, req, name := in.Config, in.Request, in.Request.Metadata.Name
	if rec := in.Recorded; rec.Store != "" && rec.MergedOp != "" {
		if rec.MergedOp == v1alpha1.OpDecommission {
			return &RequestPlan{Decommissioned: true}, nil
		}
		if rec.Store != name {
			// The record names the store; the base branch says whether
			// this issue owns it, whatever the record says.
			merged, _, err := renderer.FindStore(cfg, in.Base, rec.Store)
			if err != nil {
				return nil, err
			}
			if merged != nil && owns(merged, in.Issue) {
				return &RequestPlan{Renamed: rec.Store}, nil
			}
		}
	}
	if in.HeldBy != "" && in.HeldBy != in.Issue.String() {
		return &RequestPlan{TakenBy: in.HeldBy, Draining: true}, nil
	}
	onBase, baseCluster, err := renderer.FindStore(cfg, in.Base, name)
	if err != nil {
		return nil, err
	}
	if onBase != nil {
		if !owns(onBase, in.Issue) {
			return &RequestPlan{TakenBy: onBase.Metadata.Annotations[v1alpha1.AnnotationIssue]}, nil
		}
		if req.Spec.Cluster != "" && req.Spec.Cluster != baseCluster || req.Spec.Region != onBase.Spec.Region {
			return &RequestPlan{Merged: true, Moved: baseCluster}, nil
		}
		return &RequestPlan{Merged: true}, nil
	}
	onBranch := false
	current := map[string][]byte{}
	curID := ""
	if in.Branch.Exists {
		if owner := in.Branch.Trailers[v1alpha1.TrailerIssue]; owner != in.Issue.String() {
			claimed, read := in.Claimed[owner]
			if !read {
				return nil, fmt.Errorf("%w: whether %s still asks for store %s", ErrUnread, owner, name)
			}
			if claimed {
				return &RequestPlan{TakenBy: owner}, nil
			}
			// The other request was closed, or asks for another name now:
			// its branch is ours to reuse.
		} else if ownBranch(in.Branch, in.Recorded) {
			onBranch = true
			curID = in.Branch.Trailers[v1alpha1.TrailerCredentialsID]
		}
	}
	kept, keptWhy := "", ""
	if onBranch {
		if kept, keptWhy, err = keptCluster(cfg, in.Branch.Tree, name); err != nil {
			return nil, err
		}
	}
	where, err := in.place(req, kept, keptWhy)
	if err != nil {
		if fe, ok := placementProblem(err, req, FormField); ok {
			return &RequestPlan{Unplaced: &fe}, nil
		}
		return nil, err
	}
	cluster := where.Cluster
	placed := *req
	placed.Spec.Cluster = cluster
	req = &placed
	plan := &RequestPlan{
		Cluster:   cluster,
		Placement: where.Why,
		URL:       v1alpha1.URL(name, renderer.BaseDomainOf(cfg, req)),
		Pull:      PullSpec{Store: name, Op: v1alpha1.OpProvision, Issue: in.Issue, Title: pullTitle(v1alpha1.OpProvision, name), Body: provisionBody(cfg, req, in.Issue, where.Why)},
		Labels:    LabelChange{Add: []string{v1alpha1.LabelPendingReview}},
	}
	if onBranch {
		from := cluster
		if in.Branch.Behind && kept != "" {
			// The moved base may place the store elsewhere (its cluster
			// filled meanwhile): its Secrets are the branch's all the
			// same, since a person merging other stores must not make
			// the bot regenerate them.
			from = kept
		}
		if current, err = renderer.StoreFiles(in.Branch.Tree, renderer.StoreDir(cfg, from, name)); err != nil {
			return nil, err
		}
	}
	rin := renderer.Input{Config: cfg, Request: req, Rand: in.Rand, Now: in.Now, Origin: in.Issue.String(), Placement: where.Why,
		BackupCredentials: in.BackupCredentials}
	id := curID
	if curID != "" && curID == in.Delivered && current[renderer.FileSecret] != nil && current[renderer.FileDatabaseSecret] != nil {
		keepSecrets(&rin, current, true)
	} else if id, err = newCredentialsID(in.Rand); err != nil {
		return nil, err
	}
	out, err := renderer.Render(rin)
	if err != nil {
		return nil, err
	}
	onHead := in.onBranchHead(onBranch)
	changes := changesFor(current, out)
	moved := onBranch && in.Branch.Behind
	if moved {
		// The base moved past the bot's own branch: the store is rendered
		// again on the base head (the store is not there, so every file
		// is written), keeping the Secrets and their ID as they are.
		changes = changesFor(map[string][]byte{}, out)
		plan.Pull.Body += apply.BaseMovedNote(in.BaseHead)
	} else if !onHead {
		// Starting over from the base: the store's files from another
		// request, or from another cluster, are not kept.
		changes = changesFor(map[string][]byte{}, out)
	} else if kept != "" && kept != cluster {
		// The form now names another cluster (or region) than the branch's
		// render: the store moves there before its merge.
		changes = append(changes, tenants.Change{Path: renderer.StoreDir(cfg, kept, name), Delete: true})
	}
	if onBranch && !moved {
		if to := in.Branch.Trailers[v1alpha1.TrailerBaseMoved]; to != "" {
			// The bot's own last push (ownBranch) was such a render:
			// the pull request keeps saying why.
			plan.Pull.Body += apply.BaseMovedNote(to)
		}
	}
	if len(changes) == 0 {
		return plan, nil
	}
	if rin.KeepSecret == nil {
		plan.Seal = &Seal{Store: name, ID: id, Credentials: out.Credentials, AdminURL: v1alpha1.AdminURL(name, renderer.BaseDomainOf(cfg, req))}
	}
	subject := "Provision store " + name
	if onHead && !moved {
		// A render on the moved base creates the store there: it is
		// still its provisioning, as the history says.
		subject = "Update store " + name
	}
	body, movedTo := "", ""
	if moved {
		body, movedTo = "The base branch moved to "+in.BaseHead+"; the store is rendered again on it, with the same credentials.", in.BaseHead
	}
	plan.Commit = &CommitPlan{OnBranch: onBranch && !moved, Changes: changes, Message: tenants.Message(subject, body,
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: name},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpProvision},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: in.Author},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: in.Issue.String()},
		tenants.Trailer{Key: v1alpha1.TrailerCredentialsID, Value: id},
		tenants.Trailer{Key: v1alpha1.TrailerBaseMoved, Value: movedTo},
	)}
	return plan, nil
}

// provisionBody describes what a provisioning pull request creates.
func provisionBody(cfg *config.Config, req *v1alpha1.StoreRequest, issue forge.IssueRef, why string) string {
	plan := cfg.Plans[req.Spec.Plan]
	name := req.Metadata.Name
	var b strings.Builder
	fmt.Fprintf(&b, "Creates store **%s**, requested by @%s in %s.\n\n", name, req.Spec.Owner, issue)
	b.WriteString("| | |\n|---|---|\n")
	rows := [][2]string{
		{"Namespace", "`" + v1alpha1.Namespace(name) + "`"},
		{"Cluster", "`" + renderer.ClusterOf(cfg, req) + "`" + placedBecause(why)},
		{"Plan", "`" + req.Spec.Plan + "`"},
		{"Quota", fmt.Sprintf("%s CPU, %s memory, %s storage, %d pods", plan.CPU.String(), plan.Memory.String(), plan.Storage.String(), plan.Pods)},
		{"Internet egress (443)", fmt.Sprintf("%t", plan.InternetEgress)},
		{"URL", v1alpha1.URL(name, renderer.BaseDomainOf(cfg, req))},
		{"Chart", "`woocommerce` " + cfg.Chart.Version},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	b.WriteString("\nThe admin credentials are generated and sealed with SOPS; only Flux and the owner can read them.\n")
	return b.String()
}

// placedBecause words why a store goes to its cluster, for a table cell.
func placedBecause(why string) string {
	if why == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(why, "|", "/")
}

// movedComment answers an edit of the cluster or region after the merge.
func movedComment(author, cluster string) string {
	return fmt.Sprintf("%s\n@%s, this issue's store is on cluster **%s**, and a store cannot move to another cluster once it is merged: "+
		"its data (database and uploads) lives in that cluster's volumes. Put the cluster and region back as they were (nothing else changes until then); "+
		"for a store elsewhere, open a new request.", v1alpha1.MarkerValidation, author, cluster)
}

// invalidRequestComment is the one comment that lists what to fix.
func invalidRequestComment(author string, problems []FieldError) string {
	head := fmt.Sprintf("%s\n@%s, this store request can't be provisioned yet. Please edit the issue and fix:\n\n", v1alpha1.MarkerValidation, author)
	lines := make([]string, len(problems))
	for i, pr := range problems {
		lines[i] = fieldLabel(pr.Field) + ": " + neutralize(pr.Msg)
	}
	return listComment(head, lines, "\nPurrvision checks the request again each time the issue is edited.")
}

// renamedComment answers an edit of the store name after the merge.
func renamedComment(author, store string) string {
	return fmt.Sprintf("%s\n@%s, this issue's store is **%s**, and a store's name cannot change once it is merged: its namespace, "+
		"host and history carry it. Put the name back in the form (nothing else changes until then); for a store under another name, "+
		"open a new request.", v1alpha1.MarkerValidation, author, store)
}
