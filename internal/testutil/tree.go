package testutil

import (
	"sort"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/tenants"
	"sigs.k8s.io/yaml"
)

// Tree is a tenants repo tree in memory, path -> contents: a
// renderer.Tree for planners' tests, with no git. Read-only once built,
// so workers may share it.
type Tree map[string][]byte

// ReadFile returns the file at p, and false when there is none.
func (t Tree) ReadFile(p string) ([]byte, bool, error) {
	data, ok := t[p]
	return data, ok, nil
}

// ReadDir returns the sorted names in directory p; nil when absent.
func (t Tree) ReadDir(p string) ([]string, error) {
	seen := map[string]bool{}
	for f := range t {
		rest, ok := strings.CutPrefix(f, p+"/")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		seen[name] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// With returns a copy of t with the changes applied.
func (t Tree) With(changes []tenants.Change) Tree {
	out := Tree{}
	for k, v := range t {
		out[k] = v
	}
	for _, c := range changes {
		if c.Delete {
			for k := range out {
				if k == c.Path || strings.HasPrefix(k, c.Path+"/") {
					delete(out, k)
				}
			}
			continue
		}
		out[c.Path] = c.Data
	}
	return out
}

// RequestCopy is a store's request copy as the bot renders it into the
// tenants repo: on cluster, owned by issue (owner/name#number).
func RequestCopy(name, cluster, issue string) []byte {
	req := v1alpha1.New(name, v1alpha1.StoreSpec{Plan: "small", Owner: "octocat", AdminEmail: "owner@example.com", Cluster: cluster})
	req.Metadata.Annotations = map[string]string{v1alpha1.AnnotationIssue: issue}
	data, err := yaml.Marshal(req)
	if err != nil {
		panic(err) // a fixed struct always marshals
	}
	return data
}
