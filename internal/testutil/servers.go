package testutil

import (
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/ghstandin/ghspec"
	"github.com/purrvision/purrvision/internal/gitserver"
)

// GitHub starts a GitHub stand-in holding the repositories named (owner/name,
// default branch main), stopped when the test ends, and a go-github client
// for it. Every exchange with the stand-in and every webhook it sends is
// held to GitHub's published description (CheckSpec).
func GitHub(t testing.TB, repos ...string) (*ghstandin.Server, *ghclient.Client) {
	t.Helper()
	gh, err := ghstandin.New()
	if err != nil {
		t.Fatal(err)
	}
	CheckSpec(t, gh)
	t.Cleanup(func() { _ = gh.Close() })
	for _, r := range repos {
		gh.AddRepo(r, "main", "")
	}
	client, err := ghclient.New(ghclient.Options{APIURL: gh.URL(), Token: "test-token"})
	if err != nil {
		t.Fatal(err)
	}
	return gh, client
}

// GitRepo serves an empty bare repository on a git server on loopback,
// stopped when the test ends, and returns the server, its URL and folder.
func GitRepo(t testing.TB, name, branch string) (srv *gitserver.Server, url, dir string) {
	t.Helper()
	srv, err := gitserver.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if dir, err = srv.Init(name, branch); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, srv.URL(name), dir
}

// CheckSpec records every exchange with gh and every webhook it sends, and
// when the test ends (after gh is closed, if its Close was registered
// later) fails it with each that GitHub's description refuses: an
// operation GitHub does not have, parameters or a body that do not fit, an
// undocumented status, an answer or a payload missing a required field.
// The description comes from `make testbin`; without it the test fails,
// except under -short outside CI, where it is only logged.
func CheckSpec(t testing.TB, gh *ghstandin.Server) {
	t.Helper()
	c, err := ghspec.Watch(gh)
	if errors.Is(err, ghspec.ErrNotFetched) && testing.Short() && os.Getenv("CI") != "true" {
		t.Logf("not checking the GitHub stand-in against GitHub's description: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("checking the GitHub stand-in against GitHub's description: %v", err)
	}
	t.Cleanup(func() {
		for _, p := range c.Problems() {
			t.Errorf("GitHub's description refuses: %s", p)
		}
	})
}

// Do sends req with the default client and returns the answer's status
// and body; any failure to send or read fails the test.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}
