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
	"sync"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/placement"
	"github.com/purrvision/purrvision/tenants"
)

// Provisioner runs the request flow.
type Provisioner struct {
	cfg      *config.Config
	gh       GitHub
	repo     *tenants.Repo
	ledger   *ledger.Ledger
	requests forge.Repo      // where issues are filed
	tenants  forge.Repo      // where store pull requests go
	bot      *forge.Identity // the login the bot acts as, read at use
	rand     io.Reader
	now      func() time.Time
	locks    keyedMutex
	placer   *placement.Tracker
	nudge    func(context.Context) error
	moved    func(context.Context)
	// backupCreds are the backup targets' keys by cluster.
	backupCreds map[string]config.BackupCredentials
}

// Options are the dependencies of a Provisioner.
type Options struct {
	Config *config.Config
	GitHub GitHub
	Repo   *tenants.Repo
	// Ledger is the service's one ledger, on Repo.
	Ledger *ledger.Ledger
	// Identity is the login the bot acts as, which the service learns
	// from GitHub at start, before any work.
	Identity *forge.Identity
	// Rand is crypto/rand.Reader outside tests.
	Rand io.Reader
	Now  func() time.Time
	// Nudge, when set, asks Flux to fetch the tenants repo now; it runs
	// after a merge is recorded.
	Nudge func(context.Context) error
	// BaseMoved, when set, is told after a merge into the base branch is
	// recorded: the base moved, and the bot's other open branches are to
	// be brought up to date (the service queues them in the background).
	BaseMoved func(context.Context)
	// BackupCredentials are the backup targets' keys by cluster
	// (config.LoadBackupCredentials); a store whose plan takes backups
	// cannot be rendered without its cluster's.
	BackupCredentials map[string]config.BackupCredentials
}

// New checks the options and returns a Provisioner.
func New(o Options) (*Provisioner, error) {
	if o.Config == nil || o.GitHub == nil || o.Repo == nil || o.Ledger == nil || o.Identity == nil || o.Rand == nil {
		return nil, errors.New("provision: config, GitHub client, tenants repo, ledger, the bot's identity and random source are required")
	}
	requests, tenantsRepo, err := o.Config.Repos()
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Provisioner{
		cfg: o.Config, gh: o.GitHub, repo: o.Repo, ledger: o.Ledger, requests: requests, tenants: tenantsRepo,
		bot: o.Identity, rand: o.Rand, now: o.Now, nudge: o.Nudge, moved: o.BaseMoved, backupCreds: o.BackupCredentials,
		placer: placement.NewTracker(o.Config, placement.FromConfig(o.Config), o.Repo),
	}, nil
}

// RequestsRepo is the repository where store issues are filed.
func (p *Provisioner) RequestsRepo() forge.Repo { return p.requests }

// TenantsRepo is the repository store pull requests are opened in.
func (p *Provisioner) TenantsRepo() forge.Repo { return p.tenants }

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
