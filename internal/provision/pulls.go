package provision

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
)

var pullMarkerRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerPull) + ` issue=(\S+) op=([a-z-]+) -->$`)

// PullMarker is the hidden line that ties a pull request to its issue.
func PullMarker(issue forge.IssueRef, op string) string {
	return fmt.Sprintf("%s issue=%s op=%s -->", v1alpha1.MarkerPull, issue, op)
}

// ParsePullMarker reads the issue and operation from the first line of a
// pull request body, where the bot puts it.
func ParsePullMarker(body string) (forge.IssueRef, string, bool) {
	m := pullMarkerRE.FindStringSubmatch(v1alpha1.FirstLine(body))
	if m == nil {
		return forge.IssueRef{}, "", false
	}
	ref, err := forge.ParseIssueRef(m[1])
	if err != nil {
		return forge.IssueRef{}, "", false
	}
	return ref, m[2], true
}

// pullTitle is the title of a store's pull request for op: "Resize
// store cat-cafe". A store name has at most 40 characters, so it is well
// within GitHub's 256.
func pullTitle(op, store string) string {
	return strings.ToUpper(op[:1]) + op[1:] + " store " + store
}

// deploymentDescription describes the deployment of a merge of op.
func deploymentDescription(op, store string) string {
	return forge.KeepStart(op+" of store "+store, forge.MaxStatusDescription)
}

// applier is the one applier of the bot's writes, as the bot in the
// tenants repo.
func (p *Provisioner) applier() apply.Bot { return apply.Bot{Login: p.bot.Login(), Tenants: p.tenants} }

// ensurePull finds the bot's open pull request of the store's branch (by
// what GitHub records, apply.Bot.Owns), or opens it, and keeps its title
// and body as specified.
func (p *Provisioner) ensurePull(ctx context.Context, spec PullSpec) (*forge.PullRequest, error) {
	return p.applier().EnsurePull(ctx, p.gh, apply.Pull{Branch: v1alpha1.Branch(spec.Store), Base: p.cfg.TenantsRepo.Branch,
		Title: spec.Title, Body: PullMarker(spec.Issue, spec.Op) + "\n" + spec.Body})
}
