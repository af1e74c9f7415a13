// Package sopsage encrypts and decrypts YAML documents in the SOPS format
// with age keys, through the sops library, so that the sops CLI and Flux's
// kustomize-controller read what it writes.
package sopsage

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
)

// EncryptedRegex selects the values SOPS encrypts in a Kubernetes Secret.
const EncryptedRegex = "^(data|stringData)$"

// DataKeySize is the size of a SOPS data key.
const DataKeySize = 32

// Encrypt encrypts the values under data and stringData of one YAML
// document for every age recipient. dataKey must be DataKeySize random bytes
// and now is recorded as the file's lastmodified time.
func Encrypt(plain []byte, recipients []string, dataKey []byte, now time.Time) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypting with sops: no age recipients; set sops.ageRecipients")
	}
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("encrypting with sops: data key is %d bytes, want %d", len(dataKey), DataKeySize)
	}
	store := yaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("loading plaintext: %w", err)
	}
	group := make(sops.KeyGroup, 0, len(recipients))
	for _, r := range recipients {
		k, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, fmt.Errorf("parsing age recipient %q: %w", r, err)
		}
		group = append(group, k)
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:      []sops.KeyGroup{group},
			EncryptedRegex: EncryptedRegex,
			Version:        version.Version,
			LastModified:   now.UTC().Truncate(time.Second),
		},
	}
	if errs := tree.Metadata.UpdateMasterKeys(dataKey); len(errs) > 0 {
		return nil, fmt.Errorf("encrypting the data key: %w", errors.Join(errs...))
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("encrypting values: %w", err)
	}
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("encrypting the MAC: %w", err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		return nil, fmt.Errorf("writing encrypted file: %w", err)
	}
	return out, nil
}

// Decrypt decrypts a SOPS YAML document with one of the given age
// identities (AGE-SECRET-KEY-1...) and checks its MAC.
func Decrypt(data []byte, identities ...string) ([]byte, error) {
	store := yaml.NewStore(&config.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, fmt.Errorf("loading encrypted file: %w", err)
	}
	var parsed sopsage.ParsedIdentities
	if err := parsed.Import(strings.Join(identities, "\n")); err != nil {
		return nil, fmt.Errorf("parsing age identities: %w", err)
	}
	var key []byte
	var errs []error
	for _, group := range tree.Metadata.KeyGroups {
		for _, mk := range group {
			ak, ok := mk.(*sopsage.MasterKey)
			if !ok {
				continue
			}
			parsed.ApplyToMasterKey(ak)
			k, err := ak.Decrypt()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			key = k
			break
		}
	}
	if key == nil {
		return nil, fmt.Errorf("decrypting the data key: %w", errors.Join(append(errs, errors.New("no age key matched"))...))
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, fmt.Errorf("decrypting values: %w", err)
	}
	fileMAC, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("decrypting the MAC: %w", err)
	}
	if fileMAC != mac {
		return nil, errors.New("checking the MAC: the file was modified after it was encrypted")
	}
	out, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("writing plaintext: %w", err)
	}
	return out, nil
}

var _ keys.MasterKey = (*sopsage.MasterKey)(nil)
