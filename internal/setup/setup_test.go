package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
)

func testConfig() *config.Config {
	cfg := &config.Config{}
	cfg.GitHub.Repo, cfg.TenantsRepo.Repo, cfg.TenantsRepo.Branch, cfg.TenantsRepo.Path = "acme/stores", "acme/tenants", "main", "tenants"
	cfg.GitHub.PlatformTeam = "acme/platform"
	return cfg
}

func desired(t *testing.T) []Settings {
	t.Helper()
	want, err := Desired(testConfig(), Options{AppID: 7})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// inSync is what GitHub holds after setup: the desired settings.
func inSync(t *testing.T) []Settings {
	have := desired(t)
	have[0].Base = "main"
	for i := range have[1].Rulesets {
		have[1].Rulesets[i].ID = int64(i + 1)
	}
	return have
}

func TestDesired_Tenants(t *testing.T) {
	tn := desired(t)[1]
	p := tn.Protection
	if p.Branch != "main" || len(p.Checks) != 1 || p.Checks[0] != (forge.RequiredCheck{Context: v1alpha1.ReadyCheckName, AppID: 7}) ||
		!p.Strict || p.Approvals != 1 || !p.DismissStale || !p.CodeOwners || !p.EnforceAdmins {
		t.Errorf("protection %+v", p)
	}
	includes := map[string]bool{}
	for _, rs := range tn.Rulesets {
		includes[rs.Include[0]] = true
		if len(rs.Bypass) != 1 || rs.Bypass[0] != (forge.BypassActor{Type: "Integration", ID: 7, Mode: "always"}) || rs.Enforcement != "active" {
			t.Errorf("ruleset %s: %+v", rs.Name, rs)
		}
	}
	for _, want := range []string{"refs/heads/store/**", "refs/heads/rollout/**", "refs/heads/purrvision/ledger"} {
		if !includes[want] {
			t.Errorf("no ruleset on %s", want)
		}
	}
	co := tn.Files[0]
	for _, line := range []string{"/tenants/ @acme/platform\n", "/flux/ @acme/platform\n", "/.sops.yaml @acme/platform\n"} {
		if co.Path != CodeOwnersPath || !strings.Contains(co.Content, line) {
			t.Errorf("CODEOWNERS lacks %q:\n%s", line, co.Content)
		}
	}
}

func TestDesired_Errors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Config)
		app  int64
		want string
	}{
		{"no platform team", func(c *config.Config) { c.GitHub.PlatformTeam = "" }, 7, "github.platformTeam: required by setup"},
		{"no App", func(*config.Config) {}, 0, "github.app.id"},
		{"no tenants repo", func(c *config.Config) { c.TenantsRepo.Repo = "" }, 7, "tenantsRepo.repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(cfg)
			if _, err := Desired(cfg, Options{AppID: tt.app}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPlanChanges(t *testing.T) {
	tests := []struct {
		name    string
		drift   func(have []Settings)
		want    []string // drift lines
		actions int
	}{
		{"in sync", func([]Settings) {}, nil, 0},
		{"approvals lowered", func(h []Settings) { h[1].Protection.Approvals = 0 },
			[]string{"acme/tenants main: required approving reviews 0, want 1"}, 1},
		{"unprotected", func(h []Settings) { h[1].Protection = nil }, []string{"acme/tenants main: not protected"}, 1},
		{"check from any source", func(h []Settings) { h[1].Protection.Checks = []forge.RequiredCheck{{Context: v1alpha1.ReadyCheckName}} },
			[]string{"acme/tenants main: required checks purrvision/ready (any source), want purrvision/ready (app 7)"}, 1},
		{"admins exempt and stale kept", func(h []Settings) { h[1].Protection.EnforceAdmins, h[1].Protection.DismissStale = false, false },
			[]string{"acme/tenants main: dismiss stale reviews false, want true", "acme/tenants main: enforce for admins false, want true"}, 1},
		{"ruleset deleted", func(h []Settings) { h[1].Rulesets = h[1].Rulesets[1:] },
			[]string{`acme/tenants ruleset "purrvision: store branches": missing`}, 1},
		{"a second bypass actor", func(h []Settings) {
			h[1].Rulesets[0].Bypass = append(h[1].Rulesets[0].Bypass, forge.BypassActor{Type: "RepositoryRole", ID: 5, Mode: "always"})
		}, []string{`acme/tenants ruleset "purrvision: store branches": bypass actors Integration 7 (always), RepositoryRole 5 (always), want only Integration 7 (always)`}, 1},
		{"rule removed and disabled", func(h []Settings) {
			h[1].Rulesets[2].Rules, h[1].Rulesets[2].Enforcement = []string{"deletion"}, "disabled"
		}, []string{`acme/tenants ruleset "purrvision: ledger branch": enforcement disabled, want active`,
			`acme/tenants ruleset "purrvision: ledger branch": rules deletion, want creation, deletion, non_fast_forward, update`}, 1},
		{"label missing and recoloured", func(h []Settings) {
			h[0].Labels = h[0].Labels[1:]
			h[0].Labels[0].Color = "FFFFFF"
		}, []string{`acme/stores label "store-request": missing`, `acme/stores label "store/invalid": colour #FFFFFF, want #d93f0b`}, 2},
		{"label colour in another case", func(h []Settings) { h[0].Labels[0].Color = strings.ToUpper(h[0].Labels[0].Color) }, nil, 0},
		{"issue form missing", func(h []Settings) { h[0].Files = nil },
			[]string{"acme/stores main: .github/ISSUE_TEMPLATE/request-store.yml missing"}, 1},
		{"CODEOWNERS changed", func(h []Settings) { h[1].Files[0].Content = "* @mallory\n" },
			[]string{"acme/tenants main: .github/CODEOWNERS differs from what setup writes"}, 1},
		{"CODEOWNERS already proposed", func(h []Settings) {
			h[1].Proposal = &Proposal{URL: "https://github.com/acme/tenants/pull/9", Files: h[1].Files}
			h[1].Files = nil
		}, []string{"acme/tenants main: .github/CODEOWNERS missing (proposed in https://github.com/acme/tenants/pull/9, waiting for review)"}, 0},
		{"a proposal of other content", func(h []Settings) {
			h[1].Proposal = &Proposal{URL: "u", Files: []forge.File{{Path: CodeOwnersPath, Content: "old"}}}
			h[1].Files = nil
		}, []string{"acme/tenants main: .github/CODEOWNERS missing"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := inSync(t)
			tt.drift(have)
			p := PlanChanges(desired(t), have)
			var got []string
			for _, d := range p.Drift {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(p.Actions) != tt.actions {
				t.Errorf("%d actions, want %d: %v", len(p.Actions), tt.actions, p.Actions)
			}
		})
	}
}

// TestPlanChanges_Fresh: a repository with nothing gets every setting in
// its writes, and a ruleset of the same name is replaced, not added.
func TestPlanChanges_Fresh(t *testing.T) {
	p := PlanChanges(desired(t), []Settings{{Base: "main"}, {Base: "main", Rulesets: []forge.Ruleset{{ID: 4, Name: RulesetStore, Enforcement: "disabled"}}}})
	kinds := map[string]int{}
	for _, a := range p.Actions {
		switch {
		case a.Label != nil && a.NewLabel:
			kinds["label"]++
		case a.Protection != nil:
			kinds["protection"]++
		case a.Ruleset != nil && a.Ruleset.ID == 4:
			kinds["replace"]++
		case a.Ruleset != nil:
			kinds["create"]++
		case a.Proposal != nil:
			if a.Proposal.Branch != ProposalBranch || a.Proposal.Base != "main" {
				t.Errorf("proposal %+v", a.Proposal)
			}
			kinds["proposal"]++
		}
	}
	want := map[string]int{"label": len(v1alpha1.BotLabels) + 1, "protection": 1, "replace": 1, "create": 2, "proposal": 2}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("actions %v, want %v", kinds, want)
	}
}

// fakeGitHub is setup's Reader and Writer over settings held in memory.
type fakeGitHub struct {
	have     []Settings // acme/stores, acme/tenants
	refuse   error      // every write fails with it
	writes   []string
	proposed map[string]forge.FileProposal
}

var (
	_ Reader = (*fakeGitHub)(nil)
	_ Writer = (*fakeGitHub)(nil)
)

func (f *fakeGitHub) at(repo forge.Repo) *Settings {
	for i := range f.have {
		if f.have[i].Repo == repo {
			return &f.have[i]
		}
	}
	f.have = append(f.have, Settings{Repo: repo, Base: "main"})
	return &f.have[len(f.have)-1]
}

func (f *fakeGitHub) DefaultBranch(_ context.Context, repo forge.Repo) (string, error) {
	return f.at(repo).Base, nil
}
func (f *fakeGitHub) ListLabels(_ context.Context, repo forge.Repo) ([]forge.Label, error) {
	return f.at(repo).Labels, nil
}
func (f *fakeGitHub) GetFile(_ context.Context, repo forge.Repo, ref, path string) (string, bool, error) {
	fs := f.at(repo).Files
	if ref == "head" {
		fs = f.proposed[repo.String()].Files
	}
	for _, fl := range fs {
		if fl.Path == path {
			return fl.Content, true, nil
		}
	}
	return "", false, nil
}
func (f *fakeGitHub) GetProtection(_ context.Context, repo forge.Repo, _ string) (*forge.BranchProtection, error) {
	return f.at(repo).Protection, nil
}
func (f *fakeGitHub) ListRulesets(_ context.Context, repo forge.Repo) ([]forge.Ruleset, error) {
	return f.at(repo).Rulesets, nil
}
func (f *fakeGitHub) FindOpenPull(_ context.Context, repo forge.Repo, head string) (*forge.PullRequest, error) {
	if _, ok := f.proposed[repo.String()]; !ok || head != ProposalBranch {
		return nil, nil
	}
	return &forge.PullRequest{URL: "pr-" + repo.Name, HeadSHA: "head"}, nil
}

func (f *fakeGitHub) write(what string) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.writes = append(f.writes, what)
	return nil
}
func (f *fakeGitHub) SaveLabel(_ context.Context, repo forge.Repo, l forge.Label, create bool) error {
	if err := f.write("label " + l.Name); err != nil {
		return err
	}
	s := f.at(repo)
	for i := range s.Labels {
		if s.Labels[i].Name == l.Name {
			s.Labels[i] = l
			return nil
		}
	}
	s.Labels = append(s.Labels, l)
	return nil
}
func (f *fakeGitHub) SetProtection(_ context.Context, repo forge.Repo, p forge.BranchProtection) error {
	if err := f.write("protection"); err != nil {
		return err
	}
	f.at(repo).Protection = &p
	return nil
}
func (f *fakeGitHub) SaveRuleset(_ context.Context, repo forge.Repo, rs forge.Ruleset) error {
	if err := f.write("ruleset " + rs.Name); err != nil {
		return err
	}
	s := f.at(repo)
	if rs.ID == 0 {
		rs.ID = int64(len(s.Rulesets) + 100)
		s.Rulesets = append(s.Rulesets, rs)
		return nil
	}
	for i := range s.Rulesets {
		if s.Rulesets[i].ID == rs.ID {
			s.Rulesets[i] = rs
		}
	}
	return nil
}
func (f *fakeGitHub) ProposeFiles(_ context.Context, repo forge.Repo, p forge.FileProposal) (*forge.PullRequest, error) {
	if err := f.write("propose " + repo.String()); err != nil {
		return nil, err
	}
	if f.proposed == nil {
		f.proposed = map[string]forge.FileProposal{}
	}
	f.proposed[repo.String()] = p
	return &forge.PullRequest{URL: "pr-" + repo.Name}, nil
}

func plan(t *testing.T, f *fakeGitHub) Plan {
	t.Helper()
	want := desired(t)
	have, err := Read(context.Background(), f, want)
	if err != nil {
		t.Fatal(err)
	}
	return PlanChanges(want, have)
}

// TestApply_Idempotent: applying the plan brings the fake to the desired
// settings; the next plan writes nothing, and only the files wait for
// their pull requests.
func TestApply_Idempotent(t *testing.T) {
	f := &fakeGitHub{}
	p := plan(t, f)
	var done []string
	if err := Apply(context.Background(), f, p, func(a Action, note string) { done = append(done, a.Summary) }); err != nil {
		t.Fatal(err)
	}
	if len(done) != len(p.Actions) || len(f.writes) != len(p.Actions) {
		t.Fatalf("%d done, %d writes, of %d actions", len(done), len(f.writes), len(p.Actions))
	}
	again := plan(t, f)
	if len(again.Actions) != 0 {
		t.Errorf("a second plan writes: %v", again.Actions)
	}
	if len(again.Drift) != 2 || !strings.Contains(again.Drift[0].Setting, "(proposed in pr-stores") {
		t.Errorf("drift after apply: %v", again.Drift)
	}
}

// TestApply_NamesThePermission: GitHub's 403 and 404 become the permission
// the write needs, on which repository.
func TestApply_NamesThePermission(t *testing.T) {
	for _, refusal := range []error{forge.ErrForbidden, forge.ErrNotFound} {
		f := &fakeGitHub{}
		p := plan(t, f)
		f.refuse = fmt.Errorf("protecting main: %w", refusal)
		var only Plan
		for _, a := range p.Actions {
			if a.Protection != nil {
				only.Actions = append(only.Actions, a)
			}
		}
		err := Apply(context.Background(), f, only, nil)
		var pe *PermissionError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "administration: write on acme/tenants is needed to set branch protection") {
			t.Errorf("%v: got %v", refusal, err)
		}
	}
	f := &fakeGitHub{refuse: errors.New("boom")}
	if err := Apply(context.Background(), f, plan(t, &fakeGitHub{}), nil); err == nil || errors.As(err, new(*PermissionError)) {
		t.Errorf("another error: %v", err)
	}
}
