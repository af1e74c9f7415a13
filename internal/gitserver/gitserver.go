// Package gitserver serves bare git repositories over smart HTTP on
// loopback, through `git http-backend`, for tests and the local dev setup.
// Clone, fetch and push work as against any git host; with Protect, pushes
// carry an identity and pass a guard (guard.go), as on GitHub.
package gitserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Server serves every bare repository under Root at /<name>.git.
type Server struct {
	Root string
	// Stderr takes what git http-backend writes on its standard error
	// (a push that lost a compare-and-swap race: "cannot lock ref");
	// nil: this process's standard error.
	Stderr io.Writer
	srv    *http.Server
	ln     net.Listener

	mu          sync.Mutex
	guard       Guard
	user, token string // the credentials URL carries
}

// New returns a server for the repositories under root.
func New(root string) (*Server, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("finding git: %w", err)
	}
	return &Server{Root: root}, nil
}

// Init creates an empty bare repository name.git with branch as HEAD.
func (s *Server) Init(name, branch string) (string, error) {
	dir := filepath.Join(s.Root, name+".git")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, args := range [][]string{
		{"init", "--bare", "--quiet", "--initial-branch=" + branch},
		{"config", "http.receivepack", "true"},
	} {
		if out, err := Git(dir, args...); err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return dir, nil
}

// Start listens on a free loopback port.
func (s *Server) Start() error {
	backend, err := httpBackend()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	s.ln = ln
	h := &cgi.Handler{
		Path:   backend,
		Env:    []string{"GIT_PROJECT_ROOT=" + s.Root, "GIT_HTTP_EXPORT_ALL=1"},
		Stderr: s.Stderr,
	}
	s.srv = &http.Server{Handler: s.serve(h), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL is the clone URL of name.git; once the server is protected, with the
// credentials given to Protect (the bot's), so the clones made from it
// push as the bot.
func (s *Server) URL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.URLAs(name, s.user, s.token)
}

// URLAs is the clone URL of name.git with the credentials user and token
// (none when user is empty): how someone pushes as themselves.
func (s *Server) URLAs(name, user, token string) string {
	u := url.URL{Scheme: "http", Host: s.ln.Addr().String(), Path: "/" + name + ".git"}
	if user != "" {
		u.User = url.UserPassword(user, token)
	}
	return u.String()
}

// Close stops the server.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

func httpBackend() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("finding git's exec path: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("git-http-backend is not installed; install git")
	}
	return p, nil
}

// Git runs git in dir with a clean identity and returns its combined output.
func Git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Purrvision", "GIT_AUTHOR_EMAIL=purrvision@localhost",
		"GIT_COMMITTER_NAME=Purrvision", "GIT_COMMITTER_EMAIL=purrvision@localhost",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	return cmd.CombinedOutput()
}
