package provision

import (
	"bytes"
	"path"
	"slices"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/renderer"
)

// TestPlanCommand_KeepsBackupSecrets: every command render that keeps the
// database Secret keeps the store's backup password (the backups written
// need it) and its sealed target key while the key is the same; a store
// rendered before its plan took backups gets both on its next change, and
// a new target key is sealed beside the same password.
func TestPlanCommand_KeepsBackupSecrets(t *testing.T) {
	f := newPlanFixture(t)
	dir := f.dir()
	before := f.render(t, f.req, issueA, 1) // the plan takes no backups yet

	for _, name := range []string{"small", "medium"} {
		p := f.cfg.Plans[name]
		p.Backups = &config.PlanBackups{Schedule: "@daily", Keep: 7}
		f.cfg.Plans[name] = p
	}
	f.cfg.Backups.Target = &config.BackupTarget{Repository: "s3:https://s3.example.com/backups", CredentialsFile: "unused",
		Egress: []config.BackupEgress{{CIDR: "203.0.113.0/24", Ports: []int32{443}}}}
	creds := func(secret string) map[string]config.BackupCredentials {
		c, err := config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=AKIATEST\nAWS_SECRET_ACCESS_KEY=" + secret + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]config.BackupCredentials{"default": c}
	}
	first, second := creds("firstSecretKey"), creds("secondSecretKey")
	pwFile, targetFile := path.Join(dir, renderer.FileBackupPasswordSecret), path.Join(dir, renderer.FileBackupTargetSecret)

	run := func(base map[string][]byte, cmd Command, c map[string]config.BackupCredentials) *CommandPlan {
		t.Helper()
		common := f.common(base, nil)
		common.BackupCredentials = c
		p, err := PlanCommand(CommandInput{Common: common, Request: f.req, Command: cmd, Issue: issueA, Author: "hubot", CommentID: 42})
		if err != nil {
			t.Fatal(err)
		}
		if p.Commit == nil {
			t.Fatalf("no commit: %+v", p)
		}
		return p
	}

	// The first change after backups came: both Secrets appear.
	p := run(before, Command{Name: CmdRotate}, first)
	pw, target := changeData(p.Commit, pwFile), changeData(p.Commit, targetFile)
	if pw == nil || target == nil {
		t.Fatalf("a store without backup Secrets got none: changed %v", changedPaths(p.Commit))
	}
	if got := changedPaths(p.Commit); slices.Contains(got, path.Join(dir, renderer.FileDatabaseSecret)) {
		t.Error("the database Secret changed")
	}
	withBackups := map[string][]byte{}
	for k, v := range before {
		withBackups[k] = v
	}
	for _, ch := range p.Commit.Changes {
		withBackups[ch.Path] = ch.Data
	}

	// Then a resize and a rotation keep them, byte for byte.
	for _, cmd := range []Command{{Name: CmdResize, Args: []string{"medium"}}, {Name: CmdRotate}} {
		got := changedPaths(run(withBackups, cmd, first).Commit)
		if slices.Contains(got, pwFile) || slices.Contains(got, targetFile) {
			t.Errorf("%s changed a backup Secret: %v", cmd.Name, got)
		}
	}

	// A new key: the target Secret is sealed again, the password stays.
	p = run(withBackups, Command{Name: CmdResize, Args: []string{"medium"}}, second)
	if changeData(p.Commit, pwFile) != nil {
		t.Error("the password changed with the target's key")
	}
	if got := changeData(p.Commit, targetFile); got == nil || bytes.Equal(got, target) {
		t.Error("the target Secret was kept after its key changed")
	}
}
