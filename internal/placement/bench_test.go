package placement_test

import (
	"fmt"
	"testing"

	"github.com/purrvision/purrvision/internal/placement"
)

// BenchmarkPlacement is one placement decision with 10,000 stores on 50
// clusters (issue 13's goal: at most 1 ms), and the index kept up to date
// as a merge lands (one store set).
func BenchmarkPlacement(b *testing.B) {
	var clusters []placement.Cluster
	for i := range 50 {
		clusters = append(clusters, placement.Cluster{
			Name:     fmt.Sprintf("cluster-%02d", i),
			Labels:   map[string]string{"region": []string{"eu", "us", "ap"}[i%3]},
			Capacity: capacity(400_000, 1600*gi, 20_000*gi, 1000),
		})
	}
	ix := placement.NewIndex(clusters)
	for i := range 10_000 {
		ix.Set(fmt.Sprintf("store-%05d", i), clusters[i%50].Name, []placement.Resources{small, large}[i%2])
	}
	b.Run("decision", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ix.Place(placement.Request{Store: "new", Need: small}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decision-in-region", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ix.Place(placement.Request{Store: "new", Need: small, Region: "eu"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("merge-lands", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ix.Set(fmt.Sprintf("store-%05d", i%10_000), clusters[i%50].Name, []placement.Resources{small, large}[i%3%2])
		}
	})
}
