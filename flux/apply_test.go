package flux_test

import (
	"context"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestManifests_AcceptedByAPIServer: the deployment of Purrvision and the
// tenants source apply with a server-side dry run, each namespace of the
// manifests (purrvision, flux-system) replaced by one of the test's own.
func TestManifests_AcceptedByAPIServer(t *testing.T) {
	e := testenv.Shared(t)
	ctx := context.Background()
	own := map[string]string{}
	for _, ns := range []string{"purrvision", "flux-system"} {
		own[ns] = e.Namespace(t, ns)
	}
	for _, dir := range []string{"purrvision", "tenants"} {
		m := build(t, filepath.Join(testutil.RepoRoot(t), "flux", dir))
		for _, r := range m.Resources() {
			obj, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			u := unstructuredFrom(obj)
			if ns, ok := own[u.GetNamespace()]; ok {
				u.SetNamespace(ns)
			}
			if ns, ok := own[u.GetName()]; ok && u.GetKind() == "Namespace" {
				u.SetName(ns)
			}
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
