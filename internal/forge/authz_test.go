package forge_test

import (
	"context"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
)

// fakeAuthz is GitHub's permissions and team memberships, by login.
type fakeAuthz struct {
	perms map[string]string
	teams map[string]bool // "org/team login"
}

func (f fakeAuthz) Permission(_ context.Context, _ forge.Repo, login string) (string, error) {
	if p, ok := f.perms[login]; ok {
		return p, nil
	}
	return forge.PermissionNone, nil
}

func (f fakeAuthz) IsTeamMember(_ context.Context, org, team, login string) (bool, error) {
	return f.teams[org+"/"+team+" "+login], nil
}

func TestMayAct(t *testing.T) {
	gh := fakeAuthz{
		perms: map[string]string{"admin": forge.PermissionAdmin, "maint": forge.PermissionMaintain, "dev": forge.PermissionWrite, "reader": forge.PermissionRead, "triager": "triage"},
		teams: map[string]bool{"acme/platform ops": true},
	}
	for login, want := range map[string]bool{"admin": true, "maint": true, "dev": true, "ops": true, "reader": false, "triager": false, "eve": false} {
		got, err := forge.MayAct(context.Background(), gh, forge.Repo{Owner: "acme", Name: "stores"}, login, []string{"acme/platform"})
		if err != nil || got != want {
			t.Errorf("MayAct(%s) = %v, %v; want %v", login, got, err, want)
		}
	}
}
