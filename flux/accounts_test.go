package flux_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/flux"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// TestAccounts_JustTheRightsTheyNeed applies flux/tenants' accounts to an
// API server, then does as Flux does under the lockdown: the tenants
// Kustomization's account applies and prunes a store's Kustomization, the
// store's account applies and prunes every object of a rendered store,
// each by server-side apply as kustomize-controller does. Each is refused
// what it does not need, and "default", which the lockdown gives an
// object that names no account, can apply nothing. The accounts are
// those of the repository's flux/tenants (the shipped config's), and
// those Tenants writes for a config with a Flux namespace and a stores'
// account of its own.
func TestAccounts_JustTheRightsTheyNeed(t *testing.T) {
	e := testenv.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	shipped := func(t *testing.T, fluxNS string) ([]*unstructured.Unstructured, string) {
		var objs []*unstructured.Unstructured
		for _, r := range build(t, filepath.Join(testutil.RepoRoot(t), "flux", "tenants")).Resources() {
			obj, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, unstructuredFrom(obj))
		}
		return objs, config.StoresServiceAccount
	}
	own := func(t *testing.T, fluxNS string) ([]*unstructured.Unstructured, string) {
		cfg := testutil.ExampleConfig(t)
		cfg.Flux.Namespace, cfg.Flux.SourceName, cfg.Flux.ServiceAccountName = fluxNS, "shop-tenants", "shop-stores"
		maps, err := flux.Tenants(cfg, "default")
		if err != nil {
			t.Fatal(err)
		}
		var objs []*unstructured.Unstructured
		for _, m := range maps {
			data, err := yaml.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, decodeAll(t, data)...)
		}
		return objs, "shop-stores"
	}
	for _, set := range []struct {
		name, namespace string
		accounts        func(*testing.T, string) ([]*unstructured.Unstructured, string)
	}{{"shipped", "flux-system", shipped}, {"own names", "gitops", own}} {
		t.Run(set.name, func(t *testing.T) {
			fluxNS := e.Namespace(t, set.namespace)
			objs, storesAccount := set.accounts(t, fluxNS)
			applyAccounts(ctx, t, e, objs, fluxNS, strings.TrimPrefix(fluxNS, set.namespace))
			// The example store, and one with every other name a store's
			// objects get: an OCI chart source, an Ingress and egress to
			// the internet.
			variants := []struct {
				name   string
				mutate func(*config.Config, *v1alpha1.StoreRequest)
			}{
				{"example", func(*config.Config, *v1alpha1.StoreRequest) {}},
				{"oci-ingress-internet", func(cfg *config.Config, req *v1alpha1.StoreRequest) {
					cfg.Chart.Source = config.ChartSource{Kind: config.SourceOCI, URL: "oci://ghcr.io/purrvision/charts/woocommerce", Interval: "1h"}
					cfg.Clusters = append(cfg.Clusters, config.Cluster{Name: "eu-west", Exposure: config.ExposureIngress})
					req.Spec.Plan = "medium"
					req.Spec.Cluster = "eu-west"
				}},
				// Backups: two Secrets and a NetworkPolicy more.
				{"backups", func(cfg *config.Config, _ *v1alpha1.StoreRequest) {
					p := cfg.Plans["small"]
					p.Backups = &config.PlanBackups{Schedule: "0 3 * * *", Keep: 14}
					cfg.Plans["small"] = p
					cfg.Backups.Target = &config.BackupTarget{Repository: "s3:https://s3.example.com/backups/stores", CredentialsFile: "/etc/purrvision/backup-credentials",
						Egress: []config.BackupEgress{{CIDR: "203.0.113.10/32", Ports: []int32{443}}}}
				}},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					storeLife(ctx, t, e, fluxNS, storesAccount, v.mutate)
				})
			}
		})
	}
}

// applyAccounts applies the ServiceAccounts and RBAC of objs in the
// test's own fluxNS; the cluster-wide objects get the test's suffix.
func applyAccounts(ctx context.Context, t *testing.T, e *testenv.Env, objs []*unstructured.Unstructured, fluxNS, suffix string) {
	t.Helper()
	n := 0
	for _, u := range objs {
		switch u.GetKind() {
		case "ServiceAccount", "Role":
			u.SetNamespace(fluxNS)
		case "RoleBinding", "ClusterRoleBinding":
			u.SetNamespace(map[bool]string{true: fluxNS}[u.GetKind() == "RoleBinding"])
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = fluxNS
			}
			if err := unstructured.SetNestedSlice(u.Object, subjects, "subjects"); err != nil {
				t.Fatal(err)
			}
			if u.GetKind() == "ClusterRoleBinding" {
				u.SetName(u.GetName() + suffix)
				name, _, _ := unstructured.NestedString(u.Object, "roleRef", "name")
				if err := unstructured.SetNestedField(u.Object, name+suffix, "roleRef", "name"); err != nil {
					t.Fatal(err)
				}
			}
		case "ClusterRole":
			u.SetName(u.GetName() + suffix)
		default:
			continue
		}
		n++
		apply(ctx, t, e.Client, u)
		if strings.HasPrefix(u.GetKind(), "Cluster") {
			t.Cleanup(func() {
				if err := e.Client.Delete(context.Background(), u); client.IgnoreNotFound(err) != nil {
					t.Errorf("deleting %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			})
		}
	}
	if n != 6 {
		t.Fatalf("applied %d accounts and RBAC objects, want 6: two ServiceAccounts, a Role and RoleBinding, a ClusterRole and ClusterRoleBinding", n)
	}
}

// storeLife applies a store rendered with mutate as Flux would under the
// lockdown, with the accounts of flux/tenants in fluxNS, the stores'
// named storesAccount, and tries what they must not do.
func storeLife(ctx context.Context, t *testing.T, e *testenv.Env, fluxNS, storesAccount string, mutate func(*config.Config, *v1alpha1.StoreRequest)) {
	cfg := testutil.ExampleConfig(t)
	cfg.Flux.Namespace, cfg.Flux.ServiceAccountName = fluxNS, storesAccount
	req := testutil.ExampleRequest(t)
	mutate(cfg, req)
	req.Metadata.Name = testenv.UniqueName(req.Metadata.Name)
	id := testutil.AgeIdentity(t)
	creds, err := config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=AKIATEST\nAWS_SECRET_ACCESS_KEY=testSecretAccessKey0123456789\n"))
	if err != nil {
		t.Fatal(err)
	}
	backupCreds := map[string]config.BackupCredentials{}
	for _, c := range cfg.ClusterNames() {
		backupCreds[c] = creds
	}
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Recipients: []string{id.Recipient().String()}, Rand: testutil.Rand(3), Now: time.Unix(0, 0),
		Origin: "acme/requests#1", BackupCredentials: backupCreds})
	if err != nil {
		t.Fatal(err)
	}
	var storeKustomization *unstructured.Unstructured
	var objs []*unstructured.Unstructured // the store's, its Namespace first
	for _, f := range out.Files {
		data := f.Data
		switch path.Base(f.Path) {
		case renderer.FileKustomization, renderer.FileRequest:
			continue
		case path.Base(renderer.FileSecret), path.Base(renderer.FileDatabaseSecret), path.Base(renderer.FileBackupPasswordSecret), path.Base(renderer.FileBackupTargetSecret):
			if data, err = sopsage.Decrypt(data, id.String()); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range decodeAll(t, data) {
			switch {
			case path.Base(f.Path) == renderer.FileFluxKustomization:
				storeKustomization = u
			case u.GetKind() == "Namespace":
				objs = append([]*unstructured.Unstructured{u}, objs...)
			default:
				objs = append(objs, u)
			}
		}
	}
	storeNS := objs[0].GetName()
	e.CleanupNamespace(t, storeNS)
	if got := storeKustomization.Object["spec"].(map[string]any)["serviceAccountName"]; got != storesAccount {
		t.Fatalf("the store's Kustomization names %v, want the account %s", got, storesAccount)
	}

	tenants := actAs(t, e, fluxNS, config.TenantsServiceAccount)
	stores := actAs(t, e, fluxNS, storesAccount)
	byDefault := actAs(t, e, fluxNS, "default")

	// Under the lockdown, an object that names no account can do nothing.
	if err := ssa(ctx, byDefault, storeKustomization, client.DryRunAll); !apierrors.IsForbidden(err) {
		t.Errorf("flux-system's default account applied a store's Kustomization: err = %v", err)
	}
	// tenants-<cluster>: the store's Kustomization, and nothing else.
	flow(ctx, t, tenants, storeKustomization)
	for _, o := range objs {
		if err := ssa(ctx, tenants, o, client.DryRunAll); !apierrors.IsForbidden(err) {
			t.Errorf("the tenants account applied the store's %s %s: err = %v", o.GetKind(), o.GetName(), err)
		}
	}
	// Nor anything in flux-system but Kustomizations: not the age key.
	key := decodeAll(t, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: "+cfg.Flux.DecryptionSecret+", namespace: "+fluxNS+"}\nstringData: {age.agekey: stolen}\n"))[0]
	for _, c := range []client.Client{tenants, stores} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(key), key.DeepCopy()); !apierrors.IsForbidden(err) {
			t.Errorf("a Flux account read the age key in flux-system: err = %v", err)
		}
	}
	if err := ssa(ctx, tenants, key, client.DryRunAll); !apierrors.IsForbidden(err) {
		t.Errorf("the tenants account wrote the age key in flux-system: err = %v", err)
	}
	// store-<name>: every object of the store, then its prune.
	for _, o := range objs {
		flow(ctx, t, stores, o)
	}
	if err := stores.List(ctx, &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "NamespaceList"}}); err != nil {
		t.Errorf("the stores account cannot list Namespaces, which Flux does to wait for one: %v", err)
	}
	// Refused: a kind no store has, a Role or RoleBinding other than the
	// installer's (escalate and bind are only for store-installer), and the
	// installer's name binding a ClusterRole.
	attacks := []string{`apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-store-kind, namespace: STORE}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: other, namespace: STORE}
rules: [{apiGroups: [""], resources: [pods/exec], verbs: [create]}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: other, namespace: STORE}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: store-installer}
subjects: [{kind: ServiceAccount, name: default, namespace: STORE}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: store-installer, namespace: FLUX}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: store-installer, namespace: STORE}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: store-installer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: store-installer, namespace: STORE}]`}
	for _, a := range attacks {
		a = strings.NewReplacer("STORE", storeNS, "FLUX", fluxNS).Replace(a)
		u := decodeAll(t, []byte(a))[0]
		if err := ssa(ctx, stores, u, client.DryRunAll); !apierrors.IsForbidden(err) {
			t.Errorf("the stores account applied %s %s/%s: err = %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	for i := len(objs) - 1; i >= 0; i-- {
		if err := stores.Delete(ctx, objs[i].DeepCopy()); client.IgnoreNotFound(err) != nil {
			t.Errorf("the stores account cannot prune %s %s: %v", objs[i].GetKind(), objs[i].GetName(), err)
		}
	}
	if err := tenants.Delete(ctx, storeKustomization.DeepCopy()); err != nil {
		t.Errorf("the tenants account cannot prune the store's Kustomization: %v", err)
	}
}

// flow does what kustomize-controller's server-side apply does with an
// object: read it, dry-run the apply, apply.
func flow(ctx context.Context, t *testing.T, c client.Client, o *unstructured.Unstructured) {
	t.Helper()
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy()); client.IgnoreNotFound(err) != nil {
		t.Errorf("reading %s %s: %v", o.GetKind(), o.GetName(), err)
	}
	for _, opts := range [][]client.PatchOption{{client.DryRunAll}, nil} {
		if err := ssa(ctx, c, o, opts...); err != nil {
			t.Errorf("applying %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

func ssa(ctx context.Context, c client.Client, o *unstructured.Unstructured, opts ...client.PatchOption) error {
	opts = append(opts, client.FieldOwner("kustomize-controller"), client.ForceOwnership)
	return c.Patch(ctx, o.DeepCopy(), client.Apply, opts...) //nolint:staticcheck // SSA of unstructured objects
}

func apply(ctx context.Context, t *testing.T, c client.Client, o *unstructured.Unstructured) {
	t.Helper()
	if err := ssa(ctx, c, o); err != nil {
		t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// actAs is a client that impersonates the account ns/name, as Flux's
// controllers do for an object that names it.
func actAs(t *testing.T, e *testenv.Env, ns, name string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatal(err)
		}
		if len(m) > 0 {
			objs = append(objs, unstructuredFrom(m))
		}
	}
}
