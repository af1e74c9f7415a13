package gitserver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Pushes carry an identity, as on GitHub: once Protect is called, a push
// (git-receive-pack) authenticates with HTTP basic auth, a person with a
// token of theirs and an App with an installation token (the user name
// x-access-token), and its ref updates pass the Guard before git stores
// them. Reads (clone, fetch) stay open.

// ZeroSHA is the old side of a creation and the new side of a deletion.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Update is one ref a push changes.
type Update struct {
	Ref, Old, New string
	// FastForward is whether New descends from Old; true for a creation
	// and a deletion.
	FastForward bool
}

// Creation is whether the update creates its ref.
func (u Update) Creation() bool { return u.Old == ZeroSHA }

// Deletion is whether the update deletes its ref.
func (u Update) Deletion() bool { return u.New == ZeroSHA }

// Refusal is a ref update the Guard refuses, in the host's words.
type Refusal struct {
	Ref string
	// Reason is what git prints after the ref: "protected branch hook
	// declined".
	Reason string
	// Lines are what the pusher sees, each as "remote: <line>".
	Lines []string
}

// Guard decides who pushes and what they may push.
type Guard interface {
	// Authenticate is the login a push to the repository in dir carries
	// in its basic-auth credentials: ErrUnauthenticated when they stand
	// for no one, a *Forbidden when that login may not push there at all.
	Authenticate(dir, username, password string) (string, error)
	// CheckPush decides the updates login pushes to the repository in
	// dir; any refusal refuses the whole push, as a pre-receive hook does.
	CheckPush(dir, login string, updates []Update) []Refusal
}

// Notifier is a Guard told of each push git took, as GitHub's webhooks
// are: Pushed runs once git http-backend has answered, with the updates
// the push asked for; which of them git stored is for the notifier to
// read from the repository (a stale lease stores nothing).
type Notifier interface {
	Pushed(dir, login string, updates []Update)
}

// ErrUnauthenticated is Authenticate's error for credentials of no one,
// in GitHub's words.
var ErrUnauthenticated = errors.New("Invalid username or token. Password authentication is not supported for Git operations.")

// Forbidden is Authenticate's error for a login that may not push to the
// repository at all: 403 with Message.
type Forbidden struct{ Message string }

func (f *Forbidden) Error() string { return f.Message }

// maxPush is the largest push the front reads.
const maxPush = 256 << 20

// Protect makes every push authenticate and pass g. URL(name) then
// carries user and token, so the clones made from it (the bot's) push as
// whom the token names; URLAs gives another identity's.
func (s *Server) Protect(g Guard, user, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guard, s.user, s.token = g, user, token
}

// receivePack is whether a request is part of a push: the ref
// advertisement for git-receive-pack, or the push itself.
func receivePack(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/git-receive-pack") ||
		(strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-receive-pack")
}

// serve is the front of git http-backend: pushes authenticate and pass the
// guard, everything else goes through as it came.
func (s *Server) serve(backend *cgi.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		g := s.guard
		s.mu.Unlock()
		if g == nil || !receivePack(r) {
			backend.ServeHTTP(w, r)
			return
		}
		name := strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/info/refs"), "/git-receive-pack")
		dir := filepath.Join(s.Root, filepath.FromSlash(strings.TrimPrefix(name, "/")))
		user, pass, _ := r.BasicAuth()
		login, err := g.Authenticate(dir, user, pass)
		var forbidden *Forbidden
		switch {
		case errors.As(err, &forbidden):
			http.Error(w, forbidden.Message, http.StatusForbidden)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		// git http-backend takes a push from whom REMOTE_USER names.
		as := *backend
		as.Env = append(append([]string(nil), backend.Env...), "REMOTE_USER="+login)
		if r.Method != http.MethodPost {
			as.ServeHTTP(w, r)
			return
		}
		body, err := readPush(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p, err := parsePush(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := fastForwards(dir, p); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if refusals := g.CheckPush(dir, login, p.updates); len(refusals) > 0 {
			refuse(w, p, refusals)
			return
		}
		as.ServeHTTP(w, withBody(r, body))
		if n, ok := g.(Notifier); ok {
			n.Pushed(dir, login, p.updates)
		}
	}
}

// withBody is r with its body, read and inflated, for git http-backend.
func withBody(r *http.Request, body []byte) *http.Request {
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Header.Del("Content-Encoding")
	return r
}

func readPush(r *http.Request) ([]byte, error) {
	var in io.Reader = http.MaxBytesReader(nil, r.Body, maxPush)
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("reading the push: %w", err)
		}
		in = io.LimitReader(z, maxPush)
	}
	body, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("reading the push: %w", err)
	}
	return body, nil
}

// push is what a git-receive-pack request asks for.
type push struct {
	updates []Update
	caps    map[string]bool
	pack    []byte
}

// parsePush reads the commands of a push (pkt-lines up to a flush, the
// first with the client's capabilities), its push options, and its pack.
func parsePush(body []byte) (*push, error) {
	p := &push{caps: map[string]bool{}}
	rest := body
	lines, rest, err := pktLines(rest)
	if err != nil {
		return nil, err
	}
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\n")
		if i == 0 {
			cmd, caps, _ := strings.Cut(line, "\x00")
			for _, c := range strings.Fields(caps) {
				p.caps[c] = true
			}
			line = cmd
		}
		if strings.HasPrefix(line, "shallow ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("reading the push: command %q is not \"old new ref\"", line)
		}
		p.updates = append(p.updates, Update{Old: f[0], New: f[1], Ref: f[2], FastForward: true})
	}
	if p.caps["push-options"] {
		if _, rest, err = pktLines(rest); err != nil {
			return nil, err
		}
	}
	p.pack = rest
	return p, nil
}

// pktLines reads pkt-lines up to a flush packet and returns them and what
// follows the flush.
func pktLines(b []byte) ([]string, []byte, error) {
	var out []string
	for {
		if len(b) < 4 {
			return nil, nil, errors.New("reading the push: it ends before a flush packet")
		}
		var n int
		if _, err := fmt.Sscanf(string(b[:4]), "%04x", &n); err != nil {
			return nil, nil, fmt.Errorf("reading the push: bad packet length %q", b[:4])
		}
		if n == 0 {
			return out, b[4:], nil
		}
		if n < 4 || n > len(b) {
			return nil, nil, fmt.Errorf("reading the push: packet length %d out of range", n)
		}
		out = append(out, string(b[4:n]))
		b = b[n:]
	}
}

// fastForwards sets FastForward on each update that moves a ref, reading
// the pushed objects from a quarantine next to the repository's, as git
// does for its pre-receive hook.
func fastForwards(dir string, p *push) error {
	var moves []int
	for i, u := range p.updates {
		if !u.Creation() && !u.Deletion() {
			moves = append(moves, i)
		}
	}
	if len(moves) == 0 {
		return nil
	}
	quarantine, err := os.MkdirTemp("", "gitserver-quarantine-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(quarantine)
	env := []string{"GIT_OBJECT_DIRECTORY=" + quarantine, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(dir, "objects")}
	if len(p.pack) > 0 {
		if err := os.MkdirAll(filepath.Join(quarantine, "pack"), 0o755); err != nil {
			return err
		}
		cmd := exec.Command("git", "index-pack", "--stdin", "--fix-thin")
		cmd.Dir, cmd.Env, cmd.Stdin = dir, append(os.Environ(), env...), bytes.NewReader(p.pack)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("reading the pushed objects: %w: %s", err, out)
		}
	}
	for _, i := range moves {
		u := &p.updates[i]
		cmd := exec.Command("git", "merge-base", "--is-ancestor", u.Old, u.New)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			u.FastForward = false
		default:
			return fmt.Errorf("comparing %s with %s: %w", u.Old, u.New, err)
		}
	}
	return nil
}

// refuse answers a refused push as git-receive-pack reports it: the
// messages on the progress band, shown as "remote: ...", and each ref
// rejected with its reason.
func refuse(w http.ResponseWriter, p *push, refusals []Refusal) {
	reasons := map[string]string{}
	var msg strings.Builder
	for _, r := range refusals {
		reasons[r.Ref] = r.Reason
		for _, l := range r.Lines {
			msg.WriteString(l + "\n")
		}
	}
	var report bytes.Buffer
	report.WriteString(pkt("unpack ok\n"))
	for _, u := range p.updates {
		reason := reasons[u.Ref]
		if reason == "" {
			reason = "pre-receive hook declined"
		}
		report.WriteString(pkt("ng " + u.Ref + " " + reason + "\n"))
	}
	report.WriteString("0000")
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	band := 0
	switch {
	case p.caps["side-band-64k"]:
		band = 65515
	case p.caps["side-band"]:
		band = 995
	}
	if band == 0 {
		_, _ = w.Write(report.Bytes())
		return
	}
	var out bytes.Buffer
	for _, m := range chunks([]byte(msg.String()), band) {
		out.WriteString(pkt("\x02" + string(m)))
	}
	for _, m := range chunks(report.Bytes(), band) {
		out.WriteString(pkt("\x01" + string(m)))
	}
	out.WriteString("0000")
	_, _ = w.Write(out.Bytes())
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}
