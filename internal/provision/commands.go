package provision

import (
	"context"
	"fmt"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/renderer"
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

// commandView is what one handling of a command comment reads, up front:
// the request's read model (the issue, its ledger record, the bot's
// comments and pending posts), the comment, and whether GitHub says its
// author may run commands here. A rotation reads the owner's keys too,
// under the store's lock; the store's branch is read by the
// compare-and-swap push the plan is made in.
type commandView struct {
	*requestView
	Comment forge.Comment
	Command Command
	// Allowed: the author is the requester, a collaborator with write
	// access, or a member of a configured team.
	Allowed bool
}

// commandStep is what planning a command's answer decides: the answer,
// and whether the request is handled again (retry) or the store changed
// (PlanCommand) with it.
type commandStep struct {
	Answer        *AnswerPlan
	Retry, Change bool
}

// RunCommand carries out a /purrvision command comment, once: a comment
// already answered is not run again. A handling reads (readRequest, the
// commenter's rights, and for a rotation the owner's keys), plans (planAnswer,
// then PlanCommand and planChange inside the compare-and-swap push of the
// store's branch), then applies (applyIssue), with no call to GitHub while
// it plans and one ledger commit, which records the command answered (and
// a denial told) before the reply is posted.
func (p *Provisioner) RunCommand(ctx context.Context, ref forge.IssueRef, c forge.Comment) error {
	cmd, ok := ParseCommand(c.Body)
	if !ok || c.Author == p.bot.Login() {
		return nil
	}
	issue, err := p.gh.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	// The bot's comments of a kind this handling may write, and its own
	// reply: the pending replies to other commands are left to the
	// request's next handling, so a command costs the same few calls
	// however many comments were posted since they were begun.
	v, err := p.readRequest(ctx, issue, func(key string) bool {
		_, isKind := ledger.Markers[key]
		return isKind || key == replyKey(c.ID)
	})
	if err != nil || v == nil {
		return err
	}
	if v.T.Record.IsAnswered(c.ID) {
		key := replyKey(c.ID)
		if _, found := v.Resolved[key]; found {
			return p.applyIssue(ctx, v, &IssuePlan{KeepError: true}, "") // records the reply found by its nonce
		}
		if _, pending := v.T.Record.Pending[key]; !pending {
			return nil
		}
		// Answered, but the reply did not reach GitHub: handled again,
		// and posted with the nonce the ledger holds.
	}
	cv := &commandView{requestView: v, Comment: c, Command: cmd}
	if cv.Allowed, err = p.authorized(ctx, issue, c.Author); err != nil {
		return err
	}
	step := planAnswer(p.cfg, cv)
	switch {
	case step.Retry && issue.Open:
		return p.reconcile(ctx, v, extra{Answer: step.Answer})
	case step.Change:
		return p.change(ctx, cv, step.Answer)
	}
	return p.applyIssue(ctx, v, &IssuePlan{Answer: step.Answer, KeepError: true}, "")
}

// planAnswer plans the answer to a command from what was read: pure.
func planAnswer(cfg *config.Config, v *commandView) commandStep {
	c, cmd := v.Comment, v.Command
	reply := func(text string) commandStep {
		return commandStep{Answer: &AnswerPlan{Comment: c.ID, Author: c.Author, Quote: c.Body, Text: text}}
	}
	if !v.Allowed {
		// Told once, a thumbs-down after that, so nobody can make the
		// bot talk at will: the commit decides, compare-and-swap.
		step := reply(fmt.Sprintf("@%s, only the requester (%s), collaborators with write access and the configured teams can run Purrvision commands on this store. "+
			"Further commands of yours here get a reaction, not a reply.", c.Author, v.Issue.Author))
		step.Answer.Denial = true
		return step
	}
	if len(v.Problems) > 0 {
		if cmd.Name == CmdRetry {
			step := reply("Checked the request again.")
			step.Retry = true
			return step
		}
		return reply("This issue's request is not valid, so there is no store to change yet; see the comment above on what to fix.")
	}
	if rec := v.T.recorded(); rec.MergedOp == v1alpha1.OpDecommission {
		return reply(fmt.Sprintf("Store **%s** was decommissioned; that is final for this issue. For a new store, open a new request.", rec.Store))
	} else if rec.MergedOp != "" && rec.Store != v.Request.Metadata.Name {
		return reply(fmt.Sprintf("This issue's store is **%s**, and its name cannot change once it is merged. Put the name back in the form, then run the command again.", rec.Store))
	}
	if msg := checkCommandArgs(cfg, cmd); msg != "" {
		return reply(msg)
	}
	if cmd.Name == CmdRetry {
		step := reply("Done: the request was checked again and everything it needs is in place.")
		step.Retry = true
		return step
	}
	step := reply("")
	step.Change = true
	return step
}

func (p *Provisioner) authorized(ctx context.Context, issue *forge.Issue, login string) (bool, error) {
	if login == issue.Author {
		return true, nil
	}
	return forge.MayAct(ctx, p.gh, issue.Ref.Repo, login, p.cfg.GitHub.CommandTeams)
}

// change opens (or updates) the store's pull request for resize,
// rotate-credentials or decommission, answering with ans.
func (p *Provisioner) change(ctx context.Context, v *commandView, ans *AnswerPlan) error {
	name, ref, cmd := v.Request.Metadata.Name, v.Issue.Ref, v.Command
	ctx, _ = logctx.With(ctx, "issue", ref.String(), "store", name, "command", cmd.Name)
	unlock := p.locks.Lock(name)
	var err error
	if cmd.Name == CmdRotate {
		// Read before the plan: the new generation is sealed to the
		// owner's keys, and no one else's.
		if v.Keys, err = p.gh.SSHKeys(ctx, v.Issue.Author); err != nil {
			unlock()
			return err
		}
	}
	var cp *CommandPlan
	var plan *IssuePlan
	rec := v.T.recorded()
	res, err := p.repo.Update(ctx, v1alpha1.Branch(name), func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		var err error
		cp, err = PlanCommand(CommandInput{Common: p.common(s, base, cur), Request: v.Request, Command: cmd, Issue: ref,
			Author: v.Comment.Author, CommentID: v.Comment.ID, Delivered: v.T.credentialsID(), Recorded: rec})
		if err != nil {
			return nil, err
		}
		if plan, err = planChange(p.cfg, v, cp, ans, base, headTree(s, base, cur, cp.Commit)); err != nil {
			return nil, err
		}
		return p.commit(s, cp.Commit), nil
	})
	if err != nil {
		unlock()
		return fmt.Errorf("committing %s of store %s: %w", cmd.Name, name, err)
	}
	if cp.NotProvisioned && cmd.Name == CmdRotate {
		// Before the merge, the provisioning branch gets new credentials,
		// with the request's handling (which takes the lock itself).
		unlock()
		return p.reconcile(ctx, v.requestView, extra{Answer: plan.Answer, Forget: true})
	}
	// Held until the push is recorded: purrvision/ready of a store pull
	// request (readyStorePull) reads the record under this lock.
	defer unlock()
	if res.Pushed && plan.Pull != nil {
		plan.Branch = res.Commit.String()
	}
	plan.Ready = storeReady(res, rec.Branch, plan.Pull)
	return p.applyIssue(ctx, v.requestView, plan, res.Commit.String())
}

// planChange plans the issue's side of a command PlanCommand planned:
// pure. head is the store branch's head once cp's commit is pushed.
func planChange(cfg *config.Config, v *commandView, cp *CommandPlan, ans *AnswerPlan, base, head renderer.Tree) (*IssuePlan, error) {
	a := *ans
	if cp.OlderLayout || cp.Refused || cp.NotProvisioned {
		a.Text = cp.Reply
		return &IssuePlan{Answer: &a, KeepError: true}, nil
	}
	pull := cp.Pull
	a.PullTitle = pull.Title
	plan := &IssuePlan{Pull: &pull, Labels: LabelChange{Add: []string{v1alpha1.LabelPendingReview}}, Answer: &a}
	if s := cp.Seal; s != nil {
		owner := v.Issue.Author
		armored, to, err := sealFor(*s, owner, s.AdminURL, v.Keys)
		if err != nil {
			return nil, err
		}
		plan.Sealed = &Sealed{Store: s.Store, ID: s.ID, Owner: owner, AdminURL: s.AdminURL, Armored: armored, To: to}
	}
	check, err := PlanCheck(CheckInput{Config: cfg, Base: base, Head: head, Op: v.Command.Name, Stores: []string{pull.Store},
		StatusPage: cfg.StatusPage.URL, Placed: map[string]string{pull.Store: ""}})
	if err != nil {
		return nil, err
	}
	plan.Check = check
	return plan, nil
}
