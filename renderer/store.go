package renderer

import (
	"fmt"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kustypes "sigs.k8s.io/kustomize/api/types"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// store is the derived view of one request that the object builders share.
type store struct {
	cfg     *config.Config
	req     *v1alpha1.StoreRequest
	name    string
	ns      string
	cluster string
	// site is the effective config of the store's cluster: its domain,
	// exposure and storage class.
	site config.ClusterSettings
	dir  string
	plan config.Plan
	// bk is the store's backups, nil when its plan takes none; set by
	// resolveBackup.
	bk *backup
	// hadBackups: its plan takes none now, but the store has a backup
	// password, kept (its backups stay readable) with the right to remove
	// the CronJob the chart made.
	hadBackups bool

	fluxInterval  metav1.Duration
	chartInterval metav1.Duration
}

func newStore(cfg *config.Config, req *v1alpha1.StoreRequest) (*store, error) {
	r := *req
	r.Spec.Cluster = ClusterOf(cfg, req)
	fluxInterval, err := time.ParseDuration(cfg.Flux.Interval)
	if err != nil {
		return nil, fmt.Errorf("flux.interval: %w", err)
	}
	chartInterval, err := time.ParseDuration(cfg.Chart.Source.Interval)
	if err != nil {
		return nil, fmt.Errorf("chart.source.interval: %w", err)
	}
	return &store{
		cfg:           cfg,
		req:           &r,
		name:          req.Metadata.Name,
		ns:            v1alpha1.Namespace(req.Metadata.Name),
		cluster:       r.Spec.Cluster,
		site:          cfg.ClusterSettings(r.Spec.Cluster),
		dir:           StoreDir(cfg, r.Spec.Cluster, req.Metadata.Name),
		plan:          cfg.Plans[req.Spec.Plan],
		fluxInterval:  metav1.Duration{Duration: fluxInterval},
		chartInterval: metav1.Duration{Duration: chartInterval},
	}, nil
}

// annotations carry the issue that owns the store, for the watcher.
func (s *store) annotations() map[string]string {
	if issue := s.req.Metadata.Annotations[v1alpha1.AnnotationIssue]; issue != "" {
		return map[string]string{v1alpha1.AnnotationIssue: issue}
	}
	return nil
}

func (s *store) labels() map[string]string {
	return map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedBy, v1alpha1.LabelStore: s.name}
}

func (s *store) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: s.labels()}
}

func kustomizeConfig(resources ...string) *kustypes.Kustomization {
	return &kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: resources,
	}
}

// fluxKustomization applies the store's manifests, decrypting the Secret
// with the cluster's age key. Deleting it (decommission) prunes them all.
func (s *store) fluxKustomization() *kustomizev1.Kustomization {
	retry := metav1.Duration{Duration: time.Minute}
	timeout := metav1.Duration{Duration: 5 * time.Minute}
	return &kustomizev1.Kustomization{
		TypeMeta: metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.ns,
			Namespace:   s.cfg.Flux.Namespace,
			Labels:      s.labels(),
			Annotations: s.annotations(),
		},
		Spec: kustomizev1.KustomizationSpec{
			Interval:           s.fluxInterval,
			RetryInterval:      &retry,
			Timeout:            &timeout,
			Path:               "./" + s.dir + "/" + ManifestsDir,
			Prune:              true,
			ServiceAccountName: s.cfg.Flux.ServiceAccountName,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{
				Kind: sourcev1.GitRepositoryKind,
				Name: s.cfg.Flux.SourceName,
			},
			Decryption: &kustomizev1.Decryption{
				Provider:  "sops",
				SecretRef: &meta.LocalObjectReference{Name: s.cfg.Flux.DecryptionSecret},
			},
		},
	}
}

func (s *store) namespace() *corev1.Namespace {
	labels := s.labels()
	labels["pod-security.kubernetes.io/enforce"] = "baseline"
	labels["pod-security.kubernetes.io/warn"] = "restricted"
	labels["pod-security.kubernetes.io/audit"] = "restricted"
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: s.ns, Labels: labels, Annotations: s.annotations()},
	}
}

// rbac is the account helm-controller impersonates to install the chart:
// it can manage what the chart creates, in this namespace only.
func (s *store) rbac() []any {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	read := []string{"get", "list", "watch"}
	return []any{
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: s.meta(InstallerServiceAccount),
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
			ObjectMeta: s.meta(InstallerServiceAccount),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps", "persistentvolumeclaims", "secrets", "serviceaccounts", "services"}, Verbs: all},
				{APIGroups: []string{""}, Resources: []string{"endpoints", "events", "pods"}, Verbs: read},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: all},
				{APIGroups: []string{"apps"}, Resources: []string{"controllerrevisions", "replicasets"}, Verbs: read},
				{APIGroups: []string{"batch"}, Resources: s.batchResources(), Verbs: all},
				// Both kinds of exposure, whichever the cluster uses: the
				// upgrade that moves a store from one to the other deletes
				// the object of the first.
				{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: all},
				{APIGroups: []string{"gateway.networking.k8s.io"}, Resources: []string{"httproutes"}, Verbs: all},
			},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: s.meta(InstallerServiceAccount),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: InstallerServiceAccount},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: InstallerServiceAccount, Namespace: s.ns}},
		},
	}
}

// batchResources are the batch objects the chart creates: the backup
// CronJob when the store takes backups (whose Jobs the CronJob
// controller, not the installer, creates).
func (s *store) batchResources() []string {
	if s.bk != nil || s.hadBackups {
		return []string{"cronjobs", "jobs"}
	}
	return []string{"jobs"}
}

func (s *store) secret(name string, data map[string][]byte, watched bool) *corev1.Secret {
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: s.meta(name),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	if watched {
		// helm-controller reconciles the HelmRelease when it changes.
		sec.Labels[meta.LabelKeyWatch] = meta.LabelValueWatchEnabled
	}
	return sec
}

// chartSource is the store's own source of the pinned chart, in its own
// namespace, so the HelmRelease works with --no-cross-namespace-refs.
func (s *store) chartSource() any {
	src := s.cfg.Chart.Source
	interval := s.chartInterval
	if src.Kind == config.SourceOCI {
		return &sourcev1.OCIRepository{
			TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.OCIRepositoryKind},
			ObjectMeta: s.meta(ChartSourceName),
			Spec: sourcev1.OCIRepositorySpec{
				URL:      src.URL,
				Interval: interval,
				Reference: &sourcev1.OCIRepositoryRef{
					Tag: s.cfg.Chart.Version,
				},
				LayerSelector: &sourcev1.OCILayerSelector{
					MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
					Operation: sourcev1.OCILayerCopy,
				},
			},
		}
	}
	ignore := fmt.Sprintf("/*\n!/%s/\n", strings.TrimPrefix(src.Path, "./"))
	return &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: s.meta(ChartSourceName),
		Spec: sourcev1.GitRepositorySpec{
			URL:       src.URL,
			Interval:  interval,
			Reference: &sourcev1.GitRepositoryRef{Tag: src.Tag, Commit: src.Commit},
			Ignore:    &ignore,
		},
	}
}

func (s *store) helmRelease(values *apiextensionsv1.JSON) *helmv2.HelmRelease {
	timeout := metav1.Duration{Duration: 10 * time.Minute}
	maxHistory := 5
	remediateLast := true
	labels := s.labels()
	labels["purrvision.dev/chart-version"] = s.cfg.Chart.Version
	labels["purrvision.dev/plan"] = s.req.Spec.Plan
	hr := &helmv2.HelmRelease{
		TypeMeta: metav1.TypeMeta{APIVersion: helmv2.GroupVersion.String(), Kind: helmv2.HelmReleaseKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        v1alpha1.ReleaseName,
			Namespace:   s.ns,
			Labels:      labels,
			Annotations: s.annotations(),
		},
		Spec: helmv2.HelmReleaseSpec{
			Interval:           s.fluxInterval,
			ReleaseName:        v1alpha1.ReleaseName,
			ServiceAccountName: InstallerServiceAccount,
			Timeout:            &timeout,
			MaxHistory:         &maxHistory,
			Install: &helmv2.Install{
				Remediation: &helmv2.InstallRemediation{Retries: 3},
			},
			Upgrade: &helmv2.Upgrade{
				CleanupOnFail: true,
				Remediation:   &helmv2.UpgradeRemediation{Retries: 3, RemediateLastFailure: &remediateLast},
			},
			DriftDetection: &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled},
			Values:         values,
			// The admin Secret names its password; a rotation changes it,
			// and helm-controller, watching the Secret, upgrades.
			ValuesFrom: []helmv2.ValuesReference{{Kind: "Secret", Name: SecretName, ValuesKey: KeyRevision, TargetPath: "credentials.revision"}},
		},
	}
	if s.cfg.Chart.Source.Kind == config.SourceOCI {
		hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: ChartSourceName}
	} else {
		hr.Spec.Chart = &helmv2.HelmChartTemplate{
			Spec: helmv2.HelmChartTemplateSpec{
				Chart:             s.cfg.Chart.Source.Path,
				ReconcileStrategy: sourcev1.ReconcileStrategyRevision,
				SourceRef:         helmv2.CrossNamespaceObjectReference{Kind: sourcev1.GitRepositoryKind, Name: ChartSourceName},
			},
		}
	}
	return hr
}
