package flux_test

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestManifests_AcceptedByAPIServer: the deployment of Purrvision and the
// tenants source apply with a server-side dry run.
func TestManifests_AcceptedByAPIServer(t *testing.T) {
	e := testenv.Shared(t)
	ctx := context.Background()
	for _, ns := range []string{"purrvision", "flux-system"} {
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"purrvision", "tenants"} {
		m := build(t, filepath.Join(testutil.RepoRoot(t), "flux", dir))
		for _, r := range m.Resources() {
			obj, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			u := unstructuredFrom(obj)
			if err := e.Client.Patch(ctx, u, client.Apply, client.DryRunAll, client.FieldOwner("test"), client.ForceOwnership); err != nil { //nolint:staticcheck // SSA of unstructured objects
				t.Errorf("%s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
}

// TestManifests_ConfigParses: the config the deployment mounts is valid.
func TestManifests_ConfigParses(t *testing.T) {
	m := build(t, filepath.Join(testutil.RepoRoot(t), "flux", "purrvision"))
	for _, r := range m.Resources() {
		if r.GetKind() != "ConfigMap" {
			continue
		}
		data := r.GetDataMap()
		cfg, err := config.Parse([]byte(data["purrvision.yaml"]))
		if err != nil {
			t.Fatalf("purrvision.yaml in the ConfigMap: %v", err)
		}
		if err := cfg.ServeErrors(); err != nil {
			t.Errorf("the in-cluster config cannot serve: %v", err)
		}
		return
	}
	t.Fatal("no ConfigMap in flux/purrvision")
}
