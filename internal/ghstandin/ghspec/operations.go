package ghspec

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ProductOperations are the operations of GitHub's REST API Purrvision
// calls, by the go-github v60 method internal/ghclient calls for each (and
// ghinstallation's one call for an App's installation token). The tests
// hold the list to internal/ghclient's source, to GitHub's description and
// to the stand-in's routes.
var ProductOperations = map[string]string{
	"Issues.Create":                        "POST /repos/{owner}/{repo}/issues",
	"Issues.Get":                           "GET /repos/{owner}/{repo}/issues/{issue_number}",
	"Issues.ListByRepo":                    "GET /repos/{owner}/{repo}/issues",
	"Issues.Edit":                          "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
	"Issues.ListComments":                  "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"Issues.ListComments (number 0)":       "GET /repos/{owner}/{repo}/issues/comments",
	"Issues.CreateComment":                 "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"Issues.GetComment":                    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
	"Issues.EditComment":                   "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
	"Issues.DeleteComment":                 "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}",
	"Issues.AddLabelsToIssue":              "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
	"Issues.RemoveLabelForIssue":           "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
	"Reactions.CreateIssueCommentReaction": "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
	"PullRequests.List":                    "GET /repos/{owner}/{repo}/pulls",
	"PullRequests.Create":                  "POST /repos/{owner}/{repo}/pulls",
	"PullRequests.Get":                     "GET /repos/{owner}/{repo}/pulls/{pull_number}",
	"PullRequests.Edit":                    "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
	"PullRequests.Merge":                   "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge",
	"PullRequests.ListFiles":               "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
	"PullRequests.ListCommits":             "GET /repos/{owner}/{repo}/pulls/{pull_number}/commits",
	"PullRequests.ListReviews":             "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"Repositories.GetPermissionLevel":      "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
	"Repositories.CreateStatus":            "POST /repos/{owner}/{repo}/statuses/{sha}",
	"Repositories.ListStatuses":            "GET /repos/{owner}/{repo}/commits/{ref}/statuses",
	"Repositories.GetCombinedStatus":       "GET /repos/{owner}/{repo}/commits/{ref}/status",
	"Repositories.ListDeployments":         "GET /repos/{owner}/{repo}/deployments",
	"Repositories.CreateDeployment":        "POST /repos/{owner}/{repo}/deployments",
	"Repositories.ListDeploymentStatuses":  "GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
	"Repositories.CreateDeploymentStatus":  "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
	"Checks.ListCheckRunsForRef":           "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
	"Checks.CreateCheckRun":                "POST /repos/{owner}/{repo}/check-runs",
	"Checks.UpdateCheckRun":                "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"Teams.GetTeamMembershipBySlug":        "GET /orgs/{org}/teams/{team_slug}/memberships/{username}",
	"Users.ListKeys":                       "GET /users/{username}/keys",
	"Users.Get":                            "GET /user",
	"ghinstallation (installation token)":  "POST /app/installations/{installation_id}/access_tokens",
	// purrvision setup (internal/setup), in ghclient/setup.go.
	"Repositories.Get":                    "GET /repos/{owner}/{repo}",
	"Issues.ListLabels":                   "GET /repos/{owner}/{repo}/labels",
	"Issues.CreateLabel":                  "POST /repos/{owner}/{repo}/labels",
	"Issues.EditLabel":                    "PATCH /repos/{owner}/{repo}/labels/{name}",
	"Repositories.GetContents":            "GET /repos/{owner}/{repo}/contents/{path}",
	"Repositories.CreateFile":             "PUT /repos/{owner}/{repo}/contents/{path}",
	"Repositories.UpdateFile":             "PUT /repos/{owner}/{repo}/contents/{path}",
	"Git.GetRef":                          "GET /repos/{owner}/{repo}/git/ref/{ref}",
	"Git.CreateRef":                       "POST /repos/{owner}/{repo}/git/refs",
	"Repositories.GetBranchProtection":    "GET /repos/{owner}/{repo}/branches/{branch}/protection",
	"Repositories.UpdateBranchProtection": "PUT /repos/{owner}/{repo}/branches/{branch}/protection",
	"Repositories.GetAllRulesets":         "GET /repos/{owner}/{repo}/rulesets",
	"Repositories.GetRuleset":             "GET /repos/{owner}/{repo}/rulesets/{ruleset_id}",
	"Repositories.CreateRuleset":          "POST /repos/{owner}/{repo}/rulesets",
	"Repositories.UpdateRuleset":          "PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}",
	// purrvision setup app, in ghclient/manifest.go: unauthenticated.
	"Apps.CompleteAppManifest": "POST /app-manifests/{code}/conversions",
	"Apps.Get":                 "GET /app",
}

// goGitHubServices are the fields of go-github's Client that are services.
var goGitHubServices = map[string]bool{
	"Actions": true, "Apps": true, "Checks": true, "Git": true, "Issues": true, "Organizations": true,
	"PullRequests": true, "Reactions": true, "Repositories": true, "Teams": true, "Users": true, "Search": true,
}

// GoGitHubCalls lists the go-github service methods the Go files of dir
// (its tests left out) call, as "Service.Method".
func GoGitHubCalls(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			method, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			service, ok := method.X.(*ast.SelectorExpr)
			if ok && goGitHubServices[service.Sel.Name] {
				seen[service.Sel.Name+"."+method.Sel.Name] = true
			}
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}
