package renderer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/sopsage"
)

// Names of the objects inside a store namespace. charts/woocommerce and
// the network policies agree on the component labels.
const (
	InstallerServiceAccount = "store-installer"
	ChartSourceName         = "woocommerce-chart"
	LabelComponent          = "app.kubernetes.io/component"
	ComponentWeb            = "wordpress"
	ComponentDatabase       = "database"
	LabelDatabaseClient     = "purrvision.dev/database-client"
	WebPort                 = 8080
	DatabasePort            = 3306
)

// Paths of the files of one store, relative to its directory.
const (
	FileRequest           = "store.yaml"
	FileKustomization     = "kustomization.yaml"
	FileFluxKustomization = "flux-kustomization.yaml"
	ManifestsDir          = "manifests"
	FileNamespace         = "manifests/namespace.yaml"
	FileRBAC              = "manifests/rbac.yaml"
	FileNetworkPolicies   = "manifests/network-policies.yaml"
	FileQuota             = "manifests/quota.yaml"
	FileSecret            = "manifests/credentials.sops.yaml"
	FileDatabaseSecret    = "manifests/database.sops.yaml"
	FileChartSource       = "manifests/chart-source.yaml"
	FileHelmRelease       = "manifests/helmrelease.yaml"
	FileManifestsKustom   = "manifests/kustomization.yaml"
)

// ErrInvalidRequest is returned, wrapped, when the request does not pass
// Validate; errors.As with *InvalidRequestError gives the field errors.
var ErrInvalidRequest = errors.New("invalid store request")

// InvalidRequestError carries the field errors of a request.
type InvalidRequestError struct {
	Errors []error
}

func (e *InvalidRequestError) Error() string {
	return fmt.Sprintf("invalid store request: %v", errors.Join(e.Errors...))
}

func (e *InvalidRequestError) Unwrap() error { return ErrInvalidRequest }

// Input is everything a render depends on.
type Input struct {
	Config  *config.Config
	Request *v1alpha1.StoreRequest
	// Recipients are the age recipients of the Secret; the config's
	// sops.ageRecipients when empty.
	Recipients []string
	// Rand is the source of the credentials and the SOPS data key:
	// crypto/rand.Reader outside tests.
	Rand io.Reader
	// Now is recorded as the SOPS lastmodified time.
	Now time.Time
	// KeepSecret, when set, is the store's current encrypted admin Secret
	// (FileSecret), written again as it is: the admin password stays, and
	// none is generated. Output.Credentials.AdminPassword is then empty.
	KeepSecret []byte
	// KeepDatabaseSecret is the same for the database Secret
	// (FileDatabaseSecret). Everything but a new store keeps it: MariaDB
	// keeps its passwords once it has initialized its data.
	KeepDatabaseSecret []byte
	// KeepBackupPasswordSecret is the same for the password of the
	// store's backup repository (FileBackupPasswordSecret): every caller
	// that keeps the database Secret keeps it, as the backups already
	// written need it. Without it, a store whose plan takes backups gets a
	// new password (a store rendered before it took backups, on its next
	// render).
	KeepBackupPasswordSecret []byte
	// KeepBackupTargetSecret is the store's sealed copy of its backup
	// target's key (FileBackupTargetSecret): written again as it is while
	// it holds BackupCredentials' key, sealed anew when the key changed.
	KeepBackupTargetSecret []byte
	// BackupCredentials are the backup targets' keys by cluster
	// (config.LoadBackupCredentials); needed for a store whose plan
	// takes backups.
	BackupCredentials map[string]config.BackupCredentials
	// Origin, when set, is recorded in the request copy as the
	// purrvision.dev/issue annotation: the issue that owns the store.
	Origin string
	// Placement, when set, is recorded in the request copy as the
	// purrvision.dev/placement annotation: why the store is on its
	// cluster. The request's own annotation is kept otherwise.
	Placement string
}

// File is one rendered file.
type File struct {
	// Path is relative to the root of the tenants repo.
	Path string
	Data []byte
}

// Output is one rendered store.
type Output struct {
	// Dir is the store's directory relative to the root of the tenants repo.
	Dir string
	// Files are sorted by path.
	Files []File
	// Credentials are the plaintext credentials sealed in the Secret. They
	// must only ever be handed to the owner, encrypted.
	Credentials Credentials
}

// File returns the rendered file at name, relative to the store directory.
func (o *Output) File(name string) ([]byte, bool) {
	for _, f := range o.Files {
		if f.Path == path.Join(o.Dir, name) {
			return f.Data, true
		}
	}
	return nil, false
}

// StoreDir is the directory of a store in the tenants repo:
// <tenantsRepo.path>/<cluster>/<shard>/<store>.
func StoreDir(cfg *config.Config, cluster, name string) string {
	return path.Join(ClusterDir(cfg, cluster), Shard(name), name)
}

// ClusterDir is the directory of a cluster's stores in the tenants repo.
func ClusterDir(cfg *config.Config, cluster string) string {
	return path.Join(cfg.TenantsRepo.Path, cluster)
}

// Shard is the two folders between a cluster's directory and a store's:
// the first two hex digits of the SHA-256 of the store name, one folder
// each ("a/5" for cat-cafe). Every folder on a store's path then holds at
// most 16 entries, or about N/256 stores at the last level, so a commit
// rewrites a few small trees instead of one with an entry per store: its
// cost hardly grows with the number of stores (BENCHMARKS.md).
func Shard(name string) string {
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:1])
	return h[:1] + "/" + h[1:]
}

// ShardDepth is how many folders Shard puts between a cluster's directory
// and its stores.
const ShardDepth = 2

// IsShardLevel reports whether a directory name is one level of a shard:
// one lower-case hex digit.
func IsShardLevel(name string) bool {
	return len(name) == 1 && strings.ContainsAny(name, "0123456789abcdef")
}

// ClusterOf returns the request's cluster, or the default one.
func ClusterOf(cfg *config.Config, req *v1alpha1.StoreRequest) string {
	if req.Spec.Cluster != "" {
		return req.Spec.Cluster
	}
	return cfg.Clusters[0].Name
}

// BaseDomainOf is the parent domain of the store's host: the baseDomain of
// its cluster. v1alpha1.Host and URL make the host and URL from it.
func BaseDomainOf(cfg *config.Config, req *v1alpha1.StoreRequest) string {
	return cfg.ClusterSettings(ClusterOf(cfg, req)).BaseDomain
}

// Render validates the request and renders every file of its store.
func Render(in Input) (*Output, error) {
	if in.Config == nil || in.Request == nil || in.Rand == nil {
		return nil, errors.New("rendering: config, request and random source are required")
	}
	if errs := Validate(in.Config, in.Request); len(errs) > 0 {
		return nil, &InvalidRequestError{Errors: errs.ToAggregate().Errors()}
	}
	recipients := in.Recipients
	if len(recipients) == 0 {
		recipients = in.Config.SOPS.AgeRecipients
	}
	for _, r := range recipients {
		if err := config.CheckAgeRecipient(r); err != nil {
			return nil, fmt.Errorf("age recipient: %w", err)
		}
	}

	s, err := newStore(in.Config, in.Request)
	if err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	if in.Origin != "" {
		ann := map[string]string{v1alpha1.AnnotationIssue: in.Origin}
		if why := s.req.Metadata.Annotations[v1alpha1.AnnotationPlacement]; why != "" {
			ann[v1alpha1.AnnotationPlacement] = why
		}
		s.req.Metadata.Annotations = ann
	}
	if in.Placement != "" {
		ann := maps.Clone(s.req.Metadata.Annotations) // the caller's map stays
		if ann == nil {
			ann = map[string]string{}
		}
		ann[v1alpha1.AnnotationPlacement] = in.Placement
		s.req.Metadata.Annotations = ann
	}

	if err := s.resolveBackup(); err != nil {
		return nil, fmt.Errorf("rendering backups: %w", err)
	}
	s.hadBackups = s.bk == nil && in.KeepBackupPasswordSecret != nil

	files := map[string][]byte{}
	creds, err := s.sealCredentials(in, recipients, files)
	if err != nil {
		return nil, err
	}
	if err := s.sealBackupSecrets(in, recipients, files); err != nil {
		return nil, err
	}
	netpols, err := s.networkPolicies()
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", FileNetworkPolicies, err)
	}
	values, err := s.values()
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", FileHelmRelease, err)
	}

	add := func(name string, objs ...any) error {
		data, err := encodeObjects(objs...)
		if err != nil {
			return fmt.Errorf("rendering %s: %w", name, err)
		}
		files[name] = data
		return nil
	}
	steps := []struct {
		name string
		objs []any
	}{
		{FileKustomization, []any{kustomizeConfig(FileFluxKustomization)}},
		{FileFluxKustomization, []any{s.fluxKustomization()}},
		{FileNamespace, []any{s.namespace()}},
		{FileRBAC, s.rbac()},
		{FileNetworkPolicies, netpols},
		{FileQuota, []any{s.resourceQuota(), s.limitRange()}},
		{FileChartSource, []any{s.chartSource()}},
		{FileHelmRelease, []any{s.helmRelease(values)}},
		{FileManifestsKustom, []any{kustomizeConfig(manifestResources(files)...)}},
	}
	for _, st := range steps {
		if err := add(st.name, st.objs...); err != nil {
			return nil, err
		}
	}

	if files[FileRequest], err = encodeRequest(s.req); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", FileRequest, err)
	}

	out := &Output{Dir: s.dir, Credentials: creds}
	for name, data := range files {
		out.Files = append(out.Files, File{Path: path.Join(s.dir, name), Data: data})
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].Path < out.Files[j].Path })
	return out, nil
}

// manifestResources lists, in apply order, the files the per-store Flux
// Kustomization applies; the backup Secrets that rendered holds.
func manifestResources(rendered map[string][]byte) []string {
	files := []string{FileNamespace, FileRBAC, FileNetworkPolicies, FileQuota, FileSecret, FileDatabaseSecret}
	for _, f := range []string{FileBackupPasswordSecret, FileBackupTargetSecret} {
		if _, ok := rendered[f]; ok {
			files = append(files, f)
		}
	}
	var out []string
	for _, f := range append(files, FileChartSource, FileHelmRelease) {
		out = append(out, path.Base(f))
	}
	return out
}

// encodeRequest writes the request back with its defaults filled in, so the
// copy in the tenants repo renders the same store again.
func encodeRequest(req *v1alpha1.StoreRequest) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# The request this store was rendered from. Purrvision reads it to\n# re-render and audit the store; edit it through a request, not by hand.\n")
	data, err := marshalYAML(req)
	if err != nil {
		return nil, err
	}
	b.Write(data)
	return b.Bytes(), nil
}

// sealCredentials writes the two Secret files: each is kept as the input
// gives it, or sealed with newly generated credentials. It returns the
// plaintext of what it sealed.
func (s *store) sealCredentials(in Input, recipients []string, files map[string][]byte) (Credentials, error) {
	if in.KeepSecret != nil && in.KeepDatabaseSecret != nil {
		files[FileSecret], files[FileDatabaseSecret] = in.KeepSecret, in.KeepDatabaseSecret
		return Credentials{}, nil
	}
	creds, err := GenerateCredentials(in.Rand)
	if err != nil {
		return Credentials{}, fmt.Errorf("rendering %s: %w", FileSecret, err)
	}
	for _, sec := range []struct {
		file, name string
		keep       []byte
		data       map[string][]byte
		watched    bool
		forget     func()
	}{
		{FileSecret, SecretName, in.KeepSecret, creds.adminData(), true, func() { creds.AdminPassword, creds.Revision = "", "" }},
		{FileDatabaseSecret, DatabaseSecretName, in.KeepDatabaseSecret, creds.databaseData(), false, func() {
			creds.DatabasePassword, creds.DatabaseRootPassword = "", ""
		}},
	} {
		if sec.keep != nil {
			files[sec.file] = sec.keep
			sec.forget()
			continue
		}
		enc, err := s.seal(in, recipients, s.secret(sec.name, sec.data, sec.watched))
		if err != nil {
			return Credentials{}, fmt.Errorf("rendering %s: %w", sec.file, err)
		}
		files[sec.file] = enc
	}
	return creds, nil
}

// seal encrypts one Secret with SOPS, with a new data key.
func (s *store) seal(in Input, recipients []string, secret *corev1.Secret) ([]byte, error) {
	dataKey := make([]byte, sopsage.DataKeySize)
	if _, err := io.ReadFull(in.Rand, dataKey); err != nil {
		return nil, fmt.Errorf("generating sops data key: %w", err)
	}
	plain, err := encodeObjects(secret)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return sopsage.Encrypt(plain, recipients, dataKey, in.Now)
}
