package setup

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/purrvision/purrvision/internal/forge"
)

// Drift is one setting GitHub holds otherwise than setup wants.
type Drift struct {
	Repo    forge.Repo
	Setting string // "main: required approving reviews 0, want 1"
}

func (d Drift) String() string { return d.Repo.String() + " " + d.Setting }

// Action is one write that brings a repository to its desired settings;
// exactly one of its values is set.
type Action struct {
	Repo     forge.Repo
	Summary  string // what it does, in words
	Label    *forge.Label
	NewLabel bool
	// Protection replaces the branch's protection.
	Protection *forge.BranchProtection
	// Ruleset is created when its ID is 0, replaced otherwise.
	Ruleset  *forge.Ruleset
	Proposal *forge.FileProposal
}

func (a Action) String() string { return a.Repo.String() + ": " + a.Summary }

// Plan is what differs and what to write.
type Plan struct {
	Drift   []Drift
	Actions []Action
}

// PlanChanges compares the desired settings with what GitHub holds (want
// and have in the same order, as Desired and Read give them).
func PlanChanges(want, have []Settings) Plan {
	var p Plan
	for i, w := range want {
		var h Settings
		if i < len(have) {
			h = have[i]
		}
		p.repo(w, h)
	}
	return p
}

func (p *Plan) drift(repo forge.Repo, format string, args ...any) {
	p.Drift = append(p.Drift, Drift{Repo: repo, Setting: fmt.Sprintf(format, args...)})
}

func (p *Plan) repo(w, h Settings) {
	p.labels(w, h)
	p.files(w, h)
	if w.Protection != nil {
		p.protection(w.Repo, *w.Protection, h.Protection)
	}
	p.rulesets(w, h)
}

func (p *Plan) labels(w, h Settings) {
	have := map[string]forge.Label{}
	for _, l := range h.Labels {
		have[strings.ToLower(l.Name)] = l // GitHub's label names ignore case
	}
	for _, l := range w.Labels {
		l := l
		got, ok := have[strings.ToLower(l.Name)]
		switch {
		case !ok:
			p.drift(w.Repo, "label %q: missing", l.Name)
			p.Actions = append(p.Actions, Action{Repo: w.Repo, Label: &l, NewLabel: true,
				Summary: fmt.Sprintf("create label %q (#%s, %q)", l.Name, l.Color, l.Description)})
		case !strings.EqualFold(got.Color, l.Color) || got.Description != l.Description || got.Name != l.Name:
			if got.Name != l.Name {
				p.drift(w.Repo, "label %q: named %q", l.Name, got.Name)
			}
			if !strings.EqualFold(got.Color, l.Color) {
				p.drift(w.Repo, "label %q: colour #%s, want #%s", l.Name, got.Color, l.Color)
			}
			if got.Description != l.Description {
				p.drift(w.Repo, "label %q: description %q, want %q", l.Name, got.Description, l.Description)
			}
			l2 := l
			p.Actions = append(p.Actions, Action{Repo: w.Repo, Label: &l2,
				Summary: fmt.Sprintf("update label %q to #%s, %q", l.Name, l.Color, l.Description)})
		}
	}
}

func fileMap(fs []forge.File) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Path] = f.Content
	}
	return out
}

func (p *Plan) files(w, h Settings) {
	base := h.Base
	if base == "" {
		base = w.Base
	}
	have := fileMap(h.Files)
	var differ []forge.File
	for _, f := range w.Files {
		got, ok := have[f.Path]
		switch {
		case !ok:
			p.drift(w.Repo, "%s: %s missing", base, f.Path)
		case got != f.Content:
			p.drift(w.Repo, "%s: %s differs from what setup writes", base, f.Path)
		default:
			continue
		}
		differ = append(differ, f)
	}
	if len(differ) == 0 {
		return
	}
	if pr := h.Proposal; pr != nil {
		proposed := fileMap(pr.Files)
		same := true
		for _, f := range differ {
			same = same && proposed[f.Path] == f.Content
		}
		if same {
			n := len(p.Drift) - len(differ)
			for i := n; i < len(p.Drift); i++ {
				p.Drift[i].Setting += " (proposed in " + pr.URL + ", waiting for review)"
			}
			return
		}
	}
	var paths []string
	for _, f := range differ {
		paths = append(paths, f.Path)
	}
	p.Actions = append(p.Actions, Action{Repo: w.Repo, Summary: fmt.Sprintf("propose %s in a pull request from %s into %s", strings.Join(paths, " and "), ProposalBranch, base),
		Proposal: &forge.FileProposal{
			Base: base, Branch: ProposalBranch, Files: differ,
			Title:   "Purrvision setup: " + strings.Join(paths, ", "),
			Message: "purrvision setup: write " + strings.Join(paths, ", "),
			Body: "`purrvision setup` proposes these files, which the install needs: " + strings.Join(paths, ", ") +
				".\n\nIt never pushes them to " + base + " itself; review and merge this pull request.",
		}})
}

func checksText(cs []forge.RequiredCheck) string {
	if len(cs) == 0 {
		return "none"
	}
	var out []string
	for _, c := range cs {
		if c.AppID == 0 {
			out = append(out, c.Context+" (any source)")
		} else {
			out = append(out, fmt.Sprintf("%s (app %d)", c.Context, c.AppID))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (p *Plan) protection(repo forge.Repo, w forge.BranchProtection, h *forge.BranchProtection) {
	b := w.Branch
	n := len(p.Drift)
	if h == nil {
		p.drift(repo, "%s: not protected", b)
	} else {
		if got, want := checksText(h.Checks), checksText(w.Checks); got != want {
			p.drift(repo, "%s: required checks %s, want %s", b, got, want)
		}
		if h.Strict != w.Strict {
			p.drift(repo, "%s: require branches up to date %t, want %t", b, h.Strict, w.Strict)
		}
		if h.Reviews != w.Reviews {
			p.drift(repo, "%s: require pull request reviews %t, want %t", b, h.Reviews, w.Reviews)
		}
		if h.Approvals != w.Approvals {
			p.drift(repo, "%s: required approving reviews %d, want %d", b, h.Approvals, w.Approvals)
		}
		if h.DismissStale != w.DismissStale {
			p.drift(repo, "%s: dismiss stale reviews %t, want %t", b, h.DismissStale, w.DismissStale)
		}
		if h.CodeOwners != w.CodeOwners {
			p.drift(repo, "%s: require code owner reviews %t, want %t", b, h.CodeOwners, w.CodeOwners)
		}
		if h.EnforceAdmins != w.EnforceAdmins {
			p.drift(repo, "%s: enforce for admins %t, want %t", b, h.EnforceAdmins, w.EnforceAdmins)
		}
	}
	if len(p.Drift) == n {
		return
	}
	p.Actions = append(p.Actions, Action{Repo: repo, Protection: &w,
		Summary: fmt.Sprintf("protect %s: required checks %s, up to date %t, %d approving review(s), dismiss stale reviews %t, code owner reviews %t, enforce for admins %t",
			b, checksText(w.Checks), w.Strict, w.Approvals, w.DismissStale, w.CodeOwners, w.EnforceAdmins)})
}

func sorted(s []string) string {
	c := slices.Clone(s)
	sort.Strings(c)
	if len(c) == 0 {
		return "none"
	}
	return strings.Join(c, ", ")
}

func bypassText(bs []forge.BypassActor) string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%s %d (%s)", b.Type, b.ID, b.Mode))
	}
	return sorted(out)
}

func (p *Plan) rulesets(w, h Settings) {
	have := map[string]forge.Ruleset{}
	for _, rs := range h.Rulesets {
		have[rs.Name] = rs
	}
	for _, want := range w.Rulesets {
		got, ok := have[want.Name]
		n := len(p.Drift)
		if !ok {
			p.drift(w.Repo, "ruleset %q: missing", want.Name)
		} else {
			if got.Enforcement != want.Enforcement {
				p.drift(w.Repo, "ruleset %q: enforcement %s, want %s", want.Name, got.Enforcement, want.Enforcement)
			}
			if g, x := sorted(got.Include), sorted(want.Include); g != x {
				p.drift(w.Repo, "ruleset %q: branches %s, want %s", want.Name, g, x)
			}
			if g, x := sorted(got.Exclude), sorted(want.Exclude); g != x {
				p.drift(w.Repo, "ruleset %q: excluded branches %s, want %s", want.Name, g, x)
			}
			if g, x := sorted(got.Rules), sorted(want.Rules); g != x {
				p.drift(w.Repo, "ruleset %q: rules %s, want %s", want.Name, g, x)
			}
			if g, x := bypassText(got.Bypass), bypassText(want.Bypass); g != x {
				p.drift(w.Repo, "ruleset %q: bypass actors %s, want only %s", want.Name, g, x)
			}
		}
		if len(p.Drift) == n {
			continue
		}
		rs := want
		rs.ID = got.ID
		verb := "create"
		if ok {
			verb = "replace"
		}
		p.Actions = append(p.Actions, Action{Repo: w.Repo, Ruleset: &rs,
			Summary: fmt.Sprintf("%s ruleset %q: %s on %s, bypassed only by %s", verb, rs.Name, sorted(rs.Rules), sorted(rs.Include), bypassText(rs.Bypass))})
	}
}
