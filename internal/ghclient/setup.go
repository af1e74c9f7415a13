package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// The settings `purrvision setup` (internal/setup) reads and writes: the
// default branch, labels, files, branch protection and rulesets.

// DefaultBranch is repo's default branch.
func (c *Client) DefaultBranch(ctx context.Context, repo forge.Repo) (string, error) {
	r, resp, err := c.gh.Repositories.Get(ctx, repo.Owner, repo.Name)
	if err := translate("reading repository "+repo.String(), resp, err); err != nil {
		return "", err
	}
	return r.GetDefaultBranch(), nil
}

// ListLabels lists repo's labels.
func (c *Client) ListLabels(ctx context.Context, repo forge.Repo) ([]forge.Label, error) {
	var out []forge.Label
	opts := &github.ListOptions{}
	err := eachPage("listing labels of "+repo.String(), opts, func() (*github.Response, error) {
		ls, resp, err := c.gh.Issues.ListLabels(ctx, repo.Owner, repo.Name, opts)
		for _, l := range ls {
			out = append(out, forge.Label{Name: l.GetName(), Color: l.GetColor(), Description: l.GetDescription()})
		}
		return resp, err
	})
	return out, err
}

// SaveLabel creates a label, or edits the one of its name.
func (c *Client) SaveLabel(ctx context.Context, repo forge.Repo, l forge.Label, create bool) error {
	gl := &github.Label{Name: &l.Name, Color: &l.Color, Description: &l.Description}
	var resp *github.Response
	var err error
	if create {
		_, resp, err = c.gh.Issues.CreateLabel(ctx, repo.Owner, repo.Name, gl)
	} else {
		// As RemoveLabel: go-github puts the name into the path unescaped.
		_, resp, err = c.gh.Issues.EditLabel(ctx, repo.Owner, repo.Name, escapePath(l.Name), gl)
	}
	return translate("writing label "+l.Name+" in "+repo.String(), resp, err)
}

func escapePath(s string) string { return strings.ReplaceAll(s, "/", "%2F") }

// GetFile reads a file at ref; ok false when it is not there.
func (c *Client) GetFile(ctx context.Context, repo forge.Repo, ref, path string) (string, bool, error) {
	f, _, resp, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &github.RepositoryContentGetOptions{Ref: ref})
	if resp != nil && resp.StatusCode == http.StatusNotFound && message(err) == "Not Found" {
		return "", false, nil
	}
	if err := translate(fmt.Sprintf("reading %s at %s in %s", path, ref, repo), resp, err); err != nil {
		return "", false, err
	}
	if f == nil {
		return "", false, fmt.Errorf("reading %s in %s: a folder, not a file", path, repo)
	}
	content, err := f.GetContent()
	if err != nil {
		return "", false, fmt.Errorf("decoding %s in %s: %w", path, repo, err)
	}
	return content, true, nil
}

// message is the message of GitHub's error answer; "" for another error.
func message(err error) string {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		return ge.Message
	}
	return ""
}

// ProposeFiles opens (or brings up to date) a pull request from
// p.Branch into p.Base with p.Files: the branch is made from the base when
// missing, each file that differs on it committed. It never writes the
// base.
func (c *Client) ProposeFiles(ctx context.Context, repo forge.Repo, p forge.FileProposal) (*forge.PullRequest, error) {
	if p.Branch == p.Base {
		return nil, fmt.Errorf("proposing files in %s: the branch is the base %s", repo, p.Base)
	}
	_, resp, err := c.gh.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+p.Branch)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		base, resp, err := c.gh.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+p.Base)
		if err := translate("reading branch "+p.Base+" of "+repo.String(), resp, err); err != nil {
			return nil, err
		}
		_, resp, err = c.gh.Git.CreateRef(ctx, repo.Owner, repo.Name, &github.Reference{Ref: github.String("refs/heads/" + p.Branch), Object: &github.GitObject{SHA: base.Object.SHA}})
		if err := translate("creating branch "+p.Branch+" in "+repo.String(), resp, err); err != nil {
			return nil, err
		}
	} else if err := translate("reading branch "+p.Branch+" of "+repo.String(), resp, err); err != nil {
		return nil, err
	}
	for _, f := range p.Files {
		cur, _, resp, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, f.Path, &github.RepositoryContentGetOptions{Ref: p.Branch})
		opts := &github.RepositoryContentFileOptions{Message: &p.Message, Content: []byte(f.Content), Branch: &p.Branch}
		action := fmt.Sprintf("writing %s on %s in %s", f.Path, p.Branch, repo)
		switch {
		case resp != nil && resp.StatusCode == http.StatusNotFound:
			_, resp, err = c.gh.Repositories.CreateFile(ctx, repo.Owner, repo.Name, f.Path, opts)
		case err != nil:
		case cur == nil:
			return nil, fmt.Errorf("%s: a folder is in the way", action)
		default:
			if old, derr := cur.GetContent(); derr == nil && old == f.Content {
				continue
			}
			opts.SHA = cur.SHA
			_, resp, err = c.gh.Repositories.UpdateFile(ctx, repo.Owner, repo.Name, f.Path, opts)
		}
		if err := translate(action, resp, err); err != nil {
			return nil, err
		}
	}
	pr, err := c.FindOpenPull(ctx, repo, p.Branch)
	if err != nil || pr != nil {
		return pr, err
	}
	return c.CreatePull(ctx, repo, forge.NewPullRequest{Title: p.Title, Body: p.Body, Head: p.Branch, Base: p.Base})
}

// GetProtection reads branch's protection; nil when it has none.
func (c *Client) GetProtection(ctx context.Context, repo forge.Repo, branch string) (*forge.BranchProtection, error) {
	p, resp, err := c.gh.Repositories.GetBranchProtection(ctx, repo.Owner, repo.Name, branch)
	if errors.Is(err, github.ErrBranchNotProtected) || (resp != nil && resp.StatusCode == http.StatusNotFound && message(err) == "Branch not protected") {
		return nil, nil
	}
	if err := translate(fmt.Sprintf("reading the protection of %s in %s", branch, repo), resp, err); err != nil {
		return nil, err
	}
	out := &forge.BranchProtection{Branch: branch, EnforceAdmins: p.GetEnforceAdmins().Enabled}
	if rc := p.GetRequiredStatusChecks(); rc != nil {
		out.Strict = rc.Strict
		if rc.Checks != nil {
			for _, ch := range *rc.Checks {
				out.Checks = append(out.Checks, forge.RequiredCheck{Context: ch.Context, AppID: max(ch.GetAppID(), 0)})
			}
		} else if rc.Contexts != nil {
			for _, ctx := range *rc.Contexts {
				out.Checks = append(out.Checks, forge.RequiredCheck{Context: ctx})
			}
		}
	}
	if rv := p.GetRequiredPullRequestReviews(); rv != nil {
		out.Reviews, out.Approvals, out.DismissStale, out.CodeOwners = true, rv.RequiredApprovingReviewCount, rv.DismissStaleReviews, rv.RequireCodeOwnerReviews
	}
	return out, nil
}

// SetProtection replaces branch protection with p, push restrictions off.
func (c *Client) SetProtection(ctx context.Context, repo forge.Repo, p forge.BranchProtection) error {
	req := &github.ProtectionRequest{EnforceAdmins: p.EnforceAdmins}
	if len(p.Checks) > 0 || p.Strict {
		checks := []*github.RequiredStatusCheck{}
		for _, ch := range p.Checks {
			rc := &github.RequiredStatusCheck{Context: ch.Context}
			if ch.AppID != 0 {
				rc.AppID = github.Int64(ch.AppID)
			}
			checks = append(checks, rc)
		}
		// contexts is deprecated but required; empty, checks says it.
		req.RequiredStatusChecks = &github.RequiredStatusChecks{Strict: p.Strict, Contexts: &[]string{}, Checks: &checks}
	}
	if p.Reviews {
		req.RequiredPullRequestReviews = &github.PullRequestReviewsEnforcementRequest{
			RequiredApprovingReviewCount: p.Approvals, DismissStaleReviews: p.DismissStale, RequireCodeOwnerReviews: p.CodeOwners,
		}
	}
	_, resp, err := c.gh.Repositories.UpdateBranchProtection(ctx, repo.Owner, repo.Name, p.Branch, req)
	return translate(fmt.Sprintf("protecting %s in %s", p.Branch, repo), resp, err)
}

// ListRulesets reads each of repo's own rulesets whole (a listing leaves
// out their rules and conditions).
func (c *Client) ListRulesets(ctx context.Context, repo forge.Repo) ([]forge.Ruleset, error) {
	all, resp, err := c.gh.Repositories.GetAllRulesets(ctx, repo.Owner, repo.Name, false)
	if err := translate("listing the rulesets of "+repo.String(), resp, err); err != nil {
		return nil, err
	}
	var out []forge.Ruleset
	for _, s := range all {
		if s.GetSourceType() != "" && s.GetSourceType() != "Repository" {
			continue
		}
		rs, resp, err := c.gh.Repositories.GetRuleset(ctx, repo.Owner, repo.Name, s.GetID(), false)
		if err := translate(fmt.Sprintf("reading ruleset %d of %s", s.GetID(), repo), resp, err); err != nil {
			return nil, err
		}
		if rs.GetTarget() != "" && rs.GetTarget() != "branch" {
			continue
		}
		out = append(out, rulesetFrom(rs))
	}
	return out, nil
}

func rulesetFrom(rs *github.Ruleset) forge.Ruleset {
	out := forge.Ruleset{ID: rs.GetID(), Name: rs.Name, Enforcement: rs.Enforcement}
	if c := rs.Conditions; c != nil && c.RefName != nil {
		out.Include, out.Exclude = c.RefName.Include, c.RefName.Exclude
	}
	for _, r := range rs.Rules {
		out.Rules = append(out.Rules, r.Type)
	}
	for _, a := range rs.BypassActors {
		out.Bypass = append(out.Bypass, forge.BypassActor{Type: a.GetActorType(), ID: a.GetActorID(), Mode: a.GetBypassMode()})
	}
	return out
}

// SaveRuleset creates rs when its ID is 0, or replaces the ruleset of its
// ID. Its rules take no parameters.
func (c *Client) SaveRuleset(ctx context.Context, repo forge.Repo, rs forge.Ruleset) error {
	g := &github.Ruleset{
		Name: rs.Name, Target: github.String("branch"), Enforcement: rs.Enforcement,
		Conditions:   &github.RulesetConditions{RefName: &github.RulesetRefConditionParameters{Include: orEmpty(rs.Include), Exclude: orEmpty(rs.Exclude)}},
		BypassActors: []*github.BypassActor{},
	}
	for _, t := range rs.Rules {
		g.Rules = append(g.Rules, &github.RepositoryRule{Type: t})
	}
	for _, a := range rs.Bypass {
		g.BypassActors = append(g.BypassActors, &github.BypassActor{ActorID: github.Int64(a.ID), ActorType: github.String(a.Type), BypassMode: github.String(a.Mode)})
	}
	var resp *github.Response
	var err error
	if rs.ID == 0 {
		_, resp, err = c.gh.Repositories.CreateRuleset(ctx, repo.Owner, repo.Name, g)
	} else {
		_, resp, err = c.gh.Repositories.UpdateRuleset(ctx, repo.Owner, repo.Name, rs.ID, g)
	}
	return translate(fmt.Sprintf("writing ruleset %q in %s", rs.Name, repo), resp, err)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
