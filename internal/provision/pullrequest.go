package provision

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// requestFileRE matches the StoreRequest files of request-by-pull-request.
var requestFileRE = regexp.MustCompile(`^requests/([a-z0-9-]+)\.ya?ml$`)

// HandlePullRequest acts on a pull request of the tenants repo: a merged
// Purrvision pull request is recorded on its issue; an open one that adds
// requests/<name>.yaml is validated, and the rendered store is pushed onto
// its branch.
func (p *Provisioner) HandlePullRequest(ctx context.Context, repo forge.Repo, number int) error {
	if repo != p.tenants {
		return nil
	}
	pr, err := p.gh.GetPull(ctx, repo, number)
	if err != nil {
		return err
	}
	if pr.Merged {
		return p.recordMerge(ctx, pr)
	}
	if _, storeBranch := v1alpha1.StoreOfBranch(pr.Head); !pr.Open || storeBranch {
		return nil
	}
	files, err := p.gh.ListPullFiles(ctx, repo, number)
	if err != nil {
		return err
	}
	var requests []string
	for _, f := range files {
		if requestFileRE.MatchString(f) {
			requests = append(requests, f)
		}
	}
	if len(requests) == 0 {
		return nil
	}
	return p.validateRequestPull(ctx, pr, requests)
}

// recordMerge notes who merged and approved a Purrvision pull request and
// its merge commit on the store's issue, and labels it provisioning.
func (p *Provisioner) recordMerge(ctx context.Context, pr *forge.PullRequest) error {
	ref, op, ok := ParsePullMarker(pr.Body)
	if !ok {
		if _, storeBranch := v1alpha1.StoreOfBranch(pr.Head); storeBranch {
			return nil
		}
		// A request by pull request is its own issue.
		ref, op = forge.IssueRef{Repo: pr.Repo, Number: pr.Number}, "provision"
	}
	approvers, err := p.gh.Approvers(ctx, pr.Repo, pr.Number)
	if err != nil {
		return err
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	st := t.state()
	st.Pull, st.PullURL, st.Operation, st.MergeCommit, st.MergedBy, st.ApprovedBy = pr.Number, pr.URL, op, pr.MergeCommitSHA, pr.MergedBy, approvers
	if st.Store == "" {
		st.Store, _ = v1alpha1.StoreOfBranch(pr.Head)
	}
	approved := "no approving review"
	if len(approvers) > 0 {
		approved = "approved by @" + strings.Join(approvers, ", @")
	}
	short := pr.MergeCommitSHA
	if len(short) > 12 {
		short = short[:12]
	}
	verb := "provisioning"
	if op == CmdDecommission {
		verb = "decommissioning"
	}
	st.Record(v1alpha1.PhaseMerged, fmt.Sprintf("%s %s merged by @%s (%s) as `%s`; %s has started", op, pr.URL, pr.MergedBy, approved, short, verb), "github", p.now())
	if err := p.upsert(ctx, t, v1alpha1.MarkerStatus, storestatus.Body(st)); err != nil {
		return err
	}
	if err := p.setLabels(ctx, ref, issue.Labels, []string{v1alpha1.LabelProvisioning}, []string{v1alpha1.LabelPendingReview, v1alpha1.LabelReady, v1alpha1.LabelFailed}); err != nil {
		return err
	}
	if op != CmdDecommission && pr.MergeCommitSHA != "" {
		d, err := p.gh.EnsureDeployment(ctx, p.tenants, v1alpha1.Environment(st.Store), pr.MergeCommitSHA, op+" of store "+st.Store)
		if err != nil {
			return err
		}
		latest, err := p.gh.LatestDeploymentStatus(ctx, p.tenants, d.ID)
		if err != nil {
			return err
		}
		if latest == nil {
			if err := p.gh.CreateDeploymentStatus(ctx, p.tenants, d.ID, forge.DeploymentStatus{State: "queued", Description: "merged; waiting for Flux"}); err != nil {
				return err
			}
		}
	}
	if p.nudge != nil {
		if err := p.nudge(ctx); err != nil {
			p.log.Warn("asking Flux to fetch the tenants repo now", "error", err)
		}
	}
	return nil
}

// validateRequestPull checks the StoreRequest files of a pull request,
// reports with the commit status purrvision/validate and a comment, and
// pushes the rendered stores onto the pull request's branch when valid.
func (p *Provisioner) validateRequestPull(ctx context.Context, pr *forge.PullRequest, files []string) error {
	ref := forge.IssueRef{Repo: pr.Repo, Number: pr.Number}
	unlock := p.locks.Lock("pull:" + pr.Head)
	defer unlock()
	if err := p.repo.Fetch(ctx); err != nil {
		return err
	}
	head, ok, err := p.repo.Head(pr.Head)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("validating pull request %s: branch %s is not in the tenants repo (pull requests from forks are not supported)", ref, pr.Head)
	}
	snap, err := p.repo.Snapshot(head)
	if err != nil {
		return err
	}
	var reqs []*v1alpha1.StoreRequest
	var problems []FieldError
	for _, f := range files {
		data, ok, err := snap.ReadFile(f)
		if err != nil {
			return err
		}
		if !ok {
			continue // removed by the pull request
		}
		req, err := v1alpha1.Parse(data)
		if err != nil {
			problems = append(problems, FieldError{Field: f, Msg: err.Error()})
			continue
		}
		for _, e := range renderer.Validate(p.cfg, req) {
			problems = append(problems, FieldError{Field: f, Msg: e.Error()})
		}
		if want := requestFileRE.FindStringSubmatch(f)[1]; req.Metadata.Name != want {
			problems = append(problems, FieldError{Field: f, Msg: fmt.Sprintf("metadata.name is %q; name the file %s.yaml or the store %q", req.Metadata.Name, req.Metadata.Name, want)})
		}
		if req.Spec.Owner != pr.Author {
			problems = append(problems, FieldError{Field: f, Msg: fmt.Sprintf("spec.owner is %q but the pull request is by @%s; a store is owned by whoever asks for it", req.Spec.Owner, pr.Author)})
		}
		reqs = append(reqs, req)
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return p.reportInvalidPull(ctx, pr, t, head.String(), problems)
	}
	type sealed struct {
		name, id string
		out      *renderer.Output
	}
	var fresh []sealed
	res, err := p.repo.Update(ctx, pr.Head, func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		fresh = nil
		var changes []tenants.Change
		for _, req := range reqs {
			name := req.Metadata.Name
			if onBase, err := p.storeOnBase(base, name); err != nil {
				return nil, err
			} else if onBase != nil && onBase.Metadata.Annotations[v1alpha1.AnnotationIssue] != ref.String() {
				return nil, &takenError{name: name, by: onBase.Metadata.Annotations[v1alpha1.AnnotationIssue]}
			}
			dir := renderer.StoreDir(p.cfg, renderer.ClusterOf(p.cfg, req), name)
			current, err := storeFiles(cur, dir)
			if err != nil {
				return nil, err
			}
			in := renderer.Input{Config: p.cfg, Request: req, Rand: p.rand, Now: p.now(), Origin: ref.String()}
			if current[renderer.FileSecret] != nil && current[renderer.FileDatabaseSecret] != nil {
				in.KeepSecret, in.KeepDatabaseSecret = current[renderer.FileSecret], current[renderer.FileDatabaseSecret]
			}
			out, err := renderer.Render(in)
			if err != nil {
				return nil, err
			}
			ch := changesFor(current, out)
			if len(ch) > 0 && in.KeepSecret == nil {
				id, err := p.newCredentialsID()
				if err != nil {
					return nil, err
				}
				fresh = append(fresh, sealed{name: name, id: id, out: out})
			}
			changes = append(changes, ch...)
		}
		if len(changes) == 0 {
			return nil, nil
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: changes, Message: tenants.Message("Render requested stores", "",
			tenants.Trailer{Key: v1alpha1.TrailerStore, Value: storeNames(reqs)},
			tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: "provision"},
			tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: pr.Author},
			tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: ref.String()},
		)}, nil
	})
	if te := (*takenError)(nil); errors.As(err, &te) {
		return p.reportInvalidPull(ctx, pr, t, head.String(), []FieldError{{Field: "requests/" + te.name + ".yaml", Msg: fmt.Sprintf("store %q already exists for %s; choose another name", te.name, te.by)}})
	}
	if err != nil {
		return fmt.Errorf("pushing rendered stores onto %s: %w", pr.Head, err)
	}
	for _, f := range fresh {
		if err := p.deliverCredentials(ctx, t, pr.Author, f.name, f.id, f.out.Credentials); err != nil {
			return err
		}
	}
	if c, ok := t.ownByKey[v1alpha1.MarkerValidation]; ok && !strings.Contains(c.Body, "resolved") {
		if err := p.upsert(ctx, t, v1alpha1.MarkerValidation, v1alpha1.MarkerValidation+"\nThe requests are valid now (resolved)."); err != nil {
			return err
		}
	}
	return p.gh.SetStatus(ctx, pr.Repo, forge.Status{SHA: res.Commit.String(), Context: v1alpha1.StatusContext, State: "success",
		Description: forge.KeepStart("Valid; rendered "+path.Join(p.cfg.TenantsRepo.Path, "...")+" for "+storeNames(reqs), forge.MaxStatusDescription)})
}

type takenError struct{ name, by string }

func (e *takenError) Error() string { return fmt.Sprintf("store %s is taken by %s", e.name, e.by) }

func storeNames(reqs []*v1alpha1.StoreRequest) string {
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Metadata.Name
	}
	return strings.Join(names, ", ")
}

func (p *Provisioner) reportInvalidPull(ctx context.Context, pr *forge.PullRequest, t *thread, sha string, problems []FieldError) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n@%s, the store requests in this pull request can't be provisioned yet. Please push a fix for:\n\n", v1alpha1.MarkerValidation, pr.Author)
	for _, pb := range problems {
		fmt.Fprintf(&b, "- `%s`: %s\n", pb.Field, pb.Msg)
	}
	if err := p.upsert(ctx, t, v1alpha1.MarkerValidation, b.String()); err != nil {
		return err
	}
	desc := problems[0].Field + ": " + problems[0].Msg
	if len(problems) > 1 {
		desc = fmt.Sprintf("%d problems; first: %s", len(problems), desc)
	}
	desc = forge.KeepStart(desc, forge.MaxStatusDescription)
	return p.gh.SetStatus(ctx, pr.Repo, forge.Status{SHA: sha, Context: v1alpha1.StatusContext, State: "failure", Description: desc})
}
