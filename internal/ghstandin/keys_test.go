package ghstandin_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
	"golang.org/x/crypto/ssh"

	"github.com/purrvision/purrvision/internal/ghstandin"
)

func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func call(t *testing.T, method, url, as string, in any, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	if as != "" {
		req.Header.Set(ghstandin.ActAsHeader, as)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestUserKeys_Create: POST /user/keys adds a key to the caller's account
// with GitHub's status codes and shapes.
func TestUserKeys_Create(t *testing.T) {
	s, err := ghstandin.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	key := newPublicKey(t)

	var created github.Key
	if code := call(t, http.MethodPost, s.URL()+"user/keys", "someone", map[string]string{"title": "laptop", "key": key + " someone@laptop"}, &created); code != http.StatusCreated {
		t.Fatalf("POST /user/keys: %d, want 201", code)
	}
	if created.GetID() == 0 || created.GetKey() != key || created.GetTitle() != "laptop" || created.GetURL() == "" || created.CreatedAt == nil || created.Verified == nil || created.ReadOnly == nil {
		t.Errorf("created key = %+v", created)
	}
	var listed []*github.Key
	if code := call(t, http.MethodGet, s.URL()+"users/someone/keys", "", nil, &listed); code != http.StatusOK || len(listed) != 1 || listed[0].GetKey() != key || listed[0].GetID() != created.GetID() {
		t.Errorf("GET /users/someone/keys: %d %+v", code, listed)
	}

	tests := []struct {
		name string
		as   string
		key  string
		code int
	}{
		{name: "already in use", as: "other", key: key, code: http.StatusUnprocessableEntity},
		{name: "not a public key", as: "other", key: "ssh-ed25519 not-base64", code: http.StatusUnprocessableEntity},
		{name: "an installation token", as: "", key: newPublicKey(t), code: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msg struct {
				Message string `json:"message"`
			}
			if code := call(t, http.MethodPost, s.URL()+"user/keys", tt.as, map[string]string{"title": "x", "key": tt.key}, &msg); code != tt.code || msg.Message == "" {
				t.Errorf("POST /user/keys: %d %q, want %d with a message", code, msg.Message, tt.code)
			}
		})
	}
	if code := call(t, http.MethodGet, s.URL()+"users/other/keys", "", nil, &listed); code != http.StatusOK || len(listed) != 0 {
		t.Errorf("refused keys were added: %+v", listed)
	}
}
