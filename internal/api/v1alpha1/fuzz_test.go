package v1alpha1_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
)

// FuzzParse checks that Parse never panics, only ever fails with
// ErrInvalid, and that whatever it accepts has the right type fields.
// Seeds: testdata/fuzz/FuzzParse and the hostile inputs below.
func FuzzParse(f *testing.F) {
	seeds := []string{
		valid,
		strings.Replace(valid, "cat-cafe", "../x", 1),
		strings.Replace(valid, "cat-cafe", "cаt-cafe", 1), // Cyrillic а
		strings.Replace(valid, "cat-cafe", "ｃａｔ", 1),      // full-width
		strings.Replace(valid, "cat-cafe", strings.Repeat("a", 300), 1),
		strings.Replace(valid, "cat-cafe", "kube-system", 1),
		anchorBomb(),
		valid + "  plan: large\n",
		valid + "---\n" + valid,
		"{apiVersion: purrvision.dev/v1alpha1, kind: StoreRequest, metadata: {name: a}, spec: {plan: !!binary AAAA}}",
		"\xef\xbb\xbf" + valid,
		"%YAML 1.1\n---\n" + valid,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			req *v1alpha1.StoreRequest
			err error
		}
		done := make(chan result, 1)
		go func() {
			req, err := v1alpha1.Parse(data)
			done <- result{req, err}
		}()
		var req *v1alpha1.StoreRequest
		var err error
		select {
		case r := <-done:
			req, err = r.req, r.err
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse did not return within 5s on %d bytes", len(data))
		}
		if err != nil {
			if !errors.Is(err, v1alpha1.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if req != nil {
				t.Fatal("Parse returned a request with an error")
			}
			return
		}
		if req.APIVersion != v1alpha1.APIVersion || req.Kind != v1alpha1.Kind {
			t.Fatalf("accepted a document with apiVersion %q kind %q", req.APIVersion, req.Kind)
		}
		if len(data) > v1alpha1.MaxRequestBytes {
			t.Fatalf("accepted %d bytes", len(data))
		}
	})
}
