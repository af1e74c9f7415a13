package provision

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/internal/testutil"
)

// commandViewOf is the read model of a command, as values: the planners
// are handed no GitHub at all.
func commandViewOf(f planFixture, author, body string, allowed bool, st *storestatus.State) *commandView {
	cmd, _ := ParseCommand(body)
	rec := ledger.Record{Status: st}
	return &commandView{
		requestView: &requestView{Issue: &forge.Issue{Ref: issueA, Author: "octocat", Open: true, Labels: []string{v1alpha1.LabelRequest}},
			T: &thread{&ledger.Thread{Ref: issueA, Record: rec, Own: map[string]forge.Comment{}}}, Request: f.req},
		Comment: forge.Comment{ID: 42, Issue: issueA.Number, Author: author, Body: body}, Command: cmd, Allowed: allowed,
	}
}

func TestPlanAnswer(t *testing.T) {
	f := newPlanFixture(t)
	name := f.req.Metadata.Name
	tests := []struct {
		name          string
		author, body  string
		allowed       bool
		status        *storestatus.State
		problems      bool
		want          string
		retry, change bool
		denial        bool
	}{
		{name: "denied", author: "eve", body: "/purrvision decommission", want: "only the requester (octocat)", denial: true},
		{name: "invalid request", author: "octocat", body: "/purrvision resize medium", allowed: true, problems: true, want: "not valid"},
		{name: "retry of an invalid request", author: "octocat", body: "/purrvision retry", allowed: true, problems: true, want: "Checked the request again", retry: true},
		{name: "decommissioned", author: "octocat", body: "/purrvision resize medium", allowed: true,
			status: &storestatus.State{Store: name, Operation: v1alpha1.OpDecommission, MergeCommit: "m"}, want: "was decommissioned"},
		{name: "renamed after the merge", author: "octocat", body: "/purrvision resize medium", allowed: true,
			status: &storestatus.State{Store: "other", Operation: v1alpha1.OpProvision, MergeCommit: "m"}, want: "cannot change once it is merged"},
		{name: "unknown command", author: "octocat", body: "/purrvision dance", allowed: true, want: "Purrvision knows"},
		{name: "retry", author: "octocat", body: "/purrvision retry", allowed: true, want: "Done: the request was checked again", retry: true},
		{name: "change", author: "octocat", body: "/purrvision resize medium", allowed: true, change: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := commandViewOf(f, tc.author, tc.body, tc.allowed, tc.status)
			if tc.problems {
				v.Problems = []FieldError{{Field: FormName, Msg: "bad"}}
			}
			step := planAnswer(f.cfg, v)
			a := step.Answer
			if a == nil || a.Comment != 42 || a.Author != tc.author || a.Denial != tc.denial || !strings.Contains(a.Text, tc.want) {
				t.Fatalf("answer = %+v, want one to comment 42 by %s saying %q (denial %v)", a, tc.author, tc.want, tc.denial)
			}
			if step.Retry != tc.retry || step.Change != tc.change {
				t.Errorf("retry, change = %v, %v; want %v, %v", step.Retry, step.Change, tc.retry, tc.change)
			}
		})
	}
}

// TestPlanChange_RotationSealedToTheOwner: a rotation's credentials are
// sealed to the keys the read model holds, the owner's (read by the
// issue's author, never the commenter), and named as the owner's.
func TestPlanChange_RotationSealedToTheOwner(t *testing.T) {
	f := newPlanFixture(t)
	ours := f.render(t, f.req, issueA, 1)
	pub, _, err := ed25519.GenerateKey(testutil.Rand(7))
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	v := commandViewOf(f, "collaborator", "/purrvision rotate-credentials", true, nil)
	v.Keys = []string{string(ssh.MarshalAuthorizedKey(sshPub))}
	cp, err := PlanCommand(CommandInput{Common: f.common(ours, nil), Request: f.req, Command: v.Command, Issue: issueA, Author: "collaborator", CommentID: 42})
	if err != nil {
		t.Fatal(err)
	}
	step := planAnswer(f.cfg, v)
	plan, err := planChange(f.cfg, v, cp, step.Answer, ours, headTreeOf(ours, cp))
	if err != nil {
		t.Fatal(err)
	}
	if s := plan.Sealed; s == nil || s.Owner != "octocat" || !strings.Contains(s.Armored, "BEGIN AGE ENCRYPTED FILE") {
		t.Fatalf("sealed = %+v, want credentials sealed to octocat's key", s)
	}
	if plan.Pull == nil || plan.Answer == nil || plan.Answer.PullTitle != plan.Pull.Title || plan.Check == nil {
		t.Errorf("plan = %+v, want the pull request, the reply naming it and the check run", plan)
	}
	if !strings.Contains(replyBody(plan.Answer, "https://example.com/pull/9"), "Pull request https://example.com/pull/9: "+plan.Pull.Title) {
		t.Errorf("reply = %q", replyBody(plan.Answer, "https://example.com/pull/9"))
	}
}

func headTreeOf(base testutil.Tree, cp *CommandPlan) planned {
	if cp.Commit == nil {
		return planned{Tree: base}
	}
	return planned{Tree: base, changes: cp.Commit.Changes}
}
