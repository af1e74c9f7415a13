package ghclient_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/testutil"
)

// actAs is a transport that makes the stand-in take its calls as login's.
type actAs struct {
	login string
	next  http.RoundTripper
}

func (a actAs) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(ghstandin.ActAsHeader, a.login)
	return a.next.RoundTrip(req)
}

// TestClient_FloodCannotHideTheBotsDeployment plays someone with write
// access who, after the bot's deployment of a store and its status, makes
// more than a page of deployments of the same commit in the store's
// environment and more than a page of statuses on the bot's deployment.
// The bot still finds its deployment and its own latest status, and makes
// no second deployment.
func TestClient_FloodCannotHideTheBotsDeployment(t *testing.T) {
	const flood = 150 // a page and a half
	gh, bot := testutil.GitHub(t, "acme/tenants")
	mallory, err := ghclient.New(ghclient.Options{APIURL: gh.URL(), Token: "mallory-token", Transport: actAs{login: "mallory", next: http.DefaultTransport}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo := forge.Repo{Owner: "acme", Name: "tenants"}
	const env, sha = "store-cat-cafe", "0123456789abcdef0123456789abcdef01234567"

	mine, err := bot.EnsureDeployment(ctx, repo, env, sha, "store cat-cafe", ghstandin.BotLogin)
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.CreateDeploymentStatus(ctx, repo, mine.ID, forge.DeploymentStatus{State: "success", Description: "Ready"}); err != nil {
		t.Fatal(err)
	}
	for i := range flood {
		if _, err := mallory.EnsureDeployment(ctx, repo, env, sha, fmt.Sprint("mine ", i), "mallory-"+fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if err := mallory.CreateDeploymentStatus(ctx, repo, mine.ID, forge.DeploymentStatus{State: "failure", Description: "Failed"}); err != nil {
			t.Fatal(err)
		}
	}

	latest, err := bot.LatestDeployment(ctx, repo, env, ghstandin.BotLogin)
	if err != nil || latest == nil || latest.ID != mine.ID {
		t.Errorf("LatestDeployment = %+v, %v; want the bot's %d behind %d of mallory's", latest, err, mine.ID, flood)
	}
	again, err := bot.EnsureDeployment(ctx, repo, env, sha, "store cat-cafe", ghstandin.BotLogin)
	if err != nil || again.ID != mine.ID {
		t.Errorf("EnsureDeployment = %+v, %v; want the bot's %d again, not a new one", again, err, mine.ID)
	}
	st, err := bot.LatestDeploymentStatus(ctx, repo, mine.ID, ghstandin.BotLogin)
	if err != nil || st == nil || st.State != "success" || st.Creator != ghstandin.BotLogin {
		t.Errorf("LatestDeploymentStatus = %+v, %v; want the bot's success behind %d of mallory's failures", st, err, flood)
	}
}

// TestClient_SearchForTheBotsIsBounded: a search for the bot's deployment
// among others' stops after a bounded number of pages with an error that
// says so, instead of reading a flood to its end.
func TestClient_SearchForTheBotsIsBounded(t *testing.T) {
	const n = 5000
	others := items(n, func(i int) any {
		return map[string]any{"id": n - i, "sha": "abc", "environment": "store-cat-cafe", "creator": map[string]any{"login": "mallory"}}
	})
	g, c := newPagedGitHub(t, map[string][]any{"GET /repos/acme/tenants/deployments": others})
	_, err := c.LatestDeployment(context.Background(), forge.Repo{Owner: "acme", Name: "tenants"}, "store-cat-cafe", "purrvision[bot]")
	if err == nil || !strings.Contains(err.Error(), "stopped there") {
		t.Errorf("LatestDeployment behind %d others' = %v, want an error that says where it stopped", n, err)
	}
	if p := g.pages["/repos/acme/tenants/deployments"]; p >= n/100 {
		t.Errorf("read %d pages of %d", p, n/100)
	}
}
