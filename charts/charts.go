// Package charts holds the Helm charts Purrvision installs, embedded, and
// renders them the way helm-controller does, for tests and previews.
package charts

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// WooCommerce is the directory of the store chart.
const WooCommerce = "woocommerce"

//go:embed all:woocommerce
var files embed.FS

// FS is the embedded charts directory.
func FS() fs.FS { return files }

// Load loads the named chart from the embedded files, leaving out its image
// build context as its .helmignore does.
func Load(name string) (*chartv2.Chart, error) {
	var bufs []*archive.BufferedFile
	err := fs.WalkDir(files, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, name+"/")
		if d.IsDir() {
			if rel == "image" {
				return fs.SkipDir
			}
			return nil
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		bufs = append(bufs, &archive.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading chart %s: %w", name, err)
	}
	ch, err := loader.LoadFiles(bufs)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", name, err)
	}
	return ch, nil
}

// Release says where a chart is rendered.
type Release struct {
	Name        string
	Namespace   string
	KubeVersion string // e.g. v1.37.2
}

// Render renders the chart with values, validating them against the
// chart's values.schema.json, and returns the objects in template order.
func Render(ch *chartv2.Chart, values map[string]any, rel Release) ([]*unstructured.Unstructured, error) {
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(rel.KubeVersion)
	if err != nil {
		return nil, fmt.Errorf("parsing kube version %q: %w", rel.KubeVersion, err)
	}
	caps.KubeVersion = *kv
	if err := checkKubeVersion(ch, kv); err != nil {
		return nil, err
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, IsInstall: true, Revision: 1}, caps)
	if err != nil {
		return nil, fmt.Errorf("preparing values: %w", err)
	}
	rendered, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering templates: %w", err)
	}
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		if path.Ext(n) == ".yaml" || path.Ext(n) == ".yml" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, n := range names {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(rendered[n])), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("decoding %s: %w", n, err)
			}
			if len(m) == 0 {
				continue
			}
			obj := &unstructured.Unstructured{Object: m}
			if obj.GetNamespace() == "" {
				obj.SetNamespace(rel.Namespace)
			}
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

func checkKubeVersion(ch *chartv2.Chart, kv *common.KubeVersion) error {
	if ch.Metadata.KubeVersion == "" {
		return nil
	}
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, kv.String()) {
		return fmt.Errorf("chart requires kubeVersion %s, which is incompatible with %s", ch.Metadata.KubeVersion, kv.String())
	}
	return nil
}
