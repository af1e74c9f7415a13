// Package testutil holds helpers shared by tests: the example config, a
// seeded random source and an age identity.
package testutil

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
)

// RepoRoot is the root of the purrvision checkout.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("locating the repository root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ExampleConfig loads examples/purrvision.yaml, with the tests' ledger
// signing key (LedgerKeyFile) in place of the example's.
func ExampleConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(RepoRoot(t), "examples", "purrvision.yaml"))
	if err != nil {
		t.Fatalf("loading example config: %v", err)
	}
	cfg.Ledger.SigningKeyFiles = []string{LedgerKeyFile(t)}
	return cfg
}

// ExampleRequest parses examples/store-request.yaml.
func ExampleRequest(t testing.TB) *v1alpha1.StoreRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(t), "examples", "store-request.yaml"))
	if err != nil {
		t.Fatalf("reading example request: %v", err)
	}
	req, err := v1alpha1.Parse(data)
	if err != nil {
		t.Fatalf("parsing example request: %v", err)
	}
	return req
}

// Rand is a deterministic random source for tests.
func Rand(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// AgeIdentity makes a fresh age identity for a test.
func AgeIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatalf("generating age identity: %v", err)
	}
	return id
}

// SyncBuffer is a buffer that writers on several goroutines and a reader
// can share: a log sink, or a program's terminal read while it writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len is how many bytes were written so far.
func (s *SyncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
