package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ErrStale means the remote branch moved since it was fetched; fetch and
// build the change again.
var ErrStale = errors.New("the remote branch moved")

// Options say which repository to keep a clone of.
type Options struct {
	URL string
	// Branch is the branch Flux applies.
	Branch string
	// Dir holds the bare clone; empty keeps it in memory.
	Dir string
	// Auth for fetch and push over HTTP(S); nil for none.
	Auth HTTPAuth
	// Author signs the commits.
	Author Signature
}

// HTTPAuth authenticates git over HTTP(S): it sets the credentials of each
// request to the remote, as ghclient.GitAuth does.
type HTTPAuth interface {
	SetAuth(r *http.Request)
}

// httpAuth hands an HTTPAuth to go-git, which wants it named.
type httpAuth struct{ HTTPAuth }

func (httpAuth) Name() string { return "tenants-http-auth" }

// String never shows the credentials.
func (a httpAuth) String() string { return a.Name() + ": [redacted]" }

// gitAuth is opts.Auth as go-git takes it; nil for none.
func gitAuth(a HTTPAuth) transport.AuthMethod {
	switch a := a.(type) {
	case nil:
		return nil
	case githttp.AuthMethod:
		return a
	default:
		return httpAuth{a}
	}
}

// Signature is a commit author.
type Signature struct {
	Name, Email string
}

// Repo is one bare clone. It is safe for concurrent use; operations on it
// are serialized.
type Repo struct {
	opts Options
	auth transport.AuthMethod // opts.Auth for go-git
	mu   sync.Mutex
	repo *git.Repository
	now  func() time.Time
}

const remoteName = "origin"

// Open clones the repository, or reuses the clone in opts.Dir, and
// fetches it.
func Open(ctx context.Context, opts Options) (*Repo, error) {
	r, err := OpenUnfetched(opts)
	if err != nil {
		return nil, err
	}
	if err := r.Fetch(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// OpenUnfetched is Open without the fetch: it makes no call to the
// remote, so a service can start while the remote is away and Fetch once
// it answers. Until then it holds what opts.Dir held, or nothing.
func OpenUnfetched(opts Options) (*Repo, error) {
	if opts.Author.Name == "" {
		opts.Author = Signature{Name: "Purrvision", Email: "purrvision@users.noreply.github.com"}
	}
	var st storage.Storer = memory.NewStorage()
	if opts.Dir != "" {
		st = filesystem.NewStorage(osfs.New(opts.Dir), cache.NewObjectLRUDefault())
	}
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, nil)
		if err == nil {
			_, err = repo.CreateRemote(&gitconfig.RemoteConfig{Name: remoteName, URLs: []string{opts.URL}})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening clone of %s: %w", opts.URL, err)
	}
	return &Repo{opts: opts, auth: gitAuth(opts.Auth), repo: repo, now: time.Now}, nil
}

// Fetch brings every branch of the remote up to date, dropping deleted ones.
func (r *Repo) Fetch(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetch(ctx)
}

func (r *Repo) fetch(ctx context.Context) error {
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []gitconfig.RefSpec{"+refs/heads/*:refs/remotes/origin/*"},
		Auth:       r.auth,
		Prune:      true,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("fetching %s: %w", r.opts.URL, err)
	}
	return nil
}

// Head returns the fetched commit of a remote branch, and false when the
// branch does not exist.
func (r *Repo) Head(branch string) (Hash, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head(branch)
}

func (r *Repo) head(branch string) (Hash, bool, error) {
	ref, err := r.repo.Reference(plumbing.NewRemoteReferenceName(remoteName, branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	return hashOf(ref.Hash()), true, nil
}

// Hash names a commit by its full hexadecimal SHA-1. The empty Hash means
// none: no branch, no parent.
type Hash string

// String returns the hash as text.
func (h Hash) String() string { return string(h) }

// hashOf converts go-git's hash; its zero hash is "".
func hashOf(h plumbing.Hash) Hash {
	if h.IsZero() {
		return ""
	}
	return Hash(h.String())
}

// object returns go-git's form of h: the zero hash for "".
func (h Hash) object() (plumbing.Hash, error) {
	if h == "" {
		return plumbing.ZeroHash, nil
	}
	if !plumbing.IsHash(string(h)) {
		return plumbing.ZeroHash, fmt.Errorf("%q is not a commit hash", string(h))
	}
	return plumbing.NewHash(string(h)), nil
}
