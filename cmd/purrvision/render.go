package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
)

func newRenderCommand() *cobra.Command {
	var (
		file       string
		outDir     string
		recipients []string
		issue      string
	)
	cmd := &cobra.Command{
		Use:   "render -f REQUEST [-o DIR]",
		Short: "Render a StoreRequest into the store's GitOps manifests",
		Long: `Render a StoreRequest into DIR/<tenantsRepo.path>/<cluster>/<x>/<y>/<store>/ and print
the paths written. Generated credentials are sealed with SOPS for the age
recipients and never written in plaintext. Nothing is written when the request
is invalid. A store whose plan takes backups needs --issue, the issue that owns
it (its backups are named after it), and reads its cluster's backup
credentials file. Exit codes: 0 ok, 1 invalid request, 2 usage or config error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			data, err := readRequestFile(cmd, file)
			if err != nil {
				return err
			}
			req, err := parseAndValidate(cfg, data)
			if err != nil {
				return err
			}
			origin := ""
			if issue != "" {
				ref, err := forge.ParseIssueRef(issue)
				if err != nil {
					return usageError(fmt.Errorf("--issue: %w", err))
				}
				origin = ref.String()
			}
			var creds map[string]config.BackupCredentials
			if p := cfg.Plans[req.Spec.Plan]; p.Backups != nil {
				if creds, err = cfg.LoadBackupCredentials(); err != nil {
					return usageError(err)
				}
			}
			out, err := renderer.Render(renderer.Input{
				Config:            cfg,
				Request:           req,
				Recipients:        recipients,
				Rand:              rand.Reader,
				Now:               time.Now(),
				Origin:            origin,
				BackupCredentials: creds,
			})
			if err != nil {
				return usageError(err)
			}
			if err := writeStore(outDir, out); err != nil {
				return usageError(err)
			}
			for _, f := range out.Files {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(outDir, filepath.FromSlash(f.Path))); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "StoreRequest file, or - for standard input")
	cmd.Flags().StringVarP(&outDir, "output", "o", ".", "root of the tenants repo checkout to write into")
	cmd.Flags().StringArrayVar(&recipients, "age-recipient", nil, "age public key to encrypt for (repeatable; default sops.ageRecipients)")
	cmd.Flags().StringVar(&issue, "issue", "", "the issue that owns the store, owner/name#number (required when its plan takes backups)")
	return cmd
}

// writeStore replaces the store's directory as a whole: the files go to a
// fresh sibling directory first, which is then renamed into place, so a
// failure leaves either the old store or the new one, never a mix.
func writeStore(root string, out *renderer.Output) error {
	dir := filepath.Join(root, filepath.FromSlash(out.Dir))
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range out.Files {
		rel, err := filepath.Rel(filepath.FromSlash(out.Dir), filepath.FromSlash(f.Path))
		if err != nil {
			return fmt.Errorf("placing %s: %w", f.Path, err)
		}
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("moving the previous %s aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil && !os.IsNotExist(rerr) {
			return fmt.Errorf("replacing %s: %w (and restoring it: %v)", dir, err, rerr)
		}
		return fmt.Errorf("replacing %s: %w", dir, err)
	}
	return os.RemoveAll(old)
}
