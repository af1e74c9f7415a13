package provision

import (
	"context"
	"fmt"
	"strconv"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

// Commands people comment on a store issue.
const (
	CmdResize        = v1alpha1.OpResize
	CmdRotate        = v1alpha1.OpRotate
	CmdDecommission  = v1alpha1.OpDecommission
	CmdRetry         = "retry"
	commandUsageText = "`/purrvision resize <plan>`, `/purrvision rotate-credentials`, `/purrvision decommission` or `/purrvision retry`"
)

// Command is one parsed /purrvision command.
type Command struct {
	Name string
	Args []string
}

// ParseCommand finds a /purrvision command on the first line of a comment
// (apply.CommandWords, which rollout commands are read with too).
func ParseCommand(body string) (Command, bool) {
	words, ok := apply.CommandWords(body)
	if !ok || len(words) == 0 {
		return Command{}, ok
	}
	return Command{Name: words[0], Args: words[1:]}, true
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
	if !issue.HasLabel(v1alpha1.LabelRequest) {
		return nil
	}
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	if t.Record.IsAnswered(c.ID) {
		return nil
	}
	allowed, err := p.authorized(ctx, issue, c.Author)
	if err != nil {
		return err
	}
	if !allowed {
		return p.deny(ctx, t, c, issue.Author)
	}
	req, problems := checkRequest(p.cfg, issue.Body, issue.Author)
	if len(problems) > 0 {
		if cmd.Name == CmdRetry {
			if err := p.ReconcileRequest(ctx, ref); err != nil {
				return err
			}
			return p.reply(ctx, t, c, "Checked the request again.")
		}
		return p.reply(ctx, t, c, "This issue's request is not valid, so there is no store to change yet; see the comment above on what to fix.")
	}
	if rec := t.recorded(); rec.MergedOp == v1alpha1.OpDecommission {
		return p.reply(ctx, t, c, fmt.Sprintf("Store **%s** was decommissioned; that is final for this issue. For a new store, open a new request.", rec.Store))
	} else if rec.MergedOp != "" && rec.Store != req.Metadata.Name {
		return p.reply(ctx, t, c, fmt.Sprintf("This issue's store is **%s**, and its name cannot change once it is merged. Put the name back in the form, then run the command again.", rec.Store))
	}
	if msg := checkCommandArgs(p.cfg, cmd); msg != "" {
		return p.reply(ctx, t, c, msg)
	}
	if cmd.Name == CmdRetry {
		if err := p.ReconcileRequest(ctx, ref); err != nil {
			return err
		}
		return p.reply(ctx, t, c, "Done: the request was checked again and everything it needs is in place.")
	}
	return p.change(ctx, issue, t, c, req, cmd)
}

func (p *Provisioner) authorized(ctx context.Context, issue *forge.Issue, login string) (bool, error) {
	if login == issue.Author {
		return true, nil
	}
	return forge.MayAct(ctx, p.gh, issue.Ref.Repo, login, p.cfg.GitHub.CommandTeams)
}

// reply answers a command comment, once.
func (p *Provisioner) reply(ctx context.Context, t *thread, c forge.Comment, text string) error {
	return p.postReply(ctx, t, c, "", text)
}

// deny answers a command by someone without the right to run it: a reply
// the first time on this issue, a thumbs-down reaction after that, so
// nobody can make the bot talk at will.
func (p *Provisioner) deny(ctx context.Context, t *thread, c forge.Comment, requester string) error {
	// Told once: the reservation is made compare-and-swap in the ledger
	// before the reply, so workers handling several commands of one
	// person at once reply once between them.
	told := t.Record.IsDenied(c.Author)
	if !told {
		if err := p.ledger.Note(ctx, t.Thread, func(r *ledger.Record) string {
			told = r.IsDenied(c.Author)
			r.Deny(c.Author)
			return "telling " + c.Author + " once that they may not run commands"
		}); err != nil {
			return err
		}
	}
	if told {
		return p.gh.React(ctx, t.Ref.Repo, c.ID, "-1")
	}
	return p.postReply(ctx, t, c, " denied="+c.Author, fmt.Sprintf("@%s, only the requester (%s), collaborators with write access and the configured teams can run Purrvision commands on this store. "+
		"Further commands of yours here get a reaction, not a reply.", c.Author, requester))
}

// postReply posts the one reply to a command comment, quoting it safely.
func (p *Provisioner) postReply(ctx context.Context, t *thread, c forge.Comment, attrs, text string) error {
	body := fmt.Sprintf("%s comment=%d%s -->\n> %s\n\n%s", v1alpha1.MarkerReply, c.ID, attrs, quoteUser(c.Body), text)
	_, err := p.ledger.Post(ctx, p.gh, t.Thread, "reply-"+strconv.FormatInt(c.ID, 10), body, func(r *ledger.Record, _ forge.Comment) string {
		r.Answer(c.ID)
		if attrs != "" {
			r.Deny(c.Author)
			return fmt.Sprintf("answered comment %d, and told %s once", c.ID, c.Author)
		}
		return fmt.Sprintf("answered comment %d", c.ID)
	})
	return err
}

// change opens (or updates) the store's pull request for resize,
// rotate-credentials or decommission.
func (p *Provisioner) change(ctx context.Context, issue *forge.Issue, t *thread, c forge.Comment, req *v1alpha1.StoreRequest, cmd Command) error {
	name := req.Metadata.Name
	ref := issue.Ref
	ctx, _ = logctx.With(ctx, "issue", ref.String(), "store", name, "command", cmd.Name)
	unlock := p.locks.Lock(name)
	var plan *CommandPlan
	var baseAt tenants.Hash
	rec := t.recorded()
	res, err := p.repo.Update(ctx, v1alpha1.Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		var err error
		baseAt = s.BaseHead
		plan, err = PlanCommand(CommandInput{Common: p.common(s, base, cur), Request: req, Command: cmd, Issue: ref,
			Author: c.Author, CommentID: c.ID, Delivered: t.credentialsID(), Recorded: rec})
		if err != nil {
			return nil, err
		}
		return p.commit(s, plan.Commit), nil
	})
	unlock()
	if err != nil {
		return fmt.Errorf("committing %s of store %s: %w", cmd.Name, name, err)
	}
	if plan.OlderLayout || plan.Refused {
		return p.reply(ctx, t, c, plan.Reply)
	}
	if plan.NotProvisioned {
		if cmd.Name == CmdRotate {
			// Before the merge, the provisioning branch gets new credentials.
			if err := p.rotatePending(ctx, ref); err != nil {
				return err
			}
		}
		return p.reply(ctx, t, c, plan.Reply)
	}
	if res.Pushed && t.state().Store != "" {
		// What the bot pushed, so the next change builds on it only if
		// nobody else pushed since.
		if err := p.putStatus(ctx, t, func(st *storestatus.State) { st.Branch = res.Commit.String() }); err != nil {
			return err
		}
	}
	pr, err := p.ensurePull(ctx, plan.Pull)
	if err != nil {
		return err
	}
	if err := p.setLabels(ctx, ref, issue.Labels, LabelChange{Add: []string{v1alpha1.LabelPendingReview}}); err != nil {
		return err
	}
	if plan.Seal != nil {
		if err := p.deliverCredentials(ctx, t, issue.Author, *plan.Seal, pr.URL); err != nil {
			return err
		}
	}
	// Before the reply: a command answered is not run again.
	if err := p.reportStoreCheck(ctx, baseAt, res.Commit, cmd.Name, name, ""); err != nil {
		return err
	}
	return p.reply(ctx, t, c, fmt.Sprintf("Pull request %s: %s. It waits for a reviewer.", pr.URL, plan.Pull.Title))
}

// rotatePending forgets the credentials delivered for a store that is not
// merged yet, so the next reconcile seals new ones on its branch.
func (p *Provisioner) rotatePending(ctx context.Context, ref forge.IssueRef) error {
	t, err := p.readThread(ctx, ref)
	if err != nil {
		return err
	}
	if err := p.ledger.Note(ctx, t.Thread, func(r *ledger.Record) string {
		r.Forget()
		return "credentials rotated before the merge: new ones follow"
	}); err != nil {
		return err
	}
	if c, ok := t.Own[ledger.KindCredentials]; ok {
		if err := p.gh.EditComment(ctx, ref.Repo, c.ID, v1alpha1.MarkerCredentials+" id=0 -->\nThese credentials were rotated; new ones follow."); err != nil {
			return err
		}
	}
	return p.ReconcileRequest(ctx, ref)
}
