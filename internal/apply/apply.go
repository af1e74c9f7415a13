// Package apply is the one applier of what the bot writes on GitHub for
// both features that write there: the request flow (internal/provision)
// and fleet rollouts (internal/fleet). Each function compares what GitHub
// holds with what a plan wants and writes only the difference, so a second
// run writes nothing.
//
// It holds the guards both features need, once: which pull requests are
// the bot's (Bot.Owns, decided from what GitHub authenticates, never from a
// branch name), which check runs and deployments are the bot's, and which
// approvals count. Each function takes a narrow interface of the few
// GitHub calls it makes.
package apply

import "github.com/purrvision/purrvision/internal/forge"

// Bot is who writes: the bot's login, as GitHub records the author of its
// pull requests, the App of its check runs and the creator of its
// deployments, and the tenants repo its branches live in.
type Bot struct {
	Login   string
	Tenants forge.Repo
}

// Owns reports whether pr is the bot's own pull request, from what GitHub
// records: the bot wrote it, in the tenants repo, from a branch of the
// tenants repo itself (not a fork's), and, when the caller recorded the
// commit the bot pushed (pushed is not ""), its head is that commit. A
// branch name decides nothing: anyone with write access can push a branch
// named like the bot's, and anyone at all can open a pull request from a
// fork's.
func (b Bot) Owns(pr *forge.PullRequest, pushed string) bool {
	if pr == nil || b.Login == "" || b.Tenants == (forge.Repo{}) {
		return false
	}
	return pr.Author == b.Login && pr.Repo == b.Tenants && pr.HeadRepo == b.Tenants && (pushed == "" || pr.HeadSHA == pushed)
}
