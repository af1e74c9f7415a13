package ghstandin

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/gitserver"
)

// GitHub's protection model enforced: branch protection (protection.go)
// and rulesets (rulesets.go) on pushes (through gitserver's Guard, which
// the stand-in is) and on merges, with code owners (codeowners.go). A
// repository with neither behaves as before.

// notAuthorized is GitHub's answer to a push or a merge by someone a
// branch's push restrictions leave out.
const notAuthorized = "You're not authorized to push to this branch. Visit https://docs.github.com/articles/about-protected-branches for more information."

// roleRank orders the repository roles.
var roleRank = map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// role is login's role on rp; "" for none. The owner is an admin; an
// App's bot has no role.
func (rp *repo) role(login string) string {
	if login == rp.owner {
		return "admin"
	}
	return rp.collaborators[login]
}

// bypassMode is how login may bypass rs: always, pull_request, exempt,
// or "" when not. s.mu held.
func (s *Server) bypassMode(rp *repo, rs *ruleset, login string) string {
	for _, a := range rs.bypass {
		if a.ID == nil {
			continue
		}
		ok := false
		switch a.Type {
		case "Integration":
			app, isBot := strings.CutSuffix(login, "[bot]")
			ok = isBot && appIDOf(app) == *a.ID
		case "RepositoryRole":
			want := roleRank[roleIDs[*a.ID]]
			ok = want > 0 && roleRank[rp.role(login)] >= want
		case "Team":
			team := s.teamOf(*a.ID)
			ok = team != "" && s.teams[team][login]
		case "OrganizationAdmin":
			ok = s.orgAdmins[rp.owner][login]
		}
		if ok {
			return a.Mode
		}
	}
	return ""
}

// activeRulesets are the rulesets GitHub enforces on ref.
func (rp *repo) activeRulesets(ref string) []*ruleset {
	var out []*ruleset
	for _, rs := range rp.rulesets {
		if rs.enforcement == "active" && rs.matches(rp, ref) {
			out = append(out, rs)
		}
	}
	return out
}

// checkState is the state of a required check on sha: success, failure,
// or expected (none yet, or not completed). A check run of its name, or a
// commit status of its context, counts; with an App, only that App's.
// s.mu held.
func (rp *repo) checkState(sha string, rc requiredCheck) string {
	state := "expected"
	see := func(st string) {
		if st == "success" || (st == "failure" && state == "expected") {
			state = st
		}
	}
	for i := len(rp.checkRuns) - 1; i >= 0; i-- {
		cr := rp.checkRuns[i]
		if cr.headSHA != sha || cr.name != rc.Context || (rc.AppID != nil && appIDOf(cr.app) != *rc.AppID) {
			continue
		}
		switch {
		case cr.status != "completed":
		case cr.conclusion == "success" || cr.conclusion == "neutral" || cr.conclusion == "skipped":
			see("success")
		default:
			see("failure")
		}
		break // the latest run of an App and name is the one that counts
	}
	var latest *github.RepoStatus
	for _, st := range rp.statuses[sha] {
		app, isBot := strings.CutSuffix(st.GetCreator().GetLogin(), "[bot]")
		if st.GetContext() == rc.Context && (rc.AppID == nil || (isBot && appIDOf(app) == *rc.AppID)) {
			latest = st
		}
	}
	switch latest.GetState() {
	case "success":
		see("success")
	case "failure", "error":
		see("failure")
	}
	return state
}

// checkGaps are GitHub's words for the required checks sha has not
// passed; none when it passed them all.
func (rp *repo) checkGaps(sha string, c *requiredChecks) []string {
	var expected, failing []string
	for _, rc := range c.checks {
		switch rp.checkState(sha, rc) {
		case "expected":
			expected = append(expected, rc.Context)
		case "failure":
			failing = append(failing, rc.Context)
		}
	}
	switch n := len(expected) + len(failing); {
	case n == 0:
		return nil
	case n == 1 && len(expected) == 1:
		return []string{fmt.Sprintf("Required status check %q is expected.", expected[0])}
	case n == 1:
		return []string{fmt.Sprintf("Required status check %q is failing.", failing[0])}
	case len(failing) == 0:
		return []string{fmt.Sprintf("%d of %d required status checks are expected.", n, len(c.checks))}
	default:
		return []string{fmt.Sprintf("%d of %d required status checks have not succeeded.", n, len(c.checks))}
	}
}

// approvers are the people whose latest review of pr approves it and who
// have write access, as GitHub counts approvals; sorted. s.mu held.
func (rp *repo) approvers(pr *github.PullRequest) []string {
	latest := map[string]string{}
	for _, rv := range rp.reviews[pr.GetNumber()] {
		if st := rv.GetState(); st != "COMMENTED" {
			latest[rv.GetUser().GetLogin()] = st
		}
	}
	var out []string
	for login, st := range latest {
		if st == "APPROVED" && rp.canPush(login) && login != pr.GetUser().GetLogin() {
			out = append(out, login)
		}
	}
	sort.Strings(out)
	return out
}

// changedFiles are the files pr changes against its base branch now.
func (rp *repo) changedFiles(pr *github.PullRequest) []string {
	base, err := rp.headSHA(pr.GetBase().GetRef())
	if err != nil {
		return nil
	}
	out, err := git(rp.gitDir, "diff", "--no-renames", "--name-only", base+"..."+pr.GetHead().GetSHA())
	if err != nil || out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// ownedBy is whether login is owner: the user, or a member of the team.
// s.mu held.
func (s *Server) ownedBy(owner, login string) bool {
	if strings.Contains(owner, "/") {
		return s.teams[owner][login]
	}
	return owner == login
}

// ownerGaps are the code owners ("@login", "@org/team") of the files pr
// changes whose approval it lacks: each file whose owners none of
// approvers is. s.mu held.
func (s *Server) ownerGaps(rp *repo, pr *github.PullRequest, approvers []string) []string {
	base, err := rp.headSHA(pr.GetBase().GetRef())
	if err != nil {
		return nil
	}
	rules := rp.codeOwners(base)
	seen := map[string]bool{}
	var out []string
	for _, f := range rp.changedFiles(pr) {
		owners := ownersOf(rules, f)
		approved := len(owners) == 0
		for _, o := range owners {
			for _, a := range approvers {
				approved = approved || s.ownedBy(o, a)
			}
		}
		if approved {
			continue
		}
		for _, o := range owners {
			if !seen[o] {
				seen[o] = true
				out = append(out, "@"+o)
			}
		}
	}
	return out
}

// reviewGaps are GitHub's words for what pr lacks of rv's reviews.
func (s *Server) reviewGaps(rp *repo, pr *github.PullRequest, rv *requiredReviews) []string {
	approvers := rp.approvers(pr)
	var out []string
	if len(approvers) < rv.count {
		if rv.count == 1 {
			out = append(out, "At least 1 approving review is required by reviewers with write access.")
		} else {
			out = append(out, fmt.Sprintf("At least %d approving reviews are required by reviewers with write access.", rv.count))
		}
	}
	if rv.codeOwners {
		if gaps := s.ownerGaps(rp, pr, approvers); len(gaps) > 0 {
			out = append(out, "Waiting on code owner review from "+strings.Join(gaps, " and/or ")+".")
		}
	}
	return out
}

// requestCodeOwners requests the review of the code owners of what pr
// changes, but its author, as GitHub does when a pull request opens.
// s.mu held.
func (s *Server) requestCodeOwners(rp *repo, pr *github.PullRequest) {
	rules := rp.codeOwners(pr.GetBase().GetSHA())
	if rules == nil {
		return
	}
	seen := map[string]bool{}
	for _, f := range rp.changedFiles(pr) {
		for _, o := range ownersOf(rules, f) {
			if !seen[o] && o != pr.GetUser().GetLogin() {
				seen[o] = true
				rp.requested[pr.GetNumber()] = append(rp.requested[pr.GetNumber()], o)
			}
		}
	}
}

// reviewed drops the review requests login answered: their own, and
// their teams'. s.mu held.
func (s *Server) reviewed(rp *repo, n int, login string) {
	var left []string
	for _, o := range rp.requested[n] {
		if !s.ownedBy(o, login) {
			left = append(left, o)
		}
	}
	rp.requested[n] = left
}

// dismissesStale is whether a push to base dismisses approvals.
func (rp *repo) dismissesStale(base string) bool {
	if p := rp.protections[base]; p != nil && p.reviews != nil && p.reviews.dismissStale {
		return true
	}
	for _, rs := range rp.activeRulesets("refs/heads/" + base) {
		for _, ru := range rs.rules {
			if ru.reviews != nil && ru.reviews.dismissStale {
				return true
			}
		}
	}
	return false
}

// dismissStale dismisses the approvals of pr given before its head moved
// to sha, when its base says so.
func (rp *repo) dismissStale(pr *github.PullRequest, sha string) {
	if !rp.dismissesStale(pr.GetBase().GetRef()) {
		return
	}
	for _, rv := range rp.reviews[pr.GetNumber()] {
		if rv.GetState() == "APPROVED" && rv.GetCommitID() != sha {
			rv.State = github.String("DISMISSED")
		}
	}
}

// mergeRefusal is GitHub's refusal of a merge of pr by by, from base
// baseSHA with head headSHA, under the base branch's protection and
// rulesets; 200 when they allow it. s.mu held.
func (s *Server) mergeRefusal(rp *repo, pr *github.PullRequest, by, baseSHA, headSHA string) (int, string) {
	base := pr.GetBase().GetRef()
	behind := func() bool {
		_, err := git(rp.gitDir, "merge-base", "--is-ancestor", baseSHA, headSHA)
		return err != nil
	}
	const outOfDate = "Head branch is out of date. Review and try the merge again."
	if p := rp.protections[base]; p != nil && (p.enforceAdmins || rp.role(by) != "admin") {
		if p.restrictions != nil && !s.has(rp, *p.restrictions, by) {
			return http.StatusMethodNotAllowed, notAuthorized
		}
		if c := p.checks; c != nil {
			if c.strict && behind() {
				return http.StatusMethodNotAllowed, outOfDate
			}
			if gaps := rp.checkGaps(headSHA, c); len(gaps) > 0 {
				return http.StatusMethodNotAllowed, gaps[0]
			}
		}
		if rv := p.reviews; rv != nil {
			if gaps := s.reviewGaps(rp, pr, rv); len(gaps) > 0 {
				return http.StatusMethodNotAllowed, gaps[0]
			}
		}
	}
	var violations []string
	for _, rs := range rp.activeRulesets("refs/heads/" + base) {
		if s.bypassMode(rp, rs, by) != "" {
			continue
		}
		for _, ru := range rs.rules {
			switch {
			case ru.Type == "update":
				violations = append(violations, "Cannot update this protected ref.")
			case ru.checks != nil:
				if ru.checks.strict && behind() {
					return http.StatusMethodNotAllowed, outOfDate
				}
				violations = append(violations, rp.checkGaps(headSHA, ru.checks)...)
			case ru.reviews != nil:
				violations = append(violations, s.reviewGaps(rp, pr, ru.reviews)...)
			}
		}
	}
	if len(violations) > 0 {
		return http.StatusMethodNotAllowed, "Repository rule violations found\n\n" + strings.Join(violations, "\n\n") + "\n\n"
	}
	return http.StatusOK, ""
}

// pushViolations are GitHub's words for why login may not make update u:
// under the branch's protection (GH006) and under the rulesets (GH013).
// s.mu held.
func (s *Server) pushViolations(rp *repo, login string, u gitserver.Update) (protected, rules []string) {
	if b, ok := strings.CutPrefix(u.Ref, "refs/heads/"); ok {
		if p := rp.protections[b]; p != nil && (p.enforceAdmins || rp.role(login) != "admin") {
			switch {
			case u.Deletion() && !p.deletions:
				protected = append(protected, "Cannot delete this protected branch.")
			case !u.FastForward && !p.forcePushes:
				protected = append(protected, "Cannot force-push to this branch.")
			}
			if p.restrictions != nil && !s.has(rp, *p.restrictions, login) {
				protected = append(protected, notAuthorized)
			}
			if !u.Deletion() {
				if p.reviews != nil && !s.has(rp, p.reviews.bypass, login) {
					protected = append(protected, "Changes must be made through a pull request.")
				}
				if p.checks != nil {
					protected = append(protected, rp.checkGaps(u.New, p.checks)...)
				}
			}
		}
	}
	for _, rs := range rp.activeRulesets(u.Ref) {
		if mode := s.bypassMode(rp, rs, login); mode == "always" || mode == "exempt" {
			continue
		}
		for _, ru := range rs.rules {
			switch {
			case ru.Type == "creation" && u.Creation():
				rules = append(rules, "Cannot create ref due to creations being restricted.")
			case ru.Type == "update" && !u.Creation() && !u.Deletion():
				rules = append(rules, "Cannot update this protected ref.")
			case ru.Type == "deletion" && u.Deletion():
				rules = append(rules, "Cannot delete this protected ref.")
			case ru.Type == "non_fast_forward" && !u.FastForward:
				rules = append(rules, "Cannot force-push to this branch")
			case ru.reviews != nil && !u.Creation() && !u.Deletion():
				rules = append(rules, "Changes must be made through a pull request.")
			case ru.checks != nil && !u.Deletion() && (!u.Creation() || ru.onCreate):
				rules = append(rules, rp.checkGaps(u.New, ru.checks)...)
			}
		}
	}
	return protected, rules
}

// refusal is a ref update refused, as GitHub words it to the pusher.
func (s *Server) refusal(rp *repo, login string, u gitserver.Update) *gitserver.Refusal {
	protected, rules := s.pushViolations(rp, login, u)
	switch {
	case len(protected) > 0:
		lines := []string{"error: GH006: Protected branch update failed for " + u.Ref + "."}
		for _, v := range protected {
			lines = append(lines, "error: "+v)
		}
		return &gitserver.Refusal{Ref: u.Ref, Reason: "protected branch hook declined", Lines: lines}
	case len(rules) > 0:
		lines := []string{"error: GH013: Repository rule violations found for " + u.Ref + ".",
			"Review all repository rules at " + s.repoHTML(rp) + "/rules?ref=" + url.QueryEscape(u.Ref), ""}
		for _, v := range rules {
			lines = append(lines, "- "+v, "")
		}
		return &gitserver.Refusal{Ref: u.Ref, Reason: "push declined due to repository rule violations", Lines: lines}
	}
	return nil
}

var _ gitserver.Guard = (*Server)(nil)

// repoAtDir is the repository whose git directory is dir; nil for none.
// s.mu held.
func (s *Server) repoAtDir(dir string) *repo {
	for _, rp := range s.repos {
		if rp.gitDir != "" && filepath.Clean(rp.gitDir) == filepath.Clean(dir) {
			return rp
		}
	}
	return nil
}

// Authenticate is gitserver's Guard: the login a token handed out by
// Token, SetToken or an installation token stands for, whatever the user
// name (x-access-token for an App); pushing needs write access.
func (s *Server) Authenticate(dir, _, password string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	login := s.gitTokens[password]
	if login == "" && s.tokens[password] {
		login = BotLogin
	}
	if login == "" || password == "" {
		return "", gitserver.ErrUnauthenticated
	}
	if rp := s.repoAtDir(dir); rp != nil && !rp.canPush(login) {
		return "", &gitserver.Forbidden{Message: fmt.Sprintf("Permission to %s/%s.git denied to %s.", rp.owner, rp.name, login)}
	}
	return login, nil
}

// CheckPush is gitserver's Guard: each update under the branch's
// protection and the rulesets, as GitHub's pre-receive checks them.
func (s *Server) CheckPush(dir, login string, updates []gitserver.Update) []gitserver.Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoAtDir(dir)
	if rp == nil {
		return nil
	}
	var out []gitserver.Refusal
	for _, u := range updates {
		if r := s.refusal(rp, login, u); r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// Pushed is gitserver's Notifier: each open pull request whose head
// branch a push moved gets the event GitHub sends, pull_request
// "synchronize" with the head before and after, sent by the pusher; the
// approvals of the old head are dismissed where the base's rules say so.
func (s *Server) Pushed(dir, login string, updates []gitserver.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoAtDir(dir)
	if rp == nil {
		return
	}
	for _, u := range updates {
		branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
		if !ok || u.Deletion() {
			continue
		}
		if sha, err := rp.headSHA(branch); err != nil || sha != u.New {
			continue // git did not store it
		}
		for _, n := range sortedPulls(rp) {
			pr := rp.pulls[n]
			if pr.GetState() != "open" || pr.GetHead().GetRef() != branch {
				continue
			}
			// The head before is the push's old side: a read of the pull
			// request between git's update and now has refreshed it already.
			rp.refresh(pr)
			if u.Creation() || u.Old == u.New {
				continue
			}
			s.emit("pull_request", object{"action": "synchronize", "number": n, "before": u.Old, "after": u.New,
				"pull_request": s.pullJSON(rp, pr), "repository": s.repoJSON(rp), "sender": s.userJSON(login)})
		}
	}
}

// sortedPulls are the numbers of rp's pull requests, oldest first.
func sortedPulls(rp *repo) []int {
	ns := make([]int, 0, len(rp.pulls))
	for n := range rp.pulls {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// Token is login's token for git over HTTP, the same each time: for the
// App's bot an installation token (push with the user name
// x-access-token), for a person a personal access token.
func (s *Server) Token(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for token, l := range s.gitTokens {
		if l == login {
			return token
		}
	}
	var b [20]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(err)
	}
	prefix := "ghp_"
	if login == BotLogin {
		prefix = "ghs_"
	}
	token := prefix + hex.EncodeToString(b[:])
	s.gitTokens[token] = login
	return token
}

// SetToken makes token login's, as the token a config gives the bot.
func (s *Server) SetToken(login, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gitTokens[token] = login
}

// SetOrgAdmin makes login an owner of org, whom an OrganizationAdmin
// bypass actor names.
func (s *Server) SetOrgAdmin(org, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgAdmins[org] == nil {
		s.orgAdmins[org] = map[string]bool{}
	}
	s.orgAdmins[org][login] = true
}
