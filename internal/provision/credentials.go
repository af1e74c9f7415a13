package provision

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/renderer"
)

// sshRecipients turns a user's public SSH keys into age recipients,
// skipping the kinds age cannot encrypt to.
func sshRecipients(keys []string) []age.Recipient {
	var out []age.Recipient
	for _, k := range keys {
		r, err := agessh.ParseRecipient(strings.TrimSpace(k))
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	return out
}

// SealForOwner encrypts the credentials with age to the owner's SSH keys,
// armored. The plaintext never leaves this function.
func SealForOwner(creds renderer.Credentials, user, url string, keys []string) (string, error) {
	recipients := sshRecipients(keys)
	if len(recipients) == 0 {
		return "", errNoKey
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return "", fmt.Errorf("encrypting credentials: %w", err)
	}
	if _, err := fmt.Fprintf(w, "WordPress admin of %s\nuser: %s\npassword: %s\n", url, user, creds.AdminPassword); err != nil {
		return "", fmt.Errorf("encrypting credentials: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encrypting credentials: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("encrypting credentials: %w", err)
	}
	return buf.String(), nil
}

var errNoKey = fmt.Errorf("no ssh-ed25519 or ssh-rsa key")

// deliverCredentials posts (or replaces) the credentials comment for a
// store's owner, encrypted to the owner's SSH keys on GitHub.
func (p *Provisioner) deliverCredentials(ctx context.Context, t *thread, owner string, seal Seal) error {
	store, id, creds := seal.Store, seal.ID, seal.Credentials
	keys, err := p.gh.SSHKeys(ctx, owner)
	if err != nil {
		return err
	}
	url := v1alpha1.AdminURL(store, p.cfg.BaseDomain)
	head := fmt.Sprintf("%s id=%s -->\n", v1alpha1.MarkerCredentials, id)
	armored, err := SealForOwner(creds, owner, url, keys)
	if err == errNoKey {
		return p.upsert(ctx, t, ledger.KindCredentials, head+fmt.Sprintf(
			"@%s, your store's admin credentials are ready, but your GitHub account has no SSH key Purrvision can encrypt them to "+
				"(ssh-ed25519 or ssh-rsa).\n\nAdd one at https://github.com/settings/keys, then comment `/purrvision rotate-credentials` here "+
				"to get new credentials. The ones generated now are not kept anywhere you could read them.", owner))
	}
	if err != nil {
		return err
	}
	return p.upsert(ctx, t, ledger.KindCredentials, head+fmt.Sprintf(
		"@%s, here are the admin credentials of **%s** (%s), encrypted to your SSH keys on GitHub. Only your private key can read them.\n\n"+
			"```\n%s```\n\nSave the block above as `credentials.age`, then run:\n\n"+
			"```sh\nage -d -i ~/.ssh/id_ed25519 credentials.age\n```\n\n"+
			"(use the private key that matches one of your GitHub SSH keys). This comment is replaced when credentials are rotated.",
		owner, store, url, armored))
}
