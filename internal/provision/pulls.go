package provision

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
)

// pullSpec is the pull request a store's branch should have.
type pullSpec struct {
	name  string
	op    string
	issue forge.IssueRef
	title string
	body  string
}

var pullMarkerRE = regexp.MustCompile(regexp.QuoteMeta(v1alpha1.MarkerPull) + ` issue=(\S+) op=(\S+) -->`)

// PullMarker is the hidden line that ties a pull request to its issue.
func PullMarker(issue forge.IssueRef, op string) string {
	return fmt.Sprintf("%s issue=%s op=%s -->", v1alpha1.MarkerPull, issue, op)
}

// ParsePullMarker reads the issue and operation from a pull request body.
func ParsePullMarker(body string) (forge.IssueRef, string, bool) {
	m := pullMarkerRE.FindStringSubmatch(body)
	if m == nil {
		return forge.IssueRef{}, "", false
	}
	ref, err := forge.ParseIssueRef(m[1])
	if err != nil {
		return forge.IssueRef{}, "", false
	}
	return ref, m[2], true
}

// ensurePull finds the open pull request of the store's branch, or opens
// it, and keeps its title and body as specified.
func (p *Provisioner) ensurePull(ctx context.Context, spec pullSpec) (*forge.PullRequest, error) {
	body := PullMarker(spec.issue, spec.op) + "\n" + spec.body
	pr, err := p.gh.FindOpenPull(ctx, p.tenants, v1alpha1.Branch(spec.name))
	if err != nil {
		return nil, err
	}
	if pr == nil {
		pr, err = p.gh.CreatePull(ctx, p.tenants, forge.NewPullRequest{Title: spec.title, Body: body, Head: v1alpha1.Branch(spec.name), Base: p.cfg.TenantsRepo.Branch})
		if errors.Is(err, forge.ErrAlreadyExists) {
			// Opened meanwhile, or opened before a lost response.
			pr, err = p.gh.FindOpenPull(ctx, p.tenants, v1alpha1.Branch(spec.name))
			if err == nil && pr == nil {
				err = fmt.Errorf("opening pull request for %s: GitHub says it exists but lists none", v1alpha1.Branch(spec.name))
			}
		}
		if err != nil {
			return nil, err
		}
		return pr, nil
	}
	if pr.Title != spec.title || pr.Body != body {
		if err := p.gh.EditPull(ctx, p.tenants, pr.Number, spec.title, body); err != nil {
			return nil, err
		}
		pr.Title, pr.Body = spec.title, body
	}
	return pr, nil
}

// provisionBody describes what a provisioning pull request creates.
func (p *Provisioner) provisionBody(req *v1alpha1.StoreRequest, issue forge.IssueRef) string {
	plan := p.cfg.Plans[req.Spec.Plan]
	name := req.Metadata.Name
	var b strings.Builder
	fmt.Fprintf(&b, "Creates store **%s**, requested by @%s in %s.\n\n", name, req.Spec.Owner, issueLink(issue))
	b.WriteString("| | |\n|---|---|\n")
	rows := [][2]string{
		{"Namespace", "`" + v1alpha1.Namespace(name) + "`"},
		{"Cluster", "`" + renderer.ClusterOf(p.cfg, req) + "`"},
		{"Plan", "`" + req.Spec.Plan + "`"},
		{"Quota", fmt.Sprintf("%s CPU, %s memory, %s storage, %d pods", plan.CPU.String(), plan.Memory.String(), plan.Storage.String(), plan.Pods)},
		{"Internet egress (443)", fmt.Sprintf("%t", plan.InternetEgress)},
		{"URL", v1alpha1.URL(name, p.cfg.BaseDomain)},
		{"Chart", "`woocommerce` " + p.cfg.Chart.Version},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	b.WriteString("\nThe admin credentials are generated and sealed with SOPS; only Flux and the owner can read them.\n")
	return b.String()
}

func issueLink(ref forge.IssueRef) string {
	return ref.String()
}
