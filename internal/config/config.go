// Package config loads and checks purrvision.yaml, the one file an operator
// writes. Every key is documented, with its default, in docs/config.md.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/purrvision/purrvision/internal/forge"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// DefaultPath is where the CLI looks when --config is not given.
const DefaultPath = "purrvision.yaml"

// Config is the whole of purrvision.yaml.
type Config struct {
	// BaseDomain is the parent of every store host: <store>.<baseDomain>,
	// for clusters that set none of their own.
	BaseDomain string `json:"baseDomain"`
	// TenantsRepo is the git repository Flux applies.
	TenantsRepo TenantsRepo `json:"tenantsRepo"`
	// SOPS says who can decrypt the store Secrets.
	SOPS SOPS `json:"sops"`
	// Plans are the sizes a store can have, by name.
	Plans map[string]Plan `json:"plans"`
	// Exposure is how clusters that set none serve their stores; empty:
	// see ClusterSettings.
	Exposure Exposure `json:"exposure,omitempty"`
	// Gateway is the shared Gateway of clusters that set none of their own.
	Gateway Gateway `json:"gateway"`
	// Ingress describes the ingress controller of clusters that set none.
	Ingress Ingress `json:"ingress"`
	// Capacity is the capacity of clusters that set none.
	Capacity Capacity `json:"capacity"`
	// Network holds the addresses a store's network policies refer to.
	Network Network `json:"network"`
	// Chart is where Flux gets charts/woocommerce from, pinned.
	Chart Chart `json:"chart"`
	// Flux names the Flux objects the rendered stores hang off.
	Flux Flux `json:"flux"`
	// Clusters are the clusters stores can land on; the first is the default.
	Clusters []Cluster `json:"clusters"`
	// ReservedNames are store names nobody may request, on top of the
	// built-in ones (default, kube-*, flux-system, purrvision*).
	ReservedNames []string `json:"reservedNames,omitempty"`
	// GitHub is how the service reaches GitHub.
	GitHub GitHub `json:"github"`
	// Listen is the address of the HTTP server of `purrvision serve`.
	Listen string `json:"listen"`
	// StatusPage configures the read-only page at GET /.
	StatusPage StatusPage `json:"statusPage"`
	// Service is how Purrvision itself is reached, for `purrvision flux`.
	Service Service `json:"service,omitempty"`
	// Ledger configures the bot's own records on the tenants repo.
	Ledger Ledger `json:"ledger"`
	// Limits bound what one person can make the service do.
	Limits Limits `json:"limits,omitempty"`
	// Backups hold what store backups share: the default target and how
	// long a decommissioned store's backups stay.
	Backups Backups `json:"backups,omitempty"`
}

// DefaultOpenRequestsPerRequester is limits.openRequestsPerRequester
// when the config does not set it.
const DefaultOpenRequestsPerRequester = 5

// Limits bound what one person can make the service do.
type Limits struct {
	// OpenRequestsPerRequester bounds a requester's store requests open
	// and not merged yet; nil is DefaultOpenRequestsPerRequester, 0 no
	// limit.
	OpenRequestsPerRequester *int `json:"openRequestsPerRequester,omitempty"`
}

// OpenRequests is the most store requests one requester may have open
// and not merged; 0 is no limit.
func (l Limits) OpenRequests() int {
	if l.OpenRequestsPerRequester == nil {
		return DefaultOpenRequestsPerRequester
	}
	return *l.OpenRequestsPerRequester
}

// Ledger configures the ledger branch (internal/ledger).
type Ledger struct {
	// SigningKeyFiles hold the keys its records are signed with (made by
	// `purrvision ledger keygen`): the first signs, every one verifies.
	// Files only: a key is a secret.
	SigningKeyFiles []string `json:"signingKeyFiles,omitempty"`
}

// StatusPage configures the status page.
type StatusPage struct {
	// URL is the page's address as people reach it, such as
	// https://stores.example.com/; deployment statuses and progress
	// comments link to each store's row on it. No links when empty.
	URL string `json:"url,omitempty"`
	// Auth, when set, asks for HTTP basic authentication.
	Auth *StatusPageAuth `json:"auth,omitempty"`
}

// StatusPageAuth is the one account that may read the status page.
type StatusPageAuth struct {
	Username     string `json:"username"`
	PasswordFile string `json:"passwordFile"`
}

// TenantsRepo is the GitOps repository.
type TenantsRepo struct {
	URL    string `json:"url"`
	Branch string `json:"branch"`
	// Path is the folder inside the repository that holds the clusters.
	Path string `json:"path"`
	// Repo is owner/name of the tenants repo on GitHub, where store pull
	// requests are opened.
	Repo string `json:"repo,omitempty"`
	// CloneDir keeps the service's clone on disk; in memory when empty.
	CloneDir string `json:"cloneDir,omitempty"`
}

// SOPS lists the age recipients every store Secret is encrypted for.
type SOPS struct {
	AgeRecipients []string `json:"ageRecipients"`
}

// Plan is one store size.
type Plan struct {
	CPU     resource.Quantity `json:"cpu"`
	Memory  resource.Quantity `json:"memory"`
	Storage resource.Quantity `json:"storage"`
	Pods    int32             `json:"pods"`
	// InternetEgress lets the store's web pods reach the internet on 443.
	InternetEgress bool `json:"internetEgress"`
	// StorageClass for the store's volumes; the cluster default when empty.
	StorageClass string `json:"storageClass,omitempty"`
	// Backups, when set, back the plan's stores up on a schedule; a plan
	// without them takes no backups.
	Backups *PlanBackups `json:"backups,omitempty"`
}

// Ingress is the ingress controller the store's web pods accept traffic from.
type Ingress struct {
	Namespace string            `json:"namespace"`
	PodLabels map[string]string `json:"podLabels"`
	ClassName string            `json:"className,omitempty"`
	TLS       IngressTLS        `json:"tls"`
}

// IngressTLS turns TLS on for store hosts.
type IngressTLS struct {
	// Enabled is a pointer so that a cluster's false overrides a top-level
	// true; ClusterSettings resolves it.
	Enabled *bool `json:"enabled,omitempty"`
	// ClusterIssuer is the cert-manager ClusterIssuer annotation, if any.
	ClusterIssuer string `json:"clusterIssuer,omitempty"`
}

// Network holds the cluster addresses that store network policies name.
type Network struct {
	// DNS is where kube-dns runs.
	DNS DNS `json:"dns"`
	// InternalCIDRs are excluded from the internet egress a plan may allow,
	// so a store can never reach the cluster, its nodes or cloud metadata.
	InternalCIDRs []string `json:"internalCIDRs"`
}

// DNS selects the cluster DNS pods.
type DNS struct {
	Namespace string            `json:"namespace"`
	PodLabels map[string]string `json:"podLabels"`
}

// Chart pins the store chart.
type Chart struct {
	// Version is the chart version; for an OCIRepository it is the tag.
	Version string      `json:"version"`
	Source  ChartSource `json:"source"`
	// Image, when set, is the store image (WordPress, wp-cli and
	// WooCommerce) every store runs instead of the chart's own: a mirror,
	// or a build of your own. A change of it reaches the stores through a
	// rollout, as a chart bump does.
	Image *ChartImage `json:"image,omitempty"`
}

// ChartImage names an image in a registry, pinned by tag, digest or both.
type ChartImage struct {
	// Repository is the image without tag or digest, such as
	// registry.example.com/mirror/woocommerce.
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	// Digest, sha256:<64 hex>, pins the image's content; the tag is then
	// only for people.
	Digest string `json:"digest,omitempty"`
}

// Image reference grammar (distribution/reference), restricted to what a
// store image needs: a lowercase repository path with an optional
// registry host and port, a tag, a sha256 digest.
var (
	imageRepository = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	imageTag        = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigest     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

func (im *ChartImage) validate() []error { return im.validateAt("chart.image") }

// validateAt checks an image at key in the config.
func (im *ChartImage) validateAt(key string) []error {
	if im == nil {
		return nil
	}
	var errs []error
	switch {
	case im.Repository == "":
		errs = append(errs, fmt.Errorf("%s.repository: required when %s is set; the image without tag or digest, such as registry.example.com/mirror/woocommerce", key, key))
	case len(im.Repository) > 255 || !imageRepository.MatchString(im.Repository):
		errs = append(errs, fmt.Errorf("%s.repository: %q is not an image repository (lowercase path, optional registry host, no tag, digest or scheme), such as registry.example.com/mirror/woocommerce", key, im.Repository))
	}
	if im.Tag == "" && im.Digest == "" {
		errs = append(errs, fmt.Errorf("%s: pin the image with %s.tag, %s.digest (sha256:...) or both", key, key, key))
	}
	if im.Tag != "" && (!imageTag.MatchString(im.Tag) || im.Tag == "latest") {
		errs = append(errs, fmt.Errorf("%s.tag: %q is not a pinned tag (letters, digits, _ . -, at most 128, never latest)", key, im.Tag))
	}
	if im.Digest != "" && !imageDigest.MatchString(im.Digest) {
		errs = append(errs, fmt.Errorf("%s.digest: %q is not sha256:<64 lowercase hex digits>", key, im.Digest))
	}
	return errs
}

// ChartSource is the Flux source each store pulls the chart from.
type ChartSource struct {
	// Kind is GitRepository or OCIRepository.
	Kind string `json:"kind"`
	URL  string `json:"url"`
	// Tag or Commit pins a GitRepository; one of them is required.
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
	// Path of the chart inside a GitRepository.
	Path string `json:"path,omitempty"`
	// Interval is how often Flux checks the source.
	Interval string `json:"interval"`
}

// Chart source kinds.
const (
	SourceGit = "GitRepository"
	SourceOCI = "OCIRepository"
)

// Flux names the cluster-side objects the stores depend on.
type Flux struct {
	// Namespace where the per-store Kustomizations live.
	Namespace string `json:"namespace"`
	// SourceName is the GitRepository of the tenants repo in Namespace.
	SourceName string `json:"sourceName"`
	// DecryptionSecret holds the age key (key name ending in .agekey).
	DecryptionSecret string `json:"decryptionSecret"`
	// Interval of the per-store Kustomizations and HelmReleases.
	Interval string `json:"interval"`
	// ServiceAccountName the per-store Kustomizations act as:
	// StoresServiceAccount unless set. `purrvision flux` writes it into
	// tenants/rbac.yaml, in Namespace, with just the rights a store needs.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// SourceSecret, when set, is the Secret in Namespace that Flux fetches
	// the tenants repo with (a private repo): username and password for an
	// https URL, identity and known_hosts for an ssh one. `purrvision flux`
	// writes it as the GitRepository's secretRef.
	SourceSecret string `json:"sourceSecret,omitempty"`
}

// StoresServiceAccount is the default of flux.serviceAccountName: the
// account in flux.namespace that `purrvision flux` writes into
// tenants/rbac.yaml for the per-store Kustomizations.
const StoresServiceAccount = "purrvision-stores"

// TenantsServiceAccount is the account in flux.namespace that each
// cluster's Kustomization tenants-<cluster> acts as: it may apply and
// prune Kustomizations in flux.namespace and nothing else
// (tenants/rbac.yaml, written by `purrvision flux`).
const TenantsServiceAccount = "purrvision-tenants"

// reservedAccounts are the accounts of flux.namespace that the per-store
// Kustomizations must not act as, each with why: tenants/rbac.yaml would
// give it a store's rights, or it holds more than a store's.
var reservedAccounts = map[string]string{
	"default":                     "the account the lockdown (flux/lockdown) gives every Flux object that names none, so a store's rights on it would reach any such object",
	TenantsServiceAccount:         "the account of the tenants Kustomizations, which may apply Kustomizations only",
	"kustomize-controller":        "Flux's own controller account, which may do anything in the cluster",
	"helm-controller":             "Flux's own controller account, which may do anything in the cluster",
	"source-controller":           "Flux's own controller account",
	"notification-controller":     "Flux's own controller account",
	"image-reflector-controller":  "Flux's own controller account",
	"image-automation-controller": "Flux's own controller account",
}

// Cluster is one target cluster. Every key but name may be left out: the
// top-level one applies (ClusterSettings resolves them).
type Cluster struct {
	Name string `json:"name"`
	// BaseDomain is the parent of this cluster's store hosts.
	BaseDomain string `json:"baseDomain,omitempty"`
	// Exposure is how this cluster's stores are served.
	Exposure Exposure `json:"exposure,omitempty"`
	// Gateway is the cluster's shared Gateway.
	Gateway Gateway `json:"gateway"`
	// Ingress is the cluster's ingress controller.
	Ingress Ingress `json:"ingress"`
	// StorageClass of the volumes of stores whose plan names none.
	StorageClass string `json:"storageClass,omitempty"`
	// Capacity is what the stores placed on the cluster may add up to.
	Capacity Capacity `json:"capacity"`
	// Labels describe the cluster for placement, e.g. region: eu.
	Labels map[string]string `json:"labels,omitempty"`
	// Backup is the cluster's backup target, instead of backups.target.
	Backup *BackupTarget `json:"backup,omitempty"`
}

// Exposure is how a store is reached from outside the cluster.
type Exposure string

// Exposures.
const (
	// ExposureGateway attaches an HTTPRoute to the cluster's shared Gateway.
	ExposureGateway Exposure = "gateway"
	// ExposureIngress gives the store an Ingress of the ingress controller.
	ExposureIngress Exposure = "ingress"
)

// Gateway is a shared Gateway API Gateway that store HTTPRoutes attach to,
// and the pods that carry its traffic.
type Gateway struct {
	// ParentRef names the Gateway (and optionally its listener).
	ParentRef ParentRef `json:"parentRef"`
	// Namespace of the Gateway's pods, the only source of traffic to store
	// web pods; the Gateway's own namespace when empty.
	Namespace string `json:"namespace,omitempty"`
	// PodLabels of the Gateway's pods; when empty, the label the Gateway API
	// recommends implementations put on them (gateway.networking.k8s.io/gateway-name).
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// ParentRef is an HTTPRoute's reference to its Gateway.
type ParentRef struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// SectionName is the Gateway listener; all that accept the host when empty.
	SectionName string `json:"sectionName,omitempty"`
}

// LabelGatewayName is the label GEP-1762 asks in-cluster Gateway
// implementations to put on the pods they run for a Gateway.
const LabelGatewayName = "gateway.networking.k8s.io/gateway-name"

// Capacity is what the stores on a cluster may add up to, in plan quotas.
// A nil field is unlimited.
type Capacity struct {
	CPU     *resource.Quantity `json:"cpu,omitempty"`
	Memory  *resource.Quantity `json:"memory,omitempty"`
	Storage *resource.Quantity `json:"storage,omitempty"`
	Stores  *int               `json:"stores,omitempty"`
}

// GitHub is how the service talks to GitHub.
type GitHub struct {
	APIURL    string `json:"apiURL"`
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	App       App    `json:"app"`
	// WebhookSecretFile holds the webhook secret shared with GitHub.
	WebhookSecretFile string `json:"webhookSecretFile,omitempty"`
	// WebhookSecretPreviousFile holds the secret a rotation retires:
	// deliveries signed with it are accepted too until it is removed
	// (docs/operations.md, "Rotating the webhook secret").
	WebhookSecretPreviousFile string `json:"webhookSecretPreviousFile,omitempty"`
	// Repo is owner/name of the repository where requests are filed.
	Repo string `json:"repo"`
	// BotLogin is the login Purrvision acts as; only its comments are
	// trusted as its own. Optional: unset, the service and the CLI take
	// the login GitHub says their credentials act as (internal/app's
	// Identify); set, it must be that login.
	BotLogin string `json:"botLogin,omitempty"`
	// CommandTeams (org/team) may run /purrvision commands on any store,
	// besides the requester and collaborators with write access.
	CommandTeams []string `json:"commandTeams,omitempty"`
	// PlatformTeam (org/team) owns the tenants folder, flux/ and
	// .sops.yaml in the tenants repo's CODEOWNERS, which `purrvision
	// setup` proposes; setup requires it.
	PlatformTeam string `json:"platformTeam,omitempty"`
	// SetupAppID is the GitHub App's ID that `purrvision setup` binds the
	// required check and the rulesets' bypass to, for the service's drift
	// check when it acts with a token; with github.app, its ID. See
	// CheckAppID.
	SetupAppID int64 `json:"setupAppID,omitempty"`
}

// CheckAppID is the App ID the service's drift check compares GitHub's
// settings with: github.app.id, else github.setupAppID; 0 when neither
// is set.
func (g GitHub) CheckAppID() int64 {
	if g.App.ID != 0 {
		return g.App.ID
	}
	return g.SetupAppID
}

// App is a GitHub App installation.
type App struct {
	ID             int64  `json:"id,omitempty"`
	InstallationID int64  `json:"installationID,omitempty"`
	PrivateKeyFile string `json:"privateKeyFile,omitempty"`
}

// Load reads the file at path, applies defaults and validates it.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a config document strictly, applies defaults and validates.
func Parse(data []byte) (*Config, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Default fills in every key the operator left out.
func (c *Config) Default() {
	if c.TenantsRepo.Branch == "" {
		c.TenantsRepo.Branch = "main"
	}
	if c.TenantsRepo.Path == "" {
		c.TenantsRepo.Path = "tenants"
	}
	if c.Ingress.Namespace == "" {
		c.Ingress.Namespace = "ingress-nginx"
	}
	if len(c.Ingress.PodLabels) == 0 {
		c.Ingress.PodLabels = map[string]string{"app.kubernetes.io/name": "ingress-nginx"}
	}
	if c.Network.DNS.Namespace == "" {
		c.Network.DNS.Namespace = "kube-system"
	}
	if len(c.Network.DNS.PodLabels) == 0 {
		c.Network.DNS.PodLabels = map[string]string{"k8s-app": "kube-dns"}
	}
	if c.Network.InternalCIDRs == nil {
		c.Network.InternalCIDRs = []string{
			"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
			"100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
			"fc00::/7", "fe80::/10", "::1/128",
		}
	}
	if c.Chart.Source.Kind == "" {
		c.Chart.Source.Kind = SourceGit
	}
	if c.Chart.Source.Kind == SourceGit && c.Chart.Source.Path == "" {
		c.Chart.Source.Path = "./charts/woocommerce"
	}
	if c.Chart.Source.Interval == "" {
		c.Chart.Source.Interval = "1h"
	}
	if c.Flux.Namespace == "" {
		c.Flux.Namespace = "flux-system"
	}
	if c.Flux.SourceName == "" {
		c.Flux.SourceName = "tenants"
	}
	if c.Flux.DecryptionSecret == "" {
		c.Flux.DecryptionSecret = "sops-age"
	}
	if c.Flux.Interval == "" {
		c.Flux.Interval = "10m"
	}
	if c.Flux.ServiceAccountName == "" {
		c.Flux.ServiceAccountName = StoresServiceAccount
	}
	if len(c.Clusters) == 0 {
		c.Clusters = []Cluster{{Name: "default"}}
	}
	if c.GitHub.APIURL == "" {
		c.GitHub.APIURL = "https://api.github.com/"
	}
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.Backups.KeepAfterDecommission == "" {
		c.Backups.KeepAfterDecommission = DefaultKeepAfterDecommission
	}
}

// Validate reports every problem of the config at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if c.TenantsRepo.Path != "" && !isCleanRelPath(c.TenantsRepo.Path) {
		add("tenantsRepo.path", "%q must be a relative path inside the repository without '..'", c.TenantsRepo.Path)
	}
	if u := c.TenantsRepo.URL; u != "" {
		if msg := tenantsURLProblem(u); msg != "" {
			add("tenantsRepo.url", "%s", msg)
		}
	}
	if b := c.TenantsRepo.Branch; b != "" && !isBranchName(b) {
		add("tenantsRepo.branch", "%q is not a git branch name; give a branch such as main, without spaces, '..', '~^:?*[\\' or a leading '-'", b)
	}
	if len(c.SOPS.AgeRecipients) == 0 {
		add("sops.ageRecipients", "required; list at least one age public key (age1...) that Flux can decrypt with")
	}
	for i, r := range c.SOPS.AgeRecipients {
		if err := CheckAgeRecipient(r); err != nil {
			add(fmt.Sprintf("sops.ageRecipients[%d]", i), "%v", err)
		}
	}
	if len(c.Plans) == 0 {
		add("plans", "required; define at least one plan, e.g. small")
	}
	for _, name := range c.PlanNames() {
		p := c.Plans[name]
		key := "plans." + name
		if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
			add(key, "plan names must be lowercase letters, digits and '-'")
		}
		for _, q := range []struct {
			field string
			q     resource.Quantity
		}{{"cpu", p.CPU}, {"memory", p.Memory}, {"storage", p.Storage}} {
			if q.q.Sign() <= 0 {
				add(key+"."+q.field, "must be a positive quantity, e.g. 1 or 2Gi")
			}
		}
		if !p.Memory.IsZero() && p.Memory.Value() < 256<<20 {
			add(key+".memory", "%s is too small for WordPress and MariaDB; give at least 256Mi", p.Memory.String())
		}
		if !p.Storage.IsZero() && p.Storage.Value() < 1<<30 {
			add(key+".storage", "%s is too small; give at least 1Gi", p.Storage.String())
		}
		if p.Pods < 2 {
			add(key+".pods", "must be at least 2 (WordPress and MariaDB)")
		}
	}
	errs = append(errs, checkIngress("ingress", c.Ingress)...)
	errs = append(errs, checkLabels("network.dns.podLabels", c.Network.DNS.PodLabels)...)
	for i, cidr := range c.Network.InternalCIDRs {
		if msgs := validation.IsValidCIDR(nil, cidr); len(msgs) > 0 {
			add(fmt.Sprintf("network.internalCIDRs[%d]", i), "%q is not a CIDR like 10.0.0.0/8", cidr)
		}
	}
	errs = append(errs, c.Chart.validate()...)
	errs = append(errs, c.Chart.Image.validate()...)
	errs = append(errs, c.Service.validate()...)
	if msgs := validation.IsDNS1123Label(c.Flux.Namespace); len(msgs) > 0 {
		add("flux.namespace", "%q is not a Kubernetes namespace name; give lowercase letters, digits and '-', such as flux-system", c.Flux.Namespace)
	}
	fluxNames := [][2]string{{"flux.sourceName", c.Flux.SourceName}, {"flux.decryptionSecret", c.Flux.DecryptionSecret}, {"flux.serviceAccountName", c.Flux.ServiceAccountName}}
	if c.Flux.SourceSecret != "" {
		fluxNames = append(fluxNames, [2]string{"flux.sourceSecret", c.Flux.SourceSecret})
	}
	for _, f := range fluxNames {
		if msgs := validation.IsDNS1123Subdomain(f[1]); len(msgs) > 0 {
			add(f[0], "%q is not a Kubernetes object name; give lowercase letters, digits, '-' and '.'", f[1])
		}
	}
	if why, ok := reservedAccounts[c.Flux.ServiceAccountName]; ok {
		add("flux.serviceAccountName", "%q is %s; leave the key out for %s, which purrvision flux writes with just a store's rights, or name an account of your own", c.Flux.ServiceAccountName, why, StoresServiceAccount)
	}
	for _, f := range [][2]string{{"flux.interval", c.Flux.Interval}, {"chart.source.interval", c.Chart.Source.Interval}} {
		if d, err := time.ParseDuration(f[1]); err != nil || d <= 0 {
			add(f[0], "%q is not a positive duration like 10m or 1h", f[1])
		}
	}
	errs = append(errs, c.validateClusters()...)
	errs = append(errs, c.validateBackups()...)
	if c.GitHub.Token != "" && c.GitHub.TokenFile != "" {
		add("github.token", "set github.token or github.tokenFile, not both")
	}
	if (c.GitHub.Token != "" || c.GitHub.TokenFile != "") && c.GitHub.App.ID != 0 {
		add("github.app.id", "use either a token or a GitHub App, not both")
	}
	if c.GitHub.App.ID != 0 && (c.GitHub.App.InstallationID == 0 || c.GitHub.App.PrivateKeyFile == "") {
		add("github.app", "a GitHub App needs id, installationID and privateKeyFile")
	}
	if _, err := url.Parse(c.GitHub.APIURL); err != nil {
		add("github.apiURL", "%v", err)
	}
	for _, f := range [][2]string{{"github.repo", c.GitHub.Repo}, {"tenantsRepo.repo", c.TenantsRepo.Repo}} {
		if f[1] == "" {
			continue
		}
		if owner, name, ok := strings.Cut(f[1], "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			add(f[0], "%q must be owner/name", f[1])
		}
	}
	if u := c.StatusPage.URL; u != "" {
		if msg := statusPageURLProblem(u); msg != "" {
			add("statusPage.url", "%q %s", u, msg)
		}
	}
	if n := c.Limits.OpenRequestsPerRequester; n != nil && *n < 0 {
		add("limits.openRequestsPerRequester", "%d must be 0 (no limit) or more", *n)
	}
	if a := c.StatusPage.Auth; a != nil && (a.Username == "" || a.PasswordFile == "") {
		add("statusPage.auth", "needs username and passwordFile")
	}
	seenKeys := map[string]bool{}
	for i, f := range c.Ledger.SigningKeyFiles {
		switch {
		case strings.TrimSpace(f) == "":
			add(fmt.Sprintf("ledger.signingKeyFiles[%d]", i), "is empty; give the path of a key file made by `purrvision ledger keygen -o FILE`")
		case seenKeys[f]:
			add(fmt.Sprintf("ledger.signingKeyFiles[%d]", i), "%q is listed twice; list each key file once", f)
		}
		seenKeys[f] = true
	}
	for i, t := range c.GitHub.CommandTeams {
		if !isTeam(t) {
			add(fmt.Sprintf("github.commandTeams[%d]", i), "%q must be org/team", t)
		}
	}
	if t := c.GitHub.PlatformTeam; t != "" && !isTeam(t) {
		add("github.platformTeam", "%q must be org/team, such as acme/platform", t)
	}
	switch id := c.GitHub.SetupAppID; {
	case id < 0:
		add("github.setupAppID", "%d is not an App ID; give the GitHub App's ID (its settings page shows it)", id)
	case id != 0 && c.GitHub.App.ID != 0 && id != c.GitHub.App.ID:
		add("github.setupAppID", "%d differs from github.app.id %d; with github.app, leave it out", id, c.GitHub.App.ID)
	}
	return errors.Join(errs...)
}

// tenantsURLProblem says what is wrong with tenantsRepo.url, or "": the
// service clones it, and `purrvision flux` writes it as the url of Flux's
// GitRepository, which takes http, https and ssh URLs only.
func tenantsURLProblem(u string) string {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL (%v); give https://HOST/OWNER/REPO.git or ssh://git@HOST/OWNER/REPO.git (not git@HOST:OWNER/REPO.git)", u, err)
	case parsed.Scheme != "https" && parsed.Scheme != "http" && parsed.Scheme != "ssh":
		return fmt.Sprintf("%q is not an https or ssh URL; give https://HOST/OWNER/REPO.git or ssh://git@HOST/OWNER/REPO.git", u)
	case parsed.Host == "":
		return fmt.Sprintf("%q has no host; give https://HOST/OWNER/REPO.git or ssh://git@HOST/OWNER/REPO.git", u)
	case strings.ContainsAny(u, " \t\r\n"):
		return fmt.Sprintf("%q holds white space; percent-encode it", u)
	}
	return ""
}

// isBranchName is whether b is a branch name git takes (git
// check-ref-format --branch, for the names a config would hold).
func isBranchName(b string) bool {
	if strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".") ||
		strings.HasSuffix(b, ".lock") || b == "@" || strings.Contains(b, "..") || strings.Contains(b, "//") || strings.Contains(b, "@{") {
		return false
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	for _, r := range b {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) {
			return false
		}
	}
	return true
}

// isTeam is whether t reads org/team.
func isTeam(t string) bool {
	org, team, ok := strings.Cut(t, "/")
	return ok && org != "" && team != "" && !strings.Contains(team, "/")
}

func (ch Chart) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if ch.Version == "" {
		add("chart.version", "required; pin the chart version, e.g. 0.1.0")
	}
	s := ch.Source
	if s.URL == "" {
		add("chart.source.url", "required; the git or OCI URL Flux pulls the chart from")
	}
	switch s.Kind {
	case SourceGit:
		if (s.Tag == "") == (s.Commit == "") {
			add("chart.source", "a GitRepository chart is pinned by exactly one of tag or commit")
		}
		if !isCleanRelPath(strings.TrimPrefix(s.Path, "./")) {
			add("chart.source.path", "%q must be a relative path inside the repository", s.Path)
		}
		if s.URL != "" && !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "ssh://") {
			add("chart.source.url", "%q must start with https://, http:// or ssh://", s.URL)
		}
	case SourceOCI:
		if s.URL != "" && !strings.HasPrefix(s.URL, "oci://") {
			add("chart.source.url", "%q must start with oci://", s.URL)
		}
		if s.Tag != "" || s.Commit != "" || s.Path != "" {
			add("chart.source", "tag, commit and path are for GitRepository; an OCIRepository is pinned by chart.version")
		}
	default:
		add("chart.source.kind", "%q is not one of %s, %s", s.Kind, SourceGit, SourceOCI)
	}
	return errs
}

// PlanNames returns the plan names in order.
func (c *Config) PlanNames() []string {
	names := make([]string, 0, len(c.Plans))
	for n := range c.Plans {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ClusterNames returns the cluster names, the default first.
func (c *Config) ClusterNames() []string {
	names := make([]string, len(c.Clusters))
	for i, cl := range c.Clusters {
		names[i] = cl.Name
	}
	return names
}

// HasCluster reports whether name is a configured cluster.
func (c *Config) HasCluster(name string) bool {
	return slices.Contains(c.ClusterNames(), name)
}

// CheckAgeRecipient reports whether s is an age X25519 or SSH public key.
func CheckAgeRecipient(s string) error {
	if strings.HasPrefix(s, "ssh-") {
		if _, err := agessh.ParseRecipient(s); err != nil {
			return fmt.Errorf("not a usable SSH public key: %w", err)
		}
		return nil
	}
	if _, err := age.ParseX25519Recipient(s); err != nil {
		return fmt.Errorf("%q is not an age public key (age1...)", s)
	}
	return nil
}

func checkLabels(key string, labels map[string]string) []error {
	var errs []error
	for _, k := range sortedKeys(labels) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a label key: %s", key, k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(labels[k]); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not a label value: %s", key, k, labels[k], strings.Join(msgs, "; ")))
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isCleanRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "" {
			return false
		}
	}
	return true
}

// ServeErrors reports what `purrvision serve` needs beyond rendering.
func (c *Config) ServeErrors() error {
	var errs []error
	for _, f := range [][2]string{
		{"tenantsRepo.url", c.TenantsRepo.URL}, {"tenantsRepo.repo", c.TenantsRepo.Repo},
		{"github.repo", c.GitHub.Repo}, {"github.webhookSecretFile", c.GitHub.WebhookSecretFile},
	} {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("%s: required by serve", f[0]))
		}
	}
	if c.GitHub.Token == "" && c.GitHub.TokenFile == "" && c.GitHub.App.ID == 0 {
		errs = append(errs, errors.New("github: set github.tokenFile or github.app so serve can call GitHub"))
	}
	if p := c.GitHub.WebhookSecretPreviousFile; p != "" && p == c.GitHub.WebhookSecretFile {
		errs = append(errs, errors.New("github.webhookSecretPreviousFile: names the same file as github.webhookSecretFile; during a rotation it holds the old secret, the other the new one; remove it when the rotation is done"))
	}
	if len(c.Ledger.SigningKeyFiles) == 0 {
		errs = append(errs, errors.New("ledger.signingKeyFiles: required by serve; create a key with `purrvision ledger keygen -o FILE` and list the file (docs/operations.md)"))
	}
	return errors.Join(errs...)
}

// maxStatusPageURL leaves room in the links to a store's row (the store's
// name twice) and in the comments that carry them.
const maxStatusPageURL = 200

// statusPageURLProblem says what is wrong with statusPage.url; "" when
// nothing is.
func statusPageURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil:
		return "is not an http or https URL like https://stores.example.com/"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return "must have no query or fragment: links to a store add their own"
	case len(s) > maxStatusPageURL:
		return fmt.Sprintf("is longer than %d characters", maxStatusPageURL)
	case strings.ContainsAny(s, " |()<>\"\\`"):
		return "has characters that break links in Markdown; percent-encode them"
	}
	return ""
}

// Repos are the repository store issues are filed in (github.repo) and the
// tenants repository (tenantsRepo.repo), parsed; the error names the key.
func (c *Config) Repos() (requests, tenants forge.Repo, err error) {
	if requests, err = forge.ParseRepo(c.GitHub.Repo); err != nil {
		return forge.Repo{}, forge.Repo{}, fmt.Errorf("github.repo: %w", err)
	}
	if tenants, err = forge.ParseRepo(c.TenantsRepo.Repo); err != nil {
		return forge.Repo{}, forge.Repo{}, fmt.Errorf("tenantsRepo.repo: %w", err)
	}
	return requests, tenants, nil
}
