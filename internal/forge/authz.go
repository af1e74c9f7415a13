package forge

import (
	"context"
	"strings"
)

// Authorizer is what deciding who may act asks of GitHub.
type Authorizer interface {
	Permission(ctx context.Context, repo Repo, login string) (string, error)
	IsTeamMember(ctx context.Context, org, team, login string) (bool, error)
}

// Writes reports whether a repository permission lets its holder write:
// write, maintain or admin.
func Writes(permission string) bool {
	switch permission {
	case PermissionAdmin, PermissionMaintain, PermissionWrite:
		return true
	}
	return false
}

// MayAct reports whether login may run Purrvision's commands on repo: a
// collaborator who can write there, or a member of one of teams
// ("org/team"), as GitHub records them.
func MayAct(ctx context.Context, gh Authorizer, repo Repo, login string, teams []string) (bool, error) {
	perm, err := gh.Permission(ctx, repo, login)
	if err != nil {
		return false, err
	}
	if Writes(perm) {
		return true, nil
	}
	for _, t := range teams {
		org, team, _ := strings.Cut(t, "/")
		ok, err := gh.IsTeamMember(ctx, org, team, login)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
