package provision

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// HandlePullRequest acts on a pull request of the tenants repo: a merged
// Purrvision pull request is recorded on its issue; an open one that adds
// requests/<name>.yaml is validated, and the rendered store is pushed onto
// its branch.
func (p *Provisioner) HandlePullRequest(ctx context.Context, repo forge.Repo, number int) error {
	if repo != p.tenants {
		return nil
	}
	pr, err := p.gh.GetPull(ctx, repo, number)
	if err != nil {
		return err
	}
	if pr.Merged {
		return p.recordMerge(ctx, pr)
	}
	if !pr.Open || pr.Base != p.cfg.TenantsRepo.Branch {
		return nil // only pull requests into the base branch
	}
	if store, storeBranch := v1alpha1.StoreOfBranch(pr.Head); storeBranch {
		return p.readyStorePull(ctx, pr, store)
	}
	files, err := p.gh.ListPullFiles(ctx, repo, number)
	if err != nil {
		return err
	}
	requests := requestFiles(files)
	if len(requests) == 0 {
		return nil
	}
	authors, err := p.gh.PullCommitAuthors(ctx, repo, number)
	if err != nil {
		return err
	}
	if reason, mark := refusedPull(pr, p.tenants, p.bot.Login(), authors); reason != "" {
		v, err := p.readPull(ctx, pr)
		if err != nil {
			return err
		}
		plan := &IssuePlan{Validation: fmt.Sprintf("%s\n@%s, %s", v1alpha1.MarkerValidation, pr.Author, reason)}
		if mark && pr.HeadSHA != "" {
			if plan.Check, err = PlanCheck(CheckInput{Config: p.cfg, Refused: reason}); err != nil {
				return err
			}
			plan.Ready = refusedReady(pr.HeadSHA, reason)
		}
		return p.applyIssue(ctx, v, plan, pr.HeadSHA)
	}
	return p.validateRequestPull(ctx, pr)
}

// readyStorePull gives the head of one of the bot's open store pull
// requests (apply.Bot.Owns) its purrvision/ready when the branch moves (a
// push, the pull request reopened): success only when the issue it
// belongs to recorded pushing exactly that head, failure otherwise,
// whoever moved the branch. The issue is the one the marker names, but
// only as its own ledger record confirms (ownPull), never the marker
// alone. Under the store's lock, as a handling of the issue pushes and
// records, so a head the bot just pushed is read as recorded. A pull
// request from a store branch that is not the bot's is left alone: it
// gets no purrvision/ready, so it cannot merge under setup's rules.
func (p *Provisioner) readyStorePull(ctx context.Context, pr *forge.PullRequest, store string) error {
	if !p.applier().Owns(pr, "") || pr.HeadSHA == "" {
		return nil
	}
	unlock := p.locks.Lock(store)
	defer unlock()
	pushed := ""
	if ref, _, ok := ParsePullMarker(pr.Body); ok && ref.Repo == p.requests {
		rec, _, err := p.ledger.Read(ctx, ref, true)
		if err != nil {
			return fmt.Errorf("reading the record of %s for pull request %d: %w", ref, pr.Number, err)
		}
		if st := rec.State(); ownPull(pr, st) {
			pushed = st.Branch
		}
	}
	return p.applier().WriteReady(ctx, p.gh, apply.BranchReady(pr.HeadSHA, pushed, storeRender(store)))
}

// readPull reads a request pull request as its own issue: its ledger
// record, the bot's comments on it and the pending posts of earlier
// handlings.
func (p *Provisioner) readPull(ctx context.Context, pr *forge.PullRequest) (*requestView, error) {
	issue := &forge.Issue{Ref: forge.IssueRef{Repo: pr.Repo, Number: pr.Number}, Author: pr.Author, Open: pr.Open}
	return p.readRecord(ctx, issue, nil)
}

// environment is the deployment environment of store as merged at commit:
// its cluster's (v1alpha1.EnvironmentOn), where that cluster's watcher
// reports.
func (p *Provisioner) environment(commit, store string) (string, error) {
	snap, err := p.repo.Snapshot(tenants.Hash(commit))
	if err != nil {
		return "", fmt.Errorf("reading the merge %s for store %s's cluster: %w", commit, store, err)
	}
	return renderer.Environment(p.cfg, snap, store)
}

// storeMerge says which store issue a merged pull request is about, its
// operation and its stores. Only two kinds count, told apart by what
// GitHub authenticates, and only when merged into the base branch: the
// bot's own pull requests of store branches, whose first body line ties
// them to their issue, and request pull requests the bot validated (its
// purrvision/validate success) at the very commit that was merged, which
// are their own issue. Anything else, whatever its body or branch name
// says, is not a store merge.
func (p *Provisioner) storeMerge(ctx context.Context, pr *forge.PullRequest) (forge.IssueRef, string, []string, bool, error) {
	none := func(err error) (forge.IssueRef, string, []string, bool, error) {
		return forge.IssueRef{}, "", nil, false, err
	}
	if pr.Base != p.cfg.TenantsRepo.Branch {
		return none(nil)
	}
	store, storeBranch := v1alpha1.StoreOfBranch(pr.Head)
	if pr.Author == p.bot.Login() {
		// The bot's by what GitHub records (apply.Bot.Owns), the branch
		// name naming only which store.
		if !p.applier().Owns(pr, "") || !storeBranch || pr.MergeCommitSHA == "" {
			return none(nil)
		}
		ref, op, ok, err := p.mergedStore(ctx, store, pr.MergeCommitSHA)
		return ref, op, []string{store}, ok, err
	}
	if storeBranch || pr.HeadSHA == "" {
		return none(nil)
	}
	sts, err := p.gh.ListStatuses(ctx, pr.Repo, pr.HeadSHA)
	if err != nil {
		return none(err)
	}
	for _, st := range sts { // newest first: the bot's last word counts
		if st.Context == v1alpha1.StatusContext && st.Creator == p.bot.Login() {
			if st.State != "success" {
				return none(nil)
			}
			files, err := p.gh.ListPullFiles(ctx, pr.Repo, pr.Number)
			if err != nil {
				return none(err)
			}
			var stores []string
			for _, f := range requestFiles(files) {
				stores = append(stores, requestFileRE.FindStringSubmatch(f)[1])
			}
			return forge.IssueRef{Repo: pr.Repo, Number: pr.Number}, v1alpha1.OpProvision, stores, true, nil
		}
	}
	return none(nil)
}

// validateRequestPull checks the StoreRequest files of a pull request,
// reports with the commit status purrvision/validate and a comment, and
// pushes the rendered stores onto the pull request's branch when valid.
// A handling reads everything first (the branch and what it changes, the
// pull request's ledger record and comments, which stores the bot
// rendered last and which other requests claim, the author's keys),
// plans (PlanPull, inside the compare-and-swap push, then planValidPull),
// then applies (applyIssue): the status and check run, then the pull
// request's one ledger commit (the sealed credentials), then its comments.
func (p *Provisioner) validateRequestPull(ctx context.Context, pr *forge.PullRequest) error {
	ref := forge.IssueRef{Repo: pr.Repo, Number: pr.Number}
	ctx, log := logctx.With(ctx, "pull", ref.String())
	log.Debug("handling a request pull request", "stage", stageRead)
	unlock := p.locks.Lock("pull:" + pr.Head)
	defer unlock()
	if err := p.repo.Fetch(ctx); err != nil {
		return err
	}
	head, ok, err := p.repo.Head(pr.Head)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("validating pull request %s: branch %s is not in the tenants repo (pull requests from forks are not supported)", ref, pr.Head)
	}
	snap, err := p.repo.Snapshot(head)
	if err != nil {
		return err
	}
	// What the pull request changes is read from git, against the commit
	// it left the base branch from, with every path's mode.
	baseHead, _, err := p.repo.Head(p.cfg.TenantsRepo.Branch)
	if err != nil {
		return err
	}
	mergeBase, err := p.repo.MergeBase(baseHead, head)
	if err != nil {
		return err
	}
	entries, err := p.repo.Diff(mergeBase, head)
	if err != nil {
		return err
	}
	reqs, problems, err := checkRequestFiles(p.cfg, snap, requestsIn(entries), pr.Author)
	if err != nil {
		return err
	}
	problems = append(problems, checkPullDiff(p.cfg, entries, reqs)...)
	v, err := p.readPull(ctx, pr)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return p.reportInvalidPull(ctx, v, head.String(), problems)
	}
	own, err := p.ownStores(ctx, pr, head, mergeBase, reqs)
	if err != nil {
		return err
	}
	claimed, err := p.claimedStores(ctx, reqs)
	if err != nil {
		return err
	}
	if v.Keys, err = p.gh.SSHKeys(ctx, pr.Author); err != nil {
		return err
	}
	log.Debug("handling a request pull request", "stage", stagePlan)
	var plan *PullPlan
	var baseAt tenants.Hash
	moved := false
	res, err := p.repo.Update(ctx, pr.Head, func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		baseAt = s.BaseHead
		if moved = s.BranchHead != head; moved {
			// Pushed to since it was validated: what would be built on is
			// not what was checked. The push's own event validates again.
			return nil, nil
		}
		var err error
		plan, err = PlanPull(PullInput{Common: p.common(s, base, cur), Requests: reqs, Issue: ref, Author: pr.Author, Own: own, Claimed: claimed})
		if err != nil || plan.Taken != nil {
			return nil, err
		}
		return p.commit(s, plan.Commit), nil
	})
	if err != nil {
		return fmt.Errorf("pushing rendered stores onto %s: %w", pr.Head, err)
	}
	if moved {
		return nil
	}
	if plan.Taken != nil {
		return p.reportInvalidPull(ctx, v, head.String(), []FieldError{*plan.Taken})
	}
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Metadata.Name
	}
	check, err := p.checkPlan(baseAt, res.Commit, v1alpha1.OpProvision, names, plan.Placed)
	if err != nil {
		return err
	}
	ip, err := p.planValidPull(v, pr, plan, reqs, res.Commit.String())
	if err != nil {
		return err
	}
	ip.Check = check
	log.Debug("handling a request pull request", "stage", stageApply)
	return p.applyIssue(ctx, v, ip, res.Commit.String())
}

// planValidPull plans a valid request pull request's handling from what
// was read and the push made: pure. It seals each new store's credentials
// to the author's keys the read model holds.
func (p *Provisioner) planValidPull(v *requestView, pr *forge.PullRequest, plan *PullPlan, reqs []*v1alpha1.StoreRequest, sha string) (*IssuePlan, error) {
	status := validPullStatus(sha, reqs)
	ip := &IssuePlan{CommitStatus: &status, Ready: requestReady(status, "")}
	for _, s := range plan.Seals {
		url := s.AdminURL
		if url == "" {
			url = p.adminURL(v.T, s.Store)
		}
		armored, to, err := sealFor(s, pr.Author, url, v.Keys)
		if err != nil {
			return nil, err
		}
		ip.Seals = append(ip.Seals, &Sealed{Store: s.Store, ID: s.ID, Owner: pr.Author, AdminURL: url, Armored: armored, To: to, Pull: pr.URL})
	}
	if c, ok := v.T.Own[ledger.KindValidation]; ok && !strings.Contains(c.Body, "resolved") {
		ip.Validation = v1alpha1.MarkerValidation + "\nThe requests are valid now (resolved)."
	}
	return ip, nil
}

// reportInvalidPull lists what to fix in a comment, and fails the status
// purrvision/validate and the check runs purrvision/plan and
// purrvision/ready of sha.
func (p *Provisioner) reportInvalidPull(ctx context.Context, v *requestView, sha string, problems []FieldError) error {
	check, err := PlanCheck(CheckInput{Config: p.cfg, Problems: problems})
	if err != nil {
		return err
	}
	status := invalidPullStatus(sha, problems)
	return p.applyIssue(ctx, v, &IssuePlan{Validation: invalidPullComment(v.Issue.Author, problems), CommitStatus: &status, Check: check,
		Ready: requestReady(status, check.Output.Summary)}, sha)
}

// ownStores names the requested stores whose folder on the branch head is
// exactly as the bot last rendered it. The bot's last render is the newest
// commit of the branch, since it left the base, that carries the bot's own
// purrvision/validate success (GitHub records who set a status); a store is
// the bot's when nothing in its folder changed after that commit.
func (p *Provisioner) ownStores(ctx context.Context, pr *forge.PullRequest, head, mergeBase tenants.Hash, reqs []*v1alpha1.StoreRequest) (map[string]bool, error) {
	own := map[string]bool{}
	commits, err := p.repo.FirstParents(head, mergeBase, maxOwnRenderWalk)
	if err != nil {
		return nil, err
	}
	var render tenants.Hash
walk:
	for _, c := range commits {
		sts, err := p.gh.ListStatuses(ctx, pr.Repo, c.String())
		if err != nil {
			return nil, err
		}
		for _, st := range sts { // newest first
			if st.Context == v1alpha1.StatusContext && st.Creator == p.bot.Login() {
				if st.State == "success" {
					render = c
				}
				break walk
			}
		}
	}
	if render == "" {
		return own, nil
	}
	since, err := p.repo.Diff(render, head)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		// The store's folder in every cluster: the bot placed it in one.
		var dirs []string
		for _, cl := range p.cfg.ClusterNames() {
			dirs = append(dirs, renderer.StoreDir(p.cfg, cl, r.Metadata.Name)+"/")
		}
		own[r.Metadata.Name] = !slices.ContainsFunc(since, func(e tenants.DiffEntry) bool { return underAny(e.Path, dirs) })
	}
	return own, nil
}

// maxOwnRenderWalk bounds how many commits of a request branch are looked
// at for the bot's last render: a status lookup each.
const maxOwnRenderWalk = 20

// claimedStores finds, for each requested store, the open request that
// asks for it on its store branch (store/<name>), in whatever cluster.
func (p *Provisioner) claimedStores(ctx context.Context, reqs []*v1alpha1.StoreRequest) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range reqs {
		name := r.Metadata.Name
		held, err := p.ledger.Held(ctx, name, false)
		if err != nil {
			return nil, err
		}
		if held != "" {
			out[name] = held // decommissioned, its Namespace not gone yet
			continue
		}
		head, ok, err := p.repo.Head(v1alpha1.Branch(name))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		snap, err := p.repo.Snapshot(head)
		if err != nil {
			return nil, err
		}
		owner := tenants.Trailers(snap.Message())[v1alpha1.TrailerIssue]
		if owner == "" {
			continue
		}
		claims, err := p.claims(ctx, owner, name)
		if err != nil {
			return nil, err
		}
		if claims {
			out[name] = owner
		}
	}
	return out, nil
}

// mergedStore reads what the merge of a store pull request did from the
// tenants repo, not from the pull request's body, which anyone with write
// access can edit. The issue is the one the store's request copy names
// (after the merge, or before it for a decommission), and the operation is
// what changed: the store added (provision), removed (decommission), its
// plan changed (resize) or its admin Secret (rotate-credentials).
func (p *Provisioner) mergedStore(ctx context.Context, store, merge string) (forge.IssueRef, string, bool, error) {
	fail := func(err error) (forge.IssueRef, string, bool, error) { return forge.IssueRef{}, "", false, err }
	if err := p.repo.Fetch(ctx); err != nil {
		return fail(err)
	}
	commits, err := p.repo.FirstParents(tenants.Hash(merge), "", 2)
	if err != nil || len(commits) < 2 {
		return fail(err)
	}
	var reqs [2]*v1alpha1.StoreRequest // after and before the merge
	var secrets [2][]byte
	for i, c := range commits {
		snap, err := p.repo.Snapshot(c)
		if err != nil {
			return fail(err)
		}
		req, cluster, err := renderer.FindStore(p.cfg, snap, store)
		if err != nil {
			return fail(err)
		}
		if req != nil {
			if secrets[i], _, err = snap.ReadFile(path.Join(renderer.StoreDir(p.cfg, cluster, store), renderer.FileSecret)); err != nil {
				return fail(err)
			}
		}
		reqs[i] = req
	}
	after, before := reqs[0], reqs[1]
	var op string
	owner := after
	switch {
	case after == nil && before == nil:
		return fail(nil)
	case after == nil:
		op, owner = v1alpha1.OpDecommission, before
	case before == nil:
		op = v1alpha1.OpProvision
	case after.Spec.Plan != before.Spec.Plan:
		op = v1alpha1.OpResize
	case string(secrets[0]) != string(secrets[1]):
		op = v1alpha1.OpRotate
	default:
		op = v1alpha1.OpProvision
	}
	ref, err := forge.ParseIssueRef(owner.Metadata.Annotations[v1alpha1.AnnotationIssue])
	if err != nil {
		return fail(nil) // not a store of an issue
	}
	return ref, op, true, nil
}
