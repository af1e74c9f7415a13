package ghstandin

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// object is a JSON object as GitHub sends it. Every resource the stand-in
// answers with or sends in a webhook is built by one function in this
// file, with every field GitHub's description requires: null where GitHub
// sends null, [] for an empty list, never a missing key.
type object = map[string]any

// The resources, as SetObjectHook names them.
const (
	ResUser             = "user"
	ResRepository       = "repository"
	ResLabel            = "label"
	ResIssue            = "issue"
	ResComment          = "comment"
	ResPull             = "pull-request"
	ResReview           = "review"
	ResStatus           = "status"
	ResCombinedStatus   = "combined-status"
	ResDeployment       = "deployment"
	ResDeploymentStatus = "deployment-status"
	ResReaction         = "reaction"
	ResKey              = "key"
	ResPermission       = "permission"
	ResMembership       = "team-membership"
	ResToken            = "installation-token"
	ResCommit           = "commit"
	ResFile             = "file"
	ResMergeResult      = "merge-result"
	ResCheckRun         = "check-run"
	ResApp              = "app"
	ResProtection       = "branch-protection"
	ResTeam             = "team"
	ResRuleset          = "ruleset"
	ResUpdateBranch     = "update-branch"
)

// SetObjectHook passes every object of every resource through f before it
// is sent, in an answer or a webhook. It is for tests of the checks against
// GitHub's description: drop a required field, and they must fail.
func (s *Server) SetObjectHook(f func(resource string, o map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objectHook = f
}

// finish passes an object through the hook; s.mu held.
func (s *Server) finish(resource string, o object) object {
	if s.objectHook != nil {
		s.objectHook(resource, o)
	}
	return o
}

// ts is a time as GitHub writes it, or null.
func ts(t *github.Timestamp) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// str is a string field GitHub sends as null when unset.
func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func nodeID(prefix string, id int64) string {
	return prefix + "_kgDO" + strconv.FormatInt(id, 36)
}

func userID(login string) int64 {
	id := int64(0)
	for _, c := range login {
		id = id*31 + int64(c)
	}
	return id & 0x7fffffff
}

func (s *Server) repoAPI(rp *repo) string  { return s.baseURL + "/repos/" + rp.owner + "/" + rp.name }
func (s *Server) repoHTML(rp *repo) string { return s.baseURL + "/" + rp.owner + "/" + rp.name }

// userJSON is a simple-user.
func (s *Server) userJSON(login string) object {
	id := userID(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := s.baseURL + "/users/" + url.PathEscape(login)
	return s.finish(ResUser, object{
		"login": login, "id": id, "node_id": nodeID("U", id), "type": typ, "site_admin": false, "user_view_type": "public",
		"avatar_url": fmt.Sprintf("%s/avatars/u/%d?v=4", s.baseURL, id), "gravatar_id": "",
		"url": u, "html_url": s.baseURL + "/" + url.PathEscape(login),
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}", "gists_url": u + "/gists{/gist_id}",
		"starred_url": u + "/starred{/owner}{/repo}", "subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}", "received_events_url": u + "/received_events",
	})
}

// userOrNull is userJSON, or null for no one.
func (s *Server) userOrNull(u *github.User) any {
	if u.GetLogin() == "" {
		return nil
	}
	return s.userJSON(u.GetLogin())
}

// repoURLs are the URL templates of a repository, after its API URL.
var repoURLs = map[string]string{
	"archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}", "blobs_url": "/git/blobs{/sha}",
	"branches_url": "/branches{/branch}", "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
	"commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}", "contents_url": "/contents/{+path}",
	"contributors_url": "/contributors", "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
	"forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
	"hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
	"issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
	"merges_url": "/merges", "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
	"pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
	"subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags", "teams_url": "/teams",
	"trees_url": "/git/trees{/sha}",
}

// repoJSON is a repository (a public one, as a tenants or requests
// repository of the stand-in is).
func (s *Server) repoJSON(rp *repo) object {
	api, html := s.repoAPI(rp), s.repoHTML(rp)
	host := strings.TrimPrefix(s.baseURL, "http://")
	open := 0
	for _, is := range rp.issues {
		if is.GetState() == "open" {
			open++
		}
	}
	o := object{
		"id": rp.id, "node_id": nodeID("R", rp.id), "name": rp.name, "full_name": rp.owner + "/" + rp.name,
		"owner": s.userJSON(rp.owner), "private": false, "visibility": "public", "fork": false,
		"description": nil, "homepage": nil, "language": nil, "mirror_url": nil, "license": nil,
		"url": api, "html_url": html, "clone_url": html + ".git", "git_url": "git://" + host + "/" + rp.owner + "/" + rp.name + ".git",
		"ssh_url": "git@" + host + ":" + rp.owner + "/" + rp.name + ".git", "svn_url": html,
		"default_branch": rp.defaultBranch, "topics": []string{},
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "size": 0,
		"open_issues": open, "open_issues_count": open,
		"has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false, "has_downloads": true, "has_discussions": false,
		"archived": false, "disabled": false, "is_template": false, "allow_forking": true, "web_commit_signoff_required": false,
		"created_at": ts(&rp.created), "updated_at": ts(&rp.created), "pushed_at": ts(&rp.created),
	}
	for k, v := range repoURLs {
		o[k] = api + v
	}
	return s.finish(ResRepository, o)
}

// labelJSON is a label of the repository; GitHub makes one the first time
// a name is used, grey and without a description.
func (s *Server) labelJSON(rp *repo, name string) object {
	id := userID(rp.owner+"/"+rp.name+":"+name) + 1
	var description any
	color := "ededed"
	if i := rp.labelAt(name); i >= 0 {
		l := rp.labels[i]
		name, color = l.name, l.color
		if l.description != "" {
			description = l.description
		}
	}
	return s.finish(ResLabel, object{
		"id": id, "node_id": nodeID("LA", id), "url": s.repoAPI(rp) + "/labels/" + url.PathEscape(name),
		"name": name, "description": description, "color": color, "default": false,
	})
}

func (s *Server) labelsJSON(rp *repo, labels []*github.Label) []object {
	out := []object{}
	for _, l := range labels {
		out = append(out, s.labelJSON(rp, l.GetName()))
	}
	return out
}

// reactionsJSON is the reaction rollup of an issue or a comment.
func reactionsJSON(apiURL string, rs []*reaction) object {
	o := object{"url": apiURL + "/reactions", "total_count": len(rs)}
	for c := range reactionContents {
		o[c] = 0
	}
	for _, r := range rs {
		o[r.content] = o[r.content].(int) + 1
	}
	return o
}

// association is the author_association of login in rp.
func association(rp *repo, login string) string {
	switch {
	case login == rp.owner:
		return "OWNER"
	case rp.collaborators[login] != "":
		return "COLLABORATOR"
	}
	return "NONE"
}

// issueJSON is an issue, or the issue of a pull request.
func (s *Server) issueJSON(rp *repo, is *github.Issue) object {
	n := is.GetNumber()
	u := fmt.Sprintf("%s/issues/%d", s.repoAPI(rp), n)
	o := object{
		"id": is.GetID(), "node_id": nodeID("I", is.GetID()), "number": n, "url": u, "repository_url": s.repoAPI(rp),
		"labels_url": u + "/labels{/name}", "comments_url": u + "/comments", "events_url": u + "/events", "timeline_url": u + "/timeline",
		"html_url": is.GetHTMLURL(), "title": is.GetTitle(), "body": str(is.Body), "state": is.GetState(), "state_reason": nil,
		"user": s.userOrNull(is.User), "labels": s.labelsJSON(rp, is.Labels), "assignee": nil, "assignees": []object{},
		"milestone": nil, "locked": false, "active_lock_reason": nil, "comments": is.GetComments(),
		"created_at": ts(is.CreatedAt), "updated_at": ts(is.UpdatedAt), "closed_at": ts(is.ClosedAt), "closed_by": nil,
		"author_association": association(rp, is.GetUser().GetLogin()), "performed_via_github_app": nil,
		"reactions": reactionsJSON(u, nil),
	}
	if pr := rp.pulls[n]; pr != nil {
		pu := fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), n)
		o["pull_request"] = object{"url": pu, "html_url": pr.GetHTMLURL(), "diff_url": pr.GetHTMLURL() + ".diff",
			"patch_url": pr.GetHTMLURL() + ".patch", "merged_at": ts(pr.MergedAt)}
	}
	return s.finish(ResIssue, o)
}

// commentJSON is an issue comment.
func (s *Server) commentJSON(rp *repo, c *github.IssueComment) object {
	u := fmt.Sprintf("%s/issues/comments/%d", s.repoAPI(rp), c.GetID())
	return s.finish(ResComment, object{
		"id": c.GetID(), "node_id": nodeID("IC", c.GetID()), "url": u, "html_url": c.GetHTMLURL(), "issue_url": c.GetIssueURL(),
		"body": c.GetBody(), "user": s.userOrNull(c.User), "created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt),
		"author_association": association(rp, c.GetUser().GetLogin()), "performed_via_github_app": nil,
		"reactions": reactionsJSON(u, s.reactions[c.GetID()]),
	})
}

func (s *Server) commentsJSON(rp *repo, cs []*github.IssueComment) []object {
	out := []object{}
	for _, c := range cs {
		out = append(out, s.commentJSON(rp, c))
	}
	return out
}

// diffStat is what a pull request changes; keyed by base and head.
type diffStat struct{ files, additions, deletions, commits int }

// stat is the diff of a pull request, computed once per base and head;
// s.mu held.
func (rp *repo) stat(pr *github.PullRequest) diffStat {
	base, head := pr.GetBase().GetSHA(), pr.GetHead().GetSHA()
	key := base + ".." + head
	if st, ok := rp.stats[key]; ok || rp.gitDir == "" {
		return st
	}
	var st diffStat
	if out, err := git(rp.gitDir, "diff", "--numstat", base+"..."+head); err == nil && out != "" {
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			a, _ := strconv.Atoi(f[0])
			d, _ := strconv.Atoi(f[1])
			st.files, st.additions, st.deletions = st.files+1, st.additions+a, st.deletions+d
		}
	}
	if out, err := git(rp.gitDir, "rev-list", "--count", base+".."+head); err == nil {
		st.commits, _ = strconv.Atoi(out)
	}
	rp.stats[key] = st
	return st
}

// branchJSON is the head or base of a pull request.
func (s *Server) branchJSON(b *github.PullRequestBranch) object {
	rp := s.repos[b.GetRepo().GetFullName()]
	return object{"label": b.GetLabel(), "ref": b.GetRef(), "sha": b.GetSHA(), "user": s.userJSON(rp.owner), "repo": s.repoJSON(rp)}
}

// pullJSON is a pull request.
func (s *Server) pullJSON(rp *repo, pr *github.PullRequest) object {
	n := pr.GetNumber()
	u := fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), n)
	issueURL := fmt.Sprintf("%s/issues/%d", s.repoAPI(rp), n)
	html := pr.GetHTMLURL()
	is := rp.issues[n]
	st := rp.stat(pr)
	state := "clean"
	if pr.GetState() != "open" {
		state = "unknown"
	}
	var mergeable any = pr.GetMergeable()
	if pr.GetMerged() {
		mergeable = nil
	}
	statuses := fmt.Sprintf("%s/statuses/%s", s.repoAPI(rp), pr.GetHead().GetSHA())
	reviewers, teams := []object{}, []object{}
	for _, o := range rp.requested[n] {
		if org, slug, ok := strings.Cut(o, "/"); ok {
			teams = append(teams, s.teamJSON(org, slug))
		} else {
			reviewers = append(reviewers, s.userJSON(o))
		}
	}
	link := func(h string) object { return object{"href": h} }
	return s.finish(ResPull, object{
		"id": pr.GetID(), "node_id": nodeID("PR", pr.GetID()), "number": n, "url": u, "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issueURL,
		"commits_url": u + "/commits", "review_comments_url": u + "/comments", "review_comment_url": s.repoAPI(rp) + "/pulls/comments{/number}",
		"comments_url": issueURL + "/comments", "statuses_url": statuses,
		"state": pr.GetState(), "locked": false, "title": pr.GetTitle(), "body": str(pr.Body), "draft": false,
		"user": s.userJSON(pr.GetUser().GetLogin()), "labels": s.pullLabelsJSON(rp, is.Labels), "milestone": nil,
		"assignee": nil, "assignees": []object{}, "requested_reviewers": reviewers, "requested_teams": teams,
		"created_at": ts(pr.CreatedAt), "updated_at": ts(pr.UpdatedAt), "closed_at": ts(pr.ClosedAt), "merged_at": ts(pr.MergedAt),
		"merge_commit_sha": str(pr.MergeCommitSHA), "merged": pr.GetMerged(), "merged_by": s.userOrNull(pr.MergedBy),
		"mergeable": mergeable, "mergeable_state": state, "rebaseable": mergeable, "maintainer_can_modify": false,
		"head": s.branchJSON(pr.Head), "base": s.branchJSON(pr.Base),
		"_links": object{"self": link(u), "html": link(html), "issue": link(issueURL), "comments": link(issueURL + "/comments"),
			"review_comments": link(u + "/comments"), "review_comment": link(s.repoAPI(rp) + "/pulls/comments{/number}"),
			"commits": link(u + "/commits"), "statuses": link(statuses)},
		"author_association": association(rp, pr.GetUser().GetLogin()), "auto_merge": nil, "active_lock_reason": nil,
		"comments": is.GetComments(), "review_comments": 0, "commits": st.commits,
		"additions": st.additions, "deletions": st.deletions, "changed_files": st.files,
	})
}

// reviewJSON is a pull request review.
func (s *Server) reviewJSON(rp *repo, pr *github.PullRequest, rv *github.PullRequestReview) object {
	html := fmt.Sprintf("%s#pullrequestreview-%d", pr.GetHTMLURL(), rv.GetID())
	pu := fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), pr.GetNumber())
	return s.finish(ResReview, object{
		"id": rv.GetID(), "node_id": nodeID("PRR", rv.GetID()), "user": s.userOrNull(rv.User), "body": rv.GetBody(),
		"state": rv.GetState(), "html_url": html, "pull_request_url": pu, "commit_id": str(rv.CommitID),
		"submitted_at": ts(rv.SubmittedAt), "author_association": association(rp, rv.GetUser().GetLogin()),
		"_links": object{"html": object{"href": html}, "pull_request": object{"href": pu}},
	})
}

// statusJSON is a commit status.
func (s *Server) statusJSON(rp *repo, sha string, st *github.RepoStatus) object {
	return s.finish(ResStatus, object{
		"id": st.GetID(), "node_id": nodeID("SC", st.GetID()), "url": fmt.Sprintf("%s/statuses/%s", s.repoAPI(rp), sha),
		"avatar_url": fmt.Sprintf("%s/avatars/u/%d?v=4", s.baseURL, userID(st.GetCreator().GetLogin())),
		"state":      st.GetState(), "description": str(st.Description), "target_url": str(st.TargetURL), "context": st.GetContext(),
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.UpdatedAt), "creator": s.userOrNull(st.Creator),
	})
}

// combinedStatusJSON is the combined status of a commit: the latest status
// of each context, failure if one failed or errored, pending if one is
// pending or there is none, success otherwise.
func (s *Server) combinedStatusJSON(rp *repo, sha string) object {
	latest := map[string]*github.RepoStatus{}
	for _, st := range rp.statuses[sha] {
		latest[st.GetContext()] = st // oldest first: the last one wins
	}
	contexts := make([]string, 0, len(latest))
	for c := range latest {
		contexts = append(contexts, c)
	}
	sort.Strings(contexts)
	state := "success"
	statuses := []object{}
	for _, c := range contexts {
		st := latest[c]
		switch {
		case st.GetState() == "failure" || st.GetState() == "error":
			state = "failure"
		case st.GetState() == "pending" && state == "success":
			state = "pending"
		}
		o := s.statusJSON(rp, sha, st)
		delete(o, "creator")
		o["required"] = false
		statuses = append(statuses, o)
	}
	if len(statuses) == 0 {
		state = "pending"
	}
	return s.finish(ResCombinedStatus, object{
		"state": state, "sha": sha, "total_count": len(statuses), "statuses": statuses, "repository": s.repoJSON(rp),
		"commit_url": fmt.Sprintf("%s/commits/%s", s.repoAPI(rp), sha), "url": fmt.Sprintf("%s/commits/%s/status", s.repoAPI(rp), sha),
	})
}

// deploymentJSON is a deployment.
func (s *Server) deploymentJSON(rp *repo, d *github.Deployment) object {
	u := fmt.Sprintf("%s/deployments/%d", s.repoAPI(rp), d.GetID())
	return s.finish(ResDeployment, object{
		"id": d.GetID(), "node_id": nodeID("DE", d.GetID()), "url": u, "sha": d.GetSHA(), "ref": d.GetRef(), "task": d.GetTask(),
		"payload": object{}, "original_environment": d.GetEnvironment(), "environment": d.GetEnvironment(),
		"description": str(d.Description), "creator": s.userOrNull(d.Creator), "created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt),
		"statuses_url": u + "/statuses", "repository_url": s.repoAPI(rp), "transient_environment": false, "production_environment": false,
		"performed_via_github_app": nil,
	})
}

// deploymentStatusJSON is a deployment status.
func (s *Server) deploymentStatusJSON(rp *repo, d *github.Deployment, st *github.DeploymentStatus) object {
	du := fmt.Sprintf("%s/deployments/%d", s.repoAPI(rp), d.GetID())
	return s.finish(ResDeploymentStatus, object{
		"id": st.GetID(), "node_id": nodeID("DES", st.GetID()), "url": fmt.Sprintf("%s/statuses/%d", du, st.GetID()),
		"state": st.GetState(), "creator": s.userOrNull(st.Creator), "description": st.GetDescription(),
		"environment": st.GetEnvironment(), "target_url": st.GetLogURL(), "log_url": st.GetLogURL(), "environment_url": st.GetEnvironmentURL(),
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.UpdatedAt), "deployment_url": du, "repository_url": s.repoAPI(rp),
		"performed_via_github_app": nil,
	})
}

// reactionJSON is a reaction.
func (s *Server) reactionJSON(re *reaction) object {
	return s.finish(ResReaction, object{
		"id": re.id, "node_id": nodeID("REA", re.id), "user": s.userJSON(re.login), "content": re.content,
		"created_at": ts(&re.created),
	})
}

// keyJSON is a public SSH key as its owner sees it (POST /user/keys).
func (s *Server) keyJSON(k *github.Key) object {
	return s.finish(ResKey, object{
		"id": k.GetID(), "key": k.GetKey(), "url": k.GetURL(), "title": k.GetTitle(), "created_at": ts(k.CreatedAt),
		"verified": k.GetVerified(), "read_only": k.GetReadOnly(), "last_used": nil,
	})
}

// publicKeyJSON is a public SSH key as anyone sees it (GET /users/{username}/keys).
func (s *Server) publicKeyJSON(k *github.Key) object {
	return s.finish(ResKey, object{"id": k.GetID(), "key": k.GetKey(), "created_at": ts(k.CreatedAt), "last_used": nil})
}

// permissionJSON is a collaborator's permission on a repository.
func (s *Server) permissionJSON(login, permission, role string) object {
	u := s.userJSON(login)
	u["role_name"] = role
	u["permissions"] = object{"admin": permission == "admin", "maintain": role == "maintain" || permission == "admin",
		"push": permission == "admin" || permission == "write", "triage": permission != "read" && permission != "none", "pull": permission != "none"}
	return s.finish(ResPermission, object{"permission": permission, "role_name": role, "user": u})
}

// membershipJSON is a team membership.
func (s *Server) membershipJSON(org, team, login string) object {
	return s.finish(ResMembership, object{
		"url":  fmt.Sprintf("%s/organizations/%d/team/%d/memberships/%s", s.baseURL, userID(org), userID(org+"/"+team), url.PathEscape(login)),
		"role": "member", "state": "active",
	})
}

// tokenJSON is an installation access token.
func (s *Server) tokenJSON(token string, expires time.Time) object {
	return s.finish(ResToken, object{
		"token": token, "expires_at": expires.UTC().Format(time.RFC3339), "repository_selection": "all",
		"permissions": object{"checks": "write", "contents": "write", "issues": "write", "pull_requests": "write", "statuses": "write", "deployments": "write", "metadata": "read"},
	})
}

// gitCommit is a commit as `git log` gives it.
type gitCommit struct {
	sha, tree                  string
	parents                    []string
	authorName, authorEmail    string
	committerName, committerEm string
	authorDate, committerDate  time.Time
	message                    string
}

// commitJSON is a commit of a pull request.
func (s *Server) commitJSON(rp *repo, c gitCommit) object {
	u := s.repoAPI(rp) + "/commits/" + c.sha
	parents := []object{}
	for _, p := range c.parents {
		parents = append(parents, object{"sha": p, "url": s.repoAPI(rp) + "/commits/" + p, "html_url": s.repoHTML(rp) + "/commit/" + p})
	}
	person := func(name, email string, when time.Time) object {
		return object{"name": name, "email": email, "date": when.UTC().Format(time.RFC3339)}
	}
	var author, committer any
	if login := s.loginOfEmail(c.authorEmail); login != "" {
		author = s.userJSON(login)
	}
	if login := s.loginOfEmail(c.committerEm); login != "" {
		committer = s.userJSON(login)
	}
	return s.finish(ResCommit, object{
		"sha": c.sha, "node_id": "C_" + c.sha, "url": u, "html_url": s.repoHTML(rp) + "/commit/" + c.sha, "comments_url": u + "/comments",
		"commit": object{
			"url": s.repoAPI(rp) + "/git/commits/" + c.sha, "message": c.message, "comment_count": 0,
			"author": person(c.authorName, c.authorEmail, c.authorDate), "committer": person(c.committerName, c.committerEm, c.committerDate),
			"tree":         object{"sha": c.tree, "url": s.repoAPI(rp) + "/git/trees/" + c.tree},
			"verification": object{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		},
		"author": author, "committer": committer, "parents": parents,
	})
}

// fileJSON is a file a pull request changes.
func (s *Server) fileJSON(rp *repo, head, name, status, sha string, additions, deletions int) object {
	var blob any
	if sha != "" {
		blob = sha
	}
	return s.finish(ResFile, object{
		"sha": blob, "filename": name, "status": status, "additions": additions, "deletions": deletions, "changes": additions + deletions,
		"blob_url": s.repoHTML(rp) + "/blob/" + head + "/" + name, "raw_url": s.repoHTML(rp) + "/raw/" + head + "/" + name,
		"contents_url": s.repoAPI(rp) + "/contents/" + name + "?ref=" + head,
	})
}

// mergeResultJSON is the answer to a merge.
func (s *Server) mergeResultJSON(sha string) object {
	return s.finish(ResMergeResult, object{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// checkRunJSON is a check run.
func (s *Server) checkRunJSON(rp *repo, cr *checkRun) object {
	u := fmt.Sprintf("%s/check-runs/%d", s.repoAPI(rp), cr.id)
	var conclusion any
	if cr.conclusion != "" {
		conclusion = cr.conclusion
	}
	var completed any
	if cr.status == "completed" {
		completed = ts(&cr.completed)
	}
	prs := []object{}
	for _, pr := range rp.pullsAt(cr.headSHA) {
		branch := func(b *github.PullRequestBranch) object {
			return object{"ref": b.GetRef(), "sha": b.GetSHA(), "repo": object{"id": rp.id, "url": s.repoAPI(rp), "name": rp.name}}
		}
		prs = append(prs, object{"id": pr.GetID(), "number": pr.GetNumber(), "url": fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), pr.GetNumber()),
			"head": branch(pr.Head), "base": branch(pr.Base)})
	}
	return s.finish(ResCheckRun, object{
		"id": cr.id, "node_id": nodeID("CR", cr.id), "head_sha": cr.headSHA, "name": cr.name, "external_id": "",
		"url": u, "html_url": fmt.Sprintf("%s/runs/%d", s.repoHTML(rp), cr.id), "details_url": str(cr.detailsURL),
		"status": cr.status, "conclusion": conclusion, "started_at": ts(&cr.started), "completed_at": completed,
		"output": object{"title": str(cr.title), "summary": str(cr.summary), "text": str(cr.text),
			"annotations_count": 0, "annotations_url": u + "/annotations"},
		"check_suite": object{"id": cr.suite}, "app": s.appJSON(rp, cr.app), "pull_requests": prs,
	})
}
