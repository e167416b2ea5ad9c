package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func cheapConfig(t *testing.T, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vouch.toml")
	if err := os.WriteFile(p, []byte(extra+"\n[argon2]\ntime = 1\nmemory_kib = 64\nthreads = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeRunsAndStops starts `vouch serve` in-process with the fixed
// flags, waits for the ready line, checks /versions and the data directory
// mode, then cancels the context (as SIGTERM does) and expects exit 0.
func TestServeRunsAndStops(t *testing.T) {
	addr := freeAddr(t)
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--server-name", "localhost", "--config", cheapConfig(t, "")}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	}()
	ready := regexp.MustCompile(`msg="vouch key server ready" url=http://` + regexp.QuoteMeta(addr))
	deadline := time.Now().Add(20 * time.Second)
	for !ready.MatchString(errOut.String()) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no ready line; log:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Get("http://" + addr + "/_matrix/client/versions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"versions"`) {
		t.Fatalf("versions: %d %s", res.StatusCode, body)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi.Mode(), err)
	}
	// A long-polling /sync must not hold up shutdown.
	res, err = http.Post("http://"+addr+"/_matrix/client/v3/register", "application/json",
		strings.NewReader(`{"username":"alice","password":"pw","auth":{"type":"m.login.dummy"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&reg)
	res.Body.Close()
	polled := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+addr+"/_matrix/client/v3/sync?since=v1000000&timeout=60000", nil)
		req.Header.Set("Authorization", "Bearer "+reg.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			polled <- -1
			return
		}
		res.Body.Close()
		polled <- res.StatusCode
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	if code := <-polled; code != 200 {
		t.Fatalf("long-poll during shutdown: %d", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown waited %v for the long-poll", d)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; log:\n%s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeConfigPrecedence(t *testing.T) {
	cfgFile := cheapConfig(t, "listen = \"127.0.0.1:1\"\nserver_name = \"file.example\"\ndata_dir = \"/from/file\"\n[registration]\nopen = false\n")
	t.Setenv("VOUCH_SERVER_NAME", "env.example")
	t.Setenv("VOUCH_DATA_DIR", "/from/env")
	t.Setenv("VOUCH_TRUSTED_PROXIES", " 10.0.0.0/8 ,::1,")
	c := newServeCmd(stdio{})
	if err := c.ParseFlags([]string{"--config", cfgFile, "--data-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	var f serveFlags
	f.config, f.dataDir = cfgFile, "/from/flag"
	cfg, err := loadServeConfig(c, f)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %s %v %d %q", cfg.Listen, cfg.ServerName, cfg.DataDir, cfg.RegistrationOpen(), cfg.Argon2.Time, cfg.TrustedProxies)
	if want := `127.0.0.1:1 env.example /from/flag false 1 ["10.0.0.0/8" "::1"]`; got != want {
		t.Fatalf("config %q, want %q", got, want)
	}
}

func TestServeBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown config key", []string{"serve", "--config", cheapConfig(t, "nonsense = 1\n")}, "unknown setting"},
		{"missing config file", []string{"serve", "--config", "/nonexistent/vouch.toml"}, "config"},
		{"bad server name", []string{"serve", "--server-name", "bad name", "--config", cheapConfig(t, "")}, "server_name"},
		{"bad listen", []string{"serve", "--listen", "nope", "--data-dir", t.TempDir(), "--config", cheapConfig(t, "")}, "listen"},
		{"bad trusted proxy", []string{"serve", "--data-dir", t.TempDir(), "--config", cheapConfig(t, "trusted_proxies = [\"10.0.0.0/99\"]\n")}, "trusted_proxies"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != 1 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q, want 1 and %q", code, errOut.String(), tc.want)
			}
		})
	}
}

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	cfg := cheapConfig(t, "")
	runUser := func(env string, args ...string) (int, string, string) {
		t.Setenv("VOUCH_PASSWORD", env)
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"user", "add", "--data-dir", dir, "--config", cfg}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := runUser("", "--user", "alice", "--password", "pw"); code != 0 || out != "@alice:localhost\n" {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runUser("envpw", "--user", "@bob:localhost", "--admin"); code != 0 || out != "@bob:localhost\n" {
		t.Fatalf("add from env: %d %q", code, out)
	}
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"exists", "pw", []string{"--user", "alice"}, "already exists"},
		{"no password", "", []string{"--user", "carol"}, "password is required"},
		{"invalid name", "pw", []string{"--user", "Bad Name"}, "localpart"},
		{"other server", "pw", []string{"--user", "@dave:elsewhere.org"}, "not on this server"},
		{"no user", "pw", nil, "--user is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runUser(tc.env, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d stderr %q, want %q", code, errOut, tc.want)
			}
		})
	}
}

// TestServeKill9LosesNothing runs the real binary, acknowledges writes
// (account data, and one-time key top-ups that the journal acknowledges),
// kills the process with SIGKILL and restarts it on the same data
// directory: every acknowledged write is still there, and the keys are
// handed out in upload order.
func TestServeKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the vouch binary")
	}
	bin := filepath.Join(t.TempDir(), "vouch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "data")
	cfg := cheapConfig(t, "")
	start := func() (*exec.Cmd, string) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dir, "--config", cfg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://" + addr
		for i := 0; ; i++ {
			if res, err := http.Get(base + "/health"); err == nil {
				res.Body.Close()
				break
			}
			if i > 200 {
				cmd.Process.Kill()
				t.Fatal("server did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd, base
	}
	call := func(method, url, token, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	cmd, base := start()
	code, body := call("POST", base+"/_matrix/client/v3/register", "", `{"username":"alice","password":"pw","auth":{"type":"m.login.dummy"}}`)
	if code != 200 {
		cmd.Process.Kill()
		t.Fatalf("register: %d %s", code, body)
	}
	var reg struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &reg)
	for i := 0; i < 20; i++ {
		if code, body := call("PUT", fmt.Sprintf("%s/_matrix/client/v3/user/@alice:localhost/account_data/m.n%d", base, i), reg.AccessToken, fmt.Sprintf(`{"n":%d}`, i)); code != 200 {
			cmd.Process.Kill()
			t.Fatalf("put: %d %s", code, body)
		}
	}
	// One-time key top-ups: after the first, they are acknowledged from
	// the one-time key journal, and killed before any fold.
	for i := 0; i < 12; i++ {
		if code, body := call("POST", base+"/_matrix/client/v3/keys/upload", reg.AccessToken,
			fmt.Sprintf(`{"one_time_keys":{"curve25519:k%02d":"key%02d"}}`, i, i)); code != 200 || !strings.Contains(body, fmt.Sprintf(`"curve25519":%d`, i+1)) {
			cmd.Process.Kill()
			t.Fatalf("keys/upload %d: %d %s", i, code, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	cmd, base = start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	for i := 0; i < 20; i++ {
		code, body := call("GET", fmt.Sprintf("%s/_matrix/client/v3/user/@alice:localhost/account_data/m.n%d", base, i), reg.AccessToken, "")
		if code != 200 || body != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("after kill -9, m.n%d: %d %s", i, code, body)
		}
	}
	if code, body := call("POST", base+"/_matrix/client/v3/keys/upload", reg.AccessToken, `{}`); code != 200 || !strings.Contains(body, `"curve25519":12`) {
		t.Fatalf("after kill -9, one-time key counts: %d %s", code, body)
	}
	var who struct {
		DeviceID string `json:"device_id"`
	}
	_, body = call("GET", base+"/_matrix/client/v3/account/whoami", reg.AccessToken, "")
	json.Unmarshal([]byte(body), &who)
	for i := 0; i < 12; i++ {
		code, body := call("POST", base+"/_matrix/client/v3/keys/claim", reg.AccessToken,
			fmt.Sprintf(`{"one_time_keys":{"@alice:localhost":{%q:"curve25519"}}}`, who.DeviceID))
		if code != 200 || !strings.Contains(body, fmt.Sprintf(`"curve25519:k%02d":"key%02d"`, i, i)) {
			t.Fatalf("after kill -9, claim %d: %d %s", i, code, body)
		}
	}
}

// TestServeHelpListsEveryKey keeps vouch serve --help in step with the
// configuration: every TOML key of serveConfig appears in it.
func TestServeHelpListsEveryKey(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, stdio{in: strings.NewReader(""), out: &out, err: &out}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := out.String()
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			key := f.Tag.Get("toml")
			if key == "" {
				continue
			}
			if !regexp.MustCompile(`(?m)^\s*(` + regexp.QuoteMeta(key) + ` =|\[` + regexp.QuoteMeta(key) + `\])`).MatchString(help) {
				t.Errorf("--help does not document %q", key)
			}
			if f.Type.Kind() == reflect.Struct && f.Type.Name() != "Duration" {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(serveConfig{}))
	for _, flag := range []string{"--listen", "--data-dir", "--server-name", "--config"} {
		if !strings.Contains(help, flag) {
			t.Errorf("--help does not show %s", flag)
		}
	}
}

func TestServeConfigYAML(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("vouch.yaml", "listen: 127.0.0.1:2\nserver_name: yaml.example\nmax_sync_timeout: 30s\nregistration:\n  open: true\nrate_limit:\n  per_ip_burst: 7\ntrusted_proxies: [10.0.0.0/8, 127.0.0.1]\n")
	c := newServeCmd(stdio{})
	cfg, err := loadServeConfig(c, serveFlags{config: good})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %s %v %d %v", cfg.Listen, cfg.ServerName, cfg.MaxSyncTimeout.Duration, cfg.RegistrationOpen(), cfg.RateLimit.PerIPBurst, cfg.TrustedProxies)
	if want := "127.0.0.1:2 yaml.example 30s true 7 [10.0.0.0/8 127.0.0.1]"; got != want {
		t.Fatalf("config %q, want %q", got, want)
	}
	for name, body := range map[string]string{
		"unknown.yml": "nonsense: 1\n",
		"syntax.yaml": "listen: [unclosed\n",
		"type.yaml":   "max_body_bytes: lots\n",
	} {
		if _, err := loadServeConfig(newServeCmd(stdio{}), serveFlags{config: write(name, body)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
