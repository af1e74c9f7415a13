package rollout

import (
	"path"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// TestPlanFleet_Backups: a rollout re-renders a store whose plan takes
// backups with its backup Secrets kept; one that needs a Secret sealed
// (no password yet, or the target's key changed) is skipped with the
// reason, as a rollout seals none.
func TestPlanFleet_Backups(t *testing.T) {
	cfg := exampleConfig(t)
	sec := sealedSecrets(t, cfg)
	stores := []storeSpec{{"cat-cafe", "small", false}, {"dog-diner", "small", false}}
	before := testutil.Tree(fleetFiles(t, cfg, sec, stores))

	withBackups := *cfg
	withBackups.Plans = map[string]config.Plan{}
	for k, v := range cfg.Plans {
		withBackups.Plans[k] = v
	}
	small := withBackups.Plans["small"]
	small.Backups = &config.PlanBackups{Schedule: "@daily", Keep: 7}
	withBackups.Plans["small"] = small
	withBackups.Backups.Target = &config.BackupTarget{Repository: "s3:https://s3.example.com/b", CredentialsFile: "unused",
		Egress: []config.BackupEgress{{CIDR: "203.0.113.0/24", Ports: []int32{443}}}}
	creds := func(secret string) map[string]config.BackupCredentials {
		c, err := config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=AKIATEST\nAWS_SECRET_ACCESS_KEY=" + secret + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]config.BackupCredentials{"default": c}
	}
	first := creds("firstSecret")

	// Before any store has its backup Secrets: all skipped.
	p, err := PlanFleet(Input{Config: &withBackups, Tree: before, Base: "base", BackupCredentials: first})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Skipped) != 2 || len(p.Changes) != 0 {
		t.Fatalf("skipped %v, changes %v; want both skipped", p.Skipped, p.StoreNames())
	}
	for _, s := range p.Skipped {
		if !strings.Contains(s.Reason, "its plan takes backups and it has no "+renderer.FileBackupPasswordSecret) {
			t.Errorf("%s skipped: %q", s.Store, s.Reason)
		}
	}

	// cat-cafe got its backup Secrets (its next change); dog-diner not yet.
	tree := testutil.Tree{}
	for k, v := range before {
		tree[k] = v
	}
	dir := renderer.StoreDir(cfg, "default", "cat-cafe")
	out, err := renderer.Render(renderer.Input{Config: &withBackups, Request: request("cat-cafe", "small"), Rand: testutil.Rand(5), Now: now,
		KeepSecret: sec.admin, KeepDatabaseSecret: sec.database, BackupCredentials: first})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Files {
		tree[f.Path] = f.Data
	}
	p, err = PlanFleet(Input{Config: &withBackups, Tree: tree, Base: "base", BackupCredentials: first})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 0 || len(p.Skipped) != 1 || p.Skipped[0].Store != "dog-diner" {
		t.Errorf("changes %v, skipped %v: want cat-cafe unchanged, dog-diner skipped", p.StoreNames(), p.Skipped)
	}

	// A chart bump reaches cat-cafe with its Secrets as they are.
	bumped := withChart(&withBackups, "0.2.0")
	p, err = PlanFleet(Input{Config: bumped, Tree: tree, Base: "base", BackupCredentials: first})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Store("cat-cafe")
	if c == nil {
		t.Fatalf("no change of cat-cafe: %v", p.Skipped)
	}
	for _, ch := range c.TenantsChanges() {
		if strings.HasSuffix(ch.Path, ".sops.yaml") {
			t.Errorf("a rollout changed %s", ch.Path)
		}
	}

	// The target's key changed: skipped, not sealed.
	p, err = PlanFleet(Input{Config: &withBackups, Tree: tree, Base: "base", BackupCredentials: creds("secondSecret")})
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	for _, s := range p.Skipped {
		if s.Store == "cat-cafe" {
			reason = s.Reason
		}
	}
	if !strings.Contains(reason, "backup target's key changed") {
		t.Errorf("cat-cafe after a key change: skipped %q, changes %v", reason, p.StoreNames())
	}
	if _, ok := tree[path.Join(dir, renderer.FileBackupTargetSecret)]; !ok {
		t.Fatal("test is broken: cat-cafe has no target Secret")
	}
}
