package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
	"k8s.io/apimachinery/pkg/api/resource"
)

func twoClusterHarness(t *testing.T) *harness {
	return newHarness(t, harnessOptions{configure: func(c *config.Config) {
		c.Clusters = []config.Cluster{{Name: "zeta"}, {Name: "alpha", BaseDomain: "alpha.example.net"}}
	}})
}

// TestPlacement_IssueAndPullRequest: with two clusters and nothing to tell
// them apart, a store from the form and one from a request pull request
// are placed on the first by name, their request copies say so, the pull
// request says where and why, and a request pull request is rendered once
// (the bot's render is its own on the next push event, wherever it placed
// the store), not again and again.
func TestPlacement_IssueAndPullRequest(t *testing.T) {
	h := twoClusterHarness(t)
	n := h.request("octocat", "cat-cafe", "small")
	h.settle()
	pr, _ := h.openPull("cat-cafe")
	body := ""
	for _, p := range h.pulls()["store/cat-cafe"] {
		body = p.GetBody()
	}
	if !strings.Contains(body, "| Cluster | `alpha`: the most free capacity of 2 clusters") {
		t.Fatalf("the pull request does not say where the store goes and why:\n%s", body)
	}
	// The store's URLs are under its cluster's own domain.
	if !strings.Contains(body, "https://cat-cafe.alpha.example.net/") {
		t.Fatalf("the pull request does not give the store's URL on its cluster's domain:\n%s", body)
	}
	if c := h.botComments(n, v1alpha1.MarkerCredentials); len(c) != 1 || !strings.Contains(c[0].GetBody(), "https://cat-cafe.alpha.example.net/wp-admin/") {
		t.Fatalf("the credentials comment does not link the admin on the cluster's domain: %v", c)
	}
	h.merge(pr)
	copy := h.git_("show", "main:"+renderer.StoreDir(h.cfg, "alpha", "cat-cafe")+"/"+renderer.FileRequest)
	if !strings.Contains(copy, "cluster: alpha") {
		t.Fatalf("the request copy does not record the cluster:\n%s", copy)
	}
	// The merge's deployment is the store's cluster's, where its watcher
	// reports (zeta, the config's first, keeps the plain name).
	if states := h.gh.DeploymentStates(tenantsRepo); len(states["alpha/store-cat-cafe"]) != 1 || len(states["store-cat-cafe"]) != 0 {
		t.Fatalf("deployments after the merge: %v", states)
	}

	// The form now asks for the other cluster: refused, with the reason.
	req := v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small", AdminEmail: "owner@example.com", Cluster: "zeta"})
	h.gh.EditIssueBody(requestsRepo, n, "octocat", provision.RenderForm(req))
	h.settle()
	if c := h.botComments(n, v1alpha1.MarkerValidation); len(c) != 1 || !strings.Contains(c[0].GetBody(), "cannot move to another cluster once it is merged") {
		t.Fatalf("validation comments after a cluster edit: %v", c)
	}
	if prs := h.pulls()["store/cat-cafe"]; len(prs) != 1 {
		t.Fatalf("a cluster edit after the merge opened a pull request: %d", len(prs))
	}

	user := h.tenantsClone()
	if _, err := user.Update(context.Background(), "request/dog-diner", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BaseHead, Message: "request a store\n", Changes: []tenants.Change{{Path: "requests/dog-diner.yaml",
			Data: []byte("apiVersion: purrvision.dev/v1alpha1\nkind: StoreRequest\nmetadata:\n  name: dog-diner\nspec:\n  plan: small\n  owner: octocat\n  adminEmail: owner@example.com\n")}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	prN, err := h.gh.OpenPull(tenantsRepo, "octocat", "request/dog-diner", "main", "Request dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	head := strings.TrimSpace(h.git_("rev-parse", "request/dog-diner"))
	if sts := h.gh.Statuses(tenantsRepo, head); len(sts) == 0 || sts[0].GetState() != "success" {
		t.Fatalf("statuses on %s = %v", head, sts)
	}
	if log := h.git_("log", "--format=%s", "main..request/dog-diner"); strings.Count(log, "Render requested stores") != 1 {
		t.Fatalf("the request pull request was rendered more than once:\n%s", log)
	}
	if files := h.git_("ls-tree", "-r", "--name-only", "request/dog-diner"); !strings.Contains(files, renderer.StoreDir(h.cfg, "alpha", "dog-diner")+"/") {
		t.Fatalf("dog-diner was not rendered on alpha:\n%s", files)
	}

	// Someone pushes their own Secret into the folder the bot placed the
	// store in (not the default cluster's): it is not the bot's render any
	// more, so it is replaced, with new credentials.
	secret := renderer.StoreDir(h.cfg, "alpha", "dog-diner") + "/" + renderer.FileSecret
	if _, err := user.Update(context.Background(), "request/dog-diner", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Parent: s.BranchHead, Message: "my own secret\n", Changes: []tenants.Change{{Path: secret, Data: []byte("planted: true\n")}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The push's pull_request synchronize event (the stand-in sends none
	// for a git push).
	if err := h.svc.Provisioner.HandlePullRequest(context.Background(), forge.Repo{Owner: "acme", Name: "tenants"}, prN); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := h.git_("show", "request/dog-diner:"+secret); strings.Contains(got, "planted") {
		t.Fatalf("a Secret pushed into the placed store's folder was kept:\n%s", got)
	}
}

// TestPlacement_ByCapacity: stores fill the cluster with the most room
// first, and a request that fits nowhere is refused with the numbers of
// each cluster, in the one validation comment, with no pull request.
func TestPlacement_ByCapacity(t *testing.T) {
	h := newHarness(t, harnessOptions{configure: func(c *config.Config) {
		one, two := resource.MustParse("1"), resource.MustParse("2")
		c.Clusters = []config.Cluster{{Name: "small-one", Capacity: config.Capacity{CPU: &one}}, {Name: "big-one", Capacity: config.Capacity{CPU: &two}}}
	}})
	// big-one keeps half its CPU after the first; after the second both
	// keep none, and the tie goes to the first by name.
	for _, tc := range []struct{ store, cluster string }{{"cat-cafe", "big-one"}, {"dog-diner", "big-one"}, {"fox-den", "small-one"}} {
		h.provisioned(tc.store)
		if _, err := gitShow(h, "main:"+renderer.StoreDir(h.cfg, tc.cluster, tc.store)+"/"+renderer.FileRequest); err != nil {
			t.Fatalf("%s is not on %s: %v\n%s", tc.store, tc.cluster, err, h.git_("ls-tree", "-r", "--name-only", "main"))
		}
	}
	n := h.request("octocat", "owl-inn", "small")
	h.settle()
	c := h.botComments(n, v1alpha1.MarkerValidation)
	if len(c) != 1 || !strings.Contains(c[0].GetBody(), "store owl-inn does not fit in any cluster: big-one (cpu: needs 1, 0 free of 2); small-one (cpu: needs 1, 0 free of 1); choose a smaller plan") {
		t.Fatalf("the refusal does not give the numbers: %v", c)
	}
	if prs := h.pulls()["store/owl-inn"]; len(prs) != 0 {
		t.Fatalf("a store that fits nowhere got a pull request")
	}
}
