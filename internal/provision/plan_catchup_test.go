package provision

import (
	"maps"
	"path"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// TestPlanCatchUp: a merged store's open command branch that the base
// moved past is rendered again on the base head: the store as the branch
// holds it, its Secrets byte for byte (a rotation's new ones too), its
// trailers kept, and the pull request saying why the approval was
// dismissed; anything else is left to the command's handling.
func TestPlanCatchUp(t *testing.T) {
	f := newPlanFixture(t)
	name := f.req.Metadata.Name
	dir := f.dir()
	merged := f.render(t, f.req, issueA, 1)
	base := maps.Clone(merged)
	base["README.md"] = []byte("another store merged\n") // the base moved on

	resizedReq := *f.req
	resizedReq.Spec.Plan = "medium"
	out, err := renderer.Render(renderer.Input{Config: f.cfg, Request: &resizedReq, Rand: testutil.Rand(5), Now: now, Origin: issueA.String(),
		KeepSecret: merged[path.Join(dir, renderer.FileSecret)], KeepDatabaseSecret: merged[path.Join(dir, renderer.FileDatabaseSecret)]})
	if err != nil {
		t.Fatal(err)
	}
	resized := maps.Clone(merged)
	for _, file := range out.Files {
		resized[file.Path] = file.Data
	}
	rotated := f.render(t, f.req, issueA, 2) // new Secrets
	decommissioned := testutil.Tree{}

	trailers := func(op, cred string) map[string]string {
		return map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerOperation: op, v1alpha1.TrailerCommand: "77",
			v1alpha1.TrailerRequestedBy: "octocat", v1alpha1.TrailerCredentialsID: cred}
	}
	branch := func(tree testutil.Tree, op, cred string) BranchView {
		return BranchView{Exists: true, Head: "c1", Tree: tree, Subject: pullTitle(op, name), Trailers: trailers(op, cred), Behind: true}
	}
	own := Recorded{Store: name, MergedOp: v1alpha1.OpProvision, Branch: "c1"}
	tests := []struct {
		name     string
		branch   BranchView
		recorded Recorded
		closed   bool
		want     testutil.Tree // the branch's store files on the base; nil: no plan
	}{
		{name: "resize: the resized store on the base, the Secrets as they were", branch: branch(resized, CmdResize, "c0"), recorded: own, want: resized},
		{name: "rotation: the rotation's new Secrets kept, not made again", branch: branch(rotated, CmdRotate, "c9"), recorded: own, want: rotated},
		{name: "decommission: the folder removed on the base", branch: branch(decommissioned, CmdDecommission, ""), recorded: own, want: decommissioned},
		{name: "up to date: nothing", branch: func() BranchView { b := branch(resized, CmdResize, "c0"); b.Behind = false; return b }(), recorded: own},
		{name: "merged already: nothing", branch: func() BranchView { b := branch(resized, CmdResize, "c0"); b.Merged = true; return b }(), recorded: own},
		{name: "its pull request closed: nothing", branch: branch(resized, CmdResize, "c0"), recorded: own, closed: true},
		{name: "the provisioning branch: the request's handling owns it", branch: branch(merged, v1alpha1.OpProvision, "c0"), recorded: own},
		// Attacker: someone who could push to the branch wrote the bot's
		// trailers on their own commit: it is not the push the bot
		// recorded, so nothing of it is carried onto the base.
		{name: "pushed to by someone since the bot did: nothing", branch: branch(rotated, CmdRotate, "c9"), recorded: Recorded{Store: name, MergedOp: v1alpha1.OpProvision, Branch: "c0"}},
		{name: "another issue's branch: nothing", branch: func() BranchView {
			b := branch(resized, CmdResize, "c0")
			b.Trailers[v1alpha1.TrailerIssue] = issueB.String()
			return b
		}(), recorded: own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.common(base, &tt.branch)
			c.BaseHead = "b2"
			p, err := PlanCatchUp(CatchUpInput{Common: c, Store: name, Issue: issueA, Recorded: tt.recorded, Open: !tt.closed})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if p != nil {
					t.Fatalf("want no plan, got %+v", p)
				}
				return
			}
			if p == nil || p.Commit == nil || p.Commit.OnBranch {
				t.Fatalf("want a commit on the base head, got %+v", p)
			}
			onBase, err := renderer.StoreFiles(planned{Tree: base, changes: p.Commit.Changes}, dir)
			if err != nil {
				t.Fatal(err)
			}
			want, err := renderer.StoreFiles(tt.want, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(onBase, want, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Errorf("the store on the base after the commit is not the branch's (%d files, want %d)", len(onBase), len(want))
			}
			tr := tenants.Trailers(p.Commit.Message)
			for _, k := range []string{v1alpha1.TrailerCredentialsID, v1alpha1.TrailerCommand, v1alpha1.TrailerOperation, v1alpha1.TrailerRequestedBy} {
				if tr[k] != tt.branch.Trailers[k] {
					t.Errorf("trailer %s = %q, want the branch's %q", k, tr[k], tt.branch.Trailers[k])
				}
			}
			if tr[v1alpha1.TrailerBaseMoved] != "b2" || !strings.HasPrefix(p.Commit.Message, tt.branch.Subject+"\n") {
				t.Errorf("message %q: want the branch's subject and the base named", p.Commit.Message)
			}
			if p.Pull.Title != tt.branch.Subject || !strings.Contains(p.Pull.Body, "The base moved to `b2`") || !strings.Contains(p.Pull.Body, "requested by @octocat") {
				t.Errorf("pull %+v", p.Pull)
			}
		})
	}
}
