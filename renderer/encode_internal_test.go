package renderer

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestStrictCheck_EveryShapeChecked(t *testing.T) {
	ns := func(extra map[string]any) map[string]any {
		md := map[string]any{"name": "store-cat-cafe"}
		for k, v := range extra {
			md[k] = v
		}
		return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": md}
	}
	if err := strictCheck(ns(nil), &corev1.Namespace{}); err != nil {
		t.Fatalf("a Namespace: %v", err)
	}
	// Checked once, its shape is remembered; another shape of the same
	// type is checked again.
	err := strictCheck(ns(map[string]any{"bogus": "x"}), &corev1.Namespace{})
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unknown field after a good object of the same type: %v, want it refused", err)
	}
	if err := strictCheck(ns(map[string]any{"bogus": "x"}), &corev1.Namespace{}); err == nil {
		t.Error("an unknown field, checked a second time: not refused")
	}
	if err := strictCheck(ns(map[string]any{"labels": map[string]any{"a": "b"}}), &corev1.Namespace{}); err != nil {
		t.Errorf("a Namespace with labels: %v", err)
	}
}
