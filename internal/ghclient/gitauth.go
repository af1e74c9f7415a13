package ghclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// GitAuth authenticates git over HTTPS to GitHub with the same identity as
// the API client: the token, or a fresh installation token for an App.
type GitAuth struct {
	token string
	app   *ghinstallation.Transport
}

// NewGitAuth returns the git credentials for o; nil when o has none.
func NewGitAuth(o Options) (*GitAuth, error) {
	switch {
	case o.App != nil:
		base := o.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		itr, err := ghinstallation.New(base, o.App.ID, o.App.InstallationID, o.App.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("reading GitHub App key: %w", err)
		}
		return &GitAuth{app: itr}, nil
	case o.Token != "":
		return &GitAuth{token: o.Token}, nil
	}
	return nil, nil
}

// Name implements go-git's transport.AuthMethod.
func (a *GitAuth) Name() string { return "github-token" }

// String never shows the token.
func (a *GitAuth) String() string { return "github-token: [redacted]" }

// SetAuth implements go-git's http.AuthMethod.
func (a *GitAuth) SetAuth(r *http.Request) {
	token := a.token
	if a.app != nil {
		t, err := a.app.Token(context.Background())
		if err != nil {
			return // the push fails with 401 and is retried later
		}
		token = t
	}
	r.SetBasicAuth("x-access-token", token)
}
