package renderer_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/sopsage"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// The test target's key, as a credentials file gives it.
const (
	testAccessKeyID     = "AKIAPURRVISIONTEST01"
	testSecretAccessKey = "u7Q2pL9xVb3nK8mR1tY6wE4sD0fG5hJ2aZcX9vBn"
)

var (
	credsOnce sync.Once
	creds     config.BackupCredentials
	credsErr  error
)

// backupCredentials are the test target's credentials for every cluster
// the golden cases use.
func backupCredentials(t *testing.T) map[string]config.BackupCredentials {
	t.Helper()
	credsOnce.Do(func() {
		creds, credsErr = config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=" + testAccessKeyID + "\nAWS_SECRET_ACCESS_KEY=" + testSecretAccessKey + "\n"))
	})
	if credsErr != nil {
		t.Fatal(credsErr)
	}
	return map[string]config.BackupCredentials{"default": creds, "eu-west": creds}
}

// withBackups gives plan small daily backups, kept 14, to a target with
// an image of its own.
func withBackups(cfg *config.Config, _ *v1alpha1.StoreRequest) {
	p := cfg.Plans["small"]
	p.Backups = &config.PlanBackups{Schedule: "0 3 * * *", Keep: 14}
	cfg.Plans["small"] = p
	cfg.Backups.Target = &config.BackupTarget{
		Repository:      "s3:https://s3.eu.example.com/acme-backups/stores",
		CredentialsFile: "/etc/purrvision/backup-credentials",
		Egress:          []config.BackupEgress{{CIDR: "203.0.113.10/32", Ports: []int32{443}}, {CIDR: "2001:db8::/64", Ports: []int32{443, 9000}}},
		Image:           &config.ChartImage{Repository: "registry.example.com/mirror/purrvision-backup", Tag: "0.18.1-1"},
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
}

// maskedBackupSecret decrypts a backup Secret, checks it holds the test
// target's key or a generated password, and masks them.
func maskedBackupSecret(t *testing.T, ciphertext []byte, identity string) []byte {
	t.Helper()
	s := decryptSecret(t, ciphertext, identity)
	for k, v := range s.Data {
		switch k {
		case renderer.KeyAWSAccessKeyID:
			if string(v) != testAccessKeyID {
				t.Errorf("Secret %s: %s is not the target's", s.Name, k)
			}
		case renderer.KeyAWSSecretAccessKey:
			if string(v) != testSecretAccessKey {
				t.Errorf("Secret %s: %s is not the target's", s.Name, k)
			}
		case renderer.KeyResticPassword:
			if len(v) != renderer.PasswordLength {
				t.Errorf("Secret %s: %s has %d characters, want %d", s.Name, k, len(v), renderer.PasswordLength)
			}
		default:
			t.Errorf("Secret %s holds an unexpected key %s", s.Name, k)
		}
		s.Data[k] = []byte("masked")
	}
	if len(s.Data) == 0 {
		t.Errorf("Secret %s holds nothing", s.Name)
	}
	masked, err := yaml.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return masked
}

func decryptSecret(t *testing.T, ciphertext []byte, identity string) corev1.Secret {
	t.Helper()
	plain, err := sopsage.Decrypt(ciphertext, identity)
	if err != nil {
		t.Fatalf("decrypting: %v", err)
	}
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(plain, &s); err != nil {
		t.Fatalf("decoding the decrypted Secret: %v", err)
	}
	return s
}

func renderBackups(t *testing.T, in renderer.Input) *renderer.Output {
	t.Helper()
	if in.Config == nil {
		in.Config = testutil.ExampleConfig(t)
		in.Request = testutil.ExampleRequest(t)
		withBackups(in.Config, in.Request)
	}
	if in.Rand == nil {
		in.Rand = testutil.Rand(11)
	}
	if in.Origin == "" {
		in.Origin = "acme/stores#7"
	}
	if in.BackupCredentials == nil {
		in.BackupCredentials = backupCredentials(t)
	}
	in.Now = fixedNow
	out, err := renderer.Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// TestBackupStoreID_NeverSharedByAReusedName: a name comes back after
// its store is gone, its issue never does; a store's repository must
// never be another's, whatever an attacker names the new store.
func TestBackupStoreID_NeverSharedByAReusedName(t *testing.T) {
	target := &config.BackupTarget{Repository: "s3:https://s3.example.com/b"}
	tests := []struct {
		name           string
		a, b           [2]string // name, origin
		wantSameRepoID bool
	}{
		{"the same store", [2]string{"cat-cafe", "acme/stores#7"}, [2]string{"cat-cafe", "acme/stores#7"}, true},
		{"the name reused by a later issue", [2]string{"cat-cafe", "acme/stores#7"}, [2]string{"cat-cafe", "acme/stores#70"}, false},
		{"the same issue number in another repository", [2]string{"cat-cafe", "acme/stores#7"}, [2]string{"cat-cafe", "evil/stores#7"}, false},
		{"a pull request of the same number", [2]string{"cat-cafe", "acme/stores#7"}, [2]string{"cat-cafe", "acme/tenants#7"}, false},
		{"a name that ends like the other's ID", [2]string{"cat", "acme/stores#7"}, [2]string{"cat-" + renderer.BackupStoreID("", "acme/stores#7")[1:], "acme/stores#8"}, false},
		{"another name, the same issue", [2]string{"cat-cafe", "acme/stores#7"}, [2]string{"dog-diner", "acme/stores#7"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := renderer.BackupStoreID(tt.a[0], tt.a[1]), renderer.BackupStoreID(tt.b[0], tt.b[1])
			ra, rb := renderer.BackupRepository(target, "eu", a), renderer.BackupRepository(target, "eu", b)
			if (a == b) != tt.wantSameRepoID || (ra == rb) != tt.wantSameRepoID {
				t.Errorf("IDs %q and %q, repositories %q and %q: same = %v, want %v", a, b, ra, rb, a == b, tt.wantSameRepoID)
			}
			if !strings.HasPrefix(a, tt.a[0]+"-") || len(a) != len(tt.a[0])+13 {
				t.Errorf("ID %q is not <name>-<12 hex>", a)
			}
			if msgs := validation.IsDNS1123Label(a); len(msgs) > 0 {
				t.Errorf("ID %q is not a DNS label: %v", a, msgs)
			}
		})
	}
}

// TestRender_BackupSecretsOnlyAsCiphertext: the repository password and
// the target's key reach git only inside SOPS ciphertext.
func TestRender_BackupSecretsOnlyAsCiphertext(t *testing.T) {
	id := testutil.AgeIdentity(t)
	cfg, req := testutil.ExampleConfig(t), testutil.ExampleRequest(t)
	withBackups(cfg, req)
	out := renderBackups(t, renderer.Input{Config: cfg, Request: req, Recipients: []string{id.Recipient().String()}})
	pwFile, ok := out.File(renderer.FileBackupPasswordSecret)
	if !ok {
		t.Fatalf("no %s", renderer.FileBackupPasswordSecret)
	}
	pw := string(decryptSecret(t, pwFile, id.String()).Data[renderer.KeyResticPassword])
	if len(pw) != renderer.PasswordLength {
		t.Fatalf("password has %d characters", len(pw))
	}
	for _, f := range out.Files {
		for _, secret := range []string{pw, testAccessKeyID, testSecretAccessKey} {
			for _, enc := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawStdEncoding.EncodeToString([]byte(secret)), base64.URLEncoding.EncodeToString([]byte(secret))} {
				if bytes.Contains(f.Data, []byte(enc)) {
					t.Errorf("%s holds a backup secret in plaintext or base64", f.Path)
				}
			}
		}
	}
	target, _ := out.File(renderer.FileBackupTargetSecret)
	sec := decryptSecret(t, target, id.String())
	if string(sec.Data[renderer.KeyAWSAccessKeyID]) != testAccessKeyID || string(sec.Data[renderer.KeyAWSSecretAccessKey]) != testSecretAccessKey {
		t.Error("the target Secret does not hold the target's key")
	}
	if _, ok := sec.Data[renderer.KeyResticPassword]; ok {
		t.Error("the target Secret holds the password")
	}
}

// TestRender_BackupSecretsKept: a re-render keeps the password file
// byte for byte, and the target file while the key is the same; a new
// key is sealed again, beside the same password.
func TestRender_BackupSecretsKept(t *testing.T) {
	id := testutil.AgeIdentity(t)
	recipients := []string{id.Recipient().String()}
	first := renderBackups(t, renderer.Input{Recipients: recipients})
	pw, _ := first.File(renderer.FileBackupPasswordSecret)
	target, _ := first.File(renderer.FileBackupTargetSecret)
	db, _ := first.File(renderer.FileDatabaseSecret)
	admin, _ := first.File(renderer.FileSecret)

	// No random source: keeping everything must draw nothing.
	again := renderBackups(t, renderer.Input{Recipients: recipients, Rand: failingReader{}, KeepSecret: admin, KeepDatabaseSecret: db,
		KeepBackupPasswordSecret: pw, KeepBackupTargetSecret: target})
	for i, f := range first.Files {
		if !bytes.Equal(f.Data, again.Files[i].Data) {
			t.Errorf("%s changed on a re-render that keeps every Secret", f.Path)
		}
	}

	rotated, err := config.ParseBackupCredentials([]byte("AWS_ACCESS_KEY_ID=AKIAROTATED\nAWS_SECRET_ACCESS_KEY=rotatedSecretKey0123456789\n"))
	if err != nil {
		t.Fatal(err)
	}
	next := renderBackups(t, renderer.Input{Recipients: recipients, Rand: testutil.Rand(12), KeepSecret: admin, KeepDatabaseSecret: db,
		KeepBackupPasswordSecret: pw, KeepBackupTargetSecret: target, BackupCredentials: map[string]config.BackupCredentials{"default": rotated}})
	if got, _ := next.File(renderer.FileBackupPasswordSecret); !bytes.Equal(got, pw) {
		t.Error("the password changed with the target's key")
	}
	got, _ := next.File(renderer.FileBackupTargetSecret)
	if bytes.Equal(got, target) {
		t.Fatal("the target Secret was kept after its key changed")
	}
	if sec := decryptSecret(t, got, id.String()); string(sec.Data[renderer.KeyAWSAccessKeyID]) != "AKIAROTATED" || sec.Annotations[renderer.AnnotationBackupCredentials] != rotated.Fingerprint {
		t.Errorf("the new target Secret holds %q, fingerprint %q", sec.Data[renderer.KeyAWSAccessKeyID], sec.Annotations[renderer.AnnotationBackupCredentials])
	}

	// A store rendered before its plan took backups gets a password.
	fresh := renderBackups(t, renderer.Input{Recipients: recipients, Rand: testutil.Rand(13), KeepSecret: admin, KeepDatabaseSecret: db})
	if got, ok := fresh.File(renderer.FileBackupPasswordSecret); !ok || bytes.Equal(got, pw) {
		t.Error("a store without a backup password got none, or the old file")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) {
	return 0, errors.New("no randomness for a render that keeps everything")
}

var _ io.Reader = failingReader{}

// TestRender_BackupsOffIgnoresTheirInputs: a plan without backups renders
// the same files whether backup credentials and a target are given or
// not: no Secret, policy, value or quota of backups.
func TestRender_BackupsOffIgnoresTheirInputs(t *testing.T) {
	plain := renderCase(t, goldenCases[0], testutil.AgeIdentity(t).Recipient().String(), 4)
	cfg, req := testutil.ExampleConfig(t), testutil.ExampleRequest(t)
	withBackups(cfg, req)
	p := cfg.Plans["small"]
	p.Backups = nil
	cfg.Plans["small"] = p
	cfg.SOPS.AgeRecipients = []string{testutil.AgeIdentity(t).Recipient().String()}
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(4), Now: fixedNow, BackupCredentials: backupCredentials(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != len(plain.Files) {
		t.Fatalf("%d files, want %d", len(out.Files), len(plain.Files))
	}
	for i, f := range out.Files {
		if strings.HasSuffix(f.Path, ".sops.yaml") {
			continue // other recipients
		}
		if !bytes.Equal(f.Data, plain.Files[i].Data) {
			t.Errorf("%s differs", f.Path)
		}
		if bytes.Contains(f.Data, []byte("backup")) {
			t.Errorf("%s mentions backups", f.Path)
		}
	}
}

func TestRender_BackupsRefused(t *testing.T) {
	tests := []struct {
		name string
		in   func(*renderer.Input)
		want string
	}{
		{"no origin", func(in *renderer.Input) { in.Origin = "" }, "no purrvision.dev/issue annotation"},
		{"no credentials", func(in *renderer.Input) { in.BackupCredentials = map[string]config.BackupCredentials{} }, `no credentials of cluster "default"'s backup target were read`},
		{"no target", func(in *renderer.Input) { in.Config.Backups.Target = nil }, `cluster "default" has no backup target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, req := testutil.ExampleConfig(t), testutil.ExampleRequest(t)
			withBackups(cfg, req)
			in := renderer.Input{Config: cfg, Request: req, Rand: testutil.Rand(1), Now: fixedNow, Origin: "acme/stores#7", BackupCredentials: backupCredentials(t)}
			tt.in(&in)
			if tt.name == "no origin" {
				req.Metadata.Annotations = nil
			}
			out, err := renderer.Render(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) || out != nil {
				t.Errorf("Render() = %v, %v; want no output and an error containing %q", out != nil, err, tt.want)
			}
		})
	}
}

// TestRender_BackupPolicyAndQuota: the backup pods reach the target's
// addresses and ports alone; the quota has a pod more, and the three
// pods' limits still fit the plan.
func TestRender_BackupPolicyAndQuota(t *testing.T) {
	out := renderBackups(t, renderer.Input{})
	data, _ := out.File(renderer.FileNetworkPolicies)
	var found bool
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var np networkingv1.NetworkPolicy
		if err := yaml.Unmarshal([]byte(doc), &np); err != nil {
			t.Fatal(err)
		}
		if np.Name != renderer.PolicyAllowBackupTarget {
			if np.Spec.PodSelector.MatchLabels[renderer.LabelComponent] == renderer.ComponentBackup {
				t.Errorf("policy %s also selects the backup pods", np.Name)
			}
			continue
		}
		found = true
		if got := np.Spec.PodSelector.MatchLabels; len(got) != 1 || got[renderer.LabelComponent] != renderer.ComponentBackup {
			t.Errorf("selects %v", got)
		}
		if len(np.Spec.Ingress) != 0 || len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeEgress {
			t.Errorf("policy types %v, ingress %v: want egress alone", np.Spec.PolicyTypes, np.Spec.Ingress)
		}
		var got []string
		for _, r := range np.Spec.Egress {
			for _, to := range r.To {
				if to.IPBlock == nil || to.PodSelector != nil || to.NamespaceSelector != nil || len(to.IPBlock.Except) != 0 {
					t.Errorf("peer %+v is not the target's address", to)
					continue
				}
				for _, p := range r.Ports {
					got = append(got, to.IPBlock.CIDR+":"+p.Port.String())
				}
			}
		}
		if want := "203.0.113.10/32:443 2001:db8::/64:443 2001:db8::/64:9000"; strings.Join(got, " ") != want {
			t.Errorf("egress %q, want %q", strings.Join(got, " "), want)
		}
	}
	if !found {
		t.Fatalf("no %s policy", renderer.PolicyAllowBackupTarget)
	}

	vals, err := renderer.ChartValues(testutil.ExampleConfig(t), testutil.ExampleRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := vals["backups"]; ok {
		t.Error("a plan without backups has backups values")
	}
	cfg, req := testutil.ExampleConfig(t), testutil.ExampleRequest(t)
	withBackups(cfg, req)
	req.Metadata.Annotations = map[string]string{v1alpha1.AnnotationIssue: "acme/stores#7"}
	hr, _ := out.File(renderer.FileHelmRelease)
	var rel struct {
		Spec struct {
			Values renderer.Values `json:"values"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(hr, &rel); err != nil {
		t.Fatal(err)
	}
	v := rel.Spec.Values
	b := v.Backups
	if b == nil || !b.Enabled || b.Schedule != "0 3 * * *" || b.Keep != 14 || b.StoreID != renderer.BackupStoreID("cat-cafe", "acme/stores#7") ||
		b.Repository != "s3:https://s3.eu.example.com/acme-backups/stores/default/"+b.StoreID ||
		b.PasswordSecret != renderer.BackupPasswordSecretName || b.TargetSecret != renderer.BackupTargetSecretName {
		t.Errorf("backups values %+v", b)
	}
	if v.Images == nil || v.Images.Backup == nil || v.Images.Backup.Repository != "registry.example.com/mirror/purrvision-backup" || v.Images.WordPress != nil {
		t.Errorf("images values %+v", v.Images)
	}
	sum := func(rs ...corev1.ResourceRequirements) (cpu, mem resource.Quantity) {
		for _, r := range rs {
			cpu.Add(r.Limits[corev1.ResourceCPU])
			mem.Add(r.Limits[corev1.ResourceMemory])
		}
		return cpu, mem
	}
	cpu, mem := sum(v.WordPress.Resources, v.Database.Resources, b.Resources)
	plan := cfg.Plans["small"]
	if cpu.Cmp(plan.CPU) > 0 || mem.Cmp(plan.Memory) > 0 {
		t.Errorf("web, database and backup limits add up to %s CPU and %s memory, over the plan's %s and %s", cpu.String(), mem.String(), plan.CPU.String(), plan.Memory.String())
	}
	if b.Resources.Limits.Memory().Value() < 128<<20 {
		t.Errorf("backup memory %s is under 128Mi", b.Resources.Limits.Memory())
	}
	quota, _ := out.File(renderer.FileQuota)
	if want := "pods: \"" + strconv.Itoa(int(plan.Pods)+1) + "\""; !strings.Contains(string(quota), want) {
		t.Errorf("quota has no %s:\n%s", want, quota)
	}
	cv, err := renderer.ChartValues(cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	if bv, _ := cv["backups"].(map[string]any); bv["storeId"] != b.StoreID {
		t.Errorf("ChartValues gives store ID %v, the render %s", bv["storeId"], b.StoreID)
	}
}

// TestRender_BackupsTurnedOffKeepThePassword: a store whose plan no
// longer takes backups keeps its password (the backups written stay
// readable) and the installer's right to remove the CronJob; the target's
// key, policy and values go.
func TestRender_BackupsTurnedOffKeepThePassword(t *testing.T) {
	first := renderBackups(t, renderer.Input{})
	pw, _ := first.File(renderer.FileBackupPasswordSecret)
	db, _ := first.File(renderer.FileDatabaseSecret)
	admin, _ := first.File(renderer.FileSecret)
	target, _ := first.File(renderer.FileBackupTargetSecret)

	cfg, req := testutil.ExampleConfig(t), testutil.ExampleRequest(t)
	out, err := renderer.Render(renderer.Input{Config: cfg, Request: req, Rand: failingReader{}, Now: fixedNow, Origin: "acme/stores#7",
		KeepSecret: admin, KeepDatabaseSecret: db, KeepBackupPasswordSecret: pw, KeepBackupTargetSecret: target})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := out.File(renderer.FileBackupPasswordSecret); !ok || !bytes.Equal(got, pw) {
		t.Error("the backup password was dropped or changed")
	}
	if _, ok := out.File(renderer.FileBackupTargetSecret); ok {
		t.Error("the target's key stays without backups")
	}
	kust, _ := out.File(renderer.FileManifestsKustom)
	if !strings.Contains(string(kust), "- backup-password.sops.yaml") || strings.Contains(string(kust), "backup-target") {
		t.Errorf("kustomization:\n%s", kust)
	}
	rbac, _ := out.File(renderer.FileRBAC)
	if !strings.Contains(string(rbac), "- cronjobs") {
		t.Error("the installer may not remove the backup CronJob")
	}
	for _, f := range []string{renderer.FileNetworkPolicies, renderer.FileHelmRelease, renderer.FileQuota} {
		if data, _ := out.File(f); bytes.Contains(data, []byte("backup")) || (f == renderer.FileQuota && !bytes.Contains(data, []byte(`pods: "4"`))) {
			t.Errorf("%s still has backups:\n%s", f, data)
		}
	}
}
