package renderer

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// Values are the charts/woocommerce values a store is installed with. The
// chart's values.schema.json describes the same shape; a chart test renders
// the chart with these values for every plan.
type Values struct {
	Store       StoreValues       `json:"store"`
	Credentials CredentialsValues `json:"credentials"`
	Ingress     IngressValues     `json:"ingress"`
	// HTTPRoute is left out for a store behind an Ingress, whose values
	// stay what they were before there was a Gateway.
	HTTPRoute *HTTPRouteValues `json:"httpRoute,omitempty"`
	WordPress ComponentValues  `json:"wordpress"`
	Database  ComponentValues  `json:"database"`
	// Images is left out unless chart.image or the backup target's image
	// is set, so stores that run the chart's own images keep the values
	// they had.
	Images *ImagesValues `json:"images,omitempty"`
	// Backups is left out for a plan without backups, whose stores keep
	// the values they had.
	Backups *BackupValues `json:"backups,omitempty"`
}

// ImagesValues override the chart's images; Helm merges them over the
// chart's defaults (the pull policy, the database image).
type ImagesValues struct {
	WordPress *ImageValues `json:"wordpress,omitempty"`
	Backup    *ImageValues `json:"backup,omitempty"`
}

// ImageValues name an image; with a digest the chart pulls
// repository@digest.
type ImageValues struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// StoreValues describe the shop.
type StoreValues struct {
	Name       string `json:"name"`
	Title      string `json:"title"`
	Host       string `json:"host"`
	AdminUser  string `json:"adminUser"`
	AdminEmail string `json:"adminEmail"`
}

// CredentialsValues point at the Secrets; passwords never appear in values.
type CredentialsValues struct {
	ExistingSecret string `json:"existingSecret"`
	DatabaseSecret string `json:"databaseSecret"`
}

// IngressValues configure the store's Ingress.
type IngressValues struct {
	Enabled     bool              `json:"enabled"`
	ClassName   string            `json:"className,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	TLS         bool              `json:"tls"`
}

// HTTPRouteValues configure the store's HTTPRoute, attached to the
// cluster's shared Gateway, which terminates TLS.
type HTTPRouteValues struct {
	Enabled    bool              `json:"enabled"`
	ParentRefs []ParentRefValues `json:"parentRefs,omitempty"`
	// TLS: the listener serves HTTPS, so WordPress builds https URLs, as
	// Purrvision's store URL (v1alpha1.URL) is.
	TLS bool `json:"tls"`
}

// ParentRefValues name a Gateway (and optionally its listener).
type ParentRefValues struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	SectionName string `json:"sectionName,omitempty"`
}

// ComponentValues size one pod and its volume.
type ComponentValues struct {
	Resources   corev1.ResourceRequirements `json:"resources"`
	Persistence PersistenceValues           `json:"persistence"`
}

// PersistenceValues describe a volume.
type PersistenceValues struct {
	Enabled      bool              `json:"enabled"`
	Size         resource.Quantity `json:"size"`
	StorageClass string            `json:"storageClass,omitempty"`
}

// ChartValues are the values the store's HelmRelease passes to the chart.
func (s *store) chartValues() Values {
	sz := s.sizing()
	title := s.req.Spec.Title
	if title == "" {
		title = s.name
	}
	var ing IngressValues
	var route *HTTPRouteValues
	switch s.site.Exposure {
	case config.ExposureGateway:
		ref := s.site.Gateway.ParentRef
		route = &HTTPRouteValues{Enabled: true, TLS: true, ParentRefs: []ParentRefValues{{Name: ref.Name, Namespace: ref.Namespace, SectionName: ref.SectionName}}}
	default:
		in := s.site.Ingress
		ing = IngressValues{Enabled: true, ClassName: in.ClassName, TLS: in.TLS}
		if in.TLS && in.ClusterIssuer != "" {
			ing.Annotations = map[string]string{"cert-manager.io/cluster-issuer": in.ClusterIssuer}
		}
	}
	storageClass := s.site.StorageClassFor(s.plan)
	var images *ImagesValues
	if im := s.cfg.Chart.Image; im != nil {
		images = &ImagesValues{WordPress: &ImageValues{Repository: im.Repository, Tag: im.Tag, Digest: im.Digest}}
	}
	if im := s.backupImage(); im != nil {
		if images == nil {
			images = &ImagesValues{}
		}
		images.Backup = im
	}
	return Values{
		Images:  images,
		Backups: s.backupValues(sz),
		Store: StoreValues{
			Name:       s.name,
			Title:      title,
			Host:       v1alpha1.Host(s.name, s.site.BaseDomain),
			AdminUser:  s.req.Spec.Owner,
			AdminEmail: s.req.Spec.AdminEmail,
		},
		Credentials: CredentialsValues{ExistingSecret: SecretName, DatabaseSecret: DatabaseSecretName},
		Ingress:     ing,
		HTTPRoute:   route,
		WordPress: ComponentValues{
			Resources:   sz.web,
			Persistence: PersistenceValues{Enabled: true, Size: sz.uploadsStore, StorageClass: storageClass},
		},
		Database: ComponentValues{
			Resources:   sz.db,
			Persistence: PersistenceValues{Enabled: true, Size: sz.dbStorage, StorageClass: storageClass},
		},
	}
}

func (s *store) values() (*apiextensionsv1.JSON, error) {
	raw, err := json.Marshal(s.chartValues())
	if err != nil {
		return nil, fmt.Errorf("encoding chart values: %w", err)
	}
	return &apiextensionsv1.JSON{Raw: raw}, nil
}

// ChartValues returns the chart values of a valid request as a map, as
// helm-controller hands them to Helm; the credentials revision, which comes
// from the admin Secret through valuesFrom, is left out.
func ChartValues(cfg *config.Config, req *v1alpha1.StoreRequest) (map[string]any, error) {
	s, err := newStore(cfg, req)
	if err != nil {
		return nil, err
	}
	if err := s.resolveBackup(); err != nil {
		return nil, err
	}
	v, err := s.values()
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(v.Raw, &out); err != nil {
		return nil, fmt.Errorf("decoding chart values: %w", err)
	}
	return out, nil
}
