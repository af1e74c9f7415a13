package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/flux"
)

func newFluxCommand() *cobra.Command {
	var out, image string
	cmd := &cobra.Command{
		Use:   "flux -o DIR --image REF",
		Short: "Write the cluster side for Flux: the tenants source, Purrvision's deployment and one overlay per cluster",
		Long: `Write flux/ (the tenants source and Kustomization, the lockdown component,
Purrvision's deployment, the tenants repo's .sops.yaml) into DIR, and for each
of the config's clusters an overlay DIR/clusters/<cluster>/: the tenants
Kustomization applies that cluster's folder of the tenants repo, and
Purrvision runs its watcher with --cluster <cluster> and the image --image.
The first cluster serves the webhooks at https://<service.host>/webhook,
through an HTTPRoute on its Gateway (exposure gateway) or an Ingress
(exposure ingress), and its NetworkPolicy admits exactly that Gateway's or
ingress controller's pods (and service.monitoringNamespace); the others run
the watcher alone (--webhooks=false). The tenants source is written from
the config too: the GitRepository flux.sourceName in flux.namespace on
tenantsRepo.url and .branch (with the Secret flux.sourceSecret for a
private repo), the Kustomization of each cluster's folder, decrypting with
flux.decryptionSecret, and the accounts Flux acts as (purrvision-tenants,
flux.serviceAccountName) with their RBAC; Purrvision's RBAC names
flux.namespace and flux.sourceName. Change the config and run it again
rather than editing the files. Point each cluster's Flux at its overlay.
DIR must be empty or absent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if out == "" {
				return usageError(errors.New("-o is required: the folder to write the manifests to"))
			}
			if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
				return usageError(fmt.Errorf("-o: %s is not empty; give a new folder", out))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return usageError(fmt.Errorf("-o: %w", err))
			}
			files, err := flux.Render(flux.Options{Config: cfg, Image: image})
			if err != nil {
				return usageError(err)
			}
			paths := make([]string, 0, len(files))
			for p := range files {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				dst := filepath.Join(out, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return fmt.Errorf("writing %s: %w", dst, err)
				}
				if err := os.WriteFile(dst, files[p], 0o644); err != nil {
					return fmt.Errorf("writing %s: %w", dst, err)
				}
			}
			for _, cl := range cfg.ClusterNames() {
				fmt.Fprintf(cmd.OutOrStdout(), "cluster %s: %s\n", cl, filepath.Join(out, filepath.FromSlash(flux.OverlayDir(cl))))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the folder to write to (empty or absent)")
	cmd.Flags().StringVar(&image, "image", "", "Purrvision's image, pinned: REPOSITORY:TAG, REPOSITORY@sha256:DIGEST or both (make image builds it; push it first)")
	return cmd
}
