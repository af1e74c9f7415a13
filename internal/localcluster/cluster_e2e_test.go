//go:build e2e

package localcluster_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/localcluster"
)

// TestCluster_DeploymentBecomesReady: the local cluster schedules a
// Deployment's pods onto the kwok node, and they become Ready.
func TestCluster_DeploymentBecomesReady(t *testing.T) {
	bins, err := localcluster.BinariesFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Dir: t.TempDir(), Bins: bins,
		Progress: func(stage string, took time.Duration) { t.Logf("%-45s %v", stage, took.Round(time.Millisecond)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	labels := map[string]string{"app": "smoke"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "default"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/smoke:1"}}}}}}
	if err := c.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	got := &appsv1.Deployment{}
	twoReplicasReady := func(ctx context.Context) (bool, error) {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
			return false, err
		}
		return got.Status.ReadyReplicas == 2, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, twoReplicasReady); err != nil {
		t.Fatalf("deployment not ready (%v): %+v", err, got.Status)
	}
	// The Gateway API CRDs are installed with Flux's: a store's HTTPRoute
	// applies, with no Gateway controller running.
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "smoke", "namespace": "default"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "shared", "namespace": "gateway-system"}},
			"hostnames":  []any{"smoke.shop.example.com"},
			"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": "smoke", "port": int64(80)}}}},
		},
	}}
	if err := c.Client.Create(ctx, route); err != nil {
		t.Fatalf("creating an HTTPRoute: %v", err)
	}
	// The node keeps a lease, as a kubelet does: without one the
	// controller-manager marks it NotReady after 40 s, and every pod with it.
	lease := &coordinationv1.Lease{}
	nodeLease := func(ctx context.Context) (bool, error) {
		err := c.Client.Get(ctx, client.ObjectKey{Namespace: "kube-node-lease", Name: "kwok-node-0"}, lease)
		return err == nil && lease.Spec.RenewTime != nil, client.IgnoreNotFound(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, nodeLease); err != nil {
		t.Fatalf("the kwok node has no lease (%v)", err)
	}
}
