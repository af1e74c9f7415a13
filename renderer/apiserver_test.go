package renderer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/charts"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func apiServer(t *testing.T) *testenv.Env { return testenv.Shared(t) }

const fieldOwner = client.FieldOwner("purrvision-test")

// TestRender_AcceptedByAPIServer applies every rendered object of sample
// stores, and every object the chart renders for them, to a real
// kube-apiserver with the Flux CRDs. The rendered objects go through a
// server-side dry run, then are applied for real, so the chart's objects are
// dry-run against the store's real ResourceQuota, LimitRange and Pod
// Security labels. Pod Security warnings (restricted) fail the test.
func TestRender_AcceptedByAPIServer(t *testing.T) {
	e := apiServer(t)
	var warnings testenv.Warnings
	c, err := e.ClientWithWarnings(&warnings)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fluxNS := e.Namespace(t, "flux-system")

	id := testutil.AgeIdentity(t)
	cases := append(append([]goldenCase{}, goldenCases...), goldenCase{name: "large", mutate: func(_ *config.Config, r *v1alpha1.StoreRequest) {
		r.Metadata.Name = "big-barn"
		r.Spec.Plan = "large"
	}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.mutate = ownNamespaces(tc.mutate, fluxNS)
			out := renderCase(t, tc, id.Recipient().String(), 11)
			objs := decodeStore(t, out, id.String())
			ns := objs[0]
			if ns.GetKind() != "Namespace" {
				t.Fatalf("first object is %s, want the Namespace", ns.GetKind())
			}
			e.CleanupNamespace(t, ns.GetName())

			// The Namespace must exist before objects inside it can be
			// dry-run; everything else is dry-run first, then applied.
			apply(ctx, t, c, ns)
			for _, o := range objs[1:] {
				apply(ctx, t, c, o, client.DryRunAll)
			}
			for _, o := range objs[1:] {
				apply(ctx, t, c, o)
			}
			if w := warnings.Take(); len(w) > 0 {
				t.Errorf("API server warnings for rendered objects: %v", w)
			}
			settleQuota(ctx, t, c, ns.GetName())

			cfg := testutil.ExampleConfig(t)
			req := testutil.ExampleRequest(t)
			if tc.mutate != nil {
				tc.mutate(cfg, req)
			}
			if tc.origin != "" {
				req.Metadata.Annotations = map[string]string{v1alpha1.AnnotationIssue: tc.origin}
			}
			vals, err := renderer.ChartValues(cfg, req)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := charts.Load(charts.WooCommerce)
			if err != nil {
				t.Fatal(err)
			}
			chartObjs, err := charts.Render(ch, vals, charts.Release{Name: v1alpha1.ReleaseName, Namespace: ns.GetName(), KubeVersion: "v1.37.2"})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range chartObjs {
				apply(ctx, t, c, o, client.DryRunAll)
			}
			if w := warnings.Take(); len(w) > 0 {
				t.Errorf("API server warnings for chart objects (Pod Security restricted?): %v", w)
			}

			// The namespace's guards are live: Pod Security enforces
			// baseline and the quota caps storage.
			privileged := true
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns.GetName()},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "x", Image: "busybox:1.37",
					SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
				}}},
			}
			if err := c.Create(ctx, pod, client.DryRunAll); !apierrors.IsForbidden(err) {
				t.Errorf("a privileged pod was admitted to the store namespace: err = %v", err)
			}
			big := &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: "too-big", Namespace: ns.GetName()},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Ti")}},
				},
			}
			if err := c.Create(ctx, big, client.DryRunAll); !apierrors.IsForbidden(err) {
				t.Errorf("a 10Ti claim was admitted past the quota: err = %v", err)
			}
			warnings.Take()

			// helm-controller installs the chart as the store's installer
			// account: it must be allowed to, and nothing beyond its namespace.
			installer := impersonate(t, e.Config, ns.GetName())
			for _, o := range chartObjs {
				apply(ctx, t, installer, o, client.DryRunAll)
			}
			outside := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "escape", Namespace: "default"}}
			if err := installer.Create(ctx, outside, client.DryRunAll); !apierrors.IsForbidden(err) {
				t.Errorf("the installer account created a ConfigMap in another namespace: err = %v", err)
			}
			other := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: "escape"}}
			if err := installer.Create(ctx, other, client.DryRunAll); !apierrors.IsForbidden(err) {
				t.Errorf("the installer account created a Namespace: err = %v", err)
			}
			netpol := &unstructured.Unstructured{}
			netpol.SetAPIVersion("networking.k8s.io/v1")
			netpol.SetKind("NetworkPolicy")
			netpol.SetNamespace(ns.GetName())
			netpol.SetName("default-deny-all")
			if err := installer.Delete(ctx, netpol, client.DryRunAll); !apierrors.IsForbidden(err) {
				t.Errorf("the installer account can delete the store's network policies: err = %v", err)
			}
		})
	}
}

// decodeStore returns the Kubernetes objects of a rendered store, the
// Secret decrypted, the Namespace first. Kustomize configs and the request
// copy are not Kubernetes objects and are left out.
func decodeStore(t *testing.T, out *renderer.Output, identity string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, f := range out.Files {
		base := path.Base(f.Path)
		if base == renderer.FileKustomization || base == renderer.FileRequest {
			continue
		}
		data := f.Data
		if strings.HasSuffix(f.Path, ".sops.yaml") {
			plain, err := sopsage.Decrypt(data, identity)
			if err != nil {
				t.Fatalf("decrypting %s: %v", f.Path, err)
			}
			data = plain
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("decoding %s: %v", f.Path, err)
			}
			o := &unstructured.Unstructured{Object: m}
			if o.GetKind() == "Namespace" {
				objs = append([]*unstructured.Unstructured{o}, objs...)
			} else {
				objs = append(objs, o)
			}
		}
	}
	return objs
}

func apply(ctx context.Context, t *testing.T, c client.Client, o *unstructured.Unstructured, opts ...client.PatchOption) {
	t.Helper()
	obj := o.DeepCopy()
	opts = append(opts, fieldOwner, client.ForceOwnership)
	if err := c.Patch(ctx, obj, client.Apply, opts...); err != nil { //nolint:staticcheck // SSA of unstructured objects
		t.Errorf("applying %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
}

// ownNamespaces makes a case render into namespaces no other test uses:
// the store gets a name of its own (its namespace is store-<name>) and its
// Flux objects go to fluxNS.
func ownNamespaces(mutate func(*config.Config, *v1alpha1.StoreRequest), fluxNS string) func(*config.Config, *v1alpha1.StoreRequest) {
	var name string
	return func(cfg *config.Config, req *v1alpha1.StoreRequest) {
		if mutate != nil {
			mutate(cfg, req)
		}
		if name == "" {
			name = testenv.UniqueName(req.Metadata.Name)
		}
		req.Metadata.Name = name
		cfg.Flux.Namespace = fluxNS
	}
}

// settleQuota does what kube-controller-manager's quota controller would:
// it records the quota's hard limits in its status, without which quota
// admission refuses every object it counts.
func settleQuota(ctx context.Context, t *testing.T, c client.Client, ns string) {
	t.Helper()
	var quotas corev1.ResourceQuotaList
	if err := c.List(ctx, &quotas, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(quotas.Items) != 1 {
		t.Fatalf("%d ResourceQuotas in %s, want 1", len(quotas.Items), ns)
	}
	q := &quotas.Items[0]
	q.Status.Hard = q.Spec.Hard.DeepCopy()
	q.Status.Used = corev1.ResourceList{}
	for name := range q.Spec.Hard {
		q.Status.Used[name] = resource.MustParse("0")
	}
	if err := c.Status().Update(ctx, q); err != nil {
		t.Fatalf("settling quota status: %v", err)
	}
}

func impersonate(t *testing.T, cfg *rest.Config, ns string) client.Client {
	t.Helper()
	ic := rest.CopyConfig(cfg)
	ic.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + renderer.InstallerServiceAccount}
	c, err := client.New(ic, client.Options{Scheme: testenv.Shared(t).Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
