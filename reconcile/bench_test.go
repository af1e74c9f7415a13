package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testenv"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/reconcile"
)

// BenchmarkWatcherAtScale starts the watcher against an API server holding
// 10,000 stores (Namespace and HelmRelease each), reports the watcher's
// memory once its cache has synced, then turns 100 of the stores Ready one
// at a time and reports how long each took to reach GitHub (p50, p99).
//
//	go test -run '^$' -bench WatcherAtScale -benchtime 1x ./reconcile
func BenchmarkWatcherAtScale(b *testing.B) {
	const stores, samples = 10000, 100
	e, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	gh, ghc := testutil.GitHub(b, "acme/stores", "acme/tenants")
	issues := make([]int, samples)
	for i := range issues {
		issues[i] = gh.OpenIssue("acme/stores", "octocat", "store", "body", "store-request")
	}

	fast := rest.CopyConfig(e.Config)
	fast.QPS, fast.Burst = 2000, 4000
	seed, err := client.New(fast, client.Options{Scheme: e.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	name := func(i int) string { return fmt.Sprintf("s%05d", i) }
	issueOf := func(i int) string {
		if i < samples {
			return fmt.Sprintf("acme/stores#%d", issues[i])
		}
		return "acme/stores#999999"
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < stores; i += 16 {
				labels := map[string]string{"app.kubernetes.io/managed-by": "purrvision", "purrvision.dev/store": name(i)}
				ann := map[string]string{"purrvision.dev/issue": issueOf(i), "purrvision.dev/reported": "installing"}
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "store-" + name(i), Labels: labels, Annotations: ann,
					Finalizers: []string{"purrvision.dev/report"}}}
				hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "woocommerce", Namespace: ns.Name, Labels: labels,
					Annotations: map[string]string{"purrvision.dev/issue": issueOf(i)}},
					Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute},
						ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "woocommerce-chart"},
						Values:   nil}}
				for _, o := range []client.Object{ns, hr} {
					if err := seed.Create(ctx, o); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("seeded %d stores in %v", stores, time.Since(start).Round(time.Millisecond))

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	mgr, err := reconcile.NewManager(e.Config, reconcile.ManagerOptions{FluxNamespace: "flux-system", BaseDomain: "shop.example.com",
		Reporter: &reconcile.GitHubReporter{GitHub: ghc, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}, Bot: forge.NewIdentity(ghstandin.BotLogin), Ledger: testutil.Ledger(b)}})
	if err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = mgr.Start(mctx) }()
	// The controller's informers start with the manager; wait until its
	// cache holds every store.
	cacheHoldsEveryStore := func(ctx context.Context) (bool, error) {
		var hrs helmv2.HelmReleaseList
		var nss corev1.NamespaceList
		if err := mgr.GetCache().List(ctx, &hrs); err != nil || len(hrs.Items) != stores {
			return false, nil
		}
		if err := mgr.GetCache().List(ctx, &nss); err != nil || len(nss.Items) != stores {
			return false, nil
		}
		return true, nil
	}
	if err := wait.PollUntilContextTimeout(mctx, 100*time.Millisecond, 5*time.Minute, true, cacheHoldsEveryStore); err != nil {
		b.Fatal("the watcher's cache never held every store")
	}
	b.ResetTimer()
	var lat []time.Duration
	for b.Loop() {
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse))/(1<<20), "watcher-heap-MB")
		b.ReportMetric(rssMB(), "process-rss-MB")
		for i := range samples {
			hr := &helmv2.HelmRelease{}
			if err := seed.Get(ctx, client.ObjectKey{Namespace: "store-" + name(i), Name: "woocommerce"}, hr); err != nil {
				b.Fatal(err)
			}
			hr.Status.ObservedGeneration = hr.Generation
			setCondition(&hr.Status.Conditions, "Ready", metav1.ConditionTrue, "InstallSucceeded", "ok")
			t0 := time.Now()
			if err := seed.Status().Update(ctx, hr); err != nil {
				b.Fatal(err)
			}
			reportedReady := func(context.Context) (bool, error) {
				return strings.Contains(strings.Join(gh.Labels("acme/stores", issues[i]), ","), "store/ready"), nil
			}
			if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, time.Minute, true, reportedReady); err != nil {
				b.Fatalf("store %d never reported ready", i)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "report-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "report-p99-ms")
}

// rssMB is the resident memory of this process (the watcher and the test
// around it; kube-apiserver and etcd run as other processes).
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
