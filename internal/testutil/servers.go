package testutil

import (
	"testing"

	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
)

// GitHub starts a GitHub stand-in holding the repositories named (owner/name,
// default branch main), stopped when the test ends, and a go-github client
// for it.
func GitHub(t testing.TB, repos ...string) (*ghstandin.Server, *ghclient.Client) {
	t.Helper()
	gh, err := ghstandin.New()
	if err != nil {
		t.Fatal(err)
	}
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
