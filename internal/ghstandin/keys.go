package ghstandin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
	"golang.org/x/crypto/ssh"
)

// newKey records a public SSH key; s.mu must be held.
func (s *Server) newKey(key, title string) *github.Key {
	id := s.id()
	now := s.stamp()
	return &github.Key{ID: github.Int64(id), Key: github.String(key), Title: github.String(title),
		URL: github.String(fmt.Sprintf("%s/user/keys/%d", s.baseURL, id)), CreatedAt: &now,
		Verified: github.Bool(false), ReadOnly: github.Bool(false)}
}

// createUserKey is POST /user/keys: the caller adds a public SSH key to
// their own account. GitHub answers 201 with the key, 422 for a key that is
// not an OpenSSH public key or is already on an account, and 403 to an
// App's installation token, which acts for no user.
func (s *Server) createUserKey(w http.ResponseWriter, r *http.Request) {
	login := actor(r)
	if login == BotLogin {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/keys#create-a-public-ssh-key-for-the-authenticated-user"})
		return
	}
	var in struct {
		Title string `json:"title"`
		Key   string `json:"key"`
	}
	if !decode(w, r, &in) {
		return
	}
	if tooLong(w, limit{resource: "PublicKey", field: "title", value: in.Title, max: 255}) {
		return
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(in.Key))
	if err != nil {
		validationFailed(w, "PublicKey", "key", "key is invalid. You must supply a key in OpenSSH public key format")
		return
	}
	// GitHub keeps the type and the key, not the comment.
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, keys := range s.keys {
		for _, k := range keys {
			if k.GetKey() == key {
				validationFailed(w, "PublicKey", "key", "key is already in use")
				return
			}
		}
	}
	title := in.Title
	if title == "" {
		title = key
	}
	k := s.newKey(key, title)
	s.keys[login] = append(s.keys[login], k)
	writeJSON(w, http.StatusCreated, s.keyJSON(k))
}
