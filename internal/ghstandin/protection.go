package ghstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
)

// Branch protection, as GitHub's REST API sets it on one branch: required
// status checks (strict, and checks bound to an App), required reviews
// (approvals, stale dismissal, code owners), enforce_admins and push
// restrictions. rules.go enforces it on pushes and merges.

// protection is a protected branch's settings.
type protection struct {
	checks        *requiredChecks
	reviews       *requiredReviews
	enforceAdmins bool
	restrictions  *actors // nil: anyone with write access may push
	forcePushes   bool
	deletions     bool
}

// requiredChecks are the checks a commit needs before it lands.
type requiredChecks struct {
	strict bool // the head must contain the base
	checks []requiredCheck
}

// requiredCheck is a check run or status by its name; with app, only the
// App of that ID counts.
type requiredCheck struct {
	Context string `json:"context"`
	AppID   *int64 `json:"app_id,omitempty"`
}

// requiredReviews are what a pull request into the branch needs.
type requiredReviews struct {
	count        int
	dismissStale bool
	codeOwners   bool
	bypass       actors // who may push without a pull request
}

// actors are users, teams (slugs of the repository's organization) and
// Apps (slugs).
type actors struct {
	Users []string `json:"users"`
	Teams []string `json:"teams"`
	Apps  []string `json:"apps"`
}

// has is whether login is one of the actors of rp.
func (s *Server) has(rp *repo, a actors, login string) bool {
	for _, u := range a.Users {
		if u == login {
			return true
		}
	}
	for _, t := range a.Teams {
		if s.teams[rp.owner+"/"+t][login] {
			return true
		}
	}
	for _, app := range a.Apps {
		if app+"[bot]" == login {
			return true
		}
	}
	return false
}

// protectionInput is the body of "Update branch protection"; the four
// settings GitHub requires are RawMessages, to tell null from missing.
type protectionInput struct {
	Checks        json.RawMessage `json:"required_status_checks"`
	EnforceAdmins json.RawMessage `json:"enforce_admins"`
	Reviews       json.RawMessage `json:"required_pull_request_reviews"`
	Restrictions  json.RawMessage `json:"restrictions"`
	ForcePushes   *bool           `json:"allow_force_pushes"`
	Deletions     *bool           `json:"allow_deletions"`
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// parseProtection reads the body of "Update branch protection" as GitHub
// validates it: the field it refuses and why, or the settings.
func parseProtection(in protectionInput) (*protection, string, string) {
	for field, v := range map[string]json.RawMessage{"required_status_checks": in.Checks, "enforce_admins": in.EnforceAdmins,
		"required_pull_request_reviews": in.Reviews, "restrictions": in.Restrictions} {
		if len(v) == 0 {
			return nil, field, field + " is missing; send null to leave it off"
		}
	}
	p := &protection{forcePushes: in.ForcePushes != nil && *in.ForcePushes, deletions: in.Deletions != nil && *in.Deletions}
	if !isNull(in.EnforceAdmins) {
		if err := json.Unmarshal(in.EnforceAdmins, &p.enforceAdmins); err != nil {
			return nil, "enforce_admins", "enforce_admins must be a boolean or null"
		}
	}
	if !isNull(in.Checks) {
		var c struct {
			Strict   bool            `json:"strict"`
			Contexts []string        `json:"contexts"`
			Checks   []requiredCheck `json:"checks"`
		}
		if err := json.Unmarshal(in.Checks, &c); err != nil {
			return nil, "required_status_checks", "required_status_checks must be an object with strict and checks"
		}
		p.checks = &requiredChecks{strict: c.Strict, checks: c.Checks}
		if c.Checks == nil { // contexts is the older form, of any source
			for _, ctx := range c.Contexts {
				p.checks.checks = append(p.checks.checks, requiredCheck{Context: ctx})
			}
		}
		for _, rc := range p.checks.checks {
			if rc.Context == "" {
				return nil, "required_status_checks", "each check needs a context"
			}
		}
	}
	if !isNull(in.Reviews) {
		var r struct {
			Count        *int   `json:"required_approving_review_count"`
			DismissStale bool   `json:"dismiss_stale_reviews"`
			CodeOwners   bool   `json:"require_code_owner_reviews"`
			Bypass       actors `json:"bypass_pull_request_allowances"`
		}
		if err := json.Unmarshal(in.Reviews, &r); err != nil {
			return nil, "required_pull_request_reviews", "required_pull_request_reviews must be an object"
		}
		count := 1
		if r.Count != nil {
			count = *r.Count
		}
		if count < 0 || count > 6 {
			return nil, "required_approving_review_count", "required_approving_review_count must be between 0 and 6"
		}
		p.reviews = &requiredReviews{count: count, dismissStale: r.DismissStale, codeOwners: r.CodeOwners, bypass: r.Bypass}
	}
	if !isNull(in.Restrictions) {
		var a actors
		if err := json.Unmarshal(in.Restrictions, &a); err != nil {
			return nil, "restrictions", "restrictions must be an object with users, teams and apps"
		}
		p.restrictions = &a
	}
	return p, "", ""
}

// branchAt is the repository and branch of a protection route, answering
// 404 when either is not there; s.mu held.
func (s *Server) branchAt(w http.ResponseWriter, r *http.Request) (*repo, string) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, ""
	}
	b := r.PathValue("branch")
	if _, err := rp.headSHA(b); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not found", "documentation_url": "https://docs.github.com/rest/branches/branch-protection#update-branch-protection"})
		return nil, ""
	}
	return rp, b
}

// updateProtection is "Update branch protection": it replaces the
// branch's settings.
func (s *Server) updateProtection(w http.ResponseWriter, r *http.Request) {
	var in protectionInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, b := s.branchAt(w, r)
	if rp == nil {
		return
	}
	p, field, msg := parseProtection(in)
	if p == nil {
		validationFailed(w, "ProtectedBranch", field, msg)
		return
	}
	if rp.protections == nil {
		rp.protections = map[string]*protection{}
	}
	rp.protections[b] = p
	writeJSON(w, http.StatusOK, s.protectionJSON(rp, b, p))
}

// getProtection is "Get branch protection": 404 "Branch not protected"
// for a branch without.
func (s *Server) getProtection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, b := s.branchAt(w, r)
	if rp == nil {
		return
	}
	p := rp.protections[b]
	if p == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not protected", "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-branch-protection"})
		return
	}
	writeJSON(w, http.StatusOK, s.protectionJSON(rp, b, p))
}

// deleteProtection is "Delete branch protection": 204.
func (s *Server) deleteProtection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, b := s.branchAt(w, r)
	if rp == nil {
		return
	}
	if rp.protections[b] == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not protected", "documentation_url": "https://docs.github.com/rest/branches/branch-protection#delete-branch-protection"})
		return
	}
	delete(rp.protections, b)
	w.WriteHeader(http.StatusNoContent)
}

// protectionJSON is a branch's protection, as GitHub answers both the
// update and the get.
func (s *Server) protectionJSON(rp *repo, branch string, p *protection) object {
	u := s.repoAPI(rp) + "/branches/" + url.PathEscape(branch) + "/protection"
	enabled := func(b bool) object { return object{"enabled": b} }
	o := object{
		"url":                              u,
		"enforce_admins":                   object{"url": u + "/enforce_admins", "enabled": p.enforceAdmins},
		"required_signatures":              object{"url": u + "/required_signatures", "enabled": false},
		"required_linear_history":          enabled(false),
		"allow_force_pushes":               enabled(p.forcePushes),
		"allow_deletions":                  enabled(p.deletions),
		"block_creations":                  enabled(false),
		"required_conversation_resolution": enabled(false),
		"lock_branch":                      enabled(false),
		"allow_fork_syncing":               enabled(false),
	}
	if c := p.checks; c != nil {
		contexts, checks := []string{}, []object{}
		for _, rc := range c.checks {
			contexts = append(contexts, rc.Context)
			var app any
			if rc.AppID != nil {
				app = *rc.AppID
			}
			checks = append(checks, object{"context": rc.Context, "app_id": app})
		}
		o["required_status_checks"] = object{"url": u + "/required_status_checks", "strict": c.strict, "contexts": contexts,
			"checks": checks, "contexts_url": u + "/required_status_checks/contexts", "enforcement_level": "non_admins"}
	}
	if rv := p.reviews; rv != nil {
		o["required_pull_request_reviews"] = object{"url": u + "/required_pull_request_reviews",
			"dismiss_stale_reviews": rv.dismissStale, "require_code_owner_reviews": rv.codeOwners,
			"required_approving_review_count": rv.count, "require_last_push_approval": false,
			"bypass_pull_request_allowances": s.actorsJSON(rp, rv.bypass)}
	}
	if a := p.restrictions; a != nil {
		ro := s.actorsJSON(rp, *a)
		ro["url"], ro["users_url"], ro["teams_url"], ro["apps_url"] = u+"/restrictions", u+"/restrictions/users", u+"/restrictions/teams", u+"/restrictions/apps"
		o["restrictions"] = ro
	}
	return s.finish(ResProtection, o)
}

// actorsJSON is users, teams and Apps as GitHub lists them.
func (s *Server) actorsJSON(rp *repo, a actors) object {
	users, teams, apps := []object{}, []object{}, []object{}
	for _, u := range a.Users {
		users = append(users, s.userJSON(u))
	}
	for _, t := range a.Teams {
		teams = append(teams, s.teamJSON(rp.owner, t))
	}
	for _, app := range a.Apps {
		o := s.appJSON(rp, app)
		o["description"] = "" // a string here, in GitHub's description
		apps = append(apps, o)
	}
	return object{"users": users, "teams": teams, "apps": apps}
}

// teamID is the ID of org/team.
func teamID(org, slug string) int64 { return userID(org + "/" + slug) }

// teamJSON is a team of an organization.
func (s *Server) teamJSON(org, slug string) object {
	id := teamID(org, slug)
	u := fmt.Sprintf("%s/organizations/%d/team/%d", s.baseURL, userID(org), id)
	return s.finish(ResTeam, object{
		"id": id, "node_id": nodeID("T", id), "url": u, "html_url": s.baseURL + "/orgs/" + org + "/teams/" + slug,
		"name": slug, "slug": slug, "description": nil, "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "push", "members_url": u + "/members{/member}", "repositories_url": u + "/repos", "parent": nil,
		"type": "organization", "organization_id": userID(org),
	})
}

// teamOf is the org/team of a team ID; "" for none. s.mu held.
func (s *Server) teamOf(id int64) string {
	keys := make([]string, 0, len(s.teams))
	for k := range s.teams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if userID(k) == id {
			return k
		}
	}
	return ""
}
