package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// ReconcileRequest brings a store-request issue to its desired state:
// invalid requests get one comment listing what to fix and the label
// store/invalid; valid ones get the branch store/<name> with the rendered
// store, one pull request, the label store/pending-review, a status comment
// linking the pull request, and the owner's credentials. Stores already
// merged are left to commands.
func (p *Provisioner) ReconcileRequest(ctx context.Context, ref forge.IssueRef) error {
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	if !issue.Open || !issue.HasLabel(LabelRequest) {
		return nil
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	req, problems := ParseForm(issue.Body, issue.Author)
	if req != nil && len(problems) == 0 {
		for _, e := range renderer.Validate(p.cfg, req) {
			problems = append(problems, FieldError{Field: FormField(e.Field), Msg: e.ErrorBody()})
		}
	}
	if len(problems) > 0 {
		return p.reportInvalid(ctx, issue, t, problems)
	}
	name := req.Metadata.Name
	log := p.logFor(ref, name)
	unlock := p.locks.Lock(name)
	defer unlock()

	var rendered *renderer.Output
	var newID string
	var taken string
	merged := false
	res, err := p.repo.Update(ctx, Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		rendered, newID, taken, merged = nil, "", "", false
		onBase, err := p.storeOnBase(base, name)
		if err != nil {
			return nil, err
		}
		if onBase != nil {
			if onBase.Metadata.Annotations[v1alpha1.AnnotationIssue] != ref.String() {
				taken = onBase.Metadata.Annotations[v1alpha1.AnnotationIssue]
				return nil, nil
			}
			merged = true
			return nil, nil
		}
		parent := s.BaseHead
		current := map[string][]byte{}
		curID := ""
		if s.BranchExists {
			tr := tenants.Trailers(cur.Message())
			if owner := tr[TrailerIssue]; owner != ref.String() {
				open, err := p.issueOpen(ctx, owner)
				if err != nil {
					return nil, err
				}
				if open {
					taken = owner
					return nil, nil
				}
				// The other request was closed: its branch is ours to reuse.
			} else {
				parent = s.BranchHead
				curID = tr[TrailerCredentialsID]
				if current, err = storeFiles(cur, renderer.StoreDir(p.cfg, renderer.ClusterOf(p.cfg, req), name)); err != nil {
					return nil, err
				}
			}
		}
		in := renderer.Input{Config: p.cfg, Request: req, Rand: p.rand, Now: p.now(), Origin: ref.String()}
		id := curID
		if curID != "" && curID == t.credentialsID() && current[renderer.FileSecret] != nil && current[renderer.FileDatabaseSecret] != nil {
			in.KeepSecret, in.KeepDatabaseSecret = current[renderer.FileSecret], current[renderer.FileDatabaseSecret]
		} else if id, err = p.newCredentialsID(); err != nil {
			return nil, err
		}
		out, err := renderer.Render(in)
		if err != nil {
			return nil, err
		}
		// Files of the store from another cluster, if the request moved.
		changes := changesFor(current, out)
		if !s.BranchExists || parent != s.BranchHead {
			changes = changesFor(map[string][]byte{}, out)
		}
		if len(changes) == 0 {
			return nil, nil
		}
		if in.KeepSecret == nil {
			rendered, newID = out, id
		}
		subject := "Provision store " + name
		if parent == s.BranchHead && s.BranchExists {
			subject = "Update store " + name
		}
		return &tenants.Plan{Parent: parent, Changes: changes, Message: tenants.Message(subject, "",
			tenants.Trailer{Key: TrailerStore, Value: name},
			tenants.Trailer{Key: TrailerOperation, Value: "provision"},
			tenants.Trailer{Key: TrailerRequestedBy, Value: issue.Author},
			tenants.Trailer{Key: TrailerIssue, Value: ref.String()},
			tenants.Trailer{Key: TrailerCredentialsID, Value: id},
		)}, nil
	})
	if err != nil {
		return fmt.Errorf("committing store %s: %w", name, err)
	}
	if taken != "" {
		return p.reportInvalid(ctx, issue, t, []FieldError{{Field: FormName, Msg: fmt.Sprintf("%q is already taken by the request in %s; choose another name", name, taken)}})
	}
	if err := p.clearInvalid(ctx, issue, t); err != nil {
		return err
	}
	if merged {
		return nil
	}
	if res.Pushed {
		log.Info("store branch pushed", "commit", res.Commit.String())
	}
	pr, err := p.ensurePull(ctx, pullSpec{
		name: name, op: "provision", issue: ref,
		title: "Provision store " + name,
		body:  p.provisionBody(req, ref),
	})
	if err != nil {
		return err
	}
	if err := p.setLabels(ctx, ref, issue.Labels, []string{LabelPendingReview}, nil); err != nil {
		return err
	}
	st := t.state()
	st.Store, st.Cluster, st.Pull, st.PullURL, st.Operation = name, renderer.ClusterOf(p.cfg, req), pr.Number, pr.URL, "provision"
	st.URL = "https://" + renderer.Host(p.cfg, name) + "/"
	st.Record(storestatus.PhasePendingReview, fmt.Sprintf("the request is valid; pull request %s creates the store", pr.URL), "github", p.now())
	if err := p.upsert(ctx, t, markerStatus, storestatus.Body(st)); err != nil {
		return err
	}
	if rendered != nil {
		if err := p.deliverCredentials(ctx, t, issue.Author, name, newID, rendered.Credentials); err != nil {
			return err
		}
	}
	return nil
}

// issueOpen reports whether the issue owner/name#n is open.
func (p *Provisioner) issueOpen(ctx context.Context, ref string) (bool, error) {
	r, err := forge.ParseIssueRef(ref)
	if err != nil {
		return false, nil // not ours to honour
	}
	is, err := p.gh.GetIssue(ctx, r)
	if errors.Is(err, forge.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return is.Open, nil
}

func (p *Provisioner) reportInvalid(ctx context.Context, issue *forge.Issue, t *thread, problems []FieldError) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n@%s, this store request can't be provisioned yet. Please edit the issue and fix:\n\n", markerValidation, issue.Author)
	for _, pr := range problems {
		fmt.Fprintf(&b, "- **%s**: %s\n", pr.Field, pr.Msg)
	}
	b.WriteString("\nPurrvision checks the request again each time the issue is edited.")
	if err := p.upsert(ctx, t, markerValidation, b.String()); err != nil {
		return err
	}
	return p.setLabels(ctx, issue.Ref, issue.Labels, []string{LabelInvalid}, nil)
}

// clearInvalid marks an earlier validation comment resolved and drops the
// store/invalid label.
func (p *Provisioner) clearInvalid(ctx context.Context, issue *forge.Issue, t *thread) error {
	if c, ok := t.ownByKey[markerValidation]; ok && !strings.Contains(c.Body, "resolved") {
		if err := p.upsert(ctx, t, markerValidation, markerValidation+"\nThe request is valid now (resolved)."); err != nil {
			return err
		}
	}
	return p.setLabels(ctx, issue.Ref, issue.Labels, nil, []string{LabelInvalid})
}
