package provision

import (
	"bytes"
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

// sealFor seals a generation to the owner's keys ("" when they have none
// Purrvision can use), and says to which.
func sealFor(seal Seal, owner, url string, keys []string) (armored, to string, err error) {
	armored, err = SealForOwner(seal.Credentials, owner, url, keys)
	if err == errNoKey {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	to = "your SSH keys on GitHub"
	if _, usable := sshRecipients(keys); usable > MaxRecipients {
		to = fmt.Sprintf("%d of your %d SSH keys on GitHub (the ed25519 ones first, then RSA, in GitHub's order)", MaxRecipients, usable)
	}
	return armored, to, nil
}

// adminURL is the store's WordPress admin as its state records its URL
// (under its cluster's domain); under the default cluster's domain for a
// store whose state has none.
func (p *Provisioner) adminURL(t *thread, store string) string {
	if st := t.state(); st.Store == store && st.URL != "" {
		return strings.TrimSuffix(st.URL, "/") + "/wp-admin/"
	}
	return v1alpha1.AdminURL(store, p.cfg.ClusterSettings(p.cfg.ClusterNames()[0]).BaseDomain)
}

// credentialsComment hands the owner the sealed credentials: the delivered
// generation, and while a pull request is bringing it, the live one too,
// each in use as it says. It stays within GitHub's limit however many keys
// the owner has: each generation is encrypted to at most MaxRecipients.
func credentialsComment(c *ledger.Credentials, store, owner, url, to, pull string) string {
	head := fmt.Sprintf("%s id=%s -->\n", v1alpha1.MarkerCredentials, c.Delivered)
	armored := c.Sealed[c.Delivered]
	if armored == "" {
		return head + fmt.Sprintf(
			"@%s, your store's admin credentials are ready, but your GitHub account has no SSH key Purrvision can encrypt them to "+
				"(ssh-ed25519 or ssh-rsa).\n\nAdd one at https://github.com/settings/keys, then comment `/purrvision rotate-credentials` here "+
				"to get new credentials. The ones generated now are not kept anywhere you could read them.", owner)
	}
	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "@%s, here are the admin credentials of **%s** (%s), encrypted to %s. Only your private key can read them.\n\n", owner, store, url, to)
	live := c.Sealed[c.Live]
	pending := c.Live != "" && c.Live != c.Delivered && live != ""
	if pending {
		when := "its pull request merges"
		if pull != "" {
			when = pull + " merges"
		}
		fmt.Fprintf(&b, "**New credentials**, in use once %s:\n\n```\n%s```\n\n**The credentials in use now**, until then:\n\n```\n%s```\n\n", when, armored, live)
	} else {
		fmt.Fprintf(&b, "```\n%s```\n\n", armored)
	}
	b.WriteString("Save a block as `credentials.age`, then run:\n\n" +
		"```sh\nage -d -i ~/.ssh/id_ed25519 credentials.age\n```\n\n" +
		"(use the private key that matches one of your GitHub SSH keys). This comment is replaced when credentials are rotated.")
	return b.String()
}
