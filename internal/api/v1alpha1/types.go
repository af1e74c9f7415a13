package v1alpha1

// StoreRequest asks for one WooCommerce store.
type StoreRequest struct {
	APIVersion string     `json:"apiVersion" yaml:"apiVersion"`
	Kind       string     `json:"kind" yaml:"kind"`
	Metadata   ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec       StoreSpec  `json:"spec" yaml:"spec"`
}

// ObjectMeta names the store.
type ObjectMeta struct {
	// Name is the store's name: a DNS-1123 label, also used for its
	// namespace (store-<name>) and host (<name>.<baseDomain>).
	Name string `json:"name" yaml:"name"`
	// Annotations are set by Purrvision on the copy in the tenants repo,
	// e.g. purrvision.dev/issue, the issue the store was requested in.
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// StoreSpec is what the requester chose.
type StoreSpec struct {
	// Plan names one of the config's plans.
	Plan string `json:"plan" yaml:"plan"`
	// Owner is the GitHub login of the requester.
	Owner string `json:"owner" yaml:"owner"`
	// AdminEmail is the WordPress administrator's e-mail address.
	AdminEmail string `json:"adminEmail" yaml:"adminEmail"`
	// Title is the shop title; the store name when empty.
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// Cluster names one of the config's clusters. When empty Purrvision
	// places the store (internal/placement) and writes its choice here in
	// the tenants repo's copy; it never changes after the merge.
	Cluster string `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	// Region, when set, keeps the store to the clusters whose label
	// region has this value.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
}

// New returns a StoreRequest with its type fields set.
func New(name string, spec StoreSpec) *StoreRequest {
	return &StoreRequest{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata:   ObjectMeta{Name: name},
		Spec:       spec,
	}
}
