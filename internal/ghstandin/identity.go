package ghstandin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

// ResPublicUser is a user as GET /user answers: the public profile.
const ResPublicUser = "public-user"

// authenticatedUser answers GET /user: the user the request acts as
// (the bot, or whom X-Standin-Act-As names), with the public profile
// GitHub gives.
func (s *Server) authenticatedUser(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Authorization"), "token ghs_") {
		// An installation token is no user.
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"})
		return
	}
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
// JWT: the App its issuer (iss) names: the stand-in's own one (AppID),
// whose bot is BotLogin, or, for another ID, an App "app-<id>" whose bot
// is not (so a config naming the wrong App is told apart); 401 without a
// JWT. (The signature is not checked: the stand-in holds no App key.)
func (s *Server) authenticatedApp(w http.ResponseWriter, r *http.Request) {
	iss, ok := jwtIssuer(r.Header.Get("Authorization"))
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	slug := strings.TrimSuffix(BotLogin, "[bot]")
	if iss != strconv.FormatInt(appID, 10) {
		slug = "app-" + iss
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.appObject("acme", github.Timestamp{Time: s.started}, slug))
}

// jwtIssuer is the iss claim of a bearer JWT, unverified.
func jwtIssuer(auth string) (string, bool) {
	token, ok := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(token, ".")
	if !ok || len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.Iss) == 0 {
		return "", false
	}
	return strings.Trim(string(claims.Iss), `"`), true
}
