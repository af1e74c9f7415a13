package provision

import (
	"errors"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// errTree fails every read.
type errTree struct{}

func (errTree) ReadFile(string) ([]byte, bool, error) { return nil, false, errors.New("disk on fire") }
func (errTree) ReadDir(string) ([]string, error)      { return nil, errors.New("disk on fire") }

var (
	issueA = forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 1}
	issueB = forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "stores"}, Number: 2}
	now    = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

type planFixture struct {
	cfg *config.Config
	req *v1alpha1.StoreRequest
}

func newPlanFixture(t *testing.T) planFixture {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
	cfg.SOPS.AgeRecipients = []string{testutil.AgeIdentity(t).Recipient().String()}
	return planFixture{cfg: cfg, req: testutil.ExampleRequest(t)}
}

// render is store req as issue's request renders it, as a tree.
func (f planFixture) render(t *testing.T, req *v1alpha1.StoreRequest, issue forge.IssueRef, seed uint64) testutil.Tree {
	t.Helper()
	out, err := renderer.Render(renderer.Input{Config: f.cfg, Request: req, Rand: testutil.Rand(seed), Now: now, Origin: issue.String()})
	if err != nil {
		t.Fatal(err)
	}
	tree := testutil.Tree{}
	for _, file := range out.Files {
		tree[file.Path] = file.Data
	}
	return tree
}

func (f planFixture) dir() string {
	return renderer.StoreDir(f.cfg, renderer.ClusterOf(f.cfg, f.req), f.req.Metadata.Name)
}

func (f planFixture) common(base testutil.Tree, branch *BranchView) Common {
	c := Common{Config: f.cfg, Base: base, BaseHead: "base", Rand: testutil.Rand(99), Now: now}
	if branch != nil {
		c.Branch = *branch
	}
	return c
}

// changeData is what c writes to p; nil when it does not.
func changeData(c *CommitPlan, p string) []byte {
	for _, ch := range c.Changes {
		if ch.Path == p && !ch.Delete {
			return ch.Data
		}
	}
	return nil
}

// withTrailer is tr with key set to value.
func withTrailer(tr map[string]string, key, value string) map[string]string {
	tr[key] = value
	return tr
}

func changedPaths(c *CommitPlan) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, ch := range c.Changes {
		out = append(out, ch.Path)
	}
	sort.Strings(out)
	return out
}

func TestPlanRequest(t *testing.T) {
	f := newPlanFixture(t)
	name := f.req.Metadata.Name
	ours := f.render(t, f.req, issueA, 1)
	theirs := f.render(t, f.req, issueB, 1)
	openIssues := map[string]bool{issueB.String(): true}
	closedB := map[string]bool{issueB.String(): false}
	trailersOf := func(issue forge.IssueRef, credID string) map[string]string {
		return map[string]string{v1alpha1.TrailerIssue: issue.String(), v1alpha1.TrailerCredentialsID: credID}
	}
	tests := []struct {
		name      string
		base      testutil.Tree
		branch    *BranchView
		delivered string
		claimed   map[string]bool
		recorded  Recorded
		heldBy    string
		rename    string // the name the form now gives
		check     func(t *testing.T, p *RequestPlan)
		wantErr   string
	}{{
		name: "new store: branch from the base with fresh credentials",
		base: testutil.Tree{},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal == nil || p.Seal.Credentials.AdminPassword == "" {
				t.Fatalf("want a commit from the base and a seal, got %+v", p)
			}
			if got, want := len(p.Commit.Changes), len(ours); got != want {
				t.Errorf("%d files written, want the %d of a render", got, want)
			}
			if !strings.HasPrefix(p.Commit.Message, "Provision store "+name+"\n") {
				t.Errorf("message %q", p.Commit.Message)
			}
			tr := tenants.Trailers(p.Commit.Message)
			if tr[v1alpha1.TrailerIssue] != issueA.String() || tr[v1alpha1.TrailerRequestedBy] != "octocat" || tr[v1alpha1.TrailerCredentialsID] != p.Seal.ID {
				t.Errorf("trailers %v, seal id %s", tr, p.Seal.ID)
			}
			if p.Pull.Title != "Provision store "+name || p.Pull.Op != v1alpha1.OpProvision || !strings.Contains(p.Pull.Body, "`store-"+name+"`") {
				t.Errorf("pull %+v", p.Pull)
			}
			if !slices.Equal(p.Labels.Add, []string{v1alpha1.LabelPendingReview}) || p.URL != v1alpha1.URL(name, f.cfg.BaseDomain) {
				t.Errorf("labels %+v, url %s", p.Labels, p.URL)
			}
		},
	}, {
		name: "merged: commands own the store",
		base: ours,
		check: func(t *testing.T, p *RequestPlan) {
			if !p.Merged || p.Commit != nil || p.Seal != nil {
				t.Fatalf("want merged and nothing else, got %+v", p)
			}
		},
	}, {
		name: "name taken on the base by another request",
		base: theirs,
		check: func(t *testing.T, p *RequestPlan) {
			if p.TakenBy != issueB.String() || p.Commit != nil || p.Seal != nil {
				t.Fatalf("want taken by %s, got %+v", issueB, p)
			}
		},
	}, {
		// Its branch deleted at the merge and its issue closed meanwhile:
		// the ledger's hold still keeps the name until the Namespace is gone.
		name:    "name of a store being decommissioned",
		base:    testutil.Tree{},
		claimed: closedB,
		heldBy:  issueB.String(),
		check: func(t *testing.T, p *RequestPlan) {
			if p.TakenBy != issueB.String() || !p.Draining || p.Commit != nil || p.Seal != nil {
				t.Fatalf("want held by the decommissioned store's issue, got %+v", p)
			}
		},
	}, {
		name:   "the issue's own hold does not refuse it",
		base:   testutil.Tree{},
		heldBy: issueA.String(),
		check: func(t *testing.T, p *RequestPlan) {
			if p.TakenBy != "" || p.Draining {
				t.Fatalf("refused by its own hold: %+v", p)
			}
		},
	}, {
		name:    "branch of another open request",
		base:    testutil.Tree{},
		branch:  &BranchView{Exists: true, Head: "b1", Tree: theirs, Trailers: trailersOf(issueB, "c1")},
		claimed: openIssues,
		check: func(t *testing.T, p *RequestPlan) {
			if p.TakenBy != issueB.String() || p.Commit != nil {
				t.Fatalf("want taken by the open request, got %+v", p)
			}
		},
	}, {
		name:    "branch of a closed request is reused from the base, its files and credentials dropped",
		base:    testutil.Tree{},
		branch:  &BranchView{Exists: true, Head: "b1", Tree: theirs, Trailers: trailersOf(issueB, "c1")},
		claimed: closedB,
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal == nil {
				t.Fatalf("want a fresh commit from the base with a seal, got %+v", p)
			}
			if !strings.HasPrefix(p.Commit.Message, "Provision store ") {
				t.Errorf("message %q", p.Commit.Message)
			}
			for _, c := range p.Commit.Changes {
				if string(c.Data) == string(theirs[c.Path]) && strings.HasSuffix(c.Path, ".sops.yaml") {
					t.Errorf("%s kept from the other request's branch", c.Path)
				}
			}
		},
	}, {
		name:      "our branch with the delivered credentials: nothing to do",
		base:      testutil.Tree{},
		branch:    &BranchView{Exists: true, Head: "b1", Tree: ours, Trailers: trailersOf(issueA, "c1")},
		delivered: "c1",
		recorded:  Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit != nil || p.Seal != nil || p.Pull.Title == "" {
				t.Fatalf("want no commit and no seal but the pull request, got %+v", p)
			}
		},
	}, {
		name:      "our branch after credentials were rotated before the merge: new ones on the branch",
		base:      testutil.Tree{},
		branch:    &BranchView{Exists: true, Head: "b1", Tree: ours, Trailers: trailersOf(issueA, "c1")},
		delivered: "0",
		recorded:  Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || !p.Commit.OnBranch || p.Seal == nil {
				t.Fatalf("want a commit on the branch with a seal, got %+v", p)
			}
			if !strings.HasPrefix(p.Commit.Message, "Update store "+name) {
				t.Errorf("message %q", p.Commit.Message)
			}
			dir := f.dir()
			for _, p := range changedPaths(p.Commit) {
				if p != path.Join(dir, renderer.FileSecret) && p != path.Join(dir, renderer.FileDatabaseSecret) && p != path.Join(dir, renderer.FileHelmRelease) {
					t.Errorf("%s changed; only the Secrets (and the revision the HelmRelease reads) should", p)
				}
			}
		},
	}, {
		name:      "someone pushed to our branch since the bot did: its Secrets are not kept, the branch starts over",
		base:      testutil.Tree{},
		branch:    &BranchView{Exists: true, Head: "b2", Tree: ours, Trailers: trailersOf(issueA, "c1")},
		delivered: "c1",
		recorded:  Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal == nil {
				t.Fatalf("want a fresh commit from the base with new credentials, got %+v", p)
			}
			dir := f.dir()
			for _, c := range p.Commit.Changes {
				if c.Path == path.Join(dir, renderer.FileSecret) && string(c.Data) == string(ours[c.Path]) {
					t.Error("the admin Secret on the pushed-to branch was kept")
				}
			}
		},
	}, {
		name:      "the base moved past our branch: rendered again on the base head, the Secrets and their ID kept byte for byte, nothing sealed",
		base:      testutil.Tree{"README.md": []byte("another store merged\n")},
		branch:    &BranchView{Exists: true, Head: "b1", Tree: ours, Trailers: trailersOf(issueA, "c1"), Behind: true},
		delivered: "c1",
		recorded:  Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal != nil {
				t.Fatalf("want a commit on the base head and no seal, got %+v", p)
			}
			if got, want := len(p.Commit.Changes), len(ours); got != want {
				t.Errorf("%d files written on the base, want the %d of a render", got, want)
			}
			dir := f.dir()
			for _, file := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
				fp := path.Join(dir, file)
				if got := changeData(p.Commit, fp); string(got) != string(ours[fp]) {
					t.Errorf("%s differs from the branch's: the credentials were regenerated", file)
				}
			}
			if !strings.HasPrefix(p.Commit.Message, "Provision store "+name+"\n") {
				t.Errorf("message %q; on the base it provisions the store", p.Commit.Message)
			}
			tr := tenants.Trailers(p.Commit.Message)
			if tr[v1alpha1.TrailerCredentialsID] != "c1" || tr[v1alpha1.TrailerBaseMoved] != "base" || tr[v1alpha1.TrailerIssue] != issueA.String() {
				t.Errorf("trailers %v; want the credentials ID c1 kept and the base named", tr)
			}
			if !strings.Contains(p.Pull.Body, "The base moved to `base`") || !strings.Contains(p.Pull.Body, "approve again") {
				t.Errorf("the pull request does not say why a re-approval is needed:\n%s", p.Pull.Body)
			}
		},
	}, {
		name:      "after such a render the branch is up to date: nothing to do, and the pull request still says why",
		base:      testutil.Tree{},
		branch:    &BranchView{Exists: true, Head: "b2", Tree: ours, Trailers: withTrailer(trailersOf(issueA, "c1"), v1alpha1.TrailerBaseMoved, "base1")},
		delivered: "c1",
		recorded:  Recorded{Store: name, Branch: "b2"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit != nil || p.Seal != nil {
				t.Fatalf("want nothing pushed, got %+v", p)
			}
			if !strings.Contains(p.Pull.Body, "The base moved to `base1`") {
				t.Errorf("the note is gone from the pull request:\n%s", p.Pull.Body)
			}
		},
	}, {
		// Attacker: with push access to the branch (which the rulesets
		// deny), a person writes the bot's trailers on a commit on a
		// moved base: the branch is not the bot's, so nothing of it is
		// kept or quoted, and the store starts over from the base.
		name:      "the base moved and someone pushed to our branch: not re-rendered with its Secrets, its trailer not quoted",
		base:      testutil.Tree{"README.md": []byte("another store merged\n")},
		branch:    &BranchView{Exists: true, Head: "b9", Tree: ours, Trailers: withTrailer(trailersOf(issueA, "c1"), v1alpha1.TrailerBaseMoved, "<script>"), Behind: true},
		delivered: "c1",
		recorded:  Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *RequestPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal == nil {
				t.Fatalf("want a fresh render from the base with new credentials, got %+v", p)
			}
			if strings.Contains(p.Pull.Body, "<script>") || strings.Contains(p.Pull.Body, "base moved") {
				t.Errorf("the pushed trailer reached the pull request:\n%s", p.Pull.Body)
			}
		},
	}, {
		name:     "decommissioned: final, nothing is provisioned again",
		base:     testutil.Tree{},
		recorded: Recorded{Store: name, MergedOp: v1alpha1.OpDecommission},
		check: func(t *testing.T, p *RequestPlan) {
			if !p.Decommissioned || p.Commit != nil || p.Seal != nil || p.Pull.Title != "" {
				t.Fatalf("want decommissioned and nothing else, got %+v", p)
			}
		},
	}, {
		name:     "renamed after the merge: refused",
		base:     ours,
		recorded: Recorded{Store: name, MergedOp: v1alpha1.OpResize},
		rename:   "dog-diner",
		check: func(t *testing.T, p *RequestPlan) {
			if p.Renamed != name || p.Commit != nil || p.Seal != nil {
				t.Fatalf("want renamed from %s and nothing else, got %+v", name, p)
			}
		},
	}, {
		name:     "a record naming a store the issue does not own changes nothing",
		base:     theirs,
		recorded: Recorded{Store: name, MergedOp: v1alpha1.OpProvision},
		rename:   "dog-diner",
		check: func(t *testing.T, p *RequestPlan) {
			if p.Renamed != "" || p.Commit == nil {
				t.Fatalf("want dog-diner planned as any new store, got %+v", p)
			}
		},
	}, {
		name:     "recorded but never merged: the name may still change",
		base:     testutil.Tree{},
		recorded: Recorded{Store: name},
		rename:   "dog-diner",
		check: func(t *testing.T, p *RequestPlan) {
			if p.Renamed != "" || p.Commit == nil {
				t.Fatalf("want a new store, got %+v", p)
			}
		},
	}, {
		name:    "the other request's state cannot be read",
		base:    testutil.Tree{},
		branch:  &BranchView{Exists: true, Head: "b1", Tree: theirs, Trailers: trailersOf(issueB, "c1")},
		wantErr: "not read",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := f.req
			if tt.rename != "" {
				r := *f.req
				r.Metadata.Name = tt.rename
				req = &r
			}
			in := RequestInput{Common: f.common(tt.base, tt.branch), Request: req, Issue: issueA, Author: "octocat", Delivered: tt.delivered, Claimed: tt.claimed, Recorded: tt.recorded, HeldBy: tt.heldBy}
			p, err := PlanRequest(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

// TestPlanRequest_ClusterBaseDomain: a store on a cluster with a domain of
// its own gets its URL there, in the plan and the pull request body.
func TestPlanRequest_ClusterBaseDomain(t *testing.T) {
	f := newPlanFixture(t)
	f.cfg.Clusters = append(f.cfg.Clusters, config.Cluster{Name: "eu-west", BaseDomain: "eu.shop.example.com"})
	f.req.Spec.Cluster = "eu-west"
	p, err := PlanRequest(RequestInput{Common: f.common(testutil.Tree{}, nil), Request: f.req, Issue: issueA, Author: "octocat"})
	if err != nil {
		t.Fatal(err)
	}
	want := "https://cat-cafe.eu.shop.example.com/"
	if p.URL != want || !strings.Contains(p.Pull.Body, "| URL | "+want+" |") {
		t.Errorf("url %s, body %s; want %s in both", p.URL, p.Pull.Body, want)
	}
}

func TestPlanRequest_ReadError(t *testing.T) {
	f := newPlanFixture(t)
	in := RequestInput{Common: f.common(nil, nil), Request: f.req, Issue: issueA, Author: "octocat"}
	in.Base = errTree{}
	if _, err := PlanRequest(in); err == nil {
		t.Fatal("a tree that cannot be read must fail the plan")
	}
}

func TestCheckRequest(t *testing.T) {
	f := newPlanFixture(t)
	tests := []struct {
		name       string
		body       string
		wantFields []string
	}{
		{"valid", RenderForm(f.req), nil},
		{"unknown plan", strings.Replace(RenderForm(f.req), "\n\nsmall\n", "\n\nhuge\n", 1), []string{FormPlan}},
		{"no name", strings.Replace(RenderForm(f.req), "\n\ncat-cafe\n", "\n\n\n", 1), []string{FormName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := checkRequest(f.cfg, tt.body, "octocat")
			var fields []string
			for _, p := range problems {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("problems %v, want fields %v", problems, tt.wantFields)
			}
		})
	}
}

func TestPlanCommand(t *testing.T) {
	f := newPlanFixture(t)
	name := f.req.Metadata.Name
	dir := f.dir()
	ours := f.render(t, f.req, issueA, 1)
	older := testutil.Tree{}
	for k, v := range ours {
		if k != path.Join(dir, renderer.FileDatabaseSecret) {
			older[k] = v
		}
	}
	resize := Command{Name: CmdResize, Args: []string{"medium"}}
	rotate := Command{Name: CmdRotate}
	decommission := Command{Name: CmdDecommission}
	tests := []struct {
		name      string
		base      testutil.Tree
		branch    *BranchView
		cmd       Command
		delivered string
		recorded  Recorded
		check     func(t *testing.T, p *CommandPlan)
	}{{
		name: "not provisioned",
		base: testutil.Tree{},
		cmd:  resize,
		check: func(t *testing.T, p *CommandPlan) {
			if !p.NotProvisioned || p.Commit != nil || !strings.Contains(p.Reply, "not provisioned yet") {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name: "another request's store",
		base: f.render(t, f.req, issueB, 1),
		cmd:  decommission,
		check: func(t *testing.T, p *CommandPlan) {
			if !p.NotProvisioned || p.Commit != nil {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name: "resize: the plan's files change, the Secrets stay",
		base: ours,
		cmd:  resize,
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || p.Commit.OnBranch || p.Seal != nil {
				t.Fatalf("want a commit from the base and no seal, got %+v", p)
			}
			got := changedPaths(p.Commit)
			for _, s := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
				if slices.Contains(got, path.Join(dir, s)) {
					t.Errorf("%s changed by a resize", s)
				}
			}
			if !slices.Contains(got, path.Join(dir, renderer.FileQuota)) || !slices.Contains(got, path.Join(dir, renderer.FileRequest)) {
				t.Errorf("changed %v, want the quota and the request copy", got)
			}
			tr := tenants.Trailers(p.Commit.Message)
			if tr[v1alpha1.TrailerCommand] != "42" || tr[v1alpha1.TrailerOperation] != CmdResize || tr[v1alpha1.TrailerRequestedBy] != "hubot" {
				t.Errorf("trailers %v", tr)
			}
			if p.Pull.Title != "Resize store "+name+" to medium" || p.Pull.Op != CmdResize {
				t.Errorf("pull %+v", p.Pull)
			}
		},
	}, {
		name: "rotate: only the admin Secret, with new credentials",
		base: ours,
		cmd:  rotate,
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || p.Seal == nil || p.Seal.Credentials.AdminPassword == "" {
				t.Fatalf("want a commit and a seal, got %+v", p)
			}
			if got := changedPaths(p.Commit); !slices.Equal(got, []string{path.Join(dir, renderer.FileSecret)}) {
				t.Errorf("changed %v, want only the admin Secret", got)
			}
			if tenants.Trailers(p.Commit.Message)[v1alpha1.TrailerCredentialsID] != p.Seal.ID {
				t.Error("the commit does not record the new credentials id")
			}
		},
	}, {
		name: "decommission: the store's folder goes",
		base: ours,
		cmd:  decommission,
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || len(p.Commit.Changes) != 1 || !p.Commit.Changes[0].Delete || p.Commit.Changes[0].Path != dir {
				t.Fatalf("want one deletion of %s, got %+v", dir, p.Commit)
			}
			if p.Pull.Title != "Decommission store "+name {
				t.Errorf("title %q", p.Pull.Title)
			}
		},
	}, {
		name: "older layout: no resize without the database Secret",
		base: older,
		cmd:  resize,
		check: func(t *testing.T, p *CommandPlan) {
			if !p.OlderLayout || p.Commit != nil || !strings.Contains(p.Reply, "older Purrvision") {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name: "older layout: decommission still works",
		base: older,
		cmd:  decommission,
		check: func(t *testing.T, p *CommandPlan) {
			if p.OlderLayout || p.Commit == nil {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name:     "this comment was carried out already",
		base:     ours,
		branch:   &BranchView{Exists: true, Head: "b1", Tree: ours, Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCommand: "42"}},
		cmd:      resize,
		recorded: Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit != nil || p.Seal != nil || p.Pull.Title == "" {
				t.Fatalf("want no commit but the pull request, got %+v", p)
			}
		},
	}, {
		name:     "builds on the store's open pull request",
		base:     ours,
		branch:   &BranchView{Exists: true, Head: "b1", Tree: ours.With([]tenants.Change{{Path: path.Join(dir, "extra.txt"), Data: []byte("x")}}), Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCommand: "7"}},
		cmd:      resize,
		recorded: Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || !p.Commit.OnBranch {
				t.Fatalf("want a commit on the branch, got %+v", p)
			}
		},
	}, {
		name:     "does not build on a branch someone pushed to since the bot",
		base:     ours,
		branch:   &BranchView{Exists: true, Head: "b9", Tree: ours.With([]tenants.Change{{Path: path.Join(dir, "extra.txt"), Data: []byte("x")}}), Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCommand: "42"}},
		cmd:      resize,
		recorded: Recorded{Store: name, Branch: "b1"},
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || p.Commit.OnBranch {
				t.Fatalf("want a commit from the base, got %+v", p)
			}
			for _, c := range p.Commit.Changes {
				if strings.HasSuffix(c.Path, "extra.txt") {
					t.Error("the foreign file was kept")
				}
			}
		},
	}, {
		name:   "a merged branch is not built on",
		base:   ours,
		branch: &BranchView{Exists: true, Head: "b1", Tree: ours, Merged: true, Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCommand: "7"}},
		cmd:    resize,
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit == nil || p.Commit.OnBranch {
				t.Fatalf("want a commit from the base, got %+v", p)
			}
		},
	}, {
		name:   "a fast-forwarded merge of this very command is not run again",
		base:   ours,
		branch: &BranchView{Exists: true, Head: "base", Tree: ours, Merged: true, Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCommand: "42"}},
		cmd:    rotate,
		check: func(t *testing.T, p *CommandPlan) {
			if p.Commit != nil || p.Seal != nil {
				t.Fatalf("want nothing, got %+v", p)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanCommand(CommandInput{Common: f.common(tt.base, tt.branch), Request: f.req, Command: tt.cmd, Issue: issueA,
				Author: "hubot", CommentID: 42, Delivered: tt.delivered, Recorded: tt.recorded})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestCheckCommandArgs(t *testing.T) {
	f := newPlanFixture(t)
	tests := []struct {
		cmd  Command
		want string // part of the reply; "" when fine
	}{
		{Command{Name: CmdResize, Args: []string{"medium"}}, ""},
		{Command{Name: CmdResize}, "Usage: `/purrvision resize <plan>`"},
		{Command{Name: CmdResize, Args: []string{"a", "b"}}, "Usage:"},
		{Command{Name: CmdResize, Args: []string{"huge"}}, "`huge` is not a plan"},
		{Command{Name: CmdResize, Args: []string{"@acme/" + strings.Repeat("x", 200)}}, "`@\u2060acme/" + strings.Repeat("x", 71) + "...` is not a plan"},
		{Command{Name: CmdRotate}, ""},
		{Command{Name: CmdDecommission}, ""},
		{Command{Name: CmdRetry}, ""},
		{Command{Name: "dance"}, "Purrvision knows"},
		{Command{}, "Purrvision knows"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd.Name+strings.Join(tt.cmd.Args, "_"), func(t *testing.T) {
			got := checkCommandArgs(f.cfg, tt.cmd)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanPull(t *testing.T) {
	f := newPlanFixture(t)
	pr := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "tenants"}, Number: 5}
	second := v1alpha1.New("dog-diner", v1alpha1.StoreSpec{Plan: "medium", Owner: "octocat", AdminEmail: "a@b.co"})
	rendered := f.render(t, f.req, pr, 1)
	tests := []struct {
		name    string
		base    testutil.Tree
		branch  testutil.Tree
		reqs    []*v1alpha1.StoreRequest
		own     map[string]bool
		claimed map[string]string
		check   func(t *testing.T, p *PullPlan)
	}{{
		name:    "a name an open request's store branch asks for",
		base:    testutil.Tree{},
		branch:  testutil.Tree{},
		reqs:    []*v1alpha1.StoreRequest{f.req},
		claimed: map[string]string{"cat-cafe": issueB.String()},
		check: func(t *testing.T, p *PullPlan) {
			if p.Taken == nil || !strings.Contains(p.Taken.Msg, issueB.String()) || p.Commit != nil {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name:   "two new stores: rendered onto the branch, one seal each",
		base:   testutil.Tree{},
		branch: testutil.Tree{"requests/cat-cafe.yaml": nil},
		reqs:   []*v1alpha1.StoreRequest{f.req, second},
		check: func(t *testing.T, p *PullPlan) {
			if p.Commit == nil || !p.Commit.OnBranch || len(p.Seals) != 2 || p.Taken != nil {
				t.Fatalf("got %+v", p)
			}
			if tr := tenants.Trailers(p.Commit.Message); tr[v1alpha1.TrailerStore] != "cat-cafe, dog-diner" || tr[v1alpha1.TrailerIssue] != pr.String() {
				t.Errorf("trailers %v", tr)
			}
		},
	}, {
		name:   "the branch holds the bot's render already: nothing, and no new credentials",
		base:   testutil.Tree{},
		branch: rendered,
		reqs:   []*v1alpha1.StoreRequest{f.req},
		own:    map[string]bool{"cat-cafe": true},
		check: func(t *testing.T, p *PullPlan) {
			if p.Commit != nil || len(p.Seals) != 0 {
				t.Fatalf("got %+v", p)
			}
		},
	}, {
		name:   "Secrets the bot did not write are never kept, and files it did not render go",
		base:   testutil.Tree{},
		branch: rendered.With([]tenants.Change{{Path: path.Join(renderer.StoreDir(f.cfg, "default", "cat-cafe"), "manifests/evil.sops.yaml"), Data: []byte("kind: ClusterRoleBinding\n")}}),
		reqs:   []*v1alpha1.StoreRequest{f.req},
		check: func(t *testing.T, p *PullPlan) {
			if p.Commit == nil || len(p.Seals) != 1 {
				t.Fatalf("want new credentials, got %+v", p)
			}
			dir := renderer.StoreDir(f.cfg, "default", "cat-cafe")
			got := map[string]tenants.Change{}
			for _, c := range p.Commit.Changes {
				got[c.Path] = c
			}
			for _, s := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
				if c, ok := got[path.Join(dir, s)]; !ok || string(c.Data) == string(rendered[path.Join(dir, s)]) {
					t.Errorf("%s kept from the branch", s)
				}
			}
			if c, ok := got[path.Join(dir, "manifests/evil.sops.yaml")]; !ok || !c.Delete {
				t.Error("a file the bot did not render stays in the store's folder")
			}
		},
	}, {
		name:   "a name another request owns",
		base:   f.render(t, f.req, issueB, 1),
		branch: testutil.Tree{},
		reqs:   []*v1alpha1.StoreRequest{second, f.req},
		check: func(t *testing.T, p *PullPlan) {
			if p.Taken == nil || p.Taken.Field != "requests/cat-cafe.yaml" || !strings.Contains(p.Taken.Msg, issueB.String()) || p.Commit != nil || len(p.Seals) != 0 {
				t.Fatalf("got %+v", p)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := &BranchView{Exists: true, Head: "h", Tree: tt.branch}
			p, err := PlanPull(PullInput{Common: f.common(tt.base, branch), Requests: tt.reqs, Issue: pr, Author: "octocat", Own: tt.own, Claimed: tt.claimed})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestCheckRequestFiles(t *testing.T) {
	f := newPlanFixture(t)
	valid := "apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: cat-cafe\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: a@b.co\n"
	tests := []struct {
		name     string
		head     testutil.Tree
		files    []string
		wantReqs int
		want     []string // parts of the problems, in order
	}{
		{"valid", testutil.Tree{"requests/cat-cafe.yaml": []byte(valid)}, []string{"requests/cat-cafe.yaml"}, 1, nil},
		{"removed by the pull request", testutil.Tree{}, []string{"requests/cat-cafe.yaml"}, 0, nil},
		{"file and store names differ", testutil.Tree{"requests/dog.yaml": []byte(valid)}, []string{"requests/dog.yaml"}, 1, []string{`metadata.name is "cat-cafe"`}},
		{"owned by someone else", testutil.Tree{"requests/cat-cafe.yaml": []byte(strings.Replace(valid, "octocat", "mallory", 1))}, []string{"requests/cat-cafe.yaml"}, 1, []string{`spec.owner is "mallory"`}},
		{"not a StoreRequest", testutil.Tree{"requests/cat-cafe.yaml": []byte("kind: Secret\n")}, []string{"requests/cat-cafe.yaml"}, 0, []string{"requests/cat-cafe.yaml"}},
		{"invalid plan", testutil.Tree{"requests/cat-cafe.yaml": []byte(strings.Replace(valid, "small", "huge", 1))}, []string{"requests/cat-cafe.yaml"}, 1, []string{"spec.plan"}},
		// The review's attacker: words of theirs in the bot's placement
		// reason (shown in the check) or a forged owning issue.
		{"annotations the bot writes", testutil.Tree{"requests/cat-cafe.yaml": []byte(strings.Replace(valid, "  name: cat-cafe\n", "  name: cat-cafe\n  annotations:\n    purrvision.dev/placement: \"[click](https://evil.example)\"\n", 1))},
			[]string{"requests/cat-cafe.yaml"}, 1, []string{"metadata.annotations are Purrvision's to write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, problems, err := checkRequestFiles(f.cfg, tt.head, tt.files, "octocat")
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != tt.wantReqs || len(problems) != len(tt.want) {
				t.Fatalf("%d requests, problems %v; want %d requests, %d problems", len(reqs), problems, tt.wantReqs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(problems[i].Field+": "+problems[i].Msg, w) {
					t.Errorf("problem %d = %v, want it to say %q", i, problems[i], w)
				}
			}
		})
	}
	if _, _, err := checkRequestFiles(f.cfg, errTree{}, []string{"requests/x.yaml"}, "octocat"); err == nil {
		t.Error("a head that cannot be read must fail")
	}
}

func TestPullStatus_Within140(t *testing.T) {
	var reqs []*v1alpha1.StoreRequest
	for _, n := range []string{strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)} {
		reqs = append(reqs, v1alpha1.New(n, v1alpha1.StoreSpec{}))
	}
	// Three stores named with 40 characters: two named, one counted.
	if got, want := validPullStatus("sha", reqs).Description, "Valid; rendered 3 stores: "+strings.Repeat("a", 40)+", "+strings.Repeat("b", 40)+" and 1 more"; got != want {
		t.Errorf("description = %q, want %q", got, want)
	}
	if got := validPullStatus("sha", reqs[:1]).Description; got != "Valid; rendered store "+strings.Repeat("a", 40) {
		t.Errorf("description of one store = %q", got)
	}
	if got := validPullStatus("sha", reqs[:2]).Description; got != "Valid; rendered 2 stores: "+strings.Repeat("a", 40)+" and "+strings.Repeat("b", 40) {
		t.Errorf("description of two stores = %q", got)
	}
	for _, st := range []forge.Status{
		validPullStatus("sha", reqs),
		invalidPullStatus("sha", []FieldError{{Field: "requests/" + strings.Repeat("x", 40) + ".yaml", Msg: strings.Repeat("too long ", 30)}, {Field: "y", Msg: "z"}}),
	} {
		if n := len([]rune(st.Description)); n > forge.MaxStatusDescription {
			t.Errorf("%s status description has %d characters: %q", st.State, n, st.Description)
		}
	}
}

func TestRequestFiles(t *testing.T) {
	got := requestFiles([]string{"requests/a.yaml", "requests/b.yml", "requests/sub/c.yaml", "README.md", "requests/UP.yaml", "tenants/x"})
	if want := []string{"requests/a.yaml", "requests/b.yml"}; !slices.Equal(got, want) {
		t.Errorf("requestFiles = %v, want %v", got, want)
	}
}

func TestRefusedPull(t *testing.T) {
	tenantsRepo := forge.Repo{Owner: "acme", Name: "tenants"}
	own := func(mod func(*forge.PullRequest)) *forge.PullRequest {
		pr := &forge.PullRequest{Author: "octocat", HeadRepo: tenantsRepo, Commits: 2}
		if mod != nil {
			mod(pr)
		}
		return pr
	}
	tests := []struct {
		name    string
		pr      *forge.PullRequest
		authors []string
		want    string // part of the reason; "" when not refused
		mark    bool   // the refusal may be reported on the head commit
	}{
		{"own commits", own(nil), []string{"octocat", ""}, "", false},
		{"the bot's render on top", own(nil), []string{"octocat", "purrvision[bot]"}, "", false},
		{"a fork", own(func(p *forge.PullRequest) { p.HeadRepo = forge.Repo{Owner: "eve", Name: "tenants"} }), nil, "forks", true},
		{"someone else's commits", own(nil), []string{"octocat", "alice"}, "commits by `alice`", false},
		{"more commits than GitHub lists", own(func(p *forge.PullRequest) { p.Commits = 251 }), []string{"octocat"}, "251 commits", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mark := refusedPull(tt.pr, tenantsRepo, "purrvision[bot]", tt.authors)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) || mark != tt.mark {
				t.Errorf("refusedPull = %q, %v; want %q, %v", got, mark, tt.want, tt.mark)
			}
		})
	}
}
