package renderer

import (
	"encoding/hex"
	"fmt"
	"io"
)

// PasswordLength is the length of every generated password. 32 characters of
// a 62-letter alphabet carry about 190 bits.
const PasswordLength = 32

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// The store's two Secrets and their keys; charts/woocommerce reads the same
// names. SecretName holds the owner's admin password, which rotation
// replaces. DatabaseSecretName holds MariaDB's passwords, written once:
// MariaDB keeps them in its data directory, so they cannot change under it.
const (
	SecretName              = "woocommerce-credentials"
	DatabaseSecretName      = "woocommerce-database"
	KeyAdminPassword        = "wordpress-admin-password"
	KeyDatabasePassword     = "mariadb-password"
	KeyDatabaseRootPassword = "mariadb-root-password"
)

// KeyRevision names the admin password (it is not secret). The HelmRelease
// takes it as the chart's credentials.revision through valuesFrom, and
// helm-controller watches the Secret, so a rotation, which changes only the
// Secret, rolls the WordPress pod and its installer applies the new password.
const KeyRevision = "credentials-revision"

// Credentials are a store's generated secrets. They print as [redacted], so
// a stray log line or %v cannot leak them.
type Credentials struct {
	AdminPassword        string
	DatabasePassword     string
	DatabaseRootPassword string
	// Revision is a random name for this admin password; not secret.
	Revision string
}

// String keeps the credentials out of logs.
func (Credentials) String() string { return "[redacted]" }

// GoString keeps the credentials out of %#v.
func (Credentials) GoString() string { return "renderer.Credentials{[redacted]}" }

// GenerateCredentials draws three distinct passwords from r, which is
// crypto/rand.Reader outside tests.
func GenerateCredentials(r io.Reader) (Credentials, error) {
	var out [3]string
	for i := range out {
		for {
			p, err := password(r)
			if err != nil {
				return Credentials{}, fmt.Errorf("generating password: %w", err)
			}
			if i == 0 || (p != out[0] && p != out[1]) {
				out[i] = p
				break
			}
		}
	}
	// The revision's leading letter keeps Helm's --set parsing, which
	// helm-controller applies to valuesFrom targetPath values, from ever
	// reading it as a number.
	rev := make([]byte, 8)
	if _, err := io.ReadFull(r, rev); err != nil {
		return Credentials{}, fmt.Errorf("generating credentials revision: %w", err)
	}
	return Credentials{AdminPassword: out[0], DatabasePassword: out[1], DatabaseRootPassword: out[2], Revision: "r" + hex.EncodeToString(rev)}, nil
}

// password draws PasswordLength characters by rejection sampling, so every
// character of the alphabet is equally likely.
func password(r io.Reader) (string, error) {
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, PasswordLength)
	buf := make([]byte, PasswordLength*2)
	for len(out) < PasswordLength {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < PasswordLength {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func (c Credentials) adminData() map[string][]byte {
	return map[string][]byte{KeyAdminPassword: []byte(c.AdminPassword), KeyRevision: []byte(c.Revision)}
}

func (c Credentials) databaseData() map[string][]byte {
	return map[string][]byte{
		KeyDatabasePassword:     []byte(c.DatabasePassword),
		KeyDatabaseRootPassword: []byte(c.DatabaseRootPassword),
	}
}
