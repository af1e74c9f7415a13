package ledger

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Signing: every file the bot writes on the ledger branch is an envelope
//
//	{"record": {...}, "gen": 3, "sig": {"key": "<key id>", "mac": "<base64>"}}
//
// whose MAC (HMAC-SHA256 with a key only the service holds) covers the
// file's path, its generation and the record, so a record edited, moved to
// another issue's path or signed with a key the service does not list is
// refused, never read as state.

// KeySize is the size of a ledger signing key, in bytes.
const KeySize = 32

// Keys are the ledger's signing keys: the first signs, any verifies.
type Keys struct {
	keys []key
}

type key struct {
	id     string
	secret []byte
}

// keyID names a key without telling anything of it.
func keyID(secret []byte) string {
	sum := sha256.Sum256(append([]byte("purrvision ledger key id\x00"), secret...))
	return hex.EncodeToString(sum[:8])
}

// NewKeys returns the keys of secrets, the first signing; each is at least
// KeySize bytes.
func NewKeys(secrets ...[]byte) (*Keys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no ledger signing key")
	}
	k := &Keys{}
	seen := map[string]bool{}
	for i, s := range secrets {
		if len(s) < KeySize {
			return nil, fmt.Errorf("key %d is %d bytes, want at least %d", i+1, len(s), KeySize)
		}
		id := keyID(s)
		if seen[id] {
			return nil, fmt.Errorf("key %d is listed twice", i+1)
		}
		seen[id] = true
		k.keys = append(k.keys, key{id: id, secret: bytes.Clone(s)})
	}
	return k, nil
}

// ConfigKey is the config key that lists the key files.
const ConfigKey = "ledger.signingKeyFiles"

// LoadKeys reads the key files config key ledger.signingKeyFiles lists (as
// WriteKeyFile writes them), the first signing. The errors name the key
// and the fix, never a key's content.
func LoadKeys(files []string) (*Keys, error) {
	if len(files) == 0 {
		return nil, errors.New(ConfigKey + ": required; create a key with `purrvision ledger keygen -o FILE` and list the file (docs/operations.md)")
	}
	var secrets [][]byte
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: reading the key file: %w", ConfigKey, i, err)
		}
		s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(s) < KeySize {
			return nil, fmt.Errorf("%s[%d]: %s does not hold a key (base64 of %d random bytes); create one with `purrvision ledger keygen -o FILE`", ConfigKey, i, f, KeySize)
		}
		secrets = append(secrets, s)
	}
	k, err := NewKeys(secrets...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; list each key once", ConfigKey, err)
	}
	return k, nil
}

// GenerateKey returns the content of a new key file: KeySize bytes from
// r (crypto/rand.Reader when nil), base64-encoded, on one line.
func GenerateKey(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	s := make([]byte, KeySize)
	if _, err := io.ReadFull(r, s); err != nil {
		return nil, fmt.Errorf("generating a ledger key: %w", err)
	}
	return []byte(base64.StdEncoding.EncodeToString(s) + "\n"), nil
}

// WriteKeyFile writes a new key to path, readable by its owner only; it
// never overwrites a file.
func WriteKeyFile(path string) error {
	data, err := GenerateKey(nil)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the ledger key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing the ledger key: %w", err)
	}
	return f.Close()
}

// Signer is the id of the key that signs.
func (k *Keys) Signer() string { return k.keys[0].id }

func (k *Keys) mac(secret []byte, file string, gen uint64, record []byte) []byte {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "purrvision-ledger-v1\n%s\n%d\n", file, gen)
	m.Write(record)
	return m.Sum(nil)
}

// Reason is why a ledger file was refused; one of a fixed set, short
// enough for a metric label.
type Reason string

// Reasons.
const (
	// ReasonUnsigned: the file carries no signature.
	ReasonUnsigned Reason = "unsigned"
	// ReasonUnknownKey: signed with a key the service does not list.
	ReasonUnknownKey Reason = "unknown-key"
	// ReasonBadSignature: the signature does not match the file's content
	// and path (edited, or moved from another path).
	ReasonBadSignature Reason = "bad-signature"
	// ReasonRolledBack: an older generation than this process has read.
	ReasonRolledBack Reason = "rolled-back"
	// ReasonRemoved: the record this process read is gone.
	ReasonRemoved Reason = "removed"
	// ReasonUnreadable: not JSON.
	ReasonUnreadable Reason = "unreadable"
)

// Reasons lists every Reason, for metric labels.
var Reasons = []Reason{ReasonUnsigned, ReasonUnknownKey, ReasonBadSignature, ReasonRolledBack, ReasonRemoved, ReasonUnreadable}

// Describe says what r means, for people.
func (r Reason) Describe() string {
	switch r {
	case ReasonUnsigned:
		return "not signed"
	case ReasonUnknownKey:
		return "signed with a key the service does not list"
	case ReasonBadSignature:
		return "its signature does not match its content and path (edited, or copied from another file)"
	case ReasonRolledBack:
		return "an older version than the service has read (rolled back)"
	case ReasonRemoved:
		return "removed after the service read it"
	case ReasonUnreadable:
		return "not JSON"
	}
	return string(r)
}

// RefusedError is a ledger file that is not read as state: not signed by
// the service, or not as it was. The handling that needed it stops until
// an operator restores the file (docs/operations.md).
type RefusedError struct {
	// File is the file's path on the ledger branch.
	File   string
	Reason Reason
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("ledger file %s refused: %s; restore it from the history of the ledger branch (docs/operations.md)", e.File, e.Reason.Describe())
}

type envelope struct {
	Record json.RawMessage `json:"record"`
	Gen    uint64          `json:"gen"`
	Sig    *signature      `json:"sig,omitempty"`
}

type signature struct {
	Key string `json:"key"`
	MAC string `json:"mac"`
}

// seal signs record as the content of file at generation gen.
func (k *Keys) seal(file string, gen uint64, record []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, record); err != nil {
		return nil, err
	}
	s := k.keys[0]
	env := envelope{Record: compact.Bytes(), Gen: gen, Sig: &signature{Key: s.id, MAC: base64.StdEncoding.EncodeToString(k.mac(s.secret, file, gen, compact.Bytes()))}}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// open verifies data as the content of file and returns its record, its
// generation and the id of the key that signed it.
func (k *Keys) open(file string, data []byte) (json.RawMessage, uint64, string, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, 0, "", &RefusedError{File: file, Reason: ReasonUnreadable}
	}
	if env.Sig == nil || len(env.Record) == 0 {
		return nil, 0, "", &RefusedError{File: file, Reason: ReasonUnsigned}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Record); err != nil {
		return nil, 0, "", &RefusedError{File: file, Reason: ReasonUnreadable}
	}
	got, err := base64.StdEncoding.DecodeString(env.Sig.MAC)
	if err != nil {
		return nil, 0, "", &RefusedError{File: file, Reason: ReasonBadSignature}
	}
	for _, kk := range k.keys {
		if kk.id != env.Sig.Key {
			continue
		}
		if !hmac.Equal(got, k.mac(kk.secret, file, env.Gen, compact.Bytes())) {
			return nil, 0, "", &RefusedError{File: file, Reason: ReasonBadSignature}
		}
		return compact.Bytes(), env.Gen, kk.id, nil
	}
	return nil, 0, "", &RefusedError{File: file, Reason: ReasonUnknownKey}
}

// isEnvelope reports whether data looks signed, validly or not.
func isEnvelope(data []byte) bool {
	var env envelope
	return json.Unmarshal(data, &env) == nil && env.Sig != nil
}
