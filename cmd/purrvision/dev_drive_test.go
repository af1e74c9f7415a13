//go:build dev

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/purrvision/purrvision/internal/devenv"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/provision"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// TestDevSubcommands drive a stand-in as `purrvision dev` publishes it:
// a request (giving the requester an SSH key), a comment, the credentials
// and a merge, each as the person named.
// ghclientFor is a GitHub client of the stand-in.
func ghclientFor(t *testing.T, gh *ghstandin.Server) *ghclient.Client {
	t.Helper()
	c, err := ghclient.New(ghclient.Options{APIURL: gh.URL(), Token: "test-token"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevSubcommands(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	t.Setenv("HOME", t.TempDir()) // no SSH key of our own: dev generates one
	dir := t.TempDir()
	if r := runCLI(t, "", "dev", "request", "--name", "x-shop", "--plan", "small"); r.code != 2 || !strings.Contains(r.stderr, "no running") {
		t.Fatalf("without a running dev: exit %d, %s", r.code, r.stderr)
	}
	_, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
	gh, _ := testutil.GitHub(t)
	devenv.Populate(gh, bare)
	remove, err := writeDevState(devState{GitHub: gh.URL(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()

	r := runCLI(t, "", "dev", "request", "--wait=0", "--name", "dog-diner", "--plan", "medium")
	if r.code != 0 || !strings.Contains(r.stdout, "opened acme/stores#1 as @octocat") {
		t.Fatalf("request: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	private := filepath.Join(dir, "ssh", "octocat")
	if !strings.Contains(r.stdout, "gave @octocat the SSH key "+private+".pub") {
		t.Errorf("request did not say which key it gave:\n%s", r.stdout)
	}
	if fi, err := os.Stat(private); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the generated private key: %v, %v; want mode 0600", fi, err)
	}
	keyData, err := os.ReadFile(private)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(keyData)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		t.Fatalf("generated key is a %T, want ed25519", raw)
	}
	sshPub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	keys, err := ghclientFor(t, gh).SSHKeys(context.Background(), "octocat")
	if err != nil || len(keys) != 1 || keys[0] != pub {
		t.Errorf("octocat's keys on the stand-in = %v, %v; want the generated one", keys, err)
	}
	if r := runCLI(t, "", "dev", "request", "--wait=0", "--name", "cow-cafe", "--plan", "small"); r.code != 0 || strings.Contains(r.stdout, "gave @octocat") {
		t.Errorf("a second request gave another key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The credentials comment, as Purrvision posts it, and the command
	// `dev credentials` prints to read it.
	sealed, err := provision.SealForOwner(renderer.Credentials{AdminPassword: "not-a-real-password"}, "octocat", "https://dog-diner.example.com/wp-admin/", keys)
	if err != nil {
		t.Fatal(err)
	}
	gh.Comment(devenv.RequestsRepo, 1, ghstandin.BotLogin, "<!-- purrvision:credentials id=1 -->\n```\n"+sealed+"```\n")
	r = runCLI(t, "", "dev", "credentials", "1")
	file := filepath.Join(dir, "credentials", "acme-stores-1.age")
	if out := strings.TrimSpace(r.stdout); r.code != 0 || out != devenv.DecryptCommand(private, file) || !strings.HasSuffix(out, "age -d -i "+private+" "+file) {
		t.Fatalf("credentials: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	id, err := agessh.NewEd25519Identity(*priv)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	plain, err := age.Decrypt(armor.NewReader(enc), id)
	if err != nil {
		t.Fatalf("decrypting the saved credentials with the generated key: %v", err)
	}
	if b, err := io.ReadAll(plain); err != nil || !strings.Contains(string(b), "password: not-a-real-password\n") {
		t.Errorf("decrypted credentials = %q, %v", b, err)
	}
	is := gh.Issue(devenv.RequestsRepo, 1)
	req, problems := provision.ParseForm(is.GetBody(), is.GetUser().GetLogin())
	if len(problems) > 0 || req.Metadata.Name != "dog-diner" || req.Spec.Plan != "medium" || req.Spec.Owner != "octocat" {
		t.Errorf("issue = %+v (%v)", req, problems)
	}
	if labels := gh.Labels(devenv.RequestsRepo, 1); len(labels) != 1 || labels[0] != v1alpha1.LabelRequest {
		t.Errorf("labels = %v", labels)
	}
	if r := runCLI(t, "", "dev", "comment", "1", "/purrvision resize large", "--as", "maint"); r.code != 0 {
		t.Fatalf("comment: exit %d %s", r.code, r.stderr)
	}
	cs := gh.Comments(devenv.RequestsRepo, 1)[1:] // after the credentials
	if len(cs) != 1 || cs[0].GetBody() != "/purrvision resize large" || cs[0].GetUser().GetLogin() != "maint" {
		t.Errorf("comments = %v", cs)
	}

	repo, err := tenants.Open(context.Background(), tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"main", "store/dog-diner"} {
		branch := b
		if _, err := repo.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: branch + ".txt", Data: []byte(branch)}}, Message: branch + "\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	pr, err := gh.OpenPull(devenv.TenantsRepo, ghstandin.BotLogin, "store/dog-diner", "main", "Provision store dog-diner", "")
	if err != nil {
		t.Fatal(err)
	}
	// Merging needs write access, as on GitHub: dev's reviewer maintains
	// the tenants repo; anyone else is refused.
	if r := runCLI(t, "", "dev", "merge", "1", "--as", "stranger"); r.code == 0 || !strings.Contains(r.stderr, "403") {
		t.Fatalf("merge as someone without write access: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", "dev", "merge", "1"); r.code != 0 || !strings.Contains(r.stdout, "merged acme/tenants#1") {
		t.Fatalf("merge: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range gh.Pulls(devenv.TenantsRepo) {
		if p.GetNumber() == pr && (!p.GetMerged() || p.GetMergedBy().GetLogin() != devenv.Reviewer) {
			t.Errorf("pull request after merge: merged %v by %q", p.GetMerged(), p.GetMergedBy().GetLogin())
		}
	}
	approvers, err := ghclientFor(t, gh).Approvers(context.Background(), forge.Repo{Owner: "acme", Name: "tenants"}, pr)
	if err != nil || !slices.Contains(approvers, devenv.Reviewer) {
		t.Errorf("approvers = %v, %v; want the reviewer, who approved with a review", approvers, err)
	}
}

// TestDevRequest_PullRequest: `dev request --pr` pushes a branch with the
// request file, committed as the person, to the dev git server and opens
// the pull request as them; with --wait it prints the conclusion of
// Purrvision's check run purrvision/plan on the pull request's head (the
// one Purrvision's App created), and fails when the check failed.
func TestDevRequest_PullRequest(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	_, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
	seed, err := tenants.Open(context.Background(), tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Update(context.Background(), "main", func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		return &tenants.Plan{Changes: []tenants.Change{{Path: "README.md", Data: []byte("# tenants\n")}}, Message: "Start\n"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	gh, client := testutil.GitHub(t)
	devenv.Populate(gh, bare)
	if r := runCLI(t, "", "dev", "request", "--pr", "--name", "dog-diner", "--plan", "medium"); r.code != 2 || !strings.Contains(r.stderr, "no running") {
		t.Fatalf("without a running dev: exit %d, %s", r.code, r.stderr)
	}
	remove, err := writeDevState(devState{GitHub: gh.URL(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", "dev", "request", "--pr", "--name", "dog-diner", "--plan", "medium"); r.code != 2 || !strings.Contains(r.stderr, "restart it") {
		t.Fatalf("with a dev that does not say where the tenants repo is: exit %d, %s", r.code, r.stderr)
	}
	remove()
	remove, err = writeDevState(devState{GitHub: gh.URL(), Dir: dir, Tenants: tenantsURL})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()

	r := runCLI(t, "", "dev", "request", "--pr", "--wait=0", "--name", "dog-diner", "--plan", "medium")
	if r.code != 0 || !strings.Contains(r.stdout, "opened acme/tenants#1 as @octocat from request/dog-diner") {
		t.Fatalf("request --pr: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tenantsRepo := forge.Repo{Owner: "acme", Name: "tenants"}
	pr, err := client.GetPull(context.Background(), tenantsRepo, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Author != "octocat" || pr.Head != "request/dog-diner" || pr.Base != "main" || pr.HeadRepo != tenantsRepo {
		t.Errorf("pull request = %+v", pr)
	}
	if authors, err := client.PullCommitAuthors(context.Background(), tenantsRepo, 1); err != nil || !slices.Equal(authors, []string{"octocat"}) {
		t.Errorf("commit authors as GitHub links them = %v, %v; want octocat's own commit", authors, err)
	}
	files, err := client.ListPullFiles(context.Background(), tenantsRepo, 1)
	if err != nil || !slices.Equal(files, []string{"requests/dog-diner.yaml"}) {
		t.Errorf("files = %v, %v", files, err)
	}
	if err := seed.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	head, ok, err := seed.Head("request/dog-diner")
	if err != nil || !ok {
		t.Fatalf("the branch: %v %v", ok, err)
	}
	snap, err := seed.Snapshot(head)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := snap.ReadFile("requests/dog-diner.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if req, err := v1alpha1.Parse(data); err != nil || req.Metadata.Name != "dog-diner" || req.Spec.Plan != "medium" || req.Spec.Owner != "octocat" {
		t.Errorf("the request file: %+v, %v\n%s", req, err, data)
	}
	keys, err := client.SSHKeys(context.Background(), "octocat")
	if err != nil || len(keys) != 1 {
		t.Fatalf("octocat's keys = %v, %v; want the one dev gave", keys, err)
	}
	// The credentials, posted on the pull request: `dev credentials --pr`.
	sealed, err := provision.SealForOwner(renderer.Credentials{AdminPassword: "not-a-real-password"}, "octocat", "https://dog-diner.example.com/wp-admin/", keys)
	if err != nil {
		t.Fatal(err)
	}
	gh.Comment(devenv.TenantsRepo, 1, ghstandin.BotLogin, "<!-- purrvision:credentials id=1 -->\n```\n"+sealed+"```\n")
	r = runCLI(t, "", "dev", "credentials", "--pr", "1")
	if file := filepath.Join(dir, "credentials", "acme-tenants-1.age"); r.code != 0 || strings.TrimSpace(r.stdout) != devenv.DecryptCommand(filepath.Join(dir, "ssh", "octocat"), file) {
		t.Errorf("credentials --pr: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// --wait: the conclusion of Purrvision's check run, not another App's
	// of the same name.
	for _, tt := range []struct {
		name, conclusion string
		code             int
		says             string
	}{
		{"emu-eatery", "success", 0, "check purrvision/plan on %s: success: Provision: emu-eatery"},
		{"fox-fries", "failure", 1, "check purrvision/plan on %s: failure: 1 problem to fix"},
	} {
		result := make(chan result, 1)
		go func() {
			result <- runCLI(t, "", "dev", "request", "--pr", "--wait=30s", "--name", tt.name, "--plan", "small", "--as", "hubot")
		}()
		var sha string
		opened := func(context.Context) (bool, error) {
			for _, p := range gh.Pulls(devenv.TenantsRepo) {
				if p.GetHead().GetRef() == "request/"+tt.name {
					sha = p.GetHead().GetSHA()
				}
			}
			return sha != "", nil
		}
		if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, opened); err != nil {
			t.Fatalf("no pull request for %s: %v", tt.name, err)
		}
		gh.AddCheckRun(devenv.TenantsRepo, "other-ci", v1alpha1.CheckName, sha, "neutral", "not Purrvision's")
		// Another App's run is no answer: the command keeps waiting (four
		// of its polls).
		select {
		case r := <-result:
			t.Fatalf("request --pr --wait took another App's check run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		case <-time.After(time.Second):
		}
		title := "Provision: " + tt.name
		if tt.conclusion == "failure" {
			title = "1 problem to fix"
		}
		gh.AddCheckRun(devenv.TenantsRepo, strings.TrimSuffix(ghstandin.BotLogin, "[bot]"), v1alpha1.CheckName, sha, tt.conclusion, title)
		r := <-result
		if r.code != tt.code || !strings.Contains(r.stdout, fmt.Sprintf(tt.says, sha[:12])) {
			t.Errorf("request --pr --wait for %s: exit %d, want %d\n%s%s", tt.name, r.code, tt.code, r.stdout, r.stderr)
		}
		if tt.code != 0 && !strings.Contains(r.stderr, "the check failed") {
			t.Errorf("a failed check does not say so: %s", r.stderr)
		}
	}
}

// TestDevRequest_WaitsForItsOwnPullRequest: another request's pull
// request open on the store's branch (a decommission waiting for review)
// is not the one dev request tells you to merge; Purrvision's word that the
// request is invalid is relayed, with a failing exit.
func TestDevRequest_WaitsForItsOwnPullRequest(t *testing.T) {
	t.Setenv("PURRVISION_CACHE", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	_, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
	seed, err := tenants.Open(context.Background(), tenants.Options{URL: tenantsURL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	for _, branch := range []string{"main", v1alpha1.Branch("dog-diner")} {
		if _, err := seed.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
			return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "README-" + strings.ReplaceAll(branch, "/", "-"), Data: []byte("x\n")}}, Message: "x\n"}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	gh, _ := testutil.GitHub(t)
	devenv.Populate(gh, bare)
	remove, err := writeDevState(devState{GitHub: gh.URL(), Dir: dir, Tenants: tenantsURL})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if _, err := gh.OpenPull(devenv.TenantsRepo, ghstandin.BotLogin, v1alpha1.Branch("dog-diner"), "main", "Decommission store dog-diner",
		"Decommission store dog-diner, requested by @octocat in acme/stores#99.\n"); err != nil {
		t.Fatal(err)
	}
	// Purrvision, played here: the new request is invalid.
	go func() {
		for i := 0; i < 200; i++ {
			if gh.Issue(devenv.RequestsRepo, 1) != nil {
				gh.Comment(devenv.RequestsRepo, 1, ghstandin.BotLogin, v1alpha1.MarkerValidation+"\n- **Store name**: \"dog-diner\" is already taken")
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	r := runCLI(t, "", "dev", "request", "--wait=5s", "--name", "dog-diner", "--plan", "medium", "--as", "mona")
	if strings.Contains(r.stdout, "dev merge 1") || r.code == 0 || !strings.Contains(r.stderr, "already taken") {
		t.Errorf("dev request: exit %d\n%s%s\nwant no pull request named, and the validation relayed", r.code, r.stdout, r.stderr)
	}
}

// TestDevRequest_WaitsForTheReadyCheck: dev request prints the pull
// request to merge only once Purrvision's purrvision/ready is on its head
// (branch protection requires it, so a merge before it is refused), and a
// wait that runs out is a failure saying what to read, not a success.
func TestDevRequest_WaitsForTheReadyCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		// ready is who puts a purrvision/ready on the head: "" nobody.
		ready string
		code  int
		want  string
	}{
		{name: "the bot's check: the pull request to merge", ready: strings.TrimSuffix(ghstandin.BotLogin, "[bot]"), code: 0,
			want: "pull request acme/tenants#1 opened; merge it with: "},
		{name: "no check: a failure naming the check", code: exitUsage,
			want: "waiting for the check purrvision/ready on pull request acme/tenants#1"},
		{name: "another App's check of the same name counts for nothing", ready: "other-app", code: exitUsage,
			want: "waiting for the check purrvision/ready on pull request acme/tenants#1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PURRVISION_CACHE", t.TempDir())
			t.Setenv("HOME", t.TempDir())
			_, tenantsURL, bare := testutil.GitRepo(t, "tenants", "main")
			seed, err := tenants.Open(context.Background(), tenants.Options{URL: tenantsURL, Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			for _, branch := range []string{"main", v1alpha1.Branch("dog-diner")} {
				if _, err := seed.Update(context.Background(), branch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
					return &tenants.Plan{Parent: s.BaseHead, Changes: []tenants.Change{{Path: "README-" + strings.ReplaceAll(branch, "/", "-"), Data: []byte("x\n")}}, Message: "x\n"}, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			gh, _ := testutil.GitHub(t)
			devenv.Populate(gh, bare)
			remove, err := writeDevState(devState{GitHub: gh.URL(), Dir: t.TempDir(), Tenants: tenantsURL})
			if err != nil {
				t.Fatal(err)
			}
			defer remove()
			// Purrvision, played here: the pull request first, its
			// check a moment later.
			played := make(chan error, 1)
			go func() {
				played <- wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
					return gh.Issue(devenv.RequestsRepo, 1) != nil, nil
				})
				if _, err := gh.OpenPull(devenv.TenantsRepo, ghstandin.BotLogin, v1alpha1.Branch("dog-diner"), "main", "Provision store dog-diner",
					"Provision store dog-diner, requested by @octocat in acme/stores#1.\n"); err != nil {
					played <- err
					return
				}
				if tt.ready == "" {
					return
				}
				time.Sleep(500 * time.Millisecond) // the check comes after the pull request, as the applier writes them
				for _, p := range gh.Pulls(devenv.TenantsRepo) {
					gh.AddCheckRun(devenv.TenantsRepo, tt.ready, v1alpha1.ReadyCheckName, p.GetHead().GetSHA(), "success", "Ready to merge")
				}
			}()
			r := runCLI(t, "", "dev", "request", "--wait=3s", "--name", "dog-diner", "--plan", "medium")
			if err := <-played; err != nil {
				t.Fatal(err)
			}
			out := r.stdout + r.stderr
			if r.code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("dev request: exit %d\n%s\nwant exit %d and %q", r.code, out, tt.code, tt.want)
			}
			if tt.code != 0 && strings.Contains(r.stdout, "merge it with") {
				t.Errorf("dev request named the pull request to merge before its check:\n%s", r.stdout)
			}
		})
	}
}
