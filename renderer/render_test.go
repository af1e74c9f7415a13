package renderer_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type goldenCase struct {
	name   string
	mutate func(*config.Config, *v1alpha1.StoreRequest)
	// origin is Input.Origin: the issue that owns the store.
	origin string
}

var goldenCases = []goldenCase{
	{name: "example-small"},
	{name: "medium-oci-internet", mutate: func(cfg *config.Config, req *v1alpha1.StoreRequest) {
		cfg.Chart.Source = config.ChartSource{Kind: config.SourceOCI, URL: "oci://ghcr.io/purrvision/charts/woocommerce", Interval: "1h"}
		// A cluster of its own behind an Ingress, without TLS, on its own
		// domain and storage class.
		noTLS := false
		cfg.Clusters = append(cfg.Clusters, config.Cluster{
			Name: "eu-west", BaseDomain: "eu.shop.example.com", Exposure: config.ExposureIngress, StorageClass: "fast-ssd",
			Ingress: config.Ingress{TLS: config.IngressTLS{Enabled: &noTLS}},
		})
		req.Metadata.Name = "dog-diner"
		req.Spec.Plan = "medium"
		req.Spec.Title = ""
		req.Spec.Cluster = "eu-west"
	}},
	{name: "small-backups", origin: "acme/stores#7", mutate: withBackups},
}

func renderCase(t *testing.T, tc goldenCase, recipient string, seed uint64) *renderer.Output {
	t.Helper()
	cfg := testutil.ExampleConfig(t)
	cfg.SOPS.AgeRecipients = []string{recipient}
	req := testutil.ExampleRequest(t)
	if tc.mutate != nil {
		tc.mutate(cfg, req)
	}
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(seed), Now: fixedNow, Origin: tc.origin,
		BackupCredentials: backupCredentials(t)})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// TestRender_Golden compares every rendered file with testdata/golden. The
// Secrets' ciphertext differs on every run (age and AES-GCM nonces), so
// their golden files are the decrypted Secrets with the passwords masked.
func TestRender_Golden(t *testing.T) {
	id := testutil.AgeIdentity(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			out := renderCase(t, tc, id.Recipient().String(), 1)
			got := map[string][]byte{}
			for _, f := range out.Files {
				rel := strings.TrimPrefix(f.Path, out.Dir+"/")
				switch rel {
				case renderer.FileSecret, renderer.FileDatabaseSecret:
					got[rel+".decrypted"] = maskedSecret(t, f.Data, id.String(), out.Credentials)
				case renderer.FileBackupPasswordSecret, renderer.FileBackupTargetSecret:
					got[rel+".decrypted"] = maskedBackupSecret(t, f.Data, id.String())
				default:
					got[rel] = f.Data
				}
			}
			dir := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for rel, data := range got {
					p := filepath.Join(dir, filepath.FromSlash(rel))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := readTree(t, dir)
			if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
				t.Fatalf("rendered file set differs from %s (-want +got):\n%s\nrun: go test ./renderer -update", dir, diff)
			}
			for rel, data := range got {
				if diff := cmp.Diff(string(want[rel]), string(data)); diff != "" {
					t.Errorf("%s differs from golden (-want +got):\n%s\nrun: go test ./renderer -update", rel, diff)
				}
			}
		})
	}
}

// maskedSecret decrypts the Secret, checks the credentials are in it, and
// masks them so the golden file holds no password.
func maskedSecret(t *testing.T, ciphertext []byte, identity string, creds renderer.Credentials) []byte {
	t.Helper()
	plain, err := sopsage.Decrypt(ciphertext, identity)
	if err != nil {
		t.Fatalf("decrypting the rendered Secret: %v", err)
	}
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(plain, &s); err != nil {
		t.Fatalf("decoding the decrypted Secret: %v", err)
	}
	want := map[string]string{
		renderer.KeyAdminPassword:        creds.AdminPassword,
		renderer.KeyDatabasePassword:     creds.DatabasePassword,
		renderer.KeyDatabaseRootPassword: creds.DatabaseRootPassword,
	}
	if len(s.Data) == 0 {
		t.Errorf("Secret %s holds nothing", s.Name)
	}
	for k, v := range s.Data {
		if k == renderer.KeyRevision {
			if string(v) != creds.Revision || len(v) != 17 {
				t.Errorf("Secret %s: %s is %q, want the generated %q", s.Name, k, v, creds.Revision)
			}
			continue // not secret, and the same for a seed: kept in the golden file
		}
		w, ok := want[k]
		if !ok || string(v) != w {
			t.Errorf("Secret %s key %s does not hold a generated credential", s.Name, k)
		}
		s.Data[k] = []byte("masked")
	}
	masked, err := yaml.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return masked
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatalf("reading golden files (run go test ./renderer -update to create them): %v", err)
	}
	return out
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestRender_Deterministic: the same request and random source give the same
// files, and the same credentials inside the Secret.
func TestRender_Deterministic(t *testing.T) {
	id := testutil.AgeIdentity(t)
	a := renderCase(t, goldenCases[0], id.Recipient().String(), 7)
	b := renderCase(t, goldenCases[0], id.Recipient().String(), 7)
	if a.Credentials != b.Credentials {
		t.Fatal("same seed gave different credentials")
	}
	if len(a.Files) != len(b.Files) {
		t.Fatalf("file counts differ: %d and %d", len(a.Files), len(b.Files))
	}
	for i := range a.Files {
		if a.Files[i].Path != b.Files[i].Path {
			t.Fatalf("file %d: %s and %s", i, a.Files[i].Path, b.Files[i].Path)
		}
		if strings.HasSuffix(a.Files[i].Path, renderer.FileSecret) || strings.HasSuffix(a.Files[i].Path, renderer.FileDatabaseSecret) {
			pa, err := sopsage.Decrypt(a.Files[i].Data, id.String())
			if err != nil {
				t.Fatal(err)
			}
			pb, err := sopsage.Decrypt(b.Files[i].Data, id.String())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pa, pb) {
				t.Errorf("%s: decrypted Secrets differ", a.Files[i].Path)
			}
			continue
		}
		if !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Errorf("%s differs between two renders", a.Files[i].Path)
		}
	}
	c := renderCase(t, goldenCases[0], id.Recipient().String(), 8)
	if c.Credentials == a.Credentials {
		t.Error("different seeds gave the same credentials")
	}
}

// TestRender_CredentialsOnlyAsCiphertext: no written file holds a password
// in any common encoding; only the SOPS ciphertext carries them.
func TestRender_CredentialsOnlyAsCiphertext(t *testing.T) {
	id := testutil.AgeIdentity(t)
	for _, tc := range goldenCases {
		out := renderCase(t, tc, id.Recipient().String(), 3)
		creds := []string{out.Credentials.AdminPassword, out.Credentials.DatabasePassword, out.Credentials.DatabaseRootPassword}
		seen := map[string]bool{}
		for _, c := range creds {
			if len(c) < 24 {
				t.Errorf("credential has %d characters, want at least 24", len(c))
			}
			if seen[c] {
				t.Error("two credentials are equal")
			}
			seen[c] = true
		}
		for _, f := range out.Files {
			for _, c := range creds {
				for _, enc := range []string{c, base64.StdEncoding.EncodeToString([]byte(c)), base64.RawStdEncoding.EncodeToString([]byte(c)), base64.URLEncoding.EncodeToString([]byte(c))} {
					if bytes.Contains(f.Data, []byte(enc)) {
						t.Errorf("%s contains a credential in plaintext or base64", f.Path)
					}
				}
			}
		}
		for file, cs := range map[string][]string{renderer.FileSecret: creds[:1], renderer.FileDatabaseSecret: creds[1:]} {
			secret, ok := out.File(file)
			if !ok {
				t.Fatalf("no %s rendered", file)
			}
			plain, err := sopsage.Decrypt(secret, id.String())
			if err != nil {
				t.Fatalf("decrypting %s: %v", file, err)
			}
			for _, c := range creds {
				in := bytes.Contains(plain, []byte(base64.StdEncoding.EncodeToString([]byte(c))))
				if want := slices.Contains(cs, c); in != want {
					t.Errorf("%s holds a password: %v, want %v", file, in, want)
				}
			}
		}
	}
}

func TestCredentials_Redacted(t *testing.T) {
	c, err := renderer.GenerateCredentials(testutil.Rand(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, c.AdminPassword) {
			t.Errorf("formatting credentials leaks a password: %s", s)
		}
	}
}

func TestRender_InvalidRequestRendersNothing(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	req := testutil.ExampleRequest(t)
	req.Spec.Plan = "xl"
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(1), Now: fixedNow})
	if out != nil {
		t.Error("an invalid request produced output")
	}
	var inv *renderer.InvalidRequestError
	if !errors.As(err, &inv) || !errors.Is(err, renderer.ErrInvalidRequest) {
		t.Fatalf("err = %v, want an InvalidRequestError", err)
	}
	if !strings.Contains(err.Error(), "spec.plan") || !strings.Contains(err.Error(), "small") {
		t.Errorf("error %q does not name the field and the choices", err)
	}
}

func TestRender_RecipientOverride(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	id := testutil.AgeIdentity(t)
	out, err := renderer.Render(renderer.Input{
		Config: cfg, Request: testutil.ExampleRequest(t), Rand: testutil.Rand(1), Now: fixedNow,
		Recipients: []string{id.Recipient().String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	secret, ok := out.File(renderer.FileSecret)
	if !ok {
		t.Fatal("no Secret rendered")
	}
	if _, err := sopsage.Decrypt(secret, id.String()); err != nil {
		t.Fatalf("the --age-recipient key cannot decrypt: %v", err)
	}
	if bytes.Contains(secret, []byte(cfg.SOPS.AgeRecipients[0])) {
		t.Error("the config's recipient was used although recipients were given")
	}
	_, err = renderer.Render(renderer.Input{
		Config: cfg, Request: testutil.ExampleRequest(t), Rand: testutil.Rand(1), Now: fixedNow,
		Recipients: []string{"age1notakey"},
	})
	if err == nil {
		t.Error("a bad recipient was accepted")
	}
}

// TestRender_KeepSecret: a re-render that keeps the Secrets writes them
// back byte for byte and generates no credentials.
func TestRender_KeepSecret(t *testing.T) {
	id := testutil.AgeIdentity(t)
	first := renderCase(t, goldenCases[0], id.Recipient().String(), 1)
	secret, ok := first.File(renderer.FileSecret)
	dbSecret, dbOK := first.File(renderer.FileDatabaseSecret)
	if !ok || !dbOK {
		t.Fatal("a Secret is missing")
	}
	cfg := testutil.ExampleConfig(t)
	req := testutil.ExampleRequest(t)
	req.Spec.Plan = "medium"
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(2), Now: fixedNow,
		KeepSecret: secret, KeepDatabaseSecret: dbSecret, Origin: "acme/stores#7"})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := out.File(renderer.FileSecret)
	keptDB, _ := out.File(renderer.FileDatabaseSecret)
	if !bytes.Equal(kept, secret) || !bytes.Equal(keptDB, dbSecret) {
		t.Error("a kept Secret changed")
	}
	if out.Credentials != (renderer.Credentials{}) {
		t.Error("credentials were generated although the Secrets were kept")
	}

	copyOf, _ := out.File(renderer.FileRequest)
	back, err := v1alpha1.Parse(copyOf)
	if err != nil {
		t.Fatalf("the request copy does not parse: %v", err)
	}
	if back.Metadata.Annotations[v1alpha1.AnnotationIssue] != "acme/stores#7" || back.Spec.Plan != "medium" {
		t.Errorf("request copy = %+v", back)
	}
}

// TestRender_RotateAdminOnly: a rotation keeps the database Secret and
// seals a new admin password with a new revision; the HelmRelease does not
// change (it reads the revision from the Secret through valuesFrom, and
// helm-controller watches the Secret), so the rotation's pull request
// changes only the Secret, and the WordPress pod still rolls.
func TestRender_RotateAdminOnly(t *testing.T) {
	id := testutil.AgeIdentity(t)
	first := renderCase(t, goldenCases[0], id.Recipient().String(), 1)
	dbSecret, _ := first.File(renderer.FileDatabaseSecret)
	firstHR, _ := first.File(renderer.FileHelmRelease)
	out, err := renderer.Render(renderer.Input{Config: testutil.ExampleConfig(t), Request: testutil.ExampleRequest(t), Rand: testutil.Rand(2),
		Now: fixedNow, Recipients: []string{id.Recipient().String()}, KeepDatabaseSecret: dbSecret})
	if err != nil {
		t.Fatal(err)
	}
	if keptDB, _ := out.File(renderer.FileDatabaseSecret); !bytes.Equal(keptDB, dbSecret) {
		t.Error("the database Secret changed")
	}
	c := out.Credentials
	if c.AdminPassword == "" || c.AdminPassword == first.Credentials.AdminPassword || c.DatabasePassword != "" || c.DatabaseRootPassword != "" {
		t.Error("want a new admin password and no database passwords in the output")
	}
	if c.Revision == "" || c.Revision == first.Credentials.Revision {
		t.Errorf("revision %q after %q: want a new one", c.Revision, first.Credentials.Revision)
	}
	secret, _ := out.File(renderer.FileSecret)
	plain, err := sopsage.Decrypt(secret, id.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{c.AdminPassword, c.Revision} {
		if !bytes.Contains(plain, []byte(base64.StdEncoding.EncodeToString([]byte(v)))) {
			t.Error("the admin Secret does not hold the new password and revision")
		}
	}
	if !bytes.Contains(plain, []byte("reconcile.fluxcd.io/watch: Enabled")) {
		t.Error("helm-controller is not asked to watch the admin Secret")
	}
	if hr, _ := out.File(renderer.FileHelmRelease); !bytes.Equal(hr, firstHR) {
		t.Error("rotation changed the HelmRelease")
	}
}

func TestStoreDir_Sharded(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	if got := renderer.StoreDir(cfg, "default", "cat-cafe"); got != "tenants/default/a/5/cat-cafe" {
		t.Errorf("StoreDir = %q", got)
	}
	// The shards spread the stores: 4,096 names fill all 256 of them, and
	// none holds more than twice its share.
	count := map[string]int{}
	for i := range 4096 {
		sh := renderer.Shard(fmt.Sprintf("store-%d", i))
		for _, level := range strings.Split(sh, "/") {
			if !renderer.IsShardLevel(level) {
				t.Fatalf("shard %q: %q is not a shard level", sh, level)
			}
		}
		count[sh]++
	}
	if len(count) != 256 {
		t.Errorf("%d shards used, want 256", len(count))
	}
	for sh, n := range count {
		if n > 32 {
			t.Errorf("shard %s holds %d of 4,096 stores", sh, n)
		}
	}
	for _, s := range []string{"", "g", "A", "ab", "/"} {
		if renderer.IsShardLevel(s) {
			t.Errorf("IsShardLevel(%q)", s)
		}
	}
}

// TestRender_PlacementAnnotation: the placement's reason is written into
// the request copy once and kept by every later render, a command's (with
// an issue) or a rollout's (without one), and the caller's request is not
// changed.
func TestRender_PlacementAnnotation(t *testing.T) {
	cfg := testutil.ExampleConfig(t)
	req := testutil.ExampleRequest(t)
	copyOf := func(in renderer.Input) *v1alpha1.StoreRequest {
		t.Helper()
		in.Config, in.Rand, in.Now, in.Recipients = cfg, testutil.Rand(1), fixedNow, []string{testutil.AgeIdentity(t).Recipient().String()}
		out, err := renderer.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := out.File(renderer.FileRequest)
		c, err := v1alpha1.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := copyOf(renderer.Input{Request: req, Origin: "acme/stores#7", Placement: "the most free capacity of 2 clusters"})
	if req.Metadata.Annotations[v1alpha1.AnnotationPlacement] != "" {
		t.Fatal("rendering changed the caller's request")
	}
	for name, in := range map[string]renderer.Input{
		"a command's render": {Request: first, Origin: "acme/stores#7"},
		"a rollout's render": {Request: first},
	} {
		if got := copyOf(in).Metadata.Annotations; got[v1alpha1.AnnotationPlacement] != "the most free capacity of 2 clusters" || got[v1alpha1.AnnotationIssue] != "acme/stores#7" {
			t.Errorf("%s: annotations %v", name, got)
		}
	}
}
