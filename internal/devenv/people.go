package devenv

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/gitserver"
)

// What people do on the stand-in, through its REST API as GitHub's users
// would: `purrvision dev` and its subcommands share these.

// Call makes one REST call on the stand-in at api as the person as.
func Call(ctx context.Context, api, method, path, as string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(api, "/")+"/"+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ghstandin.ActAsHeader, as)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("calling the dev GitHub stand-in: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var answer struct {
			Message string `json:"message"`
		}
		shown := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &answer) == nil && answer.Message != "" {
			shown = strings.TrimSpace(answer.Message)
		}
		return &CallError{Status: resp.StatusCode, GitHub: answer.Message, Message: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, shown)}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// CallError is an answer of the stand-in other than 2xx.
type CallError struct {
	Status  int
	Message string
	// GitHub is the message of GitHub's answer ("Head branch is out of
	// date. ..."); "" when it had none.
	GitHub string
}

func (e *CallError) Error() string { return e.Message }

// Key is an SSH key pair of a person on this machine whose public half is
// on their account on the stand-in.
type Key struct {
	// Private is the private key's path: `age -d -i` takes it.
	Private string
	// Added is whether GiveKey added it now.
	Added bool
}

// ownKeys are the private keys of whoever runs dev, as ssh-keygen names
// them; age encrypts to these kinds.
var ownKeys = []string{"id_ed25519", "id_rsa"}

// keyCandidates are the private keys dev may give login, best first: the
// runner's own, then the one generated for login in dir.
func keyCandidates(login, dir string) []string {
	var out []string
	if home, err := os.UserHomeDir(); err == nil {
		for _, k := range ownKeys {
			p := filepath.Join(home, ".ssh", k)
			if fileExists(p) && fileExists(p+".pub") {
				out = append(out, p)
			}
		}
	}
	return append(out, generatedKey(login, dir))
}

func generatedKey(login, dir string) string { return filepath.Join(dir, "ssh", login) }

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// publicKey reads the public half of a private key file, without its
// comment; "" when there is none age can encrypt to.
func publicKey(private string) string {
	data, err := os.ReadFile(private + ".pub")
	if err != nil {
		return ""
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return ""
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if _, err := agessh.ParseRecipient(key); err != nil {
		return ""
	}
	return key
}

// FindKey is the key on this machine whose public half is on login's
// account, if there is one.
func FindKey(ctx context.Context, api, login, dir string) (Key, bool, error) {
	var keys []struct {
		Key string `json:"key"`
	}
	if err := Call(ctx, api, http.MethodGet, "users/"+login+"/keys", login, nil, &keys); err != nil {
		return Key{}, false, err
	}
	for _, c := range keyCandidates(login, dir) {
		pub := publicKey(c)
		for _, k := range keys {
			if pub != "" && strings.TrimSpace(k.Key) == pub {
				return Key{Private: c}, true, nil
			}
		}
	}
	return Key{}, false, nil
}

// GiveKey makes sure login's account on the stand-in has a public SSH key
// whose private half is on this machine, so the credentials Purrvision
// encrypts to it can be read: the runner's own ~/.ssh/id_ed25519.pub or
// ~/.ssh/id_rsa.pub, or else (or when that one is on another account
// already) an ed25519 key generated in dir/ssh, its private half readable
// by its owner only. It adds the key with POST /user/keys as login.
func GiveKey(ctx context.Context, api, login, dir string) (Key, error) {
	if k, ok, err := FindKey(ctx, api, login, dir); err != nil || ok {
		return k, err
	}
	for _, c := range keyCandidates(login, dir) {
		if c == generatedKey(login, dir) {
			if err := generateKey(c, login); err != nil {
				return Key{}, err
			}
		}
		pub := publicKey(c)
		if pub == "" {
			continue
		}
		err := Call(ctx, api, http.MethodPost, "user/keys", login, map[string]string{"title": "purrvision dev: " + filepath.Base(c), "key": pub}, nil)
		var ce *CallError
		if errors.As(err, &ce) && ce.Status == http.StatusUnprocessableEntity {
			continue // on another account already
		}
		if err != nil {
			return Key{}, fmt.Errorf("adding an SSH key to @%s: %w", login, err)
		}
		return Key{Private: c, Added: true}, nil
	}
	return Key{}, fmt.Errorf("no SSH key to give @%s", login)
}

// generateKey writes an ed25519 key pair at private and private.pub,
// unless there is one.
func generateKey(private, login string) error {
	if fileExists(private) && fileExists(private+".pub") {
		return nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "purrvision dev: @"+login)
	if err != nil {
		return err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(private), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(private, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("writing the SSH key of @%s: %w", login, err)
	}
	return os.WriteFile(private+".pub", ssh.MarshalAuthorizedKey(sp), 0o644)
}

// ErrNoCredentials is returned while an issue has no credentials comment.
var ErrNoCredentials = errors.New("no credentials comment yet")

// SaveCredentials writes the encrypted block of the credentials comment on
// a request issue to dir/credentials/<repo>-<issue>.age and returns the
// file's path. The block is age-encrypted to the requester's SSH keys;
// nothing here reads what is inside.
func SaveCredentials(ctx context.Context, api, repo string, issue int, dir string) (string, error) {
	var comments []struct {
		Body string `json:"body"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	if err := Call(ctx, api, http.MethodGet, fmt.Sprintf("repos/%s/issues/%d/comments?per_page=100", repo, issue), ghstandin.BotLogin, nil, &comments); err != nil {
		return "", err
	}
	for _, c := range comments {
		if c.User.Login != ghstandin.BotLogin || !strings.Contains(c.Body, "purrvision:credentials") {
			continue
		}
		start, end := strings.Index(c.Body, armor.Header), strings.Index(c.Body, armor.Footer)
		if start < 0 || end < start {
			return "", fmt.Errorf("the credentials comment on %s#%d has no encrypted block: the requester has no SSH key", repo, issue)
		}
		p := filepath.Join(dir, "credentials", fmt.Sprintf("%s-%d.age", strings.ReplaceAll(repo, "/", "-"), issue))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		return p, os.WriteFile(p, []byte(c.Body[start:end+len(armor.Footer)]+"\n"), 0o644)
	}
	return "", ErrNoCredentials
}

// DecryptCommand is the command that decrypts a saved credentials file
// with a private key.
func DecryptCommand(private, file string) string {
	age := "age"
	if p := os.Getenv("PURRVISION_AGE"); p != "" {
		age = p // the age CLI make builds into the cache
	}
	return shellQuote(age) + " -d -i " + shellQuote(private) + " " + shellQuote(file)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./@%+=:,-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// PushRequest pushes a branch of the tenants repo at gitURL, from its base
// branch, with one commit by login that adds requests/<name>.yaml: req,
// owned by login. The commit is authored with login's no-reply e-mail
// address, which GitHub links to their account. It works in a temporary
// folder under dir and returns the branch's head.
func PushRequest(ctx context.Context, gitURL, base, branch, login string, req *v1alpha1.StoreRequest, dir string) (string, error) {
	data, err := yaml.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("writing the request of %s: %w", req.Metadata.Name, err)
	}
	if _, err := v1alpha1.Parse(data); err != nil {
		return "", fmt.Errorf("writing the request of %s: %w", req.Metadata.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(dir, "request-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	file := path.Join("requests", req.Metadata.Name+".yaml")
	author := fmt.Sprintf("%s <%d+%s@users.noreply.github.com>", login, userID(login), login)
	steps := [][]string{
		{"clone", "-q", "--branch", base, gitURL, "."},
		{"checkout", "-q", "-b", branch},
		{"add", file},
		{"commit", "-q", "--author", author, "-m", "Request store " + req.Metadata.Name},
		{"push", "-q", "origin", branch},
		{"rev-parse", "HEAD"},
	}
	var out []byte
	for i, args := range steps {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if i == 2 {
			if err := os.MkdirAll(filepath.Join(work, "requests"), 0o755); err != nil {
				return "", err
			}
			if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(file)), data, 0o644); err != nil {
				return "", err
			}
		}
		if out, err = gitserver.Git(work, args...); err != nil {
			return "", fmt.Errorf("pushing %s to the dev tenants repo: git %s: %w: %s", branch, args[0], err, bytes.TrimSpace(out))
		}
	}
	return strings.TrimSpace(string(out)), nil
}

// userID is a number for login, as GitHub numbers accounts.
func userID(login string) int {
	id := 0
	for _, c := range login {
		id = (id*31 + int(c)) % 100000000
	}
	return id
}
