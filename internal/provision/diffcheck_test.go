package provision

import (
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

func TestCheckPullDiff(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	req := v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small", Owner: "octocat", AdminEmail: "a@b.co"})
	dir := renderer.StoreDir(cfg, "default", "cat-cafe")
	other := renderer.StoreDir(cfg, "default", "dog-diner")
	regular := func(p string) tenants.DiffEntry { return tenants.DiffEntry{Path: p, Mode: tenants.ModeRegular} }
	tests := []struct {
		name    string
		entries []tenants.DiffEntry
		want    []string // offending paths, in order
	}{
		{"the request alone", []tenants.DiffEntry{regular("requests/cat-cafe.yaml")}, nil},
		{"the request and its render", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular(dir + "/store.yaml"), regular(dir + "/manifests/credentials.sops.yaml")}, nil},
		{"another store's files", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular(other + "/manifests/helmrelease.yaml")}, []string{other + "/manifests/helmrelease.yaml"}},
		{"the SOPS rules", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular(".sops.yaml")}, []string{".sops.yaml"}},
		{"Flux config", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular("flux/tenants/stores.yaml")}, []string{"flux/tenants/stores.yaml"}},
		{"a ClusterRoleBinding where Kustomizations read", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular("tenants/default/admin.yaml")}, []string{"tenants/default/admin.yaml"}},
		{"a look-alike of the store's folder", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), regular(dir + "-evil/x.yaml")}, []string{dir + "-evil/x.yaml"}},
		{"a symbolic link as the request", []tenants.DiffEntry{{Path: "requests/cat-cafe.yaml", Mode: tenants.ModeSymlink}}, []string{"requests/cat-cafe.yaml"}},
		{"an executable in the store's folder", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), {Path: dir + "/run.sh", Mode: tenants.ModeExecutable}}, []string{dir + "/run.sh"}},
		{"a submodule", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), {Path: dir + "/sub", Mode: tenants.ModeSubmodule}}, []string{dir + "/sub"}},
		{"a deletion", []tenants.DiffEntry{regular("requests/cat-cafe.yaml"), {Path: "README.md", Deleted: true}}, []string{"README.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range checkPullDiff(cfg, tt.entries, []*v1alpha1.StoreRequest{req}) {
				got = append(got, p.Field)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("offending paths %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzCheckPullDiff is the property: a random pull request diff passes the
// check only if every path in it is a store request, or a regular file in
// the folder of a store it requests.
func FuzzCheckPullDiff(f *testing.F) {
	cfg := testutil.ExampleConfig(f)
	reqs := []*v1alpha1.StoreRequest{
		v1alpha1.New("cat-cafe", v1alpha1.StoreSpec{Plan: "small"}),
		v1alpha1.New("dog-diner", v1alpha1.StoreSpec{Plan: "medium"}),
	}
	dirs := []string{renderer.StoreDir(cfg, "default", "cat-cafe"), renderer.StoreDir(cfg, "default", "dog-diner")}
	foreign := renderer.StoreDir(cfg, "default", "fox-den")
	type kind struct {
		ok    bool
		entry func(n byte) tenants.DiffEntry
	}
	reg := func(p string) tenants.DiffEntry { return tenants.DiffEntry{Path: p, Mode: tenants.ModeRegular} }
	kinds := []kind{
		{true, func(n byte) tenants.DiffEntry { return reg("requests/" + reqs[n%2].Metadata.Name + ".yaml") }},
		{true, func(n byte) tenants.DiffEntry { return reg(path.Join(dirs[n%2], fmt.Sprintf("manifests/f%d.yaml", n))) }},
		{true, func(n byte) tenants.DiffEntry { return reg(fmt.Sprintf("requests/shop-%d.yml", n)) }},
		{false, func(n byte) tenants.DiffEntry { return reg(path.Join(foreign, fmt.Sprintf("f%d.yaml", n))) }},
		{false, func(n byte) tenants.DiffEntry {
			return reg([]string{".sops.yaml", "flux/x.yaml", "README.md", "tenants/default/crb.yaml"}[n%4])
		}},
		{false, func(n byte) tenants.DiffEntry { return reg(dirs[n%2] + "-x/f.yaml") }},
		{false, func(n byte) tenants.DiffEntry {
			return tenants.DiffEntry{Path: path.Join(dirs[n%2], "f"), Mode: []tenants.Mode{tenants.ModeExecutable, tenants.ModeSymlink, tenants.ModeSubmodule}[n%3]}
		}},
		{false, func(n byte) tenants.DiffEntry {
			return tenants.DiffEntry{Path: "requests/cat-cafe.yaml", Mode: []tenants.Mode{tenants.ModeExecutable, tenants.ModeSymlink}[n%2]}
		}},
		{false, func(n byte) tenants.DiffEntry {
			return tenants.DiffEntry{Path: path.Join(dirs[n%2], "store.yaml"), Deleted: true}
		}},
		{false, func(n byte) tenants.DiffEntry { return reg(fmt.Sprintf("requests/sub/shop-%d.yaml", n)) }},
	}
	f.Add([]byte{0, 1, 1, 2})
	f.Add([]byte{0, 1, 3, 4})
	f.Add([]byte{12, 200, 7, 9, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []tenants.DiffEntry
		want := true
		for i := 0; i+1 < len(data); i += 2 {
			k := kinds[int(data[i])%len(kinds)]
			entries = append(entries, k.entry(data[i+1]))
			want = want && k.ok
		}
		problems := checkPullDiff(cfg, entries, reqs)
		if green := len(problems) == 0; green != want {
			t.Fatalf("entries %+v: green %t, want %t (problems %v)", entries, green, want, problems)
		}
	})
}
