package ghstandin

import (
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// ResPublicUser is a user as GET /user answers: the public profile.
const ResPublicUser = "public-user"

// authenticatedUser answers GET /user: the user the request acts as
// (the bot, or whom X-Standin-Act-As names), with the public profile
// GitHub gives.
func (s *Server) authenticatedUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userJSON(actor(r))
	profile := object{}
	for k, v := range u {
		profile[k] = v
	}
	then := github.Timestamp{Time: s.started}
	created := ts(&then)
	for k, v := range map[string]any{
		"name": nil, "company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0, "created_at": created, "updated_at": created,
	} {
		profile[k] = v
	}
	writeJSON(w, http.StatusOK, s.finish(ResPublicUser, profile))
}

// authenticatedApp answers GET /app for a request signed with an App's
// JWT: the stand-in's own App, whose bot is BotLogin; 401 without a JWT,
// as GitHub answers.
func (s *Server) authenticatedApp(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.Count(auth, ".") != 2 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.appObject("acme", github.Timestamp{Time: s.started}, strings.TrimSuffix(BotLogin, "[bot]")))
}
