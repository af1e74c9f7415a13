// Package backuptarget runs a local backup target: an S3-compatible object
// store (github.com/johannesboyne/gofakes3) on loopback, kept in a
// directory so it survives a restart. The store chart's backup scripts are
// tested against it, and `purrvision dev` serves it as its clusters' target.
//
// It is for development and tests only. gofakes3 checks no signatures: the
// target listens on loopback only and refuses a request that does not name
// its access key, so a client left without the target's credentials fails
// as it would against a real target, but the secret key is not verified.
package backuptarget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// Bucket is the one bucket the target serves; repositories are prefixes in it.
const Bucket = "backups"

// credentialsFile holds the target's keys in its directory, so a restart
// serves the same ones.
const credentialsFile = "credentials.json"

// Credentials are the keys a client signs its requests with.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// Target is a running backup target.
type Target struct {
	// Endpoint is the target's URL, http://127.0.0.1:<port>.
	Endpoint string
	Credentials

	srv       *http.Server
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start serves the target kept in dir (created if missing) on addr, a
// loopback host:port; an empty addr picks a free port on 127.0.0.1. The
// keys are made on the first start and kept in dir.
func Start(dir, addr string) (*Target, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating backup target directory: %w", err)
	}
	creds, err := loadOrMakeCredentials(filepath.Join(dir, credentialsFile))
	if err != nil {
		return nil, err
	}
	objects := filepath.Join(dir, "objects")
	if err := os.MkdirAll(objects, 0o700); err != nil {
		return nil, fmt.Errorf("creating backup target directory: %w", err)
	}
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), objects))
	if err != nil {
		return nil, fmt.Errorf("opening backup target in %s: %w", objects, err)
	}
	exists, err := backend.BucketExists(Bucket)
	if err != nil {
		return nil, fmt.Errorf("reading backup target in %s: %w", objects, err)
	}
	if !exists {
		if err := backend.CreateBucket(Bucket); err != nil {
			return nil, fmt.Errorf("creating bucket %s: %w", Bucket, err)
		}
	}
	s3 := gofakes3.New(emptyPrefixes{backend}, gofakes3.WithoutVersioning())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for the backup target: %w", addr, err)
	}
	t := &Target{
		Endpoint:    "http://" + ln.Addr().String(),
		Credentials: creds,
		srv: &http.Server{
			Handler:           requireAccessKey(creds.AccessKeyID, s3.Server()),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { t.done <- t.srv.Serve(ln) }()
	return t, nil
}

// Repository is the restic repository at prefix in the target's bucket.
func (t *Target) Repository(prefix string) string {
	return "s3:" + t.Endpoint + "/" + Bucket + "/" + strings.Trim(prefix, "/")
}

// Close stops the target, letting requests in flight finish for up to five
// seconds. Closing it again returns the first Close's error.
func (t *Target) Close() error {
	t.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := t.srv.Shutdown(ctx); err != nil {
			t.closeErr = fmt.Errorf("stopping the backup target: %w", err)
			return
		}
		if err := <-t.done; !errors.Is(err, http.ErrServerClosed) {
			t.closeErr = fmt.Errorf("serving the backup target: %w", err)
		}
	})
	return t.closeErr
}

// emptyPrefixes lists a prefix that holds nothing as an empty list. The
// afero backend answers NoSuchBucket when no directory is at the prefix,
// and restic, which lists keys/ before it writes the first one, would retry
// that for minutes.
type emptyPrefixes struct {
	*s3afero.MultiBucketBackend
}

func (b emptyPrefixes) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	list, err := b.MultiBucketBackend.ListBucket(bucket, prefix, page)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
		if exists, existsErr := b.BucketExists(bucket); existsErr == nil && exists {
			return gofakes3.NewObjectList(), nil
		}
	}
	return list, err
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("backup target address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("backup target address %q: give a loopback IP such as 127.0.0.1; the target checks no signatures", addr)
	}
	return nil
}

func loadOrMakeCredentials(path string) (Credentials, error) {
	var c Credentials
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return Credentials{}, fmt.Errorf("reading backup target keys from %s: not the keys this package writes; remove the file to make new ones", path)
		}
		return c, nil
	case !errors.Is(err, fs.ErrNotExist):
		return Credentials{}, fmt.Errorf("reading backup target keys: %w", err)
	}
	c = Credentials{AccessKeyID: "PV" + strings.ToUpper(randomHex(9)), SecretAccessKey: randomHex(20)}
	data, err = json.Marshal(c)
	if err != nil {
		return Credentials{}, fmt.Errorf("encoding backup target keys: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return Credentials{}, fmt.Errorf("writing backup target keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Credentials{}, fmt.Errorf("writing backup target keys: %w", err)
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// requireAccessKey refuses a request whose SigV4 Authorization header does
// not name accessKey, answering as S3 does (403, an XML error).
func requireAccessKey(accessKey string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if signedAccessKey(r.Header.Get("Authorization")) != accessKey {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signedAccessKey is the access key a SigV4 Authorization header names
// ("AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/s3/aws4_request, ..."),
// or "" when it names none.
func signedAccessKey(auth string) string {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return ""
	}
	for _, field := range strings.Split(rest, ",") {
		cred, ok := strings.CutPrefix(strings.TrimSpace(field), "Credential=")
		if !ok {
			continue
		}
		key, _, ok := strings.Cut(cred, "/")
		if !ok {
			return ""
		}
		return key
	}
	return ""
}
