package forge

import "sync/atomic"

// Identity is the login the bot acts as, as GitHub records the author of
// its comments, issues and pull requests and the creator of its statuses
// and deployments: how every part knows the bot's own writes from
// anyone else's. The service learns it from GitHub at start
// (internal/app), before any part acts; until then Login is "", which is
// no author's login, so nothing is taken for the bot's own.
//
// One Identity is shared by the parts of a service, which read it at use
// time while the start learns it: it is safe for concurrent use. A nil
// *Identity is never known.
type Identity struct {
	login atomic.Pointer[string]
}

// NewIdentity is an Identity known at once as login; "" leaves it to be
// learned.
func NewIdentity(login string) *Identity {
	id := &Identity{}
	if login != "" {
		id.Learn(login)
	}
	return id
}

// Login is the bot's login; "" while it is not known.
func (id *Identity) Login() string {
	if id == nil {
		return ""
	}
	if l := id.login.Load(); l != nil {
		return *l
	}
	return ""
}

// Learn records login as the bot's, for every part that reads id.
func (id *Identity) Learn(login string) {
	id.login.Store(&login)
}
