// Package provision is the request half of Purrvision: from a store
// request (an issue form, a command comment, a pull request adding a
// StoreRequest) to a reviewed pull request in the tenants repo, and from a
// merge to "provisioning started".
//
// Every entry point is level-triggered: it re-reads the issue, its comments
// and the tenants repo, derives what should exist and makes up the
// difference. Running one twice, or after a crash half-way, converges on
// the same single branch, pull request and comments.
package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sync"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// Provisioner runs the request flow.
type Provisioner struct {
	cfg      *config.Config
	gh       forge.Client
	repo     *tenants.Repo
	requests forge.Repo // where issues are filed
	tenants  forge.Repo // where store pull requests go
	bot      string
	rand     io.Reader
	now      func() time.Time
	log      *slog.Logger
	locks    keyedMutex
	nudge    func(context.Context) error
}

// Options are the dependencies of a Provisioner.
type Options struct {
	Config *config.Config
	GitHub forge.Client
	Repo   *tenants.Repo
	// Rand is crypto/rand.Reader outside tests.
	Rand io.Reader
	Now  func() time.Time
	Log  *slog.Logger
	// Nudge, when set, asks Flux to fetch the tenants repo now; it runs
	// after a merge is recorded.
	Nudge func(context.Context) error
}

// New checks the options and returns a Provisioner.
func New(o Options) (*Provisioner, error) {
	if o.Config == nil || o.GitHub == nil || o.Repo == nil || o.Rand == nil {
		return nil, errors.New("provision: config, GitHub client, tenants repo and random source are required")
	}
	requests, err := forge.ParseRepo(o.Config.GitHub.Repo)
	if err != nil {
		return nil, fmt.Errorf("github.repo: %w", err)
	}
	tenantsRepo, err := forge.ParseRepo(o.Config.TenantsRepo.Repo)
	if err != nil {
		return nil, fmt.Errorf("tenantsRepo.repo: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Provisioner{
		cfg: o.Config, gh: o.GitHub, repo: o.Repo, requests: requests, tenants: tenantsRepo,
		bot: o.Config.GitHub.BotLogin, rand: o.Rand, now: o.Now, log: o.Log, nudge: o.Nudge,
	}, nil
}

// RequestsRepo is the repository where store issues are filed.
func (p *Provisioner) RequestsRepo() forge.Repo { return p.requests }

// TenantsRepo is the repository store pull requests are opened in.
func (p *Provisioner) TenantsRepo() forge.Repo { return p.tenants }

// storeFiles reads the current files of a store from a snapshot.
func storeFiles(snap *tenants.Snapshot, dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	var walk func(rel string) error
	walk = func(rel string) error {
		names, err := snap.ReadDir(path.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, n := range names {
			p := path.Join(rel, n)
			data, ok, err := snap.ReadFile(path.Join(dir, p))
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

// changesFor turns a rendered store into the changes that make dir hold
// exactly its files; nil when it already does.
func changesFor(current map[string][]byte, out *renderer.Output) []tenants.Change {
	var ch []tenants.Change
	want := map[string]bool{}
	for _, f := range out.Files {
		rel := f.Path[len(out.Dir)+1:]
		want[rel] = true
		if string(current[rel]) != string(f.Data) {
			ch = append(ch, tenants.Change{Path: f.Path, Data: f.Data})
		}
	}
	for rel := range current {
		if !want[rel] {
			ch = append(ch, tenants.Change{Path: path.Join(out.Dir, rel), Delete: true})
		}
	}
	return ch
}

// storeOnBase finds store name on the base branch, in any cluster, and
// returns its request copy.
func (p *Provisioner) storeOnBase(base *tenants.Snapshot, name string) (*v1alpha1.StoreRequest, error) {
	req, _, err := renderer.FindStore(p.cfg, base, name)
	return req, err
}

// keyedMutex serializes work on one key within this process.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// Lock locks key and returns its unlock.
func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// logFor returns the logger for one store request.
func (p *Provisioner) logFor(ref forge.IssueRef, store string) *slog.Logger {
	return p.log.With("issue", ref.String(), "store", store)
}

// Resync lists every open store-request issue and hands it to add, so
// work a crash or a lost delivery left unfinished is picked up.
func (p *Provisioner) Resync(ctx context.Context, add func(forge.IssueRef)) error {
	issues, err := p.gh.ListOpenIssues(ctx, p.requests, v1alpha1.LabelRequest)
	if err != nil {
		return fmt.Errorf("resyncing store requests: %w", err)
	}
	for _, is := range issues {
		add(is.Ref)
	}
	return nil
}
