package localcluster

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/flux"
)

// LockdownComponent is the kustomize Component, in flux.Files, that locks
// Flux down in production; the local cluster's controllers run with the
// flags it adds.
const LockdownComponent = "lockdown"

// LockdownArgs are the flags flux/lockdown adds to each of the named Flux
// controllers: the component is applied by kustomize to a stand-in of each
// controller's Deployment, as flux bootstrap's kustomization applies it,
// and the arguments it added are read back. One source: what production
// runs is what the local cluster runs.
func LockdownArgs(controllers ...string) (map[string][]string, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(flux.Files, LockdownComponent, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(flux.Files, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/flux", p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("reading flux/%s: %w", LockdownComponent, err)
	}
	var deployments strings.Builder
	for _, c := range controllers {
		fmt.Fprintf(&deployments, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: manager, image: %[1]s, args: []}]
`, c, FluxNamespace)
	}
	if err := mem.WriteFile("/overlay/controllers.yaml", []byte(deployments.String())); err != nil {
		return nil, err
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [controllers.yaml]\ncomponents: [../flux/" + LockdownComponent + "]\n"
	if err := mem.WriteFile("/overlay/kustomization.yaml", []byte(kust)); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/overlay")
	if err != nil {
		return nil, fmt.Errorf("applying flux/%s to the Flux controllers: %w", LockdownComponent, err)
	}
	out := map[string][]string{}
	for _, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict(data, &d); err != nil {
			return nil, fmt.Errorf("reading the locked-down %s: %w", r.GetName(), err)
		}
		out[d.Name] = d.Spec.Template.Spec.Containers[0].Args
	}
	return out, nil
}
