package provision

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/renderer"
)

// Longest names: a store has at most 40 characters, a GitHub login 39.
var (
	longStore = strings.Repeat("s", 40)
	longLogin = strings.Repeat("l", 39)
)

// TestBuilders_WithinGitHubLimits: every comment, pull request, status,
// label and environment the provisioner builds stays within GitHub's
// limits with the longest names and with what people wrote at its longest.
func TestBuilders_WithinGitHubLimits(t *testing.T) {
	f := newPlanFixture(t)
	req := v1alpha1.New(longStore, f.req.Spec)
	req.Spec.Owner = longLogin
	issue := forge.IssueRef{Repo: forge.Repo{Owner: strings.Repeat("o", 39), Name: strings.Repeat("r", 100)}, Number: 999999}
	huge := strings.Repeat("<!-- @x | é ", 200)
	var requestProblems, pullProblems []FieldError
	for i := range 3000 {
		requestProblems = append(requestProblems, FieldError{Field: FormName, Msg: fmt.Sprint(i, huge)})
		pullProblems = append(pullProblems, FieldError{Field: "requests/" + strings.Repeat("p", 4000) + ".yaml", Msg: "is not a store request"})
	}
	texts := []struct {
		name, text string
		max        int
		says       string // what it must still say; "" for nothing
	}{
		{"invalid request comment", invalidRequestComment(longLogin, requestProblems), forge.MaxBody, "and 2"},
		{"invalid pull comment", invalidPullComment(longLogin, pullProblems), forge.MaxBody, "more, listed once these are fixed"},
		{"renamed comment", renamedComment(longLogin, longStore), forge.MaxBody, longStore},
		{"provisioning pull request body", PullMarker(issue, v1alpha1.OpProvision) + "\n" + provisionBody(f.cfg, req, issue, strings.Repeat("the most free capacity ", 400)), forge.MaxBody, longStore},
		{"moved comment", movedComment(longLogin, longStore), forge.MaxBody, longStore},
		{"invalid pull status", invalidPullStatus("sha", pullProblems).Description, forge.MaxStatusDescription, "3000 problems"},
		{"valid pull status", validPullStatus("sha", []*v1alpha1.StoreRequest{req, req, req, req}).Description, forge.MaxStatusDescription, "4 stores"},
		{"environment", v1alpha1.Environment(longStore), forge.MaxEnvironment, longStore},
	}
	for _, op := range []string{v1alpha1.OpProvision, v1alpha1.OpResize, v1alpha1.OpRotate, v1alpha1.OpDecommission} {
		texts = append(texts,
			struct {
				name, text string
				max        int
				says       string
			}{op + " pull request title", pullTitle(op, longStore), forge.MaxTitle, longStore},
			struct {
				name, text string
				max        int
				says       string
			}{op + " deployment description", deploymentDescription(op, longStore), forge.MaxStatusDescription, longStore})
	}
	for _, l := range append([]string{v1alpha1.LabelRequest, v1alpha1.LabelInvalid, v1alpha1.LabelPendingReview}, v1alpha1.LifecycleLabels...) {
		texts = append(texts, struct {
			name, text string
			max        int
			says       string
		}{"label " + l, l, forge.MaxLabel, l})
	}
	for _, tt := range texts {
		t.Run(tt.name, func(t *testing.T) {
			if n := utf8.RuneCountInString(tt.text); n > tt.max {
				t.Errorf("%d characters, over GitHub's %d", n, tt.max)
			}
			if !strings.Contains(tt.text, tt.says) {
				t.Errorf("does not say %q", tt.says)
			}
		})
	}
}

// TestCredentialsComment_ManyKeys: an owner with hundreds of SSH keys
// (read over several pages) gets credentials encrypted to the first
// MaxRecipients of them, ed25519 first, in a comment within GitHub's
// limit, and can decrypt them with an ed25519 key listed last.
func TestCredentialsComment_ManyKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := ssh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshEd, err := ssh.NewPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for range 249 {
		keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(rsaPub))))
	}
	keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshEd)))) // the 250th: on page 3
	url := v1alpha1.AdminURL(longStore, "shop.example.com")
	old, _, err := sealFor(Seal{Store: longStore, ID: "c0", Credentials: renderer.Credentials{AdminPassword: "battery staple"}}, longLogin, url, keys)
	if err != nil {
		t.Fatal(err)
	}
	armored, to, err := sealFor(Seal{Store: longStore, ID: "c1", Credentials: renderer.Credentials{AdminPassword: "correct horse"}}, longLogin, url, keys)
	if err != nil {
		t.Fatal(err)
	}
	// A rotation waiting for its merge: both generations, each to 40 keys.
	c := &ledger.Credentials{Delivered: "c1", Live: "c0", Sealed: map[string]string{"c0": old, "c1": armored}}
	body := credentialsComment(c, longStore, longLogin, url, to, "https://github.com/acme/tenants/pull/12345")
	if n := utf8.RuneCountInString(body); n > forge.MaxBody {
		t.Fatalf("the credentials comment has %d characters, over GitHub's %d", n, forge.MaxBody)
	}
	if !strings.Contains(body, "in use once https://github.com/acme/tenants/pull/12345 merges") || !strings.Contains(body, "in use now") {
		t.Errorf("the comment does not say which credentials are in use:\n%.400s", body)
	}
	if !strings.Contains(body, fmt.Sprintf("encrypted to %d of your 250 SSH keys", MaxRecipients)) {
		t.Error("the comment does not say it used only some of the keys")
	}
	id, err := agessh.NewEd25519Identity(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(body, armor.Header)
	end := strings.Index(body, armor.Footer)
	if start < 0 || end < 0 {
		t.Fatal("no armored block in the comment")
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(body[start:end+len(armor.Footer)]+"\n")), id)
	if err != nil {
		t.Fatalf("the ed25519 key listed last cannot decrypt: %v", err)
	}
	var plain bytes.Buffer
	if _, err := io.Copy(&plain, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), "password: correct horse") {
		t.Errorf("decrypted %q", plain.String())
	}
}
