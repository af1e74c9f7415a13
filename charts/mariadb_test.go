package charts_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// mariaDB is a MariaDB server of the test's own: a data directory in a
// temporary directory, a socket there and a port on loopback, run as the
// current user and stopped when the test ends. Never the system's service.
type mariaDB struct {
	socket   string
	port     int
	adminCnf string // root over the socket, with the password in a 0600 file
	client   string // the mariadb CLI
	dump     string // mariadb-dump
}

// mariaDBTool finds a MariaDB binary, failing with the make target that
// installs it when it is missing.
func mariaDBTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	t.Fatalf("%s not found: run `make mariadb` (Debian's mariadb-server and mariadb-client; make test runs it)", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// startMariaDB initializes and starts a server whose root has password,
// for root@localhost (the socket) and root@127.0.0.1 (TCP).
func startMariaDB(t *testing.T, password string) *mariaDB {
	t.Helper()
	mariadbd := mariaDBTool(t, "mariadbd")
	installDB := mariaDBTool(t, "mariadb-install-db")
	m := &mariaDB{client: mariaDBTool(t, "mariadb"), dump: mariaDBTool(t, "mariadb-dump")}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("reading the current user: %v", err)
	}
	// Short: a socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "pv-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	m.socket = filepath.Join(dir, "mysqld.sock")
	errLog := filepath.Join(dir, "error.log")

	out, err := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--user="+u.Username,
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.port = freePort(t)
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--socket="+m.socket,
		"--port="+strconv.Itoa(m.port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file="+filepath.Join(dir, "mariadbd.pid"), "--log-error="+errLog, "--user="+u.Username,
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
		"--innodb-buffer-pool-size=32M", "--max-connections=20")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mariadbd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopMariaDB(t, cmd, exited) })

	// Root has no password yet: the first statement sets it.
	ready := func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(errLog)
			return false, errors.New("mariadbd exited: " + string(log))
		default:
		}
		return exec.CommandContext(ctx, m.client, "--no-defaults", "--socket="+m.socket, "-uroot", "-e", "SELECT 1").Run() == nil, nil
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, ready); err != nil {
		t.Fatalf("waiting for mariadbd to take connections: %v", err)
	}
	q := sqlString(password)
	setup := "ALTER USER root@localhost IDENTIFIED BY " + q + ";\n" +
		"CREATE USER IF NOT EXISTS root@'127.0.0.1';\n" +
		"ALTER USER root@'127.0.0.1' IDENTIFIED BY " + q + ";\n" +
		"GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;\n"
	cmdSetup := exec.Command(m.client, "--no-defaults", "--socket="+m.socket, "-uroot")
	cmdSetup.Stdin = strings.NewReader(setup)
	if out, err := cmdSetup.CombinedOutput(); err != nil {
		t.Fatalf("setting root's password: %v\n%s", err, out)
	}
	m.adminCnf = filepath.Join(dir, "admin.cnf")
	cnf := "[client]\nuser=root\npassword=" + optionString(password) + "\nsocket=" + m.socket + "\nprotocol=socket\ndefault-character-set=utf8mb4\n"
	if err := os.WriteFile(m.adminCnf, []byte(cnf), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

func stopMariaDB(t *testing.T, cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Errorf("mariadbd did not stop within a minute of SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// optionString quotes s for a MariaDB option file.
func optionString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// exec runs statements as root (on standard input, never as arguments) and
// returns the rows, tab-separated.
func (m *mariaDB) exec(t *testing.T, statements string) string {
	t.Helper()
	cmd := exec.Command(m.client, "--defaults-file="+m.adminCnf, "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(statements)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb: %v\n%s\nstatements:\n%s", err, stderr.String(), statements)
	}
	return out.String()
}

// execAs runs statements as user (its password in an option file, never
// an argument) over the server's socket.
func (m *mariaDB) execAs(t *testing.T, user, password, statements string) string {
	t.Helper()
	cnf := filepath.Join(t.TempDir(), "user.cnf")
	data := "[client]\nuser=" + optionString(user) + "\npassword=" + optionString(password) + "\nsocket=" + m.socket + "\nprotocol=socket\ndefault-character-set=utf8mb4\n"
	if err := os.WriteFile(cnf, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(m.client, "--defaults-file="+cnf, "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(statements)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb as %s: %v\n%s\nstatements:\n%s", user, err, stderr.String(), statements)
	}
	return out.String()
}

// dumpDatabase is database as mariadb-dump writes it, without the date and
// comments (which name the database), with its routines, triggers and
// events and binary columns in hex: what must come back byte for byte.
func (m *mariaDB) dumpDatabase(t *testing.T, database string) string {
	t.Helper()
	cmd := exec.Command(m.dump, "--defaults-file="+m.adminCnf, "--skip-dump-date", "--skip-comments",
		"--routines", "--triggers", "--events", "--hex-blob", "--default-character-set=utf8mb4", database)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb-dump %s: %v\n%s", database, err, stderr.String())
	}
	return out.String()
}
