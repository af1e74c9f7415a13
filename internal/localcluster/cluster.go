// Package localcluster runs a whole Kubernetes cluster with Flux as local
// processes, built from the Go module proxy (hack/testbin.sh --cluster,
// hack/fluxbin.sh): etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok with fake nodes, and Flux's source-, kustomize- and
// helm-controller. No Docker, no cloud. The e2e tests and `purrvision dev`
// use it.
package localcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/purrvision/purrvision/reconcile"
)

// Binaries are where the components were built.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kwok   string
	SourceController, KustomizeController, HelmController string
	// FluxCRDs is the folder of the CRDs the cluster gets before Flux
	// starts (PURRVISION_CRDS): Flux's and the Gateway API's, so stores
	// exposed by an HTTPRoute apply; KwokModule the kwok module's
	// source folder (for its Stage CRD and stages).
	FluxCRDs, KwokModule string
	// KubeVersion is the version the apiserver was stamped with.
	KubeVersion string
}

// BinariesFromEnv reads what hack/testbin.sh --cluster and
// hack/fluxbin.sh print.
func BinariesFromEnv() (Binaries, error) {
	assets, flux := os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("FLUX_BIN")
	b := Binaries{
		Etcd: filepath.Join(assets, "etcd"), APIServer: filepath.Join(assets, "kube-apiserver"),
		ControllerManager: filepath.Join(assets, "kube-controller-manager"), Scheduler: filepath.Join(assets, "kube-scheduler"),
		Kwok: os.Getenv("PURRVISION_KWOK"), FluxCRDs: os.Getenv("PURRVISION_CRDS"), KwokModule: os.Getenv("PURRVISION_KWOK_MODULE"),
		SourceController:    filepath.Join(flux, "source-controller-"+os.Getenv("SOURCE_CONTROLLER_VERSION"), "source-controller"),
		KustomizeController: filepath.Join(flux, "kustomize-controller-"+os.Getenv("KUSTOMIZE_CONTROLLER_VERSION"), "kustomize-controller"),
		HelmController:      filepath.Join(flux, "helm-controller-"+os.Getenv("HELM_CONTROLLER_VERSION"), "helm-controller"),
	}
	var missing []string
	for name, p := range map[string]string{"etcd": b.Etcd, "kube-apiserver": b.APIServer, "kube-controller-manager": b.ControllerManager,
		"kube-scheduler": b.Scheduler, "kwok": b.Kwok, "source-controller": b.SourceController, "kustomize-controller": b.KustomizeController,
		"helm-controller": b.HelmController, "CRDs (PURRVISION_CRDS)": b.FluxCRDs, "kwok module": b.KwokModule} {
		if _, err := os.Stat(p); p == "" || err != nil {
			missing = append(missing, name)
		}
	}
	if assets == "" || flux == "" || len(missing) > 0 {
		return b, fmt.Errorf("local cluster binaries missing (%s): run `make e2e`, which builds them", strings.Join(missing, ", "))
	}
	return b, nil
}

// Options configure Start.
type Options struct {
	// Dir holds the cluster's PKI, data and logs.
	Dir  string
	Bins Binaries
	// Progress, when set, is told each stage and how long it took.
	Progress func(stage string, took time.Duration)
}

// Cluster is a running local cluster.
type Cluster struct {
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Client     client.Client
	procs      []*proc
}

// Start brings the whole cluster up and waits until every part is ready.
// On error everything started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	c := &Cluster{Dir: o.Dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	stage := func(name string, f func() error) error { return Step(o.Progress, name, f) }
	p := pki{dir: filepath.Join(o.Dir, "pki")}
	if err := stage("certificates", p.generate); err != nil {
		return nil, err
	}
	pp, err := ports(12)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort := pp[0], pp[1], pp[2], pp[3], pp[4]
	if err := stage("etcd", func() error { return c.startEtcd(ctx, o, etcdClient, etcdPeer) }); err != nil {
		return nil, err
	}
	if err := stage("kube-apiserver", func() error { return c.startAPIServer(ctx, o, p, etcdClient, apiPort) }); err != nil {
		return nil, err
	}
	if err := stage("kube-controller-manager and kube-scheduler", func() error { return c.startControllers(ctx, o, p, kcmPort, schedPort) }); err != nil {
		return nil, err
	}
	if err := stage("kwok and a fake node", func() error { return c.startKwok(ctx, o) }); err != nil {
		return nil, err
	}
	if err := stage("Flux controllers", func() error { return c.startFlux(ctx, o, pp[5:11]) }); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops every component, newest first.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	c.procs = nil
}

func (c *Cluster) run(name, bin string, args, env []string) (*proc, error) {
	p, err := start(c.Dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context, o Options, clientPort, peerPort int) error {
	p, err := c.run("etcd", o.Bins.Etcd, []string{
		"--data-dir=" + filepath.Join(o.Dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls=http://" + addr(clientPort), "--advertise-client-urls=http://" + addr(clientPort),
		"--listen-peer-urls=http://" + addr(peerPort), "--initial-advertise-peer-urls=http://" + addr(peerPort),
		"--initial-cluster=default=http://" + addr(peerPort), "--name=default",
	}, nil)
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, "http://"+addr(clientPort)+"/health", &http.Client{Timeout: 2 * time.Second})
}

func (c *Cluster) startAPIServer(ctx context.Context, o Options, p pki, etcdPort, port int) error {
	api, err := c.run("kube-apiserver", o.Bins.APIServer, []string{
		"--etcd-servers=http://" + addr(etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + p.path("apiserver.crt"), "--tls-private-key-file=" + p.path("apiserver.key"),
		"--client-ca-file=" + p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("sa.pub"), "--service-account-signing-key-file=" + p.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/12", "--authorization-mode=Node,RBAC", "--allow-privileged=true",
		"--requestheader-client-ca-file=" + p.path("front-proxy-ca.crt"), "--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.path("front-proxy-client.crt"), "--proxy-client-key-file=" + p.path("front-proxy-client.key"),
	}, nil)
	if err != nil {
		return err
	}
	host := "https://" + addr(port)
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`, host, p.path("ca.crt"), p.path("admin.crt"), p.path("admin.key"))
	c.Kubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	c.Config.QPS, c.Config.Burst = 200, 400
	cert, err := tls.LoadX509KeyPair(p.path("admin.crt"), p.path("admin.key"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(p.path("ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	if err := waitHTTP(ctx, api, host+"/readyz", hc); err != nil {
		return err
	}
	scheme, err := reconcile.Scheme()
	if err != nil {
		return err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	c.Client, err = client.New(c.Config, client.Options{Scheme: scheme})
	return err
}

func (c *Cluster) startControllers(ctx context.Context, o Options, p pki, kcmPort, schedPort int) error {
	common := []string{"--kubeconfig=" + c.Kubeconfig, "--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--leader-elect=false"}
	kcm, err := c.run("kube-controller-manager", o.Bins.ControllerManager, append(common,
		"--secure-port="+strconv.Itoa(kcmPort),
		"--service-account-private-key-file="+p.path("sa.key"), "--root-ca-file="+p.path("ca.crt"),
		"--cluster-signing-cert-file="+p.path("ca.crt"), "--cluster-signing-key-file="+p.path("ca.key"),
		"--use-service-account-credentials=true", "--controllers=*,-nodeipam",
		// Bind claims at once: the default waits up to 15 s between passes.
		"--pvclaimbinder-sync-period=1s",
	), nil)
	if err != nil {
		return err
	}
	sched, err := c.run("kube-scheduler", o.Bins.Scheduler, append(common, "--secure-port="+strconv.Itoa(schedPort)), nil)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, kcm, "https://"+addr(kcmPort)+"/healthz", nil); err != nil {
		return err
	}
	return waitHTTP(ctx, sched, "https://"+addr(schedPort)+"/healthz", nil)
}

// NodeAnnotation marks the nodes kwok manages.
const NodeAnnotation = "kwok.x-k8s.io/node"

func (c *Cluster) startKwok(ctx context.Context, o Options) error {
	mod := o.Bins.KwokModule
	if err := c.ApplyFile(ctx, filepath.Join(mod, "kustomize", "crd", "bases", "kwok.x-k8s.io_stages.yaml")); err != nil {
		return err
	}
	if err := c.waitCRDs(ctx, "stages.kwok.x-k8s.io"); err != nil {
		return err
	}
	stages, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(mod, "kustomize", "stage", "fast"))
	if err != nil {
		return fmt.Errorf("building kwok's fast stages: %w", err)
	}
	data, err := stages.AsYaml()
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, data); err != nil {
		return err
	}
	// The fast stages' heartbeat renews the node's status only every ten
	// minutes and counts on a node lease for liveness, which kwok keeps only
	// with a lease duration: without one, the controller-manager marks the
	// node NotReady after 40 s and every pod unready, and any upgrade after
	// the first minute hangs.
	kw, err := c.run("kwok", o.Bins.Kwok, []string{"--kubeconfig=" + c.Kubeconfig, "--manage-nodes-with-annotation-selector=" + NodeAnnotation + "=fake",
		"--enable-crds=Stage", "--cidr=10.244.0.0/16", "--node-ip=127.0.0.1", "--node-lease-duration-seconds=40"}, nil)
	if err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0",
		Annotations: map[string]string{NodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
		Labels:      map[string]string{"kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{"cpu": resourceMust("32"), "memory": resourceMust("256Gi"), "pods": resourceMust("110")},
			Capacity: corev1.ResourceList{"cpu": resourceMust("32"), "memory": resourceMust("256Gi"), "pods": resourceMust("110")}}}
	if err := c.Client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return c.waitFor(ctx, kw, "node kwok-node-0 Ready", func() (bool, error) {
		got := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: "kwok-node-0"}, got); err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// FluxNamespace is where the Flux controllers run and look for their
// objects' dependencies.
const FluxNamespace = "flux-system"

func (c *Cluster) startFlux(ctx context.Context, o Options, pp []int) error {
	entries, err := os.ReadDir(o.Bins.FluxCRDs)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			if err := c.ApplyFile(ctx, filepath.Join(o.Bins.FluxCRDs, e.Name())); err != nil {
				return err
			}
			names = append(names, strings.TrimSuffix(strings.SplitN(e.Name(), "_", 2)[1], ".yaml")+"."+strings.SplitN(e.Name(), "_", 2)[0])
		}
	}
	if err := c.waitCRDs(ctx, names...); err != nil {
		return err
	}
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: FluxNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	env := []string{"KUBECONFIG=" + c.Kubeconfig, "RUNTIME_NAMESPACE=" + FluxNamespace}
	if err := os.MkdirAll(filepath.Join(o.Dir, "source-storage"), 0o755); err != nil {
		return err
	}
	ctls, err := fluxControllers(o, pp)
	if err != nil {
		return err
	}
	var started []*proc
	for _, k := range ctls {
		p, err := c.run(k.name, k.bin, fluxArgs(k.health, k.extra), env)
		if err != nil {
			return err
		}
		started = append(started, p)
	}
	for i, k := range ctls {
		err := waitHTTP(ctx, started[i], "http://"+addr(k.health)+"/readyz", &http.Client{Timeout: 2 * time.Second})
		for attempt := 0; err != nil && k.name != "source-controller" && portTaken(started[i]) && attempt < 3; attempt++ {
			// Its health port was taken by another process between
			// choosing it and binding it: choose again. (The source
			// controller's storage address is in its artifacts' URLs, so
			// it is not moved.)
			if k.health, err = freePort(); err != nil {
				return err
			}
			if started[i], err = c.run(k.name, k.bin, fluxArgs(k.health, k.extra), env); err != nil {
				return err
			}
			err = waitHTTP(ctx, started[i], "http://"+addr(k.health)+"/readyz", &http.Client{Timeout: 2 * time.Second})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fluxController is one Flux controller to run: its binary, the flags
// of its own (with the lockdown's) and its health port.
type fluxController struct {
	name, bin string
	extra     []string
	health    int
}

// fluxControllers are the Flux controllers the cluster runs, on ports pp
// (source-controller's storage, then each one's health), locked down as
// production is: each gets the flags flux/lockdown adds to it
// (LockdownArgs), so an object that names no service account acts as
// "default" and can do nothing. The controllers run out of the cluster
// with the admin's certificate, which may impersonate the service
// accounts Flux's objects name, as the controllers' own accounts may in a
// cluster.
func fluxControllers(o Options, pp []int) ([]fluxController, error) {
	storage := addr(pp[0])
	ctls := []fluxController{
		{"source-controller", o.Bins.SourceController, []string{"--storage-path=" + filepath.Join(o.Dir, "source-storage"), "--storage-addr=" + storage, "--storage-adv-addr=" + storage}, pp[1]},
		{"kustomize-controller", o.Bins.KustomizeController, nil, pp[2]},
		{"helm-controller", o.Bins.HelmController, nil, pp[3]},
	}
	names := make([]string, len(ctls))
	for i, k := range ctls {
		names[i] = k.name
	}
	lock, err := LockdownArgs(names...)
	if err != nil {
		return nil, err
	}
	for i, k := range ctls {
		ctls[i].extra = append(k.extra, lock[k.name]...)
	}
	return ctls, nil
}

func fluxArgs(health int, extra []string) []string {
	return append([]string{"--watch-all-namespaces=true", "--metrics-addr=127.0.0.1:0", "--health-addr=" + addr(health), "--log-level=info"}, extra...)
}

// Apply server-side applies a YAML stream.
func (c *Cluster) Apply(ctx context.Context, data []byte) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decoding manifests: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if err := c.Client.Patch(ctx, u, client.Apply, client.FieldOwner("purrvision-localcluster"), client.ForceOwnership); err != nil { //nolint:staticcheck // SSA of unstructured objects
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
}

// ApplyFile server-side applies a YAML file.
func (c *Cluster) ApplyFile(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return c.Apply(ctx, data)
}

func (c *Cluster) waitCRDs(ctx context.Context, names ...string) error {
	for _, n := range names {
		err := c.waitFor(ctx, nil, "CRD "+n+" established", func() (bool, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: n}, crd); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return c.refreshClient()
}

// refreshClient rebuilds the client so it discovers new CRDs.
func (c *Cluster) refreshClient() error {
	cl, err := client.New(c.Config, client.Options{Scheme: c.Client.Scheme()})
	if err != nil {
		return err
	}
	c.Client = cl
	return nil
}

// waitFor polls cond, the condition named what, until true, a component
// exits, or ctx (which holds the deadline of the start-up) ends.
func (c *Cluster) waitFor(ctx context.Context, p *proc, what string, cond func() (bool, error)) error {
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		ok, err := cond()
		if err != nil && !apimeta.IsNoMatchError(err) {
			return false, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok || p == nil {
			return ok, nil
		}
		return false, p.exited()
	})
	if err != nil && err == ctx.Err() {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return err
}

// Step runs f as the named stage of a start-up: it wraps f's error with the
// name, or tells progress (when set) how long f took.
func Step(progress func(stage string, took time.Duration), name string, f func() error) error {
	t0 := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if progress != nil {
		progress(name, time.Since(t0))
	}
	return nil
}
