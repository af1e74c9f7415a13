package renderer_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// BenchmarkRender renders and encrypts one store, with the production
// random source. BENCHMARKS.md records the result.
func BenchmarkRender(b *testing.B) {
	cfg := testutil.ExampleConfig(b)
	req := testutil.ExampleRequest(b)
	in := renderer.Input{Config: cfg, Request: req, Rand: rand.Reader, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderer.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
