//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/renderer"
)

// TestTwoClusters: two local clusters, each with its own API server, Flux
// and watcher (the second's serve --cluster second --webhooks=false), on
// one tenants repo and one GitHub stand-in, as `purrvision dev --clusters
// 2` runs them. Stores land on both by placement (each cluster offers 4
// CPUs), each is reported Ready by its own cluster's watcher in its own
// environment, a request that fits nowhere is refused with the numbers,
// and a decommission on the second cluster is reported inactive there.
func TestTwoClusters(t *testing.T) {
	w := newWorldWith(t, devenv.Options{Clusters: 2})
	ctx := context.Background()
	names := w.Config.ClusterNames()
	if len(names) != 2 || len(w.Clusters) != 2 || len(w.Watchers) != 1 {
		t.Fatalf("clusters %v, %d local clusters, %d watch-only services", names, len(w.Clusters), len(w.Watchers))
	}
	clientOf := func(cluster string) client.Client {
		for i, n := range names {
			if n == cluster {
				return w.Clusters[i].Client
			}
		}
		t.Fatalf("no cluster %s", cluster)
		return nil
	}

	// The first small store ties (both clusters empty) and goes to the
	// first by name; the second goes where more is left.
	issues := map[string]int{}
	for _, p := range []struct{ store, cluster, other string }{{"cat-cafe", "default", "second"}, {"dog-diner", "second", "default"}} {
		t0 := time.Now()
		n := w.GitHub.OpenIssue(requestsRepo, "octocat", "Store: "+p.store, formBody(p.store, "small"), v1alpha1.LabelRequest)
		issues[p.store] = n
		pr := w.openPull(p.store)
		copyOnBranch, err := gitShow(w, v1alpha1.Branch(p.store)+":"+renderer.StoreDir(w.Config, p.cluster, p.store)+"/"+renderer.FileRequest)
		if err != nil || !strings.Contains(string(copyOnBranch), "cluster: "+p.cluster) {
			t.Fatalf("%s is not placed on %s: %v\n%s", p.store, p.cluster, err, copyOnBranch)
		}
		merged := time.Now()
		w.merge(pr)
		env := v1alpha1.EnvironmentOn(p.cluster, names[0], p.store)
		w.waitFor(p.store+" Ready on cluster "+p.cluster+" (deployment "+env+")", 5*time.Minute, func() bool { return w.lastDeploymentState(env) == "success" })
		t.Logf("BENCHMARK cluster %s merge-to-ready %.2fs", p.cluster, time.Since(merged).Seconds())
		w.stage(fmt.Sprintf("%s placed on %s and Ready", p.store, p.cluster), t0)

		ns := client.ObjectKey{Name: v1alpha1.Namespace(p.store)}
		if err := clientOf(p.cluster).Get(ctx, ns, &corev1.Namespace{}); err != nil {
			t.Errorf("%s's namespace is not on its cluster %s: %v", p.store, p.cluster, err)
		}
		if err := clientOf(p.other).Get(ctx, ns, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s's namespace is on cluster %s too: %v", p.store, p.other, err)
		}
		if other := v1alpha1.EnvironmentOn(p.other, names[0], p.store); len(w.GitHub.DeploymentStates(tenantsRepo)[other]) != 0 {
			t.Errorf("%s has a deployment in %s, the other cluster's environment", p.store, other)
		}
		// The comment follows the deployment status.
		w.waitFor("the progress comment saying "+p.store+" is Ready on cluster "+p.cluster, time.Minute, func() bool {
			return strings.Contains(w.progress(n), "Ready on cluster "+p.cluster)
		})
	}

	// A large store needs 4 CPUs; each cluster has 3 left.
	t0 := time.Now()
	n := w.GitHub.OpenIssue(requestsRepo, "octocat", "Store: big-barn", formBody("big-barn", "large"), v1alpha1.LabelRequest)
	want := "store big-barn does not fit in any cluster: default (cpu: needs 4, 3 free of 4); second (cpu: needs 4, 3 free of 4)"
	w.waitFor("the refusal with the numbers", time.Minute, func() bool {
		for _, c := range w.GitHub.Comments(requestsRepo, n) {
			if strings.HasPrefix(c.GetBody(), v1alpha1.MarkerValidation) && strings.Contains(c.GetBody(), want) {
				return true
			}
		}
		return false
	})
	for _, p := range w.GitHub.Pulls(tenantsRepo) {
		if p.GetHead().GetRef() == v1alpha1.Branch("big-barn") {
			t.Fatalf("a store that fits nowhere got pull request #%d", p.GetNumber())
		}
	}
	w.stage("a request that fits nowhere refused", t0)

	// Decommission on the second cluster: its namespace goes there, and
	// its watcher reports the deployment inactive in its environment.
	t0 = time.Now()
	w.GitHub.Comment(requestsRepo, issues["dog-diner"], "octocat", "/purrvision decommission")
	w.merge(w.openPull("dog-diner"))
	w.waitFor("namespace store-dog-diner gone from cluster second", 3*time.Minute, func() bool {
		return apierrors.IsNotFound(clientOf("second").Get(ctx, client.ObjectKey{Name: "store-dog-diner"}, &corev1.Namespace{}))
	})
	env := v1alpha1.EnvironmentOn("second", names[0], "dog-diner")
	w.waitFor("deployment "+env+" inactive", 2*time.Minute, func() bool { return w.lastDeploymentState(env) == "inactive" })
	w.waitFor("the decommissioned store's issue closed", time.Minute, func() bool {
		return w.GitHub.Issue(requestsRepo, issues["dog-diner"]).GetState() == "closed"
	})
	if err := clientOf("default").Get(ctx, client.ObjectKey{Name: "store-cat-cafe"}, &corev1.Namespace{}); err != nil {
		t.Errorf("the store on the other cluster is gone too: %v", err)
	}
	w.stage("decommission on the second cluster reported inactive", t0)
	w.stage("two clusters", w.start)
}
