package renderer

import (
	"fmt"
	"path"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// Tree is a read-only view of the tenants repo, such as a tenants.Snapshot.
type Tree interface {
	// ReadFile returns the file at p, and false when there is none.
	ReadFile(p string) ([]byte, bool, error)
	// ReadDir returns the names in the directory p; nil when absent.
	ReadDir(p string) ([]string, error)
}

// RequestCopy reads the request copy (FileRequest) in a store directory;
// nil when there is none.
func RequestCopy(t Tree, dir string) (*v1alpha1.StoreRequest, error) {
	data, ok, err := t.ReadFile(path.Join(dir, FileRequest))
	if err != nil || !ok {
		return nil, err
	}
	req, err := v1alpha1.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading the request copy of store %s: %w", path.Base(dir), err)
	}
	return req, nil
}

// FindStore looks for store name in every cluster and returns its request
// copy and cluster; nil when no cluster has it.
func FindStore(cfg *config.Config, t Tree, name string) (*v1alpha1.StoreRequest, string, error) {
	for _, cl := range cfg.ClusterNames() {
		req, err := RequestCopy(t, StoreDir(cfg, cl, name))
		if err != nil || req != nil {
			return req, cl, err
		}
	}
	return nil, "", nil
}

// Environment is the deployment environment of store name in tree: its
// cluster's (v1alpha1.EnvironmentOn), where that cluster's watcher
// reports; the default cluster's when the tree does not hold the store.
func Environment(cfg *config.Config, t Tree, name string) (string, error) {
	_, cluster, err := FindStore(cfg, t, name)
	if err != nil {
		return "", err
	}
	return v1alpha1.EnvironmentOn(cluster, cfg.ClusterNames()[0], name), nil
}

// StoreDirs lists the store directories of a cluster: the shard folders
// (Shard), then the stores in them.
func StoreDirs(cfg *config.Config, t Tree, cluster string) ([]string, error) {
	dirs := []string{ClusterDir(cfg, cluster)}
	for level := 0; level <= ShardDepth; level++ {
		var next []string
		for _, d := range dirs {
			names, err := t.ReadDir(d)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				if level == ShardDepth || IsShardLevel(n) {
					next = append(next, path.Join(d, n))
				}
			}
		}
		dirs = next
	}
	return dirs, nil
}

// OlderLayoutDirs lists the store directories of a cluster in the layout
// before shards, tenants/<cluster>/<store>/: the folders beside the shard
// folders that hold a request copy. Re-rendering such a store writes it
// where StoreDir puts it.
func OlderLayoutDirs(cfg *config.Config, t Tree, cluster string) ([]string, error) {
	names, err := t.ReadDir(ClusterDir(cfg, cluster))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if IsShardLevel(n) {
			continue
		}
		dir := path.Join(ClusterDir(cfg, cluster), n)
		if _, ok, err := t.ReadFile(path.Join(dir, FileRequest)); err != nil {
			return nil, err
		} else if ok {
			out = append(out, dir)
		}
	}
	return out, nil
}

// TreeReader is a Tree that reads a whole directory at once, as
// tenants.Snapshot does.
type TreeReader interface {
	// ReadTree returns every file under p, keyed by its path relative to
	// p; nil when p is absent.
	ReadTree(p string) (map[string][]byte, error)
}

// StoreFiles reads every file under a store directory, keyed by its path
// relative to dir (FileSecret, FileHelmRelease, ...).
func StoreFiles(t Tree, dir string) (map[string][]byte, error) {
	if tr, ok := t.(TreeReader); ok {
		out, err := tr.ReadTree(dir)
		if out == nil && err == nil {
			out = map[string][]byte{}
		}
		return out, err
	}
	out := map[string][]byte{}
	var walk func(rel string) error
	walk = func(rel string) error {
		names, err := t.ReadDir(path.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, n := range names {
			p := path.Join(rel, n)
			data, ok, err := t.ReadFile(path.Join(dir, p))
			if err != nil {
				return err
			}
			if ok {
				out[p] = data
				continue
			}
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk("")
}
