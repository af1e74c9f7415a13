package provision

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// IssuePlan is the whole desired state of a store-request issue after one
// handling, besides the commit of its store branch: what GitHub should
// show and what the ledger should record. The applier (apply.go) compares
// it with what the read model saw and writes the difference.
type IssuePlan struct {
	// Validation is the body the validation comment should have; ""
	// leaves it as it is.
	Validation string
	Labels     LabelChange
	// Close are the bot's open pull requests of this issue to close.
	Close []int
	// Pull is the pull request the store's branch should have; nil none.
	Pull *PullSpec
	// Status is the store's state to record, with the pull request the
	// applier finds or opens; nil leaves it.
	Status *StatusPlan
	// Sealed is a new generation of credentials, sealed to the owner.
	Sealed *Sealed
	// ShowCredentials brings the credentials comment up to date with the
	// ledger (a post that failed after the generation was recorded).
	ShowCredentials bool
	// Check is the check run purrvision/plan of the branch head.
	Check *CheckPlan
	// Answer is the reply to a command comment (or the reaction to it),
	// recorded as answered by the handling's commit; nil none.
	Answer *AnswerPlan
	// Branch is the commit a command pushed to the store's branch, for
	// the store's state; "" leaves it.
	Branch string
	// KeepError: the handling retries none of the store's writes (it
	// only answers a command), so a last error recorded stays.
	KeepError bool
	// Forget drops the credentials delivered before the merge (a
	// rotation before it), so the render seals new ones.
	Forget bool
	// Merge records a merge of the store's pull request; nil none.
	Merge *MergePlan
	// Seals are a request pull request's new generations, one per new
	// store, each for the pull request that brings it; the credentials
	// comment shows the last.
	Seals []*Sealed
	// CommitStatus is the status purrvision/validate of a request pull
	// request's head, set before its check run; nil none.
	CommitStatus *forge.Status
	// Ready is the check run purrvision/ready, the one check branch
	// protection requires, on the exact head the handling decided about
	// (requestReady, storeReady); nil none.
	Ready *forge.CheckRun
}

// AnswerPlan is the one reply to a command comment.
type AnswerPlan struct {
	// Comment is the command comment's ID, Author who wrote it, Quote
	// its body (quoted safely in the reply).
	Comment       int64
	Author, Quote string
	Text          string
	// PullTitle, when set, makes the reply name the pull request the
	// applier finds or opens, with this title, waiting for a reviewer.
	PullTitle string
	// Denial: the reply tells Author once that they may not run commands
	// here. When the ledger says they were told already (read at the
	// commit, compare-and-swap), the comment gets a thumbs-down instead.
	Denial bool
}

// replyKey is the ledger's key of the reply to command comment id.
func replyKey(id int64) string { return "reply-" + strconv.FormatInt(id, 10) }

// replyBody is the reply a answers with; pullURL is the pull request the
// applier found or opened.
func replyBody(a *AnswerPlan, pullURL string) string {
	attrs, text := "", a.Text
	if a.Denial {
		attrs = " denied=" + a.Author
	}
	if a.PullTitle != "" {
		text = fmt.Sprintf("Pull request %s: %s. It waits for a reviewer.", pullURL, a.PullTitle)
	}
	return fmt.Sprintf("%s comment=%d%s -->\n> %s\n\n%s", v1alpha1.MarkerReply, a.Comment, attrs, quoteUser(a.Quote), text)
}

// StatusPlan is the state of a store whose pull request waits for review.
type StatusPlan struct {
	Store, Cluster, URL string
	// Branch is the commit the bot pushed to the store's branch; set by
	// the applier once pushed.
	Branch string
}

// Sealed is a generation of credentials as the owner receives it: age
// ciphertext to their SSH keys ("" when they have none Purrvision can
// use) and to which keys.
type Sealed struct {
	Store, ID, Owner, AdminURL string
	Armored, To                string
	// Pull is the pull request bringing the generation; "" the one the
	// applier finds or opens.
	Pull string
}

// planIssue is the pure second half of planning a request: from the read
// model and the store's plan to the issue's whole desired state. It seals
// new credentials to the keys the read model holds.
func planIssue(v *requestView, rp *RequestPlan, bot string) (*IssuePlan, error) {
	author := v.Issue.Author
	switch {
	case rp.Decommissioned:
		return &IssuePlan{}, nil // final: the watcher closes the issue once the store is gone
	case rp.Renamed != "":
		return &IssuePlan{Validation: renamedComment(author, rp.Renamed)}, nil
	case rp.Moved != "":
		return &IssuePlan{Validation: movedComment(author, rp.Moved)}, nil
	case rp.Unplaced != nil:
		return refusedIssue(v, bot, []FieldError{*rp.Unplaced}), nil
	case rp.TakenBy != "":
		name := v.Request.Metadata.Name
		msg := fmt.Sprintf("%q is already taken by the request in %s; choose another name", name, rp.TakenBy)
		if rp.Draining {
			msg = fmt.Sprintf("%q belonged to the store of %s, which is being decommissioned; the name is free again once that store's Namespace is gone. Choose another name, or edit this form again later", name, rp.TakenBy)
		}
		return refusedIssue(v, bot, []FieldError{{Field: FormName, Msg: msg}}), nil
	}
	plan := &IssuePlan{Labels: LabelChange{Remove: []string{v1alpha1.LabelInvalid}}}
	if c, ok := v.T.Own[ledger.KindValidation]; ok && !strings.Contains(c.Body, "resolved") {
		plan.Validation = v1alpha1.MarkerValidation + "\nThe request is valid now (resolved)."
	}
	if rp.Merged {
		return plan, nil
	}
	if pr := v.Superseded; pr != nil && ownPull(pr, v.T.state()) {
		plan.Close = append(plan.Close, pr.Number)
	}
	pull := rp.Pull
	plan.Pull = &pull
	plan.Labels.Add = rp.Labels.Add
	plan.Status = &StatusPlan{Store: rp.Pull.Store, Cluster: rp.Cluster, URL: rp.URL}
	if s := rp.Seal; s != nil {
		url := s.AdminURL
		armored, to, err := sealFor(*s, author, url, v.Keys)
		if err != nil {
			return nil, err
		}
		plan.Sealed = &Sealed{Store: s.Store, ID: s.ID, Owner: author, AdminURL: url, Armored: armored, To: to}
	} else {
		plan.ShowCredentials = true
	}
	return plan, nil
}

// refusedIssue answers a request that is not rendered: the validation
// comment with what to fix, the label store/invalid, and the bot's pull
// request of this issue for the store closed.
func refusedIssue(v *requestView, bot string, problems []FieldError) *IssuePlan {
	plan := &IssuePlan{Validation: invalidRequestComment(v.Issue.Author, problems), Labels: LabelChange{Add: []string{v1alpha1.LabelInvalid}}}
	if pr := v.Pull; pr != nil && ownPull(pr, v.T.state()) {
		plan.Close = append(plan.Close, pr.Number)
	}
	return plan
}

// ownPull reports whether pr, one of the bot's (apply.Bot.Owns, which
// found it), is this issue's: the pull request its record names, or the
// one at the commit it recorded pushing. Never the marker in its body,
// which anyone with write access can edit to name another issue.
func ownPull(pr *forge.PullRequest, st storestatus.State) bool {
	return (st.Pull != 0 && st.Pull == pr.Number) || (st.Branch != "" && st.Branch == pr.HeadSHA)
}

// overLimit is the refusal of a request beyond the requester's limit of
// open requests; nil within it.
func overLimit(v *requestView, limit int) *FieldError {
	if limit == 0 || v.Earlier < limit {
		return nil
	}
	return &FieldError{Field: FormName, Msg: fmt.Sprintf("you have %d store requests open and not merged yet, and at most %d are handled at a time (limits.openRequestsPerRequester); "+
		"this one is provisioned once one of them is merged or closed", v.Earlier, limit)}
}

// planned is a tree with a commit's changes applied: the branch head a
// push will make, for the check run planned before it.
type planned struct {
	renderer.Tree
	changes []tenants.Change
}

func (t planned) change(p string) (tenants.Change, bool) {
	for i := len(t.changes) - 1; i >= 0; i-- {
		c := t.changes[i]
		if c.Path == p || c.Delete && strings.HasPrefix(p, c.Path+"/") {
			return c, true
		}
	}
	return tenants.Change{}, false
}

func (t planned) ReadFile(p string) ([]byte, bool, error) {
	if c, ok := t.change(p); ok {
		return c.Data, !c.Delete, nil
	}
	if t.Tree == nil {
		return nil, false, nil
	}
	return t.Tree.ReadFile(p)
}

func (t planned) ReadDir(p string) ([]string, error) {
	var names []string
	if c, gone := t.change(p); !gone || !c.Delete {
		if t.Tree != nil {
			have, err := t.Tree.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, n := range have {
				if c, ok := t.change(path.Join(p, n)); !ok || !c.Delete {
					names = append(names, n)
				}
			}
		}
	}
	for _, c := range t.changes {
		if rest, ok := strings.CutPrefix(c.Path, p+"/"); ok && !c.Delete {
			n, _, _ := strings.Cut(rest, "/")
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
