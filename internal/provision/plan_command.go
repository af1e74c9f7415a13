package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// checkCommandArgs checks a command's arguments against the config: a
// reply that says what is wrong, or "" when they are fine.
func checkCommandArgs(cfg *config.Config, cmd Command) string {
	switch cmd.Name {
	case CmdResize:
		if len(cmd.Args) != 1 {
			return "Usage: `/purrvision resize <plan>`, with a plan of " + strings.Join(cfg.PlanNames(), ", ") + "."
		}
		if _, ok := cfg.Plans[cmd.Args[0]]; !ok {
			// Quoted as code and cut, as anything people wrote in a reply.
			return fmt.Sprintf("%s is not a plan; choose one of %s.", quoteUser(cmd.Args[0]), strings.Join(cfg.PlanNames(), ", "))
		}
	case CmdRotate, CmdDecommission, CmdRetry:
	default:
		return "Purrvision knows " + commandUsageText + "."
	}
	return ""
}

// CommandInput is what PlanCommand reads.
type CommandInput struct {
	Common
	// Request is the store's request as the issue holds it.
	Request *v1alpha1.StoreRequest
	Command Command
	Issue   forge.IssueRef
	// Author wrote the command comment; CommentID is its ID.
	Author    string
	CommentID int64
	// Delivered is the ID of the credentials last sealed on the issue.
	Delivered string
	// Recorded is what the issue's status comment says of its store.
	Recorded Recorded
}

// CommandPlan is what a resize, rotate-credentials or decommission needs.
type CommandPlan struct {
	// NotProvisioned: the store is not on the base branch (yet).
	NotProvisioned bool
	// OlderLayout: the store was rendered before the database passwords
	// had a Secret of their own, so it cannot be resized or rotated.
	OlderLayout bool
	// Refused: the command cannot be carried out (a resize its cluster
	// has no room for); Reply says why.
	Refused bool
	// Commit is nil when the branch already holds the change.
	Commit *CommitPlan
	// Seal holds the new credentials of a rotation.
	Seal *Seal
	Pull PullSpec
	// Reply is the answer to a command refused here.
	Reply string
}

// PlanCommand changes a provisioned store on its branch: built on the
// store's open pull request if there is one, else on the base branch.
func PlanCommand(in CommandInput) (*CommandPlan, error) {
	cfg, cmd, name := in.Config, in.Command, in.Request.Metadata.Name
	commandID := fmt.Sprint(in.CommentID)
	onBase, baseCluster, err := renderer.FindStore(cfg, in.Base, name)
	if err != nil {
		return nil, err
	}
	if onBase == nil || !owns(onBase, in.Issue) {
		return &CommandPlan{NotProvisioned: true, Reply: notProvisionedReply(name, cmd)}, nil
	}
	onBranch, from := false, in.Base
	var tr map[string]string
	if in.Branch.Exists {
		tr = in.Branch.Trailers
		if tr[v1alpha1.TrailerIssue] == in.Issue.String() && !in.Branch.Merged && ownBranch(in.Branch, in.Recorded) {
			onBranch, from = true, in.Branch.Tree
		}
	}
	onHead := in.onBranchHead(onBranch)
	plan := &CommandPlan{}
	title := pullTitle(cmd.Name, name)
	done := func() (*CommandPlan, error) {
		plan.Pull = commandPull(name, cmd.Name, title, in.Author, in.Issue)
		return plan, nil
	}
	if tr != nil && tr[v1alpha1.TrailerCommand] == commandID && onHead &&
		(cmd.Name != CmdRotate || tr[v1alpha1.TrailerCredentialsID] == in.Delivered) {
		return done() // this comment was carried out already
	}
	stored, cluster, err := renderer.FindStore(cfg, from, name)
	if err != nil {
		return nil, err
	}
	if stored == nil {
		stored, cluster = onBase, baseCluster
	}
	// The folder the store is in, whatever its copy says; renders go
	// there too.
	dir := renderer.StoreDir(cfg, cluster, name)
	inPlace := *stored
	inPlace.Spec.Cluster = cluster
	stored = &inPlace
	current, err := renderer.StoreFiles(from, dir)
	if err != nil {
		return nil, err
	}
	if cmd.Name != CmdDecommission && current[renderer.FileDatabaseSecret] == nil {
		// Rendered before the database passwords had a Secret of their
		// own: a new one would not match what MariaDB keeps.
		return &CommandPlan{OlderLayout: true, Reply: olderLayoutReply(name)}, nil
	}
	credID := ""
	if tr != nil && onHead {
		credID = tr[v1alpha1.TrailerCredentialsID]
	}
	var changes []tenants.Change
	switch cmd.Name {
	case CmdDecommission:
		title = "Decommission store " + name
		changes = []tenants.Change{{Path: dir, Delete: true}}
	case CmdResize:
		title = fmt.Sprintf("Resize store %s to %s", name, cmd.Args[0])
		next := *stored
		next.Spec.Plan = cmd.Args[0]
		if from, to := cfg.Plans[stored.Spec.Plan], cfg.Plans[next.Spec.Plan]; to.Storage.Cmp(from.Storage) < 0 {
			// A PersistentVolumeClaim can grow, never shrink: the
			// release would fail on every upgrade, with no way back.
			return &CommandPlan{Refused: true, Reply: fmt.Sprintf("Store **%s** cannot move to plan `%s`: its volumes hold %s (plan `%s`), and Kubernetes cannot make a volume smaller. "+
				"Choose a plan with at least %s of storage.", name, next.Spec.Plan, from.Storage.String(), stored.Spec.Plan, from.Storage.String())}, nil
		}
		if in.Placer != nil {
			var nf *placement.NoFitError
			if err := in.Placer.Fits(name, cluster, placement.PlanNeed(cfg, next.Spec.Plan)); errors.As(err, &nf) {
				return &CommandPlan{Refused: true, Reply: fmt.Sprintf("Store **%s** cannot grow to plan `%s` on its cluster: %s. "+
					"A store cannot move to another cluster, since its data lives there: choose a smaller plan, or ask the platform team for more capacity on %s.",
					name, next.Spec.Plan, nf.Error(), cluster)}, nil
			} else if err != nil {
				return nil, err
			}
		}
		rin := renderer.Input{Config: cfg, Request: &next, Rand: in.Rand, Now: in.Now, Origin: in.Issue.String(), BackupCredentials: in.BackupCredentials}
		keepSecrets(&rin, current, true)
		out, err := renderer.Render(rin)
		if err != nil {
			return nil, err
		}
		changes = changesFor(current, out)
	case CmdRotate:
		title = "Rotate credentials of store " + name
		// A new admin password, and with it a new credentials revision
		// in the HelmRelease, so the installer applies it; the database
		// passwords stay.
		rin := renderer.Input{Config: cfg, Request: stored, Rand: in.Rand, Now: in.Now, Origin: in.Issue.String(), BackupCredentials: in.BackupCredentials}
		keepSecrets(&rin, current, false)
		out, err := renderer.Render(rin)
		if err != nil {
			return nil, err
		}
		changes = changesFor(current, out)
		if credID, err = newCredentialsID(in.Rand); err != nil {
			return nil, err
		}
		plan.Seal = &Seal{Store: name, ID: credID, Credentials: out.Credentials, AdminURL: v1alpha1.AdminURL(name, renderer.BaseDomainOf(cfg, stored))}
	default:
		return nil, fmt.Errorf("planning command %q: not a command that changes a store", cmd.Name)
	}
	if len(changes) == 0 {
		return done()
	}
	plan.Commit = &CommitPlan{OnBranch: onBranch, Changes: changes, Message: tenants.Message(title, "Requested with "+cmd.Name+" on "+in.Issue.String()+".",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: name},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: cmd.Name},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: in.Author},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: in.Issue.String()},
		tenants.Trailer{Key: v1alpha1.TrailerCommand, Value: commandID},
		tenants.Trailer{Key: v1alpha1.TrailerCredentialsID, Value: credID},
	)}
	return done()
}

func notProvisionedReply(name string, cmd Command) string {
	if cmd.Name == CmdRotate {
		return "New credentials are on the pull request, and sealed for you below."
	}
	return fmt.Sprintf("Store **%s** is not provisioned yet, so there is nothing to %s. Before the merge, edit this issue's form instead.", name, cmd.Name)
}

func olderLayoutReply(name string) string {
	return fmt.Sprintf("Store **%s** was rendered by an older Purrvision, which kept its database passwords in the same Secret "+
		"as the admin password (there is no `%s`), so it cannot be resized or get new credentials without breaking its database. "+
		"A platform engineer can move it to the current layout (docs/operations.md, \"Stores written by builds before the sharded layout\").", name, renderer.FileDatabaseSecret)
}

// CatchUpInput is what PlanCatchUp reads: a merged store's branch.
type CatchUpInput struct {
	Common
	Store string
	Issue forge.IssueRef
	// Recorded is what the issue's record says of its store.
	Recorded Recorded
	// Open: the branch has the bot's open pull request (read up front).
	Open bool
}

// CatchUpPlan brings a command's branch up to date with the base.
type CatchUpPlan struct {
	// Op is the operation of the branch's last command.
	Op     string
	Commit *CommitPlan
	Pull   PullSpec
}

// PlanCatchUp renders a merged store's open command branch (resize,
// rotate-credentials, decommission) again on the base head when the base
// moved past it, so it can merge under a base that requires branches to
// be up to date: the store as the branch holds it (its request copy, or
// its folder gone), with the branch's Secrets byte for byte (a rotation's
// new ones included) and its trailers, credentials ID among them. Nil
// when there is nothing to do: no such branch, not the bot's as it
// pushed it (ownBranch), not behind, or no open pull request.
func PlanCatchUp(in CatchUpInput) (*CatchUpPlan, error) {
	cfg, b, name := in.Config, in.Branch, in.Store
	tr := b.Trailers
	op := tr[v1alpha1.TrailerOperation]
	if !in.Open || !b.Exists || b.Merged || !b.Behind || !ownBranch(b, in.Recorded) || tr[v1alpha1.TrailerIssue] != in.Issue.String() ||
		(op != CmdResize && op != CmdRotate && op != CmdDecommission) {
		return nil, nil
	}
	onBase, baseCluster, err := renderer.FindStore(cfg, in.Base, name)
	if err != nil || onBase == nil || !owns(onBase, in.Issue) {
		return nil, err // not this issue's store on the base: its handling decides
	}
	baseDir := renderer.StoreDir(cfg, baseCluster, name)
	onBaseFiles, err := renderer.StoreFiles(in.Base, baseDir)
	if err != nil {
		return nil, err
	}
	stored, cluster, err := renderer.FindStore(cfg, b.Tree, name)
	if err != nil {
		return nil, err
	}
	var changes []tenants.Change
	if stored == nil {
		changes = []tenants.Change{{Path: baseDir, Delete: true}}
	} else {
		dir := renderer.StoreDir(cfg, cluster, name)
		current, err := renderer.StoreFiles(b.Tree, dir)
		if err != nil {
			return nil, err
		}
		if current[renderer.FileSecret] == nil || current[renderer.FileDatabaseSecret] == nil {
			return nil, nil // not a render this planner keeps the Secrets of
		}
		inPlace := *stored
		inPlace.Spec.Cluster = cluster
		rin := renderer.Input{Config: cfg, Request: &inPlace, Rand: in.Rand, Now: in.Now, Origin: in.Issue.String(), BackupCredentials: in.BackupCredentials}
		keepSecrets(&rin, current, true)
		out, err := renderer.Render(rin)
		if err != nil {
			return nil, err
		}
		changes = changesFor(onBaseFiles, out)
	}
	title, author := b.Subject, tr[v1alpha1.TrailerRequestedBy]
	plan := &CatchUpPlan{Op: op, Pull: commandPull(name, op, title, author, in.Issue)}
	plan.Pull.Body += apply.BaseMovedNote(in.BaseHead)
	plan.Commit = &CommitPlan{Changes: changes, Message: tenants.Message(title,
		"Requested with "+op+" on "+in.Issue.String()+". The base branch moved to "+in.BaseHead+"; the store is rendered again on it, with the branch's credentials.",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: name},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: op},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: author},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: in.Issue.String()},
		tenants.Trailer{Key: v1alpha1.TrailerCommand, Value: tr[v1alpha1.TrailerCommand]},
		tenants.Trailer{Key: v1alpha1.TrailerCredentialsID, Value: tr[v1alpha1.TrailerCredentialsID]},
		tenants.Trailer{Key: v1alpha1.TrailerBaseMoved, Value: in.BaseHead},
	)}
	return plan, nil
}

// commandPull is the pull request of a command's branch.
func commandPull(store, op, title, author string, issue forge.IssueRef) PullSpec {
	return PullSpec{Store: store, Op: op, Issue: issue, Title: title,
		Body: fmt.Sprintf("%s, requested by @%s in %s.\n", title, author, issue)}
}
