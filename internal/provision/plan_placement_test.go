package provision

import (
	"slices"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// twoClusters is the plan fixture on clusters "roomy" and "tight", with
// the index the planners decide from: tight holds a store already.
func twoClusters(t *testing.T) (planFixture, *placement.Index) {
	f := newPlanFixture(t)
	f.cfg.Clusters = []config.Cluster{{Name: "tight"}, {Name: "roomy"}}
	small := placement.PlanNeed(f.cfg, "small")
	ix := placement.NewIndex([]placement.Cluster{
		{Name: "roomy", Labels: map[string]string{"region": "eu"}, Capacity: placement.Resources{MilliCPU: 100 * small.MilliCPU, Memory: placement.Unlimited, Storage: placement.Unlimited, Stores: placement.Unlimited}},
		{Name: "tight", Labels: map[string]string{"region": "us"}, Capacity: placement.Resources{MilliCPU: 2 * small.MilliCPU, Memory: placement.Unlimited, Storage: placement.Unlimited, Stores: placement.Unlimited}},
	})
	ix.Set("other", "tight", small)
	return f, ix
}

func (f planFixture) placed(t *testing.T, cluster string, issue forge.IssueRef) testutil.Tree {
	req := *f.req
	req.Spec.Cluster = cluster
	return f.render(t, &req, issue, 1)
}

func TestPlanRequest_Placement(t *testing.T) {
	f, ix := twoClusters(t)
	name := f.req.Metadata.Name
	own := func(tree testutil.Tree) *BranchView {
		return &BranchView{Exists: true, Head: "b1", Tree: tree, Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String()}}
	}
	tests := []struct {
		name                    string
		plan, cluster, region   string
		base                    testutil.Tree
		branch                  *BranchView
		wantCluster, wantWhy    string
		wantField, wantMsg      string
		wantMoved               string
		wantDeleted, wantAbsent string
	}{
		{name: "placed where the most stays free", plan: "small", base: testutil.Tree{}, wantCluster: "roomy", wantWhy: "the most free capacity of 2 clusters"},
		{name: "the cluster it names, though another is roomier", plan: "small", cluster: "tight", base: testutil.Tree{}, wantCluster: "tight", wantWhy: "the request names cluster tight"},
		{name: "the region it asks for", plan: "small", region: "us", base: testutil.Tree{}, wantCluster: "tight", wantWhy: "the only cluster in region us"},
		{name: "fits nowhere: the numbers, on the plan", plan: "large", region: "us", base: testutil.Tree{}, wantField: FormRegion, wantMsg: "does not fit in region us: tight (cpu: needs"},
		{name: "a named cluster that is full", plan: "medium", cluster: "tight", base: testutil.Tree{}, wantField: FormCluster, wantMsg: "choose another cluster"},
		{name: "a region no cluster has", plan: "small", region: "mars", base: testutil.Tree{}, wantField: FormRegion, wantMsg: `no cluster is in region "mars"; choose one of: eu, us`},
		{name: "kept where its first render put it, though another is roomier now", plan: "small", base: testutil.Tree{},
			branch: own(f.placed(t, "tight", issueA)), wantCluster: "tight", wantWhy: "where its first render placed it"},
		{name: "moved before the merge when the form names another cluster: the old folder goes", plan: "small", cluster: "roomy", base: testutil.Tree{},
			branch: own(f.placed(t, "tight", issueA)), wantCluster: "roomy", wantDeleted: renderer.StoreDir(f.cfg, "tight", name)},
		{name: "merged: another cluster in the form is refused", plan: "small", cluster: "roomy", base: f.placed(t, "tight", issueA), wantMoved: "tight"},
		{name: "merged: another region in the form is refused", plan: "small", region: "eu", base: f.placed(t, "tight", issueA), wantMoved: "tight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := *f.req
			req.Spec.Plan, req.Spec.Cluster, req.Spec.Region = tc.plan, tc.cluster, tc.region
			c := f.common(tc.base, tc.branch)
			c.Placer = ix
			rec := Recorded{}
			if tc.branch != nil {
				rec = Recorded{Store: name, Branch: tc.branch.Head}
			}
			p, err := PlanRequest(RequestInput{Common: c, Request: &req, Issue: issueA, Author: "octocat", Recorded: rec})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantMoved != "":
				if p.Moved != tc.wantMoved || p.Commit != nil {
					t.Fatalf("want moved from %s and nothing else, got %+v", tc.wantMoved, p)
				}
			case tc.wantField != "":
				if p.Unplaced == nil || p.Unplaced.Field != tc.wantField || !strings.Contains(p.Unplaced.Msg, tc.wantMsg) || p.Commit != nil || p.Seal != nil {
					t.Fatalf("want %s refused with %q, got %+v (%+v)", tc.wantField, tc.wantMsg, p, p.Unplaced)
				}
			default:
				if p.Cluster != tc.wantCluster || !strings.Contains(p.Placement, tc.wantWhy) || p.Commit == nil {
					t.Fatalf("want cluster %s because %q, got %s because %q (%+v)", tc.wantCluster, tc.wantWhy, p.Cluster, p.Placement, p)
				}
				dir := renderer.StoreDir(f.cfg, tc.wantCluster, name)
				var copyData []byte
				if tc.branch != nil {
					copyData = tc.branch.Tree.(testutil.Tree)[dir+"/"+renderer.FileRequest]
				}
				for _, ch := range p.Commit.Changes {
					if ch.Path == dir+"/"+renderer.FileRequest {
						copyData = ch.Data
					}
				}
				copied, err := v1alpha1.Parse(copyData)
				if err != nil || copied.Spec.Cluster != tc.wantCluster {
					t.Fatalf("the request copy in %s does not record cluster %s: %v %+v", dir, tc.wantCluster, err, copied)
				}
				if !strings.Contains(p.Pull.Body, "`"+tc.wantCluster+"`: "+tc.wantWhy) {
					t.Errorf("the pull request body does not say where and why:\n%s", p.Pull.Body)
				}
				if tc.wantDeleted != "" && !slices.ContainsFunc(p.Commit.Changes, func(c tenants.Change) bool { return c.Delete && c.Path == tc.wantDeleted }) {
					t.Errorf("the old folder %s is not deleted: %v", tc.wantDeleted, changedPaths(p.Commit))
				}
			}
		})
	}
}

func TestPlanCommand_ResizeMustFitItsCluster(t *testing.T) {
	f, ix := twoClusters(t)
	req := *f.req
	req.Spec.Plan, req.Spec.Cluster = "small", "tight"
	base := f.render(t, &req, issueA, 1)
	ix.Set(req.Metadata.Name, "tight", placement.PlanNeed(f.cfg, "small")) // tight is full now
	for _, tc := range []struct {
		plan    string
		refused bool
	}{{"large", true}, {"small", false}} {
		c := f.common(base, nil)
		c.Placer = ix
		p, err := PlanCommand(CommandInput{Common: c, Request: &req, Command: Command{Name: CmdResize, Args: []string{tc.plan}}, Issue: issueA, Author: "octocat", CommentID: 7})
		if err != nil {
			t.Fatal(err)
		}
		if p.Refused != tc.refused {
			t.Fatalf("resize to %s: refused %v, want %v (%+v)", tc.plan, p.Refused, tc.refused, p)
		}
		if tc.refused && (p.Commit != nil || !strings.Contains(p.Reply, "cannot grow to plan `large` on its cluster: store cat-cafe does not fit in cluster tight (cpu: needs")) {
			t.Fatalf("refusal: %+v", p)
		}
	}
}

func TestPlanPull_Placement(t *testing.T) {
	f, ix := twoClusters(t)
	pr := forge.IssueRef{Repo: forge.Repo{Owner: "acme", Name: "tenants"}, Number: 5}
	name := f.req.Metadata.Name
	// Files pushed into the store's folder of the other cluster go.
	branch := testutil.Tree{"requests/cat-cafe.yaml": nil, renderer.StoreDir(f.cfg, "tight", name) + "/extra.yaml": []byte("x")}
	c := f.common(testutil.Tree{}, &BranchView{Exists: true, Head: "h", Tree: branch})
	c.Placer = ix
	p, err := PlanPull(PullInput{Common: c, Requests: []*v1alpha1.StoreRequest{f.req}, Issue: pr, Author: "octocat"})
	if err != nil {
		t.Fatal(err)
	}
	paths := changedPaths(p.Commit)
	if !slices.Contains(paths, renderer.StoreDir(f.cfg, "roomy", name)+"/"+renderer.FileRequest) || !slices.Contains(paths, renderer.StoreDir(f.cfg, "tight", name)) {
		t.Fatalf("want the store rendered on roomy and its folder on tight deleted, got %v", paths)
	}

	big := *f.req
	big.Spec.Plan, big.Spec.Region = "large", "us"
	p, err = PlanPull(PullInput{Common: c, Requests: []*v1alpha1.StoreRequest{&big}, Issue: pr, Author: "octocat"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Taken == nil || p.Taken.Field != "requests/cat-cafe.yaml spec.region" || !strings.Contains(p.Taken.Msg, "does not fit in region us") || p.Commit != nil {
		t.Fatalf("want the request file refused with the numbers, got %+v %+v", p, p.Taken)
	}
}

func TestPlanCheck_SaysWhereAndWhy(t *testing.T) {
	f, _ := twoClusters(t)
	placed := *f.req
	placed.Spec.Cluster = "roomy"
	head := f.withStores(t, testutil.Tree{}, issueA, &placed)
	why := "the most free capacity of 2 clusters; free before this store: cpu 4 of 4"
	plan, err := PlanCheck(CheckInput{Config: f.cfg, Base: testutil.Tree{}, Head: head, Op: v1alpha1.OpProvision, Stores: []string{placed.Metadata.Name},
		Placed: map[string]string{placed.Metadata.Name: why}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Output.Summary, "| `cat-cafe` | added | `roomy` |") || !strings.Contains(plan.Output.Text, "Placed on `roomy`: "+why+".") {
		t.Fatalf("the check does not say where and why:\n%s\n%s", plan.Output.Summary, plan.Output.Text)
	}
}

// TestPlanCommand_ResizeNeverShrinksVolumes: a resize to a plan with less
// storage is refused (a PersistentVolumeClaim cannot shrink, and the
// release would fail on every upgrade); one with less CPU but as much
// storage is not.
func TestPlanCommand_ResizeNeverShrinksVolumes(t *testing.T) {
	f := newPlanFixture(t)
	req := *f.req
	req.Spec.Plan = "medium"
	base := f.render(t, &req, issueA, 1)
	for _, tc := range []struct {
		plan    string
		refused bool
	}{{"small", true}, {"large", false}} {
		p, err := PlanCommand(CommandInput{Common: f.common(base, nil), Request: &req, Command: Command{Name: CmdResize, Args: []string{tc.plan}}, Issue: issueA, Author: "octocat", CommentID: 7})
		if err != nil {
			t.Fatal(err)
		}
		if p.Refused != tc.refused || tc.refused && (p.Commit != nil || !strings.Contains(p.Reply, "cannot make a volume smaller")) {
			t.Fatalf("resize medium to %s: %+v", tc.plan, p)
		}
	}
}

// TestPlanRequest_BaseMovedFilledItsCluster: other stores merged meanwhile
// fill the cluster the branch's render placed the store on; rendered again
// on the moved base, the store goes where there is room, with the branch's
// Secrets and credentials ID: merging other stores does not make the bot
// regenerate them.
func TestPlanRequest_BaseMovedFilledItsCluster(t *testing.T) {
	f, ix := twoClusters(t)
	name := f.req.Metadata.Name
	ix.Set("newcomer", "tight", placement.PlanNeed(f.cfg, "small")) // tight is full now
	onTight := f.placed(t, "tight", issueA)
	branch := &BranchView{Exists: true, Head: "b1", Tree: onTight, Behind: true,
		Trailers: map[string]string{v1alpha1.TrailerIssue: issueA.String(), v1alpha1.TrailerCredentialsID: "c1"}}
	c := f.common(testutil.Tree{}, branch)
	c.Placer = ix
	p, err := PlanRequest(RequestInput{Common: c, Request: f.req, Issue: issueA, Author: "octocat", Delivered: "c1", Recorded: Recorded{Store: name, Branch: "b1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cluster != "roomy" || p.Commit == nil || p.Commit.OnBranch || p.Seal != nil {
		t.Fatalf("want a render on roomy from the base and no seal, got %+v", p)
	}
	for _, file := range []string{renderer.FileSecret, renderer.FileDatabaseSecret} {
		from, to := renderer.StoreDir(f.cfg, "tight", name)+"/"+file, renderer.StoreDir(f.cfg, "roomy", name)+"/"+file
		if got := changeData(p.Commit, to); string(got) != string(onTight[from]) {
			t.Errorf("%s is not the branch's: the credentials were regenerated", file)
		}
	}
	if id := tenants.Trailers(p.Commit.Message)[v1alpha1.TrailerCredentialsID]; id != "c1" {
		t.Errorf("credentials ID %q, want c1 kept", id)
	}
}
