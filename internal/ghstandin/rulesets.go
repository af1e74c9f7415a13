package ghstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Repository rulesets, as GitHub's REST API manages them: rules on the
// refs whose names match fnmatch patterns, with the actors who may bypass
// them. rules.go enforces the active ones on pushes and merges.

// ruleset is a repository ruleset.
type ruleset struct {
	id               int64
	name             string
	target           string // branch or tag
	enforcement      string // active, evaluate or disabled
	bypass           []bypassActor
	include, exclude []string
	rules            []rule
	created, updated github.Timestamp
}

// bypassActor is who may bypass a ruleset, and when: always, or only by
// merging a pull request (pull_request).
type bypassActor struct {
	ID   *int64 `json:"actor_id"`
	Type string `json:"actor_type"`
	Mode string `json:"bypass_mode"`
}

// rule is one rule of a ruleset, with its parameters as sent and as the
// stand-in enforces them.
type rule struct {
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	checks     *requiredChecks
	reviews    *requiredReviews
	onCreate   bool // required_status_checks: enforced on the ref's creation
}

// The repository roles a RepositoryRole bypass actor names, by ID, as
// GitHub numbers them.
var roleIDs = map[int64]string{1: "read", 2: "maintain", 3: "triage", 4: "write", 5: "admin"}

// rulesetInput is the body of "Create a repository ruleset" and "Update a
// repository ruleset".
type rulesetInput struct {
	Name         *string        `json:"name"`
	Target       *string        `json:"target"`
	Enforcement  *string        `json:"enforcement"`
	BypassActors *[]bypassActor `json:"bypass_actors"`
	Conditions   *struct {
		RefName struct {
			Include []string `json:"include"`
			Exclude []string `json:"exclude"`
		} `json:"ref_name"`
	} `json:"conditions"`
	Rules *[]rule `json:"rules"`
}

// apply sets what in says on rs, validated as GitHub does: the field it
// refuses and why, or "".
func (in rulesetInput) apply(rs *ruleset) (string, string) {
	if in.Name != nil {
		rs.name = *in.Name
	}
	if rs.name == "" {
		return "name", "name is missing"
	}
	if in.Target != nil {
		rs.target = *in.Target
	}
	if rs.target != "branch" && rs.target != "tag" {
		return "target", "target must be branch or tag"
	}
	if in.Enforcement != nil {
		rs.enforcement = *in.Enforcement
	}
	switch rs.enforcement {
	case "active", "evaluate", "disabled":
	default:
		return "enforcement", "enforcement must be active, evaluate or disabled"
	}
	if in.BypassActors != nil {
		for _, a := range *in.BypassActors {
			switch a.Type {
			case "Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey":
			default:
				return "bypass_actors", fmt.Sprintf("actor_type %q must be Integration, OrganizationAdmin, RepositoryRole, Team or DeployKey", a.Type)
			}
			switch a.Mode {
			case "", "always", "pull_request", "exempt":
			default:
				return "bypass_actors", fmt.Sprintf("bypass_mode %q must be always, pull_request or exempt", a.Mode)
			}
		}
		rs.bypass = *in.BypassActors
		for i := range rs.bypass {
			if rs.bypass[i].Mode == "" {
				rs.bypass[i].Mode = "always"
			}
		}
	}
	if c := in.Conditions; c != nil {
		rs.include, rs.exclude = c.RefName.Include, c.RefName.Exclude
		for _, p := range append(append([]string(nil), rs.include...), rs.exclude...) {
			if _, err := refPattern(p); err != nil {
				return "conditions", fmt.Sprintf("ref_name pattern %q: %v", p, err)
			}
		}
	}
	if in.Rules != nil {
		rules := *in.Rules
		for i := range rules {
			if msg := rules[i].parse(); msg != "" {
				return "rules", msg
			}
		}
		rs.rules = rules
	}
	return "", ""
}

// parse reads a rule's parameters; what is wrong with them, or "".
func (r *rule) parse() string {
	switch r.Type {
	case "creation", "update", "deletion", "non_fast_forward":
	case "required_status_checks":
		var p struct {
			Checks []struct {
				Context       string `json:"context"`
				IntegrationID *int64 `json:"integration_id"`
			} `json:"required_status_checks"`
			Strict      bool `json:"strict_required_status_checks_policy"`
			NotOnCreate bool `json:"do_not_enforce_on_create"`
		}
		if err := json.Unmarshal(r.Parameters, &p); err != nil || len(p.Checks) == 0 {
			return "required_status_checks needs parameters.required_status_checks, each with a context"
		}
		r.checks, r.onCreate = &requiredChecks{strict: p.Strict}, !p.NotOnCreate
		for _, c := range p.Checks {
			r.checks.checks = append(r.checks.checks, requiredCheck{Context: c.Context, AppID: c.IntegrationID})
		}
	case "pull_request":
		var p struct {
			Count        int  `json:"required_approving_review_count"`
			DismissStale bool `json:"dismiss_stale_reviews_on_push"`
			CodeOwners   bool `json:"require_code_owner_review"`
		}
		if err := json.Unmarshal(r.Parameters, &p); err != nil {
			return "pull_request needs parameters with required_approving_review_count"
		}
		if p.Count < 0 || p.Count > 10 {
			return "required_approving_review_count must be between 0 and 10"
		}
		r.reviews = &requiredReviews{count: p.Count, dismissStale: p.DismissStale, codeOwners: p.CodeOwners}
	default:
		return fmt.Sprintf("rule %q is not one the stand-in enforces: creation, update, deletion, non_fast_forward, required_status_checks or pull_request", r.Type)
	}
	return ""
}

// refPattern is a ref_name pattern as a regular expression: fnmatch, where
// * matches within a path segment and ** across them.
func refPattern(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("an unclosed [")
			}
			b.WriteString(p[i : i+end+1])
			i += end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// matches is whether the ruleset applies to ref; s.mu held.
func (rs *ruleset) matches(rp *repo, ref string) bool {
	prefix := "refs/heads/"
	if rs.target == "tag" {
		prefix = "refs/tags/"
	}
	if !strings.HasPrefix(ref, prefix) {
		return false
	}
	match := func(patterns []string) bool {
		for _, p := range patterns {
			switch p {
			case "~ALL":
				return true
			case "~DEFAULT_BRANCH":
				if ref == "refs/heads/"+rp.defaultBranch {
					return true
				}
				continue
			}
			if re, err := refPattern(p); err == nil && re.MatchString(ref) {
				return true
			}
		}
		return false
	}
	return match(rs.include) && !match(rs.exclude)
}

// rulesetAt is the ruleset of the route's {ruleset_id}; 404 when it is not
// there. s.mu held.
func (s *Server) rulesetAt(w http.ResponseWriter, r *http.Request) (*repo, int, *ruleset) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, 0, nil
	}
	id, err := strconv.ParseInt(r.PathValue("ruleset_id"), 10, 64)
	for i, rs := range rp.rulesets {
		if err == nil && rs.id == id {
			return rp, i, rs
		}
	}
	notFound(w)
	return nil, 0, nil
}

// createRuleset is "Create a repository ruleset": 201.
func (s *Server) createRuleset(w http.ResponseWriter, r *http.Request) {
	var in rulesetInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	rs := &ruleset{target: "branch", enforcement: ""}
	if field, msg := in.apply(rs); field != "" {
		validationFailed(w, "Ruleset", field, msg)
		return
	}
	for _, other := range rp.rulesets {
		if other.name == rs.name {
			validationFailed(w, "Ruleset", "name", "Name must be unique")
			return
		}
	}
	rs.id, rs.created = s.id(), s.stamp()
	rs.updated = rs.created
	rp.rulesets = append(rp.rulesets, rs)
	writeJSON(w, http.StatusCreated, s.rulesetJSON(rp, rs, actor(r)))
}

// listRulesets is "Get all repository rulesets".
func (s *Server) listRulesets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	out := []object{}
	for _, rs := range rp.rulesets {
		out = append(out, s.rulesetJSON(rp, rs, actor(r)))
	}
	writePage(w, r, out)
}

// getRuleset is "Get a repository ruleset".
func (s *Server) getRuleset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, _, rs := s.rulesetAt(w, r); rs != nil {
		writeJSON(w, http.StatusOK, s.rulesetJSON(rp, rs, actor(r)))
	}
}

// updateRuleset is "Update a repository ruleset": what the body names
// changes, the rest stays.
func (s *Server) updateRuleset(w http.ResponseWriter, r *http.Request) {
	var in rulesetInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, rs := s.rulesetAt(w, r)
	if rs == nil {
		return
	}
	next := *rs
	if field, msg := in.apply(&next); field != "" {
		validationFailed(w, "Ruleset", field, msg)
		return
	}
	next.updated = s.stamp()
	*rs = next
	writeJSON(w, http.StatusOK, s.rulesetJSON(rp, rs, actor(r)))
}

// deleteRuleset is "Delete a repository ruleset": 204.
func (s *Server) deleteRuleset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i, rs := s.rulesetAt(w, r)
	if rs == nil {
		return
	}
	rp.rulesets = append(rp.rulesets[:i], rp.rulesets[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

// rulesetJSON is a repository ruleset, as login sees it.
func (s *Server) rulesetJSON(rp *repo, rs *ruleset, login string) object {
	bypass := []object{}
	for _, a := range rs.bypass {
		var id any
		if a.ID != nil {
			id = *a.ID
		}
		bypass = append(bypass, object{"actor_id": id, "actor_type": a.Type, "bypass_mode": a.Mode})
	}
	rules := []object{}
	for _, ru := range rs.rules {
		o := object{"type": ru.Type}
		if len(ru.Parameters) > 0 && string(ru.Parameters) != "null" {
			var params any
			if err := json.Unmarshal(ru.Parameters, &params); err == nil {
				o["parameters"] = params
			}
		}
		rules = append(rules, o)
	}
	can := "never"
	switch s.bypassMode(rp, rs, login) {
	case "always", "exempt":
		can = "always"
	case "pull_request":
		can = "pull_requests_only"
	}
	orEmpty := func(p []string) []string {
		if p == nil {
			return []string{}
		}
		return p
	}
	self := fmt.Sprintf("%s/rulesets/%d", s.repoAPI(rp), rs.id)
	return s.finish(ResRuleset, object{
		"id": rs.id, "node_id": nodeID("RRS", rs.id), "name": rs.name, "target": rs.target,
		"source_type": "Repository", "source": rp.owner + "/" + rp.name, "enforcement": rs.enforcement,
		"bypass_actors": bypass, "current_user_can_bypass": can,
		"conditions": object{"ref_name": object{"include": orEmpty(rs.include), "exclude": orEmpty(rs.exclude)}},
		"rules":      rules,
		"_links":     object{"self": object{"href": self}, "html": object{"href": fmt.Sprintf("%s/rules/%d", s.repoHTML(rp), rs.id)}},
		"created_at": ts(&rs.created), "updated_at": ts(&rs.updated),
	})
}
