package renderer

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/purrvision/purrvision/internal/testutil"
)

// tricky are strings yaml.v2 quotes, folds or writes on several lines,
// and names it writes as they are.
var tricky = []string{
	"", "yes", "No", "ON", "y", "null", "Null", "~", "true", "1", "0.1.0", "1e3", "1.5", "2001-12-14", "2001-12-14T21:59:43.10-05:00",
	"0x1F", "0o17", "1_000", "190:20:30", ".inf", "-.inf", ".NaN", "<<", "=", "a: b", "a:b", "- x", "-x", "#c", "a #b", "'q'", `"dq"`,
	"x\ny", "x\n", " lead", "trail ", "\t", "café", "@at", "a@b.c", "{x}", "[x]", "*a", "&a", "!t", "%p", "`b`", "?", "a?", "|", ">",
	"cat-cafe", "store-cat-cafe", "app.kubernetes.io/name", "woocommerce-0.1.0", "10m0s", "1Gi", "Cat Cafe",
	strings.Repeat("word ", 20), strings.Repeat("word ", 14) + "end", strings.Repeat("x", 150), "a10", "a9", "a09", "a_b", "A_b", "aB", "ab", "a-b", "a.b", "a/b", "a0", "a00",
	"\x00", "\xff", "\u2028", "é", "Ω",
}

func TestFastYAML_AsYAMLv2(t *testing.T) {
	for _, s := range tricky {
		for _, k := range []string{"key", s} {
			m := map[string]any{
				"apiVersion": "v1",
				k:            s,
				"spec": map[string]any{
					"list":   []any{s, map[string]any{k: s, "n": int64(-3), "ok": true, "none": nil}, map[string]any{}},
					"nested": map[string]any{"deeper": map[string]any{"deepest": map[string]any{"value": s}}},
					"empty":  map[string]any{},
					"none":   []any{},
				},
			}
			want, err := yaml.Marshal(m)
			if err != nil {
				continue
			}
			got, shape, ok := fastYAML(m)
			if ok && string(got) != string(want) {
				t.Errorf("key %q, value %q: fastYAML wrote\n%s\nyaml.v2 writes\n%s", k, s, got, want)
			}
			var wantShape strings.Builder
			shapeOf(&wantShape, m)
			if ok && shape != wantShape.String() {
				t.Errorf("key %q, value %q: shape %s, shapeOf says %s", k, s, shape, wantShape.String())
			}
		}
	}
}

func TestFastYAML_KeyOrder(t *testing.T) {
	m := map[string]any{}
	for _, k := range []string{"a_b", "A_b", "aB", "ab", "a-b", "a.b", "a/b", "a0", "_x", "~x", "{x}", "Zed", "zed", "1", "-a", "x-1",
		"app.kubernetes.io/name", "purrvision.dev/store", "count/ingresses.networking.k8s.io", "limits.cpu"} {
		m[k] = int64(1)
	}
	want, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, _, ok := fastYAML(m)
	if !ok || string(got) != string(want) {
		t.Errorf("fastYAML wrote (ok %v)\n%s\nyaml.v2 writes\n%s", ok, got, want)
	}
}

// TestFastYAML_DigitTies: keys yaml.v2 has no one order for are left to
// it.
func TestFastYAML_DigitTies(t *testing.T) {
	for _, keys := range [][]string{{"x1y", "x01y", "x10y"}, {"a9", "a10"}, {"a1", "a2"}} {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = int64(1)
		}
		if got, _, ok := fastYAML(m); ok {
			t.Errorf("keys %v: fastYAML wrote\n%s", keys, got)
		}
	}
}

// TestFastYAML_TakesTheStore: every object of a store but the chart
// source (whose ignore list is a block of lines) takes the fast path, so
// a fleet re-render gets its speed.
func TestFastYAML_TakesTheStore(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	s, err := newStore(cfg, testutil.ExampleRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	values, err := s.values()
	if err != nil {
		t.Fatal(err)
	}
	objs := append([]any{s.fluxKustomization(), s.namespace(), s.resourceQuota(), s.limitRange(), s.helmRelease(values)}, s.rbac()...)
	netpols, err := s.networkPolicies()
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, netpols...)
	for _, obj := range objs {
		m, err := toMap(obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := fastYAML(m); !ok {
			t.Errorf("%T left to yaml.v2", obj)
		}
	}
}

func FuzzFastYAML(f *testing.F) {
	for _, s := range tricky {
		f.Add("key", s, int64(7))
	}
	f.Fuzz(func(t *testing.T, k, s string, n int64) {
		m := map[string]any{
			k:      s,
			"spec": map[string]any{"list": []any{s, map[string]any{k: s, "n": n}}, "a": map[string]any{s: n}},
		}
		want, err := yaml.Marshal(m)
		if err != nil {
			return
		}
		if got, _, ok := fastYAML(m); ok && string(got) != string(want) {
			t.Errorf("key %q, value %q: fastYAML wrote\n%s\nyaml.v2 writes\n%s", k, s, got, want)
		}
	})
}
