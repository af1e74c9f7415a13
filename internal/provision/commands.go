package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Commands people comment on a store issue.
const (
	CmdResize        = "resize"
	CmdRotate        = "rotate-credentials"
	CmdDecommission  = "decommission"
	CmdRetry         = "retry"
	commandPrefix    = "/purrvision"
	TrailerCommand   = "Command"
	commandUsageText = "`/purrvision resize <plan>`, `/purrvision rotate-credentials`, `/purrvision decommission` or `/purrvision retry`"
)

// Command is one parsed /purrvision command.
type Command struct {
	Name string
	Args []string
}

// ParseCommand finds a /purrvision command on the first line of a comment.
func ParseCommand(body string) (Command, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != commandPrefix {
		return Command{}, false
	}
	if len(fields) == 1 {
		return Command{}, true
	}
	return Command{Name: fields[1], Args: fields[2:]}, true
}

// RunCommand carries out a /purrvision command comment, once: a comment
// already answered is not run again.
func (p *Provisioner) RunCommand(ctx context.Context, ref forge.IssueRef, c forge.Comment) error {
	cmd, ok := ParseCommand(c.Body)
	if !ok || c.Author == p.bot {
		return nil
	}
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	if !issue.HasLabel(LabelRequest) {
		return nil
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	if t.replies[c.ID] {
		return nil
	}
	allowed, err := p.authorized(ctx, issue, c.Author)
	if err != nil {
		return err
	}
	if !allowed {
		return p.reply(ctx, t, c, fmt.Sprintf("@%s, only the requester (@%s), collaborators with write access and the configured teams can run Purrvision commands on this store.", c.Author, issue.Author))
	}
	req, problems := ParseForm(issue.Body, issue.Author)
	if len(problems) > 0 || len(renderer.Validate(p.cfg, req)) > 0 {
		if cmd.Name == CmdRetry {
			if err := p.ReconcileRequest(ctx, ref); err != nil {
				return err
			}
			return p.reply(ctx, t, c, "Checked the request again.")
		}
		return p.reply(ctx, t, c, "This issue's request is not valid, so there is no store to change yet; see the comment above on what to fix.")
	}
	switch cmd.Name {
	case CmdResize:
		if len(cmd.Args) != 1 {
			return p.reply(ctx, t, c, "Usage: `/purrvision resize <plan>`, with a plan of "+strings.Join(p.cfg.PlanNames(), ", ")+".")
		}
		if _, ok := p.cfg.Plans[cmd.Args[0]]; !ok {
			return p.reply(ctx, t, c, fmt.Sprintf("%q is not a plan; choose one of %s.", cmd.Args[0], strings.Join(p.cfg.PlanNames(), ", ")))
		}
		return p.change(ctx, issue, t, c, req, cmd)
	case CmdRotate, CmdDecommission:
		return p.change(ctx, issue, t, c, req, cmd)
	case CmdRetry:
		if err := p.ReconcileRequest(ctx, ref); err != nil {
			return err
		}
		return p.reply(ctx, t, c, "Done: the request was checked again and everything it needs is in place.")
	}
	return p.reply(ctx, t, c, "Purrvision knows "+commandUsageText+".")
}

func (p *Provisioner) authorized(ctx context.Context, issue *forge.Issue, login string) (bool, error) {
	if login == issue.Author {
		return true, nil
	}
	perm, err := p.gh.Permission(ctx, issue.Ref.Repo, login)
	if err != nil {
		return false, err
	}
	switch perm {
	case forge.PermissionAdmin, forge.PermissionMaintain, forge.PermissionWrite:
		return true, nil
	}
	for _, t := range p.cfg.GitHub.CommandTeams {
		org, team, _ := strings.Cut(t, "/")
		ok, err := p.gh.IsTeamMember(ctx, org, team, login)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// reply answers a command comment, once.
func (p *Provisioner) reply(ctx context.Context, t *thread, c forge.Comment, text string) error {
	body := fmt.Sprintf("<!-- purrvision:reply comment=%d -->\n> %s\n\n%s", c.ID, strings.SplitN(c.Body, "\n", 2)[0], text)
	if _, err := p.gh.CreateComment(ctx, t.ref, body); err != nil {
		return err
	}
	t.replies[c.ID] = true
	return nil
}

// change opens (or updates) the store's pull request for resize,
// rotate-credentials or decommission.
func (p *Provisioner) change(ctx context.Context, issue *forge.Issue, t *thread, c forge.Comment, req *v1alpha1.StoreRequest, cmd Command) error {
	name := req.Metadata.Name
	unlock := p.locks.Lock(name)
	ref := issue.Ref
	commandID := fmt.Sprint(c.ID)
	var (
		notProvisioned bool
		olderLayout    bool
		rendered       *renderer.Output
		newID          string
		title          string
	)
	_, err := p.repo.Update(ctx, Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		notProvisioned, olderLayout, rendered, newID = false, false, nil, ""
		onBase, err := p.storeOnBase(base, name)
		if err != nil {
			return nil, err
		}
		if onBase == nil || onBase.Metadata.Annotations[v1alpha1.AnnotationIssue] != ref.String() {
			notProvisioned = true
			return nil, nil
		}
		// Build on the store's open pull request, if any, else on the base.
		parent, from := s.BaseHead, base
		var tr map[string]string
		if s.BranchExists {
			tr = tenants.Trailers(cur.Message())
			if tr[TrailerIssue] == ref.String() && !p.mergedInto(base, cur) {
				parent, from = s.BranchHead, cur
			}
		}
		if tr != nil && tr[TrailerCommand] == commandID && parent == s.BranchHead &&
			(cmd.Name != CmdRotate || tr[TrailerCredentialsID] == t.credentialsID()) {
			return nil, nil // this comment was carried out already
		}
		stored, err := p.storeOnBase(from, name)
		if err != nil {
			return nil, err
		}
		if stored == nil {
			stored = onBase
		}
		dir := renderer.StoreDir(p.cfg, renderer.ClusterOf(p.cfg, stored), name)
		current, err := storeFiles(from, dir)
		if err != nil {
			return nil, err
		}
		if cmd.Name != CmdDecommission && current[renderer.FileDatabaseSecret] == nil {
			// Rendered before the database passwords had a Secret of their
			// own: a new one would not match what MariaDB keeps.
			olderLayout = true
			return nil, nil
		}
		credID := ""
		if tr != nil && parent == s.BranchHead {
			credID = tr[TrailerCredentialsID]
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
			out, err := renderer.Render(renderer.Input{Config: p.cfg, Request: &next, Rand: p.rand, Now: p.now(), Origin: ref.String(),
				KeepSecret: current[renderer.FileSecret], KeepDatabaseSecret: current[renderer.FileDatabaseSecret]})
			if err != nil {
				return nil, err
			}
			changes = changesFor(current, out)
		case CmdRotate:
			title = "Rotate credentials of store " + name
			// A new admin password, and with it a new credentials revision
			// in the HelmRelease, so the installer applies it; the database
			// passwords stay.
			out, err := renderer.Render(renderer.Input{Config: p.cfg, Request: stored, Rand: p.rand, Now: p.now(), Origin: ref.String(),
				KeepDatabaseSecret: current[renderer.FileDatabaseSecret]})
			if err != nil {
				return nil, err
			}
			changes = changesFor(current, out)
			if credID, err = p.newCredentialsID(); err != nil {
				return nil, err
			}
			rendered, newID = out, credID
		}
		if len(changes) == 0 {
			return nil, nil
		}
		return &tenants.Plan{Parent: parent, Changes: changes, Message: tenants.Message(title, "Requested with "+cmd.Name+" on "+ref.String()+".",
			tenants.Trailer{Key: TrailerStore, Value: name},
			tenants.Trailer{Key: TrailerOperation, Value: cmd.Name},
			tenants.Trailer{Key: TrailerRequestedBy, Value: c.Author},
			tenants.Trailer{Key: TrailerIssue, Value: ref.String()},
			tenants.Trailer{Key: TrailerCommand, Value: commandID},
			tenants.Trailer{Key: TrailerCredentialsID, Value: credID},
		)}, nil
	})
	unlock()
	if err != nil {
		return fmt.Errorf("committing %s of store %s: %w", cmd.Name, name, err)
	}
	if olderLayout {
		return p.reply(ctx, t, c, fmt.Sprintf("Store **%s** was rendered by an older Purrvision, which kept its database passwords in the same Secret "+
			"as the admin password (there is no `%s`), so it cannot be resized or get new credentials without breaking its database. "+
			"A platform engineer can move it to the current layout (docs/operations.md, \"Stores written by builds before the sharded layout\").", name, renderer.FileDatabaseSecret))
	}
	if notProvisioned {
		if cmd.Name == CmdRotate {
			// Before the merge, the provisioning branch gets new credentials.
			if err := p.rotatePending(ctx, ref); err != nil {
				return err
			}
			return p.reply(ctx, t, c, "New credentials are on the pull request, and sealed for you below.")
		}
		return p.reply(ctx, t, c, fmt.Sprintf("Store **%s** is not provisioned yet, so there is nothing to %s. Before the merge, edit this issue's form instead.", name, cmd.Name))
	}
	if title == "" {
		title = strings.ToUpper(cmd.Name[:1]) + cmd.Name[1:] + " store " + name
	}
	pr, err := p.ensurePull(ctx, pullSpec{name: name, op: cmd.Name, issue: ref, title: title,
		body: fmt.Sprintf("%s, requested by @%s in %s.\n", title, c.Author, issueLink(ref))})
	if err != nil {
		return err
	}
	if err := p.setLabels(ctx, ref, issue.Labels, []string{LabelPendingReview}, nil); err != nil {
		return err
	}
	if rendered != nil {
		if err := p.deliverCredentials(ctx, t, issue.Author, name, newID, rendered.Credentials); err != nil {
			return err
		}
	}
	return p.reply(ctx, t, c, fmt.Sprintf("Pull request %s: %s. It waits for a reviewer.", pr.URL, title))
}

// rotatePending forgets the credentials delivered for a store that is not
// merged yet, so the next reconcile seals new ones on its branch.
func (p *Provisioner) rotatePending(ctx context.Context, ref forge.IssueRef) error {
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	if c, ok := t.ownByKey[markerCredentials]; ok {
		if err := p.gh.EditComment(ctx, ref.Repo, c.ID, markerCredentials+" id=0 -->\nThese credentials were rotated; new ones follow."); err != nil {
			return err
		}
	}
	return p.ReconcileRequest(ctx, ref)
}

// mergedInto reports whether the branch head is already part of base.
func (p *Provisioner) mergedInto(base, branch *tenants.Snapshot) bool {
	if base.Hash() == "" || branch.Hash() == "" {
		return false
	}
	ok, err := branch.IsAncestorOf(base)
	return err == nil && ok
}
