package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"vouch/internal/pgtest"
)

// startServe runs `vouch serve` in-process until the test ends and returns
// its base URL once it logged its ready line.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", addr, "--config", cheapConfig(t, "")}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; log:\n%s", code, errOut.String())
		}
	})
	ready := regexp.MustCompile(`msg="vouch key server ready" url=http://` + regexp.QuoteMeta(addr) + ` server_name=localhost storage=postgresql`)
	deadline := time.Now().Add(30 * time.Second)
	for !ready.MatchString(errOut.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no ready line; log:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(errOut.String(), "postgres://") {
		t.Fatalf("the database URL (with its password) was logged:\n%s", errOut.String())
	}
	return "http://" + addr
}

// TestServePostgres runs two `vouch serve` processes on one PostgreSQL
// database (one configured by flag, one by the TOML file): an account
// registered through one logs in through the other, and neither creates
// the SQLite data directory.
func TestServePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	a := startServe(t, "--data-dir", dir, "--database-url", dsn)
	b := startServe(t, "--data-dir", dir, "--config", cheapConfig(t, `database_url = "`+dsn+`"`))
	res, err := http.Post(a+"/_matrix/client/v3/register", "application/json",
		strings.NewReader(`{"username":"alice","password":"pw","auth":{"type":"m.login.dummy"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("register on A: %d", res.StatusCode)
	}
	res, err = http.Post(b+"/_matrix/client/v3/login", "application/json",
		strings.NewReader(`{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&login) //nolint:errcheck // checked below
	res.Body.Close()
	if res.StatusCode != 200 || login.UserID != "@alice:localhost" {
		t.Fatalf("login on B: %d %q", res.StatusCode, login.UserID)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir created although database_url is set: %v", err)
	}

	// serve wires the LISTEN/NOTIFY notifier: account data written on A
	// wakes alice's /sync long-poll on B long before its timeout.
	call := func(method, url string, body io.Reader) []byte {
		req, _ := http.NewRequest(method, url, body)
		req.Header.Set("Authorization", "Bearer "+login.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Errorf("%s %s: %d %s", method, url, res.StatusCode, out)
		}
		return out
	}
	var first struct {
		NextBatch string `json:"next_batch"`
	}
	json.Unmarshal(call("GET", b+"/_matrix/client/v3/sync", nil), &first) //nolint:errcheck // checked through first
	woke := make(chan []byte, 1)
	go func() { woke <- call("GET", b+"/_matrix/client/v3/sync?timeout=30000&since="+first.NextBatch, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(call("GET", b+"/metrics", nil)), "\nvouch_sync_waiters 1\n") {
		if time.Now().After(deadline) {
			t.Fatal("alice's /sync on B never started waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call("PUT", a+"/_matrix/client/v3/user/@alice:localhost/account_data/m.test", strings.NewReader(`{"x":1}`))
	select {
	case body := <-woke:
		if !strings.Contains(string(body), `"m.test"`) {
			t.Fatalf("woken /sync on B: %s", body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("/sync on B not woken within 3s of the account data written on A")
	}
}

// TestServeDatabaseURLPrecedence checks file < VOUCH_DATABASE_URL < flag.
func TestServeDatabaseURLPrecedence(t *testing.T) {
	file := cheapConfig(t, `database_url = "postgres://file/db"`)
	for _, tc := range []struct {
		name, env string
		flags     []string
		want      string
	}{
		{"default", "", nil, ""},
		{"file", "", []string{"--config", file}, "postgres://file/db"},
		{"env over file", "postgres://env/db", []string{"--config", file}, "postgres://env/db"},
		{"flag over env", "postgres://env/db", []string{"--config", file, "--database-url", "postgres://flag/db"}, "postgres://flag/db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("VOUCH_DATABASE_URL", tc.env)
			} else {
				t.Setenv("VOUCH_DATABASE_URL", "")
				os.Unsetenv("VOUCH_DATABASE_URL")
			}
			t.Setenv("VOUCH_CONFIG", "")
			os.Unsetenv("VOUCH_CONFIG")
			c := newServeCmd(stdio{})
			if err := c.ParseFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			var f serveFlags
			f.config, _ = c.Flags().GetString("config")
			f.databaseURL, _ = c.Flags().GetString("database-url")
			cfg, err := loadServeConfig(c, f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DatabaseURL != tc.want {
				t.Fatalf("database_url %q, want %q", cfg.DatabaseURL, tc.want)
			}
		})
	}
}

// TestServeBadDatabaseURL: an unusable URL is a user error, exit 1, and the
// message does not echo the password.
func TestServeBadDatabaseURL(t *testing.T) {
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"serve", "--listen", freeAddr(t), "--config", cheapConfig(t, ""), "--database-url", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	if code != 1 || !strings.HasPrefix(errOut.String(), "vouch: ") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "s3cret") {
		t.Fatalf("password in the error: %q", errOut.String())
	}
}

// TestUserAddPostgres checks that vouch user add writes to the database the
// configuration names, so a server on that database sees the account.
func TestUserAddPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("VOUCH_PASSWORD", "pw-for-bob")
	code, out, errs := runCLI(t, "", "user", "add", "--user", "bob", "--database-url", dsn, "--data-dir", dir, "--config", cheapConfig(t, ""))
	if code != 0 || strings.TrimSpace(out) != "@bob:localhost" {
		t.Fatalf("user add: code %d out %q err %q", code, out, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("user add created an SQLite data dir although database_url is set: %v", err)
	}
	a := startServe(t, "--data-dir", dir, "--database-url", dsn)
	res, err := http.Post(a+"/_matrix/client/v3/login", "application/json",
		strings.NewReader(`{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bob"},"password":"pw-for-bob"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login of the added user: %d", res.StatusCode)
	}
}
