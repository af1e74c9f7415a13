package provision

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// requestFileRE matches the StoreRequest files of request-by-pull-request.
var requestFileRE = regexp.MustCompile(`^requests/([a-z0-9-]+)\.ya?ml$`)

// requestFiles picks the StoreRequest files out of a pull request's files.
func requestFiles(files []string) []string {
	var out []string
	for _, f := range files {
		if requestFileRE.MatchString(f) {
			out = append(out, f)
		}
	}
	return out
}

// checkRequestFiles parses and validates the StoreRequest files of a pull
// request by author, as its head holds them: the requests, or each problem
// by file.
func checkRequestFiles(cfg *config.Config, head renderer.Tree, files []string, author string) ([]*v1alpha1.StoreRequest, []FieldError, error) {
	var reqs []*v1alpha1.StoreRequest
	var problems []FieldError
	for _, f := range files {
		data, ok, err := head.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue // removed by the pull request
		}
		req, err := v1alpha1.Parse(data)
		if err != nil {
			problems = append(problems, FieldError{Field: f, Msg: err.Error()})
			continue
		}
		for _, e := range renderer.Validate(cfg, req) {
			problems = append(problems, FieldError{Field: f, Msg: e.Error()})
		}
		if want := requestFileRE.FindStringSubmatch(f)[1]; req.Metadata.Name != want {
			problems = append(problems, FieldError{Field: f, Msg: fmt.Sprintf("metadata.name is %q; name the file %s.yaml or the store %q", req.Metadata.Name, req.Metadata.Name, want)})
		}
		if req.Spec.Owner != author {
			problems = append(problems, FieldError{Field: f, Msg: fmt.Sprintf("spec.owner is %q but the pull request is by @%s; a store is owned by whoever asks for it", req.Spec.Owner, author)})
		}
		if len(req.Metadata.Annotations) > 0 {
			// Purrvision writes them (the issue, the placement's reason);
			// a request that sets them would put its words in the bot's.
			problems = append(problems, FieldError{Field: f, Msg: "metadata.annotations are Purrvision's to write; remove them"})
		}
		reqs = append(reqs, req)
	}
	return reqs, problems, nil
}

// PullInput is what PlanPull reads: the valid requests of a pull request
// and its branch.
type PullInput struct {
	Common
	Requests []*v1alpha1.StoreRequest
	// Issue is the pull request itself; Author opened it.
	Issue  forge.IssueRef
	Author string
	// Own names the stores whose folder on the branch is as the bot last
	// rendered it; their credentials are kept. Every other store gets new
	// ones: a Secret the bot did not write is never kept.
	Own map[string]bool
	// Claimed maps a store name to the open request that asks for it on
	// its store branch, in any cluster: the name is taken as if merged.
	Claimed map[string]string
}

// PullPlan renders the requested stores onto the pull request's branch.
type PullPlan struct {
	// Taken, when set, is a requested store that exists for another
	// request; nothing is pushed.
	Taken *FieldError
	// Commit is nil when the branch already holds every render.
	Commit *CommitPlan
	// Seals are the fresh credentials, one per new store.
	Seals []Seal
	// Placed says why each store goes to its cluster.
	Placed map[string]string
}

// PlanPull renders each requested store into the pull request's branch,
// keeping the credentials its branch already holds.
func PlanPull(in PullInput) (*PullPlan, error) {
	cfg := in.Config
	plan := &PullPlan{Placed: map[string]string{}}
	var changes []tenants.Change
	for _, req := range in.Requests {
		name := req.Metadata.Name
		if onBase, _, err := renderer.FindStore(cfg, in.Base, name); err != nil {
			return nil, err
		} else if onBase != nil && !owns(onBase, in.Issue) {
			return &PullPlan{Taken: &FieldError{Field: "requests/" + name + ".yaml",
				Msg: fmt.Sprintf("store %q already exists for %s; choose another name", name, onBase.Metadata.Annotations[v1alpha1.AnnotationIssue])}}, nil
		}
		if by := in.Claimed[name]; by != "" && by != in.Issue.String() {
			return &PullPlan{Taken: &FieldError{Field: "requests/" + name + ".yaml",
				Msg: fmt.Sprintf("store %q is requested by %s, whose pull request is open; choose another name", name, by)}}, nil
		}
		kept, keptWhy := "", ""
		if in.Own[name] {
			var err error
			if kept, keptWhy, err = keptCluster(cfg, in.Branch.Tree, name); err != nil {
				return nil, err
			}
		}
		where, err := in.place(req, kept, keptWhy)
		if err != nil {
			if fe, ok := placementProblem(err, req, func(f string) string { return "requests/" + name + ".yaml " + f }); ok {
				return &PullPlan{Taken: &fe}, nil
			}
			return nil, err
		}
		plan.Placed[name] = where.Why
		placed := *req
		placed.Metadata.Annotations = nil // the bot's to write, from the render
		placed.Spec.Cluster = where.Cluster
		dir := renderer.StoreDir(cfg, where.Cluster, name)
		current, err := renderer.StoreFiles(in.Branch.Tree, dir)
		if err != nil {
			return nil, err
		}
		// The store's folder under any other cluster (an earlier
		// placement, or files pushed there) goes: it is rendered once.
		for _, cl := range cfg.ClusterNames() {
			if other := renderer.StoreDir(cfg, cl, name); cl != where.Cluster {
				if names, err := in.Branch.Tree.ReadDir(other); err != nil {
					return nil, err
				} else if len(names) > 0 {
					changes = append(changes, tenants.Change{Path: other, Delete: true})
				}
			}
		}
		rin := renderer.Input{Config: cfg, Request: &placed, Rand: in.Rand, Now: in.Now, Origin: in.Issue.String(), Placement: where.Why,
			BackupCredentials: in.BackupCredentials}
		if in.Own[name] && current[renderer.FileSecret] != nil && current[renderer.FileDatabaseSecret] != nil {
			keepSecrets(&rin, current, true)
		}
		out, err := renderer.Render(rin)
		if err != nil {
			return nil, err
		}
		ch := changesFor(current, out)
		if len(ch) > 0 && rin.KeepSecret == nil {
			id, err := newCredentialsID(in.Rand)
			if err != nil {
				return nil, err
			}
			plan.Seals = append(plan.Seals, Seal{Store: name, ID: id, Credentials: out.Credentials, AdminURL: v1alpha1.AdminURL(name, renderer.BaseDomainOf(cfg, &placed))})
		}
		changes = append(changes, ch...)
	}
	if len(changes) == 0 {
		return plan, nil
	}
	plan.Commit = &CommitPlan{OnBranch: true, Changes: changes, Message: tenants.Message("Render requested stores", "",
		tenants.Trailer{Key: v1alpha1.TrailerStore, Value: storeNames(in.Requests)},
		tenants.Trailer{Key: v1alpha1.TrailerOperation, Value: v1alpha1.OpProvision},
		tenants.Trailer{Key: v1alpha1.TrailerRequestedBy, Value: in.Author},
		tenants.Trailer{Key: v1alpha1.TrailerIssue, Value: in.Issue.String()},
	)}
	return plan, nil
}

// storeNames is the stores' names, as the Store trailer lists them.
func storeNames(reqs []*v1alpha1.StoreRequest) string {
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Metadata.Name
	}
	return strings.Join(names, ", ")
}

// validPullStatus is the commit status of a valid request pull request:
// "Valid; rendered store a", or with several "Valid; rendered 3 stores:
// a, b and 1 more", within GitHub's 140 characters.
func validPullStatus(sha string, reqs []*v1alpha1.StoreRequest) forge.Status {
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Metadata.Name
	}
	head := "Valid; rendered store "
	if len(names) > 1 {
		head = fmt.Sprintf("Valid; rendered %d stores: ", len(names))
	}
	return forge.Status{SHA: sha, Context: v1alpha1.StatusContext, State: "success",
		Description: head + forge.Enumerate(names, forge.MaxStatusDescription-utf8.RuneCountInString(head))}
}

// invalidPullStatus is the commit status of a pull request with problems.
func invalidPullStatus(sha string, problems []FieldError) forge.Status {
	desc := problems[0].Field + ": " + problems[0].Msg
	if len(problems) > 1 {
		desc = fmt.Sprintf("%d problems; first: %s", len(problems), desc)
	}
	return forge.Status{SHA: sha, Context: v1alpha1.StatusContext, State: "failure", Description: forge.KeepStart(desc, forge.MaxStatusDescription)}
}

// invalidPullComment is the one comment that lists what to fix.
func invalidPullComment(author string, problems []FieldError) string {
	head := fmt.Sprintf("%s\n@%s, the store requests in this pull request can't be provisioned yet. Please push a fix for:\n\n", v1alpha1.MarkerValidation, author)
	lines := make([]string, len(problems))
	for i, pb := range problems {
		lines[i] = quoteUser(pb.Field) + ": " + neutralize(pb.Msg)
	}
	return listComment(head, lines, "")
}

// maxPullCommits is how many commits GitHub lists of a pull request.
const maxPullCommits = 250

// refusedPull says why the bot does not act on a request pull request into
// the base branch, or "" when it may: it validates and pushes only to a
// branch of the tenants repo itself. (GitHub refuses a pull request whose
// head is its base, so that branch is never a head here.) mark says
// whether the refusal may be reported on the head commit, as a neutral
// check run: not when the commits are someone else's.
//
// It also acts only for the person whose commits the branch holds: a pull
// request opened on a branch with commits GitHub links to someone else
// (neither its author nor the bot) would have their files validated under
// the opener's name, and their commit marked. Commits whose e-mail GitHub
// links to no account say nothing either way.
func refusedPull(pr *forge.PullRequest, tenants forge.Repo, bot string, commitAuthors []string) (reason string, mark bool) {
	if pr.HeadRepo != tenants {
		return fmt.Sprintf("pull requests from forks are not validated: Purrvision renders stores onto the request's branch, and can push only to branches of %s. "+
			"Push your branch to %s and open the pull request from there, or request the store with the issue form.", tenants, tenants), true
	}
	if pr.Commits > maxPullCommits {
		return fmt.Sprintf("this pull request has %d commits, and GitHub lists only the first %d, so Purrvision cannot tell whose they all are. "+
			"Squash them, or request the store from a branch of its own.", pr.Commits, maxPullCommits), true
	}
	for _, a := range commitAuthors {
		if a != "" && a != pr.Author && a != bot {
			return fmt.Sprintf("this branch has commits by %s, and Purrvision validates a request only for the person who wrote it. "+
				"Open the pull request from a branch with your own commits; Purrvision changes nothing on this one.", quoteUser(a)), false
		}
	}
	return "", false
}

// checkPullDiff says what in a request pull request's changes, against the
// commit it left the base branch from, is more than store requests and
// their renders: every path that is neither one of its request files nor a
// file in the folder of a store it requests (under any cluster: the bot
// places the store), every deletion, and every path that is not a
// regular, non-executable file. Files in a requested store's folders are
// replaced by the bot's render, in the cluster it placed the store on,
// and removed from the others, before anything is marked valid.
func checkPullDiff(cfg *config.Config, entries []tenants.DiffEntry, reqs []*v1alpha1.StoreRequest) []FieldError {
	var dirs []string
	for _, r := range reqs {
		for _, cl := range cfg.ClusterNames() {
			dirs = append(dirs, renderer.StoreDir(cfg, cl, r.Metadata.Name)+"/")
		}
	}
	var problems []FieldError
	for _, e := range entries {
		switch {
		case e.Deleted:
			problems = append(problems, FieldError{Field: e.Path, Msg: "is deleted; a request pull request only adds requests/<name>.yaml"})
		case !requestFileRE.MatchString(e.Path) && !underAny(e.Path, dirs):
			problems = append(problems, FieldError{Field: e.Path, Msg: "is not a store request; a request pull request changes only requests/<name>.yaml (Purrvision adds the rendered store)"})
		case e.Mode != tenants.ModeRegular:
			problems = append(problems, FieldError{Field: e.Path, Msg: fmt.Sprintf("is %s; make it a regular, non-executable file", e.Mode)})
		}
	}
	return problems
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// requestsIn picks the request files out of a diff: added or changed
// requests/<name>.yaml files.
func requestsIn(entries []tenants.DiffEntry) []string {
	var out []string
	for _, e := range entries {
		if !e.Deleted && requestFileRE.MatchString(e.Path) {
			out = append(out, e.Path)
		}
	}
	return out
}
