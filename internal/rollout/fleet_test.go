package rollout

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// exampleConfig is the example config with a test age recipient.
func exampleConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
	cfg.SOPS.AgeRecipients = []string{testutil.AgeIdentity(t).Recipient().String()}
	return cfg
}

// withChart is cfg at another chart version.
func withChart(cfg *config.Config, version string) *config.Config {
	c := *cfg
	c.Chart.Version = version
	c.Chart.Source.Tag = "woocommerce-" + version
	return &c
}

// withImage is cfg with its stores pointed at another image.
func withImage(cfg *config.Config, im config.ChartImage) *config.Config {
	c := *cfg
	c.Chart.Image = &im
	return &c
}

// withPlanCPU is cfg with plan's CPU changed.
func withPlanCPU(cfg *config.Config, plan, cpu string) *config.Config {
	c := *cfg
	c.Plans = map[string]config.Plan{}
	for k, v := range cfg.Plans {
		c.Plans[k] = v
	}
	p := c.Plans[plan]
	p.CPU = resource.MustParse(cpu)
	c.Plans[plan] = p
	return &c
}

// storeSpec is one store of a test fleet.
type storeSpec struct {
	name, plan string
	// older writes it in the layout before shards.
	older bool
}

// secrets are a pair of encrypted Secrets; fleets share one pair, since a
// rollout never reads inside them.
type secrets struct{ admin, database []byte }

func sealedSecrets(t testing.TB, cfg *config.Config) secrets {
	t.Helper()
	req := testutil.ExampleRequest(t)
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(1), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := out.File(renderer.FileSecret)
	d, _ := out.File(renderer.FileDatabaseSecret)
	return secrets{a, d}
}

func request(name, plan string) *v1alpha1.StoreRequest {
	req := v1alpha1.New(name, v1alpha1.StoreSpec{Plan: plan, Owner: "octocat", AdminEmail: "owner@example.com", Title: "Store " + name})
	req.Metadata.Annotations = map[string]string{v1alpha1.AnnotationIssue: "acme/stores#1"}
	return req
}

// fleetFiles renders the stores with cfg (on both cores) and returns
// their files, keyed by path in the tenants repo.
func fleetFiles(t testing.TB, cfg *config.Config, sec secrets, stores []storeSpec) map[string][]byte {
	t.Helper()
	files := make([][]renderer.File, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := stores[i]
				out, err := renderer.Render(renderer.Input{Config: cfg, Request: request(s.name, s.plan), Rand: testutil.Rand(uint64(i)),
					KeepSecret: sec.admin, KeepDatabaseSecret: sec.database})
				if err != nil {
					errs[i] = err
					continue
				}
				if s.older {
					flat := renderer.ClusterDir(cfg, renderer.ClusterOf(cfg, request(s.name, s.plan))) + "/" + s.name
					for j := range out.Files {
						rel := strings.TrimPrefix(out.Files[j].Path, out.Dir)
						out.Files[j].Path = flat + rel
						out.Files[j].Data = []byte(strings.ReplaceAll(string(out.Files[j].Data), out.Dir+"/", flat+"/"))
					}
				}
				files[i] = out.Files
			}
		}()
	}
	for i := range stores {
		next <- i
	}
	close(next)
	wg.Wait()
	out := map[string][]byte{}
	for i, fs := range files {
		if errs[i] != nil {
			t.Fatalf("rendering %s: %v", stores[i].name, errs[i])
		}
		for _, f := range fs {
			out[f.Path] = f.Data
		}
	}
	return out
}

// manyStores is n stores named store-00000..., in plans small, medium and
// large in turn.
func manyStores(n int) []storeSpec {
	plans := []string{"small", "medium", "large"}
	out := make([]storeSpec, n)
	for i := range out {
		out[i] = storeSpec{name: fmt.Sprintf("store-%05d", i), plan: plans[i%len(plans)]}
	}
	return out
}
