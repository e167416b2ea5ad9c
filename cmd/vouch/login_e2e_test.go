package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"vouch/internal/testserver"
)

// TestEndToEndJourney runs the real vouch binary against a real vouch serve:
// alice and bob log in and bootstrap; alice verifies bob by fingerprint;
// vouch trust says verified with the path; bob logs in a second device and
// signs it; alice sees it trusted; bob resets his identity; alice's watch
// prints the identity change and trust says not verified until she
// approves. Bad input at the flags ends with one line and exit 1.
func TestEndToEndJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the vouch binary")
	}
	bin := filepath.Join(t.TempDir(), "vouch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := startE2EServer(t, bin)

	home := map[string]string{"alice": t.TempDir(), "bob": t.TempDir(), "bob2": t.TempDir()}
	pw := map[string]string{"alice": "alice-password", "bob": "bob-password", "bob2": "bob-password"}
	vouch := func(who string, args ...string) (int, string, string) {
		t.Helper()
		return runBin(t, bin, []string{"VOUCH_STATE_DIR=" + home[who], "VOUCH_PASSWORD=" + pw[who]}, args...)
	}
	must := func(who string, args ...string) string {
		t.Helper()
		code, out, errOut := vouch(who, args...)
		if code != 0 {
			t.Fatalf("%s: vouch %s: exit %d\nstdout: %s\nstderr: %s", who, strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	fails := func(who, want string, args ...string) {
		t.Helper()
		code, out, errOut := vouch(who, args...)
		if code == 0 {
			t.Fatalf("%s: vouch %s succeeded: %s", who, strings.Join(args, " "), out)
		}
		if !oneLineError(errOut, want) {
			t.Fatalf("%s: vouch %s: stderr %q, want one error line containing %q", who, strings.Join(args, " "), errOut, want)
		}
	}
	jsonOut := func(who string, args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		out := must(who, args...)
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("vouch %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}

	// Log in (creating the accounts) and bootstrap.
	must("alice", "login", "--server", url, "--user", "@alice:localhost", "--register")
	must("bob", "login", "--server", url, "--user", "@bob:localhost", "--register")
	fails("alice", "already exists", "login", "--server", url, "--user", "@alice:localhost", "--register")
	code, _, errOut := vouch("alice", "bootstrap")
	if code != 0 || !strings.Contains(errOut, "[5/5]") {
		t.Fatalf("bootstrap: exit %d, progress %q", code, errOut)
	}
	must("bob", "bootstrap")
	fails("bob", "already has a cross-signing identity", "bootstrap")
	bobStatus := jsonOut("bob", "status", "--json")
	bobFP := bobStatus["fingerprint"].(string)
	if bobStatus["verified"] != true || bobFP == "" {
		t.Fatalf("bob's status %v", bobStatus)
	}
	who := jsonOut("alice", "whoami", "--json")
	if who["user_id"] != "@alice:localhost" {
		t.Fatalf("whoami %v", who)
	}

	// Alice starts tracking bob, then verifies him by fingerprint.
	must("alice", "keys", "@bob:localhost")
	must("alice", "watch", "--once", "--json")
	aliceFP := jsonOut("alice", "status", "--json")["fingerprint"].(string)
	fails("alice", "does not match", "verify", "user", "@bob:localhost", "--fingerprint", aliceFP)
	fails("alice", "not a Matrix user ID", "verify", "user", "bob", "--fingerprint", bobFP)
	fails("alice", "is not a fingerprint", "verify", "user", "@bob:localhost", "--fingerprint", "1234")
	fails("alice", "no cross-signing identity", "verify", "user", "@carol:localhost", "--fingerprint", bobFP)
	must("alice", "verify", "user", "@bob:localhost", "--fingerprint", bobFP)
	tr := jsonOut("alice", "trust", "@bob:localhost", "--json")
	if tr["verified"] != true || tr["user_id"] != "@bob:localhost" || tr["reason"] == "" {
		t.Fatalf("trust after verification: %v", tr)
	}
	if kinds := pathKinds(tr); kinds != "master,user_signing,master" {
		t.Fatalf("path kinds %s", kinds)
	}
	if !strings.Contains(must("alice", "trust", "@bob:localhost"), "path: @alice:localhost master") {
		t.Fatal("human trust output lacks the path")
	}

	// Bob logs in a second device; alice does not trust it until bob signs it.
	pw["bob2"] = "not-bob-password"
	fails("bob2", "wrong user or password", "login", "--server", url, "--user", "@bob:localhost")
	pw["bob2"] = pw["bob"]
	out := must("bob2", "login", "--server", url, "--user", "@bob:localhost", "--name", "bob's laptop")
	if !strings.Contains(out, "already have a cross-signing identity") {
		t.Errorf("second login did not point at verify device: %s", out)
	}
	dev2 := jsonOut("bob2", "whoami", "--json")["device_id"].(string)
	if trustedDevice(t, jsonOut("alice", "trust", "@bob:localhost", "--json"), dev2) {
		t.Fatal("unsigned second device trusted")
	}
	fails("bob2", "does not match", "verify", "user", "@bob:localhost", "--fingerprint", aliceFP)
	must("bob2", "verify", "user", "@bob:localhost", "--fingerprint", bobFP)
	fails("bob2", "self-signing key", "verify", "device", dev2)
	fails("bob", "has no device NOPE", "verify", "device", "NOPE")
	must("bob", "verify", "device", dev2)
	if !trustedDevice(t, jsonOut("alice", "trust", "@bob:localhost", "--json"), dev2) {
		t.Fatal("signed second device not trusted")
	}
	if st := jsonOut("bob2", "status", "--json"); st["verified"] != true || !trustedDevice(t, st, dev2) {
		t.Fatalf("second device's own status %v", st)
	}
	// Bob moves his private keys to the second device.
	fails("bob", "--yes", "identity", "export")
	exported := filepath.Join(t.TempDir(), "keys.json")
	must("bob", "identity", "export", "--yes", "--out", exported)
	if fi, err := os.Stat(exported); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported keys file: %v %v", fi, err)
	}
	fails("bob", "file exists", "identity", "export", "--yes", "--out", exported)
	fails("alice", "not @alice:localhost", "identity", "import", exported)
	must("bob2", "identity", "import", exported)
	if held := jsonOut("bob2", "status", "--json")["private_keys_held"].([]any); len(held) != 3 {
		t.Fatalf("second device holds %v", held)
	}
	devs := must("bob", "devices", "list")
	if !strings.Contains(devs, "bob's laptop") || strings.Count(devs, "✓") != 2 {
		t.Fatalf("devices list:\n%s", devs)
	}

	// Alice watches; bob resets his identity; the watch reports it.
	watch := exec.Command(bin, "watch", "--json", "--timeout", "60s", "--poll", "20s")
	watch.Env = append(os.Environ(), "VOUCH_STATE_DIR="+home["alice"])
	pipe, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(1500 * time.Millisecond) // let it reach its long-poll
	fails("bob", "--yes", "identity", "reset")
	pw["bob"] = "wrong"
	fails("bob", "wrong password", "identity", "reset", "--yes")
	pw["bob"] = pw["bob2"]
	must("bob", "identity", "reset", "--yes")
	deadline := time.After(20 * time.Second)
	var change map[string]any
	for change == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("watch ended without reporting the identity change")
			}
			var ev map[string]any
			if json.Unmarshal([]byte(l), &ev) == nil && ev["event"] == "identity_changed" && ev["user_id"] == "@bob:localhost" {
				change = ev
			}
		case <-deadline:
			t.Fatal("watch did not report bob's identity change")
		}
	}
	if change["was_verified"] != true || change["verified"] != false {
		t.Errorf("identity change event %v", change)
	}
	watch.Process.Signal(os.Interrupt)
	if err := watch.Wait(); err != nil {
		t.Errorf("watch after Ctrl-C: %v", err)
	}

	fails("bob2", "stale", "identity", "import", exported)
	tr = jsonOut("alice", "trust", "@bob:localhost", "--json")
	if tr["verified"] != false || tr["needs_approval"] != true || !strings.Contains(tr["reason"].(string), "identity changed") {
		t.Fatalf("trust after reset: %v", tr)
	}
	newFP := jsonOut("bob", "status", "--json")["fingerprint"].(string)
	if newFP == bobFP {
		t.Fatal("reset kept the fingerprint")
	}
	fails("alice", "does not match", "identity", "approve", "@bob:localhost", "--fingerprint", bobFP)
	if tr := jsonOut("alice", "trust", "@bob:localhost", "--json"); tr["verified"] != false || tr["needs_approval"] != true {
		t.Fatalf("verified or approved after a failed approval: %v", tr)
	}
	fails("alice", "typo", "identity", "approve", "@bob:localhost", "--fingerprint", newFP[:len(newFP)-1]+"/")
	must("alice", "identity", "approve", "@bob:localhost", "--fingerprint", newFP)
	tr = jsonOut("alice", "trust", "@bob:localhost", "--json")
	if tr["verified"] != true || tr["needs_approval"] != false {
		t.Fatalf("trust after approval: %v", tr)
	}

	// Bad input against a server that is down, and after logout.
	down := "http://" + closedPort(t)
	home["carol"], pw["carol"] = t.TempDir(), "carol-password"
	fails("carol", "cannot reach the server", "login", "--server", down, "--user", "@carol:localhost")
	fails("alice", "already logged in", "login", "--server", url, "--user", "@alice:localhost")
	fails("alice", "not a Matrix user ID", "login", "--server", url, "--user", "alice@localhost")
	// Device management: rename, refuse unknown devices, delete with UIA.
	must("bob", "devices", "rename", dev2, "laptop 2")
	if !strings.Contains(must("bob", "devices", "list", "--json"), `"display_name": "laptop 2"`) {
		t.Fatal("rename not listed")
	}
	fails("bob", "you have no device NOPE", "devices", "rename", "NOPE", "x")
	pw["bob"] = "wrong"
	fails("bob", "wrong password", "devices", "delete", dev2)
	pw["bob"] = pw["bob2"]
	must("bob", "devices", "delete", dev2)
	fails("bob2", "run `vouch login` again", "whoami")
	must("bob", "logout")
	fails("bob", "not logged in", "whoami")
}

func runBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running vouch %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server at %s did not become healthy", url)
}

func pathKinds(tr map[string]any) string {
	var kinds []string
	path, _ := tr["path"].([]any)
	for _, s := range path {
		step, _ := s.(map[string]any)
		kinds = append(kinds, fmt.Sprint(step["kind"]))
	}
	return strings.Join(kinds, ",")
}

func trustedDevice(t *testing.T, tr map[string]any, id string) bool {
	t.Helper()
	devs, _ := tr["devices"].([]any)
	for _, d := range devs {
		m, _ := d.(map[string]any)
		if m["device_id"] == id {
			return m["trusted"] == true
		}
	}
	t.Fatalf("device %s not in %v", id, tr["devices"])
	return false
}

// startE2EServer runs `vouch serve` from bin on a free port with a temporary
// data directory and returns its URL. While the serve command is not in the
// build, it serves package server in-process over real HTTP instead.
func startE2EServer(t *testing.T, bin string) string {
	t.Helper()
	if err := exec.Command(bin, "serve", "--help").Run(); err != nil {
		t.Log("vouch serve not in this build: serving package server in-process")
		return testserver.URL(t)
	}
	addr := closedPort(t)
	url := "http://" + addr
	dataDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "vouch.toml")
	// Cheap password hashing for the test; everything else default.
	if err := os.WriteFile(cfg, []byte("[argon2]\ntime = 1\nmemory_kib = 64\nthreads = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dataDir, "--server-name", "localhost", "--config", cfg)
	var srvLog bytes.Buffer
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", srvLog.String())
		}
	})
	waitHealthy(t, url)
	return url
}

// progressLine matches the plain progress lines of long operations.
var progressLine = regexp.MustCompile(`^\[\d+/\d+\] `)

// oneLineError reports whether stderr is exactly one "vouch: …" line
// containing want, after any progress lines.
func oneLineError(stderr, want string) bool {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		if !progressLine.MatchString(l) {
			return false
		}
	}
	return strings.HasPrefix(last, "vouch: ") && strings.Contains(last, want)
}
