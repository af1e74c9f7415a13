//go:build e2e && dev

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/purrvision/purrvision/examples"
	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/doctest"
	"github.com/purrvision/purrvision/internal/localcluster"
	"github.com/purrvision/purrvision/internal/testutil"
	"github.com/purrvision/purrvision/renderer"
)

// printed is the value of a "name: value" line dev printed.
func printed(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "] "+name+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("dev printed no %q line:\n%s", name, out)
	return ""
}

// TestDev_CredentialsDecryptWithThePrintedCommand runs `purrvision dev` to
// the end of the example store's life, then runs the command it printed,
// with the age CLI, as the requester would: it prints the admin password
// the store runs with. Dev itself never shows it.
func TestDev_CredentialsDecryptWithThePrintedCommand(t *testing.T) {
	agePath := os.Getenv("PURRVISION_AGE")
	if agePath == "" {
		t.Fatal("PURRVISION_AGE is not set: run `make e2e`, which builds the age CLI")
	}
	if _, err := localcluster.BinariesFromEnv(); err != nil {
		t.Fatal(err)
	}
	// The binary `make build` builds, run as a person runs it.
	bin := filepath.Join(t.TempDir(), "purrvision")
	build := exec.Command(goCommand(t), "build", "-tags", "dev", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building purrvision: %v\n%s", err, b)
	}
	dir := t.TempDir()
	out, errOut := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	dev := exec.Command(bin, "dev", "--dir", dir)
	// No SSH key of our own: dev generates @octocat's.
	devEnv := append(os.Environ(), "HOME="+t.TempDir(), "PURRVISION_CACHE="+t.TempDir())
	dev.Env = devEnv
	dev.Stdout, dev.Stderr = out, errOut
	started := time.Now()
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- dev.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = dev.Process.Kill()
			<-done
		}
	})
	up := func(context.Context) (bool, error) {
		select {
		case err := <-done:
			stopped = true
			return false, fmt.Errorf("dev exited: %v\n%s", err, errOut.String())
		default:
		}
		return strings.Contains(out.String(), "the system stays up"), nil
	}
	ctx := context.Background()
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 10*time.Minute, true, up); err != nil {
		t.Fatalf("waiting for dev to walk the example store to Ready: %v\n%s", err, out.String())
	}
	terminal := out.String()
	t.Logf("dev:\n%s", terminal)
	command := printed(t, terminal, "credentials")
	if fields := strings.Fields(command); len(fields) < 4 || filepath.Base(fields[0]) != "age" || strings.Join(fields[1:4], " ") != "-d -i "+filepath.Join(dir, "ssh", "octocat") {
		t.Errorf("the command does not use the key dev generated for @octocat: %s", command)
	}

	// The password the store runs with, as Flux applied it.
	restCfg, err := clientcmd.BuildConfigFromFlags("", printed(t, terminal, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(restCfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := v1alpha1.Parse(examples.StoreRequest)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: v1alpha1.Namespace(req.Metadata.Name), Name: renderer.SecretName}, secret); err != nil {
		t.Fatal(err)
	}
	password := string(secret.Data[renderer.KeyAdminPassword])
	if len(password) < 16 {
		t.Fatalf("the store's admin password is %d characters", len(password))
	}

	// The printed command, as printed, with the age CLI first on PATH.
	age := exec.Command("bash", "-c", command)
	age.Env = append(os.Environ(), "PATH="+filepath.Dir(agePath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	age.Stderr = &stderr
	plain, err := age.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, stderr.String())
	}
	if !strings.Contains(string(plain), "\npassword: "+password+"\n") {
		t.Errorf("%s does not print the store's admin password", command)
	}
	if !strings.Contains(string(plain), "user: "+req.Spec.Owner+"\n") {
		t.Errorf("%s does not print the admin user", command)
	}

	// The docs' runnable blocks, as a person pastes them into another
	// terminal while dev runs, first: their numbers are a fresh dev's.
	runDocBlocks(t, ctx, bin, devEnv)

	// A request by pull request, as a person, while dev runs: Purrvision
	// validates it and reports the plan as its check run, which
	// `dev request --pr --wait` prints.
	request := exec.Command(bin, "dev", "request", "--pr", "--name", "fox-fondue", "--plan", "medium", "--wait", "2m")
	request.Env = devEnv
	said, err := request.CombinedOutput()
	if err != nil || !strings.Contains(string(said), "opened acme/tenants#") ||
		!regexp.MustCompile(`check purrvision/plan on [0-9a-f]{12}: success: Provision: fox-fondue`).Match(said) {
		t.Errorf("dev request --pr: %v\n%s", err, said)
	}

	// Pushing as someone, as dev prints it: a maintainer's push to the
	// base branch is refused, as on GitHub under setup's rules.
	if push := strings.Fields(printed(t, terminal, "push as someone")); len(push) < 3 || push[0] != "git" {
		t.Errorf("dev prints no git command to push as someone: %q", push)
	} else {
		work := t.TempDir()
		gitOK(t, work, "clone", "-q", push[2], ".")
		gitOK(t, work, "commit", "-q", "--allow-empty", "-m", "by hand")
		if out, err := gitOut(work, "push", "origin", "HEAD:refs/heads/main"); err == nil || !strings.Contains(out, "GH006: Protected branch update failed") {
			t.Errorf("a maintainer's push to main: %v, want refused with GH006:\n%s", err, out)
		}
	}

	// controller-runtime complains on standard error 30s after start when
	// no logger was set: stay up past that before looking.
	pastLoggerDeadline := func(context.Context) (bool, error) { return time.Since(started) > 35*time.Second, nil }
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, pastLoggerDeadline); err != nil {
		t.Fatal(err)
	}
	// Ctrl-C stops it.
	if err := dev.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("dev after Ctrl-C: %v\n%s", err, errOut.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("dev did not stop within 2 minutes of Ctrl-C")
	}

	// Dev shows the steps, never the password, and logs it nowhere.
	terminal = out.String()
	if strings.Contains(terminal, password) || strings.Contains(errOut.String(), password) {
		t.Error("dev printed the admin password")
	}
	if errOut.Len() > 0 {
		t.Errorf("dev's terminal shows more than the steps; on standard error:\n%s", errOut.String())
	}
	logs, err := os.ReadFile(printedLog(t, terminal))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(logs, []byte(password)) {
		t.Error("purrvision.log holds the admin password")
	}
}

// runDocBlocks runs the runnable blocks of README.md and docs/*.md
// (```sh dev) against the running dev system, in order, each with bash
// -euo pipefail, as a person pastes them: from a folder whose
// bin/purrvision is the binary under test, with dev's HOME and
// PURRVISION_CACHE (so its subcommands find it) and nothing that names the
// dev folder beforehand (a block sets PURRVISION_DEV itself, with dev
// env). The first block that fails stops the rest, which build on it.
func runDocBlocks(t *testing.T, ctx context.Context, bin string, devEnv []string) {
	t.Helper()
	blocks, err := doctest.FromRepo(testutil.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("the docs have no runnable block (```sh %s): the doc test would pass running nothing", doctest.Marker)
	}
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(work, "bin", "purrvision")); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range devEnv {
		if !strings.HasPrefix(kv, "PURRVISION_DEV=") {
			env = append(env, kv)
		}
	}
	r := doctest.Runner{Dir: work, Env: env, Timeout: 4 * time.Minute}
	for _, b := range blocks {
		out, err := r.Run(ctx, b)
		if err != nil {
			t.Errorf("a runnable block of the docs fails against dev: %v", err)
			return
		}
		t.Logf("%s ran:\n%s", b.Where(), out)
	}
}

// printedLog is dev's own log file, the first of the "logs:" line.
func printedLog(t *testing.T, terminal string) string {
	t.Helper()
	logs := printed(t, terminal, "logs")
	p, _, _ := strings.Cut(logs, ",")
	return p
}
