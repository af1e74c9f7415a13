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

// MaxRecipients bounds the SSH keys credentials are encrypted to: each
// adds a stanza to the armored block (about 1,000 characters for a
// 4096-bit RSA key), which must fit in a comment with room to spare.
const MaxRecipients = 40

// sshRecipients turns a user's public SSH keys into age recipients,
// skipping the kinds age cannot encrypt to: at most MaxRecipients, the
// ed25519 keys first (their stanzas are the smallest), each kind in
// GitHub's order. usable counts all the keys age could encrypt to.
func sshRecipients(keys []string) (out []age.Recipient, usable int) {
	var ed, rsa []age.Recipient
	for _, k := range keys {
		k = strings.TrimSpace(k)
		r, err := agessh.ParseRecipient(k)
		if err != nil {
			continue
		}
		if strings.HasPrefix(k, "ssh-ed25519 ") {
			ed = append(ed, r)
		} else {
			rsa = append(rsa, r)
		}
	}
	out = append(ed, rsa...)
	usable = len(out)
	if len(out) > MaxRecipients {
		out = out[:MaxRecipients]
	}
	return out, usable
}

// SealForOwner encrypts the credentials with age to the owner's SSH keys
// (at most MaxRecipients of them, see sshRecipients), armored. The
// plaintext never leaves this function.
func SealForOwner(creds renderer.Credentials, user, url string, keys []string) (string, error) {
	recipients, _ := sshRecipients(keys)
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
	keys, err := p.gh.SSHKeys(ctx, owner)
	if err != nil {
		return err
	}
	body, err := credentialsComment(seal, owner, v1alpha1.AdminURL(seal.Store, p.cfg.BaseDomain), keys)
	if err != nil {
		return err
	}
	return p.upsert(ctx, t, ledger.KindCredentials, body)
}

// credentialsComment is the comment that hands the owner the sealed
// credentials, or says how to get them without a usable key. It stays
// within GitHub's limit however many keys the owner has: it encrypts to
// at most MaxRecipients and says so.
func credentialsComment(seal Seal, owner, url string, keys []string) (string, error) {
	head := fmt.Sprintf("%s id=%s -->\n", v1alpha1.MarkerCredentials, seal.ID)
	armored, err := SealForOwner(seal.Credentials, owner, url, keys)
	if err == errNoKey {
		return head + fmt.Sprintf(
			"@%s, your store's admin credentials are ready, but your GitHub account has no SSH key Purrvision can encrypt them to "+
				"(ssh-ed25519 or ssh-rsa).\n\nAdd one at https://github.com/settings/keys, then comment `/purrvision rotate-credentials` here "+
				"to get new credentials. The ones generated now are not kept anywhere you could read them.", owner), nil
	}
	if err != nil {
		return "", err
	}
	to := "your SSH keys on GitHub"
	if _, usable := sshRecipients(keys); usable > MaxRecipients {
		to = fmt.Sprintf("%d of your %d SSH keys on GitHub (the ed25519 ones first, then RSA, in GitHub's order)", MaxRecipients, usable)
	}
	return head + fmt.Sprintf(
		"@%s, here are the admin credentials of **%s** (%s), encrypted to %s. Only your private key can read them.\n\n"+
			"```\n%s```\n\nSave the block above as `credentials.age`, then run:\n\n"+
			"```sh\nage -d -i ~/.ssh/id_ed25519 credentials.age\n```\n\n"+
			"(use the private key that matches one of your GitHub SSH keys). This comment is replaced when credentials are rotated.",
		owner, seal.Store, url, to, armored), nil
}
