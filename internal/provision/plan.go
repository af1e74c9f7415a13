package provision

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Each operation here is a pure planner and a small applier. A planner
// reads what the applier fetched (the request or command, the tenants repo
// at the base branch and at the store's branch, the config, who asked) and
// returns a plan value: the commit to push, the credentials it generated
// or kept, the pull request it wants, refusals with their reasons. It does
// no I/O, so it is table-tested with fake trees (plan_test.go). The
// applier fetches, runs the planner inside tenants.Update (which may call
// it again after a lost compare-and-swap) and carries the last plan out on
// GitHub.

// BranchView is a store branch as a planner sees it.
type BranchView struct {
	// Exists is false when the branch does not exist; the rest is then
	// empty.
	Exists bool
	// Head is the branch head's hash.
	Head string
	// Tree is the tenants repo at the branch head.
	Tree renderer.Tree
	// Subject is the head commit's first line; Trailers are those of its
	// message.
	Subject  string
	Trailers map[string]string
	// Merged reports whether the head is already part of the base branch.
	Merged bool
	// Behind reports whether the base branch moved past the branch: its
	// head does not hold the base head (git's answer, never a trailer's).
	// The bot's own branch is then rendered again on the base head, so it
	// can merge under a base that requires branches to be up to date.
	Behind bool
}

// Common is what every planner reads besides its own input.
type Common struct {
	Config *config.Config
	// Base is the tenants repo at the base branch; BaseHead its hash.
	Base     renderer.Tree
	BaseHead string
	Branch   BranchView
	// Rand is the source of new credentials and of the SOPS data key.
	Rand io.Reader
	Now  time.Time
	// Placer chooses new stores' clusters from the base branch's use of
	// them; without one a store goes where it asks, or to the first
	// cluster.
	Placer Placer
	// BackupCredentials are the backup targets' keys by cluster, for the
	// stores whose plan takes backups (config.LoadBackupCredentials).
	BackupCredentials map[string]config.BackupCredentials
}

// keepSecrets has a render keep the store's Secrets as current holds
// them: the admin Secret when admin is set, and always the database
// Secret and, with it, the backup Secrets (those the store has: a store
// rendered before its plan took backups gets them now).
func keepSecrets(rin *renderer.Input, current map[string][]byte, admin bool) {
	if admin {
		rin.KeepSecret = current[renderer.FileSecret]
	}
	rin.KeepDatabaseSecret = current[renderer.FileDatabaseSecret]
	rin.KeepBackupPasswordSecret = current[renderer.FileBackupPasswordSecret]
	rin.KeepBackupTargetSecret = current[renderer.FileBackupTargetSecret]
}

// Placer decides clusters: a placement.View of the base branch.
type Placer interface {
	Place(placement.Request) (placement.Decision, error)
	Fits(store, cluster string, need placement.Resources) error
}

// place decides a new store's cluster: where its own earlier render put
// it (kept, since a placement does not change by itself) while it still
// fits there and the request still allows it; else the cluster the
// request names, in the region it asks for; else the one with the most
// free capacity.
func (c Common) place(req *v1alpha1.StoreRequest, kept, keptWhy string) (placement.Decision, error) {
	if c.Placer == nil {
		return placement.Decision{Cluster: renderer.ClusterOf(c.Config, req)}, nil
	}
	r := placement.Request{Store: req.Metadata.Name, Need: placement.PlanNeed(c.Config, req.Spec.Plan), Cluster: req.Spec.Cluster, Region: req.Spec.Region}
	one := len(c.Config.Clusters) == 1 // nothing to choose: no reason said
	if kept != "" && (r.Cluster == "" || r.Cluster == kept) {
		k := r
		k.Cluster, k.Kept = kept, true
		if d, err := c.Placer.Place(k); err == nil {
			if keptWhy != "" || one {
				d.Why = keptWhy // as the first render said, not re-worded
			}
			return d, nil
		}
	}
	d, err := c.Placer.Place(r)
	if err == nil && one {
		d.Why = ""
	}
	return d, err
}

// placementProblem words a refused placement for the field to change;
// false when err is not one.
func placementProblem(err error, req *v1alpha1.StoreRequest, field func(string) string) (FieldError, bool) {
	var fe *placement.FieldError
	if errors.As(err, &fe) {
		return FieldError{Field: field(fe.Field), Msg: fe.Msg}, true
	}
	var nf *placement.NoFitError
	if !errors.As(err, &nf) {
		return FieldError{}, false
	}
	f, fix := "spec.plan", "choose a smaller plan"
	switch {
	case req.Spec.Cluster != "":
		f, fix = "spec.cluster", "choose another cluster (or none, to let Purrvision place it) or a smaller plan"
	case req.Spec.Region != "":
		f, fix = "spec.region", "choose another region (or none) or a smaller plan"
	}
	return FieldError{Field: field(f), Msg: nf.Error() + "; " + fix + ", or ask the platform team for more capacity"}, true
}

// keptCluster is the cluster of the store's request copy in tree, where an
// earlier render of it placed it, and why it did; "" when there is none.
func keptCluster(cfg *config.Config, tree renderer.Tree, name string) (cluster, why string, err error) {
	if tree == nil {
		return "", "", nil
	}
	copy, cluster, err := renderer.FindStore(cfg, tree, name)
	if err != nil || copy == nil {
		return "", "", err
	}
	return cluster, copy.Metadata.Annotations[v1alpha1.AnnotationPlacement], nil
}

// onBranchHead reports whether building on parent (the branch when
// onBranch, else the base) builds on the branch head.
func (c Common) onBranchHead(onBranch bool) bool {
	return c.Branch.Exists && (onBranch || c.Branch.Head == c.BaseHead)
}

// CommitPlan is a commit to push onto a branch.
type CommitPlan struct {
	// OnBranch builds on the branch head; otherwise the branch starts over
	// from the base branch.
	OnBranch bool
	Changes  []tenants.Change
	Message  string
}

// Seal is a generation of credentials to deliver to a store's owner.
type Seal struct {
	Store string
	// ID names this generation; it is recorded in the commit and in the
	// credentials comment.
	ID          string
	Credentials renderer.Credentials
	// AdminURL is the store's WordPress admin, under its cluster's domain.
	AdminURL string
}

// PullSpec is the pull request a store's branch should have.
type PullSpec struct {
	Store string
	Op    string
	Issue forge.IssueRef
	Title string
	Body  string
}

// changesFor turns a rendered store into the changes that make dir hold
// exactly its files; nil when it already does.
func changesFor(current map[string][]byte, out *renderer.Output) []tenants.Change {
	var ch []tenants.Change
	want := map[string]bool{}
	for _, f := range out.Files {
		rel := f.Path[len(out.Dir)+1:]
		want[rel] = true
		if string(current[rel]) != string(f.Data) {
			ch = append(ch, tenants.Change{Path: f.Path, Data: f.Data})
		}
	}
	for rel := range current {
		if !want[rel] {
			ch = append(ch, tenants.Change{Path: path.Join(out.Dir, rel), Delete: true})
		}
	}
	return ch
}

// newCredentialsID names one generation of a store's credentials; it is
// random, not derived from them.
func newCredentialsID(r io.Reader) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generating credentials id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// owns reports whether the request copy on a tree belongs to issue.
func owns(req *v1alpha1.StoreRequest, issue forge.IssueRef) bool {
	return req.Metadata.Annotations[v1alpha1.AnnotationIssue] == issue.String()
}
