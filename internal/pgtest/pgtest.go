// Package pgtest starts a real, throwaway PostgreSQL server for tests and
// hands each test its own empty database.
//
// A test package calls [Main] from TestMain: it starts one server for the
// whole test binary (initdb into a temporary directory, listening on a free
// loopback port with fsync on, password authentication) and exports its
// administrator URL in the environment variable [EnvDSN]; [Start] then
// creates a fresh database per test and drops it in t.Cleanup. Without Main,
// Start runs a server for that one test. When EnvDSN is already set, that
// server is used and none is started.
//
// PostgreSQL refuses to run as root: when the tests run as root, the server
// runs as the system user "postgres" (created with useradd when missing).
// When no PostgreSQL binaries are found the tests are skipped with a message,
// except under CI (CI=true), where that is a failure.
//
// It is test support only: nothing here is meant for a production database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable holding the administrator URL of the
// server that Start creates databases in.
const EnvDSN = "VOUCH_PGTEST_DSN"

// envMissing carries, from Main to Start, why no server could be started.
const envMissing = "VOUCH_PGTEST_UNAVAILABLE"

// Sentinel errors.
var (
	// ErrNoPostgres reports that no PostgreSQL server binaries were found.
	ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found; install the postgresql package")
	// ErrStart reports that the server did not come up.
	ErrStart = errors.New("pgtest: PostgreSQL did not start")
)

// Main starts one server for the test binary, runs the tests and stops the
// server. Use it as the whole body of TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	if os.Getenv(EnvDSN) != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp(tempBase(), "vouch-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	srv, err := startServer(dir)
	switch {
	case errors.Is(err, ErrNoPostgres):
		os.Setenv(envMissing, err.Error()) //nolint:errcheck // read back by Start
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	default:
		os.Setenv(EnvDSN, srv.dsn) //nolint:errcheck // read back by Start
	}
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// Start returns the URL of a new, empty database that is dropped when the
// test ends. It skips the test when PostgreSQL is not installed (fails under
// CI=true).
func Start(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		if os.Getenv(envMissing) != "" {
			unavailable(t)
		}
		var dir string
		if os.Geteuid() != 0 {
			dir = t.TempDir()
		} else {
			// The server runs as another user, who must be able to reach
			// its directory: testing's are 0700 and maybe under a
			// private TMPDIR.
			var err error
			if dir, err = os.MkdirTemp(tempBase(), "vouch-pgtest-"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
		}
		srv, err := startServer(dir)
		if errors.Is(err, ErrNoPostgres) {
			unavailable(t)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := srv.stop(); err != nil {
				t.Error(err)
			}
		})
		admin = srv.dsn
	}
	return createDatabase(t, admin)
}

// unavailable skips the test because PostgreSQL is not installed, or fails
// it under CI.
func unavailable(t testing.TB) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: PostgreSQL must be installed, see .ci/run)", ErrNoPostgres)
	}
	t.Skipf("skipping: %v", ErrNoPostgres)
}

// createDatabase creates a database with a random name on the admin server
// and drops it in t.Cleanup.
func createDatabase(t testing.TB, admin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	name := "vouch_test_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: connect: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// server is a running throwaway PostgreSQL.
type server struct {
	cmd  *exec.Cmd
	dsn  string
	done chan error
}

// findBinary looks for a PostgreSQL server program in the Debian layout
// (newest version first), then in PATH.
func findBinary(name string) (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	best, bestV := "", -1
	for _, m := range matches {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && v > bestV {
			best, bestV = m, v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", ErrNoPostgres
}

// credential returns the user to run PostgreSQL as: ourselves, or the
// "postgres" system user when we are root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pgtest: running as root and no postgres user; useradd: %v: %s", err, out)
		}
		if u, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgtest: postgres user has non-numeric ids %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startServer runs initdb in dir/data and starts postgres on a free loopback
// port with its socket in dir.
func startServer(dir string) (*server, error) {
	initdb, err := findBinary("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := findBinary("postgres")
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pw")
	password := randomHex(16)
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("pgtest: %w", err)
			}
		}
	}
	run := func(prog string, args ...string) *exec.Cmd {
		c := exec.Command(prog, args...)
		c.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM}
		return c
	}
	// --no-sync only skips initdb's final flush of the fresh cluster; the
	// server itself runs with fsync on.
	if out, err := run(initdb, "-D", data, "-U", "vouch", "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: initdb: %v: %s", ErrStart, err, out)
	}
	os.Remove(pwfile)
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		c := run(postgres, "-D", data, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories="+dir,
			"-c", "fsync=on", "-c", "synchronous_commit=on",
			"-c", "max_connections=400")
		c.Stdout, c.Stderr = logf, logf
		if err := c.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("%w: %v", ErrStart, err)
		}
		s := &server{cmd: c, done: make(chan error, 1),
			dsn: fmt.Sprintf("postgres://vouch:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port)}
		go func() { s.done <- c.Wait(); logf.Close() }()
		if lastErr = s.waitReady(30 * time.Second); lastErr == nil {
			return s, nil
		}
		s.stop() //nolint:errcheck // reporting lastErr instead
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		lastErr = fmt.Errorf("%w: %v\n%s", ErrStart, lastErr, log)
	}
	return nil, lastErr
}

// waitReady polls until the server accepts connections or exits.
func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.dsn)
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case werr := <-s.done:
			s.done <- werr
			return fmt.Errorf("server exited: %v", werr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// stop shuts the server down (fast shutdown: SIGINT), killing it if it does
// not stop within 30 seconds.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgtest: stop: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // best effort
		<-s.done
		return errors.New("pgtest: server did not stop in 30s; killed")
	}
}

// tempBase is the directory to create server directories in: the usual
// temporary directory when every user can traverse its path, else /tmp.
func tempBase() string {
	base := os.TempDir()
	for p := base; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if p == filepath.Dir(p) {
			return base
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer ln.Close()
	_, p, _ := strings.Cut(ln.Addr().String(), ":")
	return strconv.Atoi(p)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
