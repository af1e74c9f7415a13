package renderer

import (
	"fmt"
	"io"
)

// PasswordLength is the length of every generated password. 32 characters of
// a 62-letter alphabet carry about 190 bits.
const PasswordLength = 32

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Keys of the store Secret; charts/woocommerce reads the same names.
const (
	SecretName              = "woocommerce-credentials"
	KeyAdminPassword        = "wordpress-admin-password"
	KeyDatabasePassword     = "mariadb-password"
	KeyDatabaseRootPassword = "mariadb-root-password"
)

// Credentials are a store's generated secrets. They print as [redacted], so
// a stray log line or %v cannot leak them.
type Credentials struct {
	AdminPassword        string
	DatabasePassword     string
	DatabaseRootPassword string
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
	return Credentials{AdminPassword: out[0], DatabasePassword: out[1], DatabaseRootPassword: out[2]}, nil
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

func (c Credentials) data() map[string][]byte {
	return map[string][]byte{
		KeyAdminPassword:        []byte(c.AdminPassword),
		KeyDatabasePassword:     []byte(c.DatabasePassword),
		KeyDatabaseRootPassword: []byte(c.DatabaseRootPassword),
	}
}
