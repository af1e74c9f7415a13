package renderer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// The objects of a store whose plan takes backups (charts/woocommerce
// names the CronJob <release>-backup and the ConfigMap
// <release>-backup-scripts). The password of the store's restic
// repository and the target's S3 key are two Secrets: the password is
// written once and kept, like the database's; the key is the cluster's,
// sealed again whenever it changes, which the renderer sees without
// decrypting through AnnotationBackupCredentials.
const (
	ComponentBackup          = "backup"
	BackupPasswordSecretName = "woocommerce-backup-password"
	BackupTargetSecretName   = "woocommerce-backup-target"
	KeyResticPassword        = "restic-password"
	KeyAWSAccessKeyID        = "aws-access-key-id"
	KeyAWSSecretAccessKey    = "aws-secret-access-key"
	FileBackupPasswordSecret = "manifests/backup-password.sops.yaml"
	FileBackupTargetSecret   = "manifests/backup-target.sops.yaml"
	PolicyAllowBackupTarget  = "allow-backup-target"
	// AnnotationBackupCredentials, on the target Secret, is the
	// fingerprint of the key sealed in it (config.BackupCredentials).
	AnnotationBackupCredentials = "purrvision.dev/backup-credentials"
)

// BackupStoreID is a store's identity in its backups: its name and the
// first 12 hex digits of the SHA-256 of the issue that owns it (origin,
// such as acme/stores#7). A name is reused once its store is gone; the
// issue is not, so a new store of the same name never shares, and never
// reaches, the backups of the old one. It is a DNS label when name is.
func BackupStoreID(name, origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return name + "-" + hex.EncodeToString(sum[:])[:12]
}

// BackupRepository is the restic repository of a store: the target's
// prefix, the cluster, the store ID.
func BackupRepository(target *config.BackupTarget, cluster, storeID string) string {
	return target.Repository + "/" + cluster + "/" + storeID
}

// backup is what a store with backups needs to render them.
type backup struct {
	plan    config.PlanBackups
	target  *config.BackupTarget
	storeID string
}

// resolveBackup sets s.bk from the plan, the cluster and the issue that
// owns the store (its annotation, so after Input.Origin is applied); nil
// when the plan takes no backups.
func (s *store) resolveBackup() error {
	if s.plan.Backups == nil {
		s.bk = nil
		return nil
	}
	if s.site.Backup == nil {
		return fmt.Errorf("plan %q takes backups but cluster %q has no backup target; set clusters[].backup or backups.target in the config", s.req.Spec.Plan, s.cluster)
	}
	origin := s.req.Metadata.Annotations[v1alpha1.AnnotationIssue]
	if origin == "" {
		return fmt.Errorf("plan %q takes backups, and a store's backups are named after the issue that owns it, but the request has no %s annotation; render it with its issue (Input.Origin)", s.req.Spec.Plan, v1alpha1.AnnotationIssue)
	}
	s.bk = &backup{plan: *s.plan.Backups, target: s.site.Backup, storeID: BackupStoreID(s.name, origin)}
	return nil
}

// sealBackupSecrets writes the two backup Secret files: the password file
// as kept, or sealed with a new password; the target file as kept when it
// holds the current key, or sealed with it.
func (s *store) sealBackupSecrets(in Input, recipients []string, files map[string][]byte) error {
	if s.bk == nil {
		if s.hadBackups {
			files[FileBackupPasswordSecret] = in.KeepBackupPasswordSecret
		}
		return nil
	}
	creds, ok := in.BackupCredentials[s.cluster]
	if !ok || creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.Fingerprint == "" {
		return fmt.Errorf("rendering %s: no credentials of cluster %q's backup target were read; load them with config.LoadBackupCredentials into Input.BackupCredentials", FileBackupTargetSecret, s.cluster)
	}
	if in.KeepBackupPasswordSecret != nil {
		files[FileBackupPasswordSecret] = in.KeepBackupPasswordSecret
	} else {
		pw, err := password(in.Rand)
		if err != nil {
			return fmt.Errorf("rendering %s: generating password: %w", FileBackupPasswordSecret, err)
		}
		enc, err := s.seal(in, recipients, s.secret(BackupPasswordSecretName, map[string][]byte{KeyResticPassword: []byte(pw)}, false))
		if err != nil {
			return fmt.Errorf("rendering %s: %w", FileBackupPasswordSecret, err)
		}
		files[FileBackupPasswordSecret] = enc
	}
	if in.KeepBackupTargetSecret != nil && BackupTargetCurrent(in.KeepBackupTargetSecret, creds) {
		files[FileBackupTargetSecret] = in.KeepBackupTargetSecret
		return nil
	}
	sec := s.secret(BackupTargetSecretName, map[string][]byte{
		KeyAWSAccessKeyID:     []byte(creds.AccessKeyID),
		KeyAWSSecretAccessKey: []byte(creds.SecretAccessKey),
	}, false)
	sec.Annotations = map[string]string{AnnotationBackupCredentials: creds.Fingerprint}
	enc, err := s.seal(in, recipients, sec)
	if err != nil {
		return fmt.Errorf("rendering %s: %w", FileBackupTargetSecret, err)
	}
	files[FileBackupTargetSecret] = enc
	return nil
}

// BackupTargetCurrent says whether a store's sealed target Secret holds
// creds' key, so a render keeps it as it is.
func BackupTargetCurrent(sealed []byte, creds config.BackupCredentials) bool {
	return creds.Fingerprint != "" && sealedFingerprint(sealed) == creds.Fingerprint
}

// sealedFingerprint reads AnnotationBackupCredentials of a sealed target
// Secret: SOPS encrypts data alone, so the metadata reads as it was
// written. "" when the file does not parse or has none, and the key is
// then sealed again.
func sealedFingerprint(sealed []byte) string {
	var sec struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(sealed, &sec); err != nil {
		return ""
	}
	return sec.Metadata.Annotations[AnnotationBackupCredentials]
}

// allowBackupTarget lets the backup pods reach the target's addresses on
// its ports, and nothing else: DNS comes from allow-dns (every pod), the
// database from allow-clients-to-database (the pods are its clients).
func (s *store) allowBackupTarget() (*networkingv1.NetworkPolicy, error) {
	b := s.bk
	tcp := corev1.ProtocolTCP
	var rules []networkingv1.NetworkPolicyEgressRule
	for i, e := range b.target.Egress {
		p, err := netip.ParsePrefix(e.CIDR)
		if err != nil {
			return nil, fmt.Errorf("backup target egress[%d]: %w", i, err)
		}
		r := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: p.String()}}}}
		for _, port := range e.Ports {
			pt := intstr.FromInt32(port)
			r.Ports = append(r.Ports, networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &pt})
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("backup target has no egress; list its addresses in the config")
	}
	pods := metav1.LabelSelector{MatchLabels: map[string]string{LabelComponent: ComponentBackup}}
	return s.netpol(PolicyAllowBackupTarget, pods, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, nil, rules), nil
}

// BackupValues are the chart's backups values.
type BackupValues struct {
	Enabled bool `json:"enabled"`
	// Schedule is the CronJob's, Keep how many backups the store keeps.
	Schedule string `json:"schedule"`
	Keep     int    `json:"keep"`
	// Repository is the store's own restic repository (BackupRepository).
	Repository string `json:"repository"`
	StoreID    string `json:"storeId"`
	// PasswordSecret and TargetSecret name the Secrets; no secret value
	// is ever in values.
	PasswordSecret string                      `json:"passwordSecret"`
	TargetSecret   string                      `json:"targetSecret"`
	Resources      corev1.ResourceRequirements `json:"resources"`
}

func (s *store) backupValues(sz sizing) *BackupValues {
	b := s.bk
	if b == nil {
		return nil
	}
	return &BackupValues{
		Enabled:        true,
		Schedule:       b.plan.Schedule,
		Keep:           b.plan.Keep,
		Repository:     BackupRepository(b.target, s.cluster, b.storeID),
		StoreID:        b.storeID,
		PasswordSecret: BackupPasswordSecretName,
		TargetSecret:   BackupTargetSecretName,
		Resources:      sz.backup,
	}
}

// backupShare is the slice of a plan a backup pod runs in, out of the
// web and database pods' share so the three fit the quota together: a
// tenth of the CPU (50m to 500m) and a fifth of the memory (128Mi to
// 512Mi; config asks 512Mi of a plan with backups).
func backupShare(milliCPU, memBytes int64) (int64, int64) {
	return min(max(milliCPU/10, 50), 500), roundMi(min(max(memBytes/5, 128*mi), 512*mi))
}

// quantityPods is the pods a store may run: its plan's, and one more for
// a backup while it runs.
func (s *store) quantityPods() resource.Quantity {
	n := int64(s.plan.Pods)
	if s.bk != nil {
		n++
	}
	return *resource.NewQuantity(n, resource.DecimalSI)
}

// backupImage is the target's image, when it names one.
func (s *store) backupImage() *ImageValues {
	b := s.bk
	if b == nil || b.target.Image == nil {
		return nil
	}
	im := b.target.Image
	return &ImageValues{Repository: im.Repository, Tag: im.Tag, Digest: im.Digest}
}
