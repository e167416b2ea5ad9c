package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// acctMust runs a command as acctRun does; it must succeed, and its stdout
// is returned.
func acctMust(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out, errOut := acctRun(t, dir, args...)
	if code != 0 {
		t.Fatalf("vouch %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// acctRun runs a vouch command line in-process with VOUCH_STATE_DIR set to
// dir, returning the exit code and streams.
func acctRun(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("VOUCH_STATE_DIR", dir)
	return runCLI(t, "", args...)
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestAccountCommandsBadInput runs every account command with bad input
// that needs no server: each must fail with one line on stderr, naming the
// problem, and exit 1.
func TestAccountCommandsBadInput(t *testing.T) {
	t.Setenv("VOUCH_PASSWORD", "pw")
	down := "http://" + closedPort(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"login without server", []string{"login", "--user", "@alice:localhost"}, "--server is required"},
		{"login without user", []string{"login", "--server", down}, "--user is required"},
		{"login malformed user", []string{"login", "--server", down, "--user", "alice"}, "not a Matrix user ID"},
		{"login user without server name", []string{"login", "--server", down, "--user", "@alice"}, "not a Matrix user ID"},
		{"login bad URL", []string{"login", "--server", "localhost:8008", "--user", "@alice:localhost"}, "--server"},
		{"login server down", []string{"login", "--server", down, "--user", "@alice:localhost"}, "cannot reach the server"},
		{"login bad device ID", []string{"login", "--server", down, "--user", "@alice:localhost", "--device-id", "A B"}, "--device-id"},
		{"whoami not logged in", []string{"whoami"}, "not logged in"},
		{"status not logged in", []string{"status", "--json"}, "not logged in"},
		{"bootstrap not logged in", []string{"bootstrap"}, "not logged in"},
		{"logout not logged in", []string{"logout"}, "not logged in"},
		{"devices list not logged in", []string{"devices", "list"}, "not logged in"},
		{"watch not logged in", []string{"watch", "--once"}, "not logged in"},
		{"bad --user", []string{"whoami", "--user", "bob"}, "not a Matrix user ID"},
		{"trust malformed user", []string{"trust", "bob", "--json"}, "not a Matrix user ID"},
		{"keys malformed user", []string{"keys", "@bob"}, "not a Matrix user ID"},
		{"verify user malformed", []string{"verify", "user", "bob:localhost", "--fingerprint", "x"}, "not a Matrix user ID"},
		{"verify user no fingerprint", []string{"verify", "user", "@bob:localhost"}, "--fingerprint is required"},
		{"verify user bad fingerprint", []string{"verify", "user", "@bob:localhost", "--fingerprint", "not-a-key"}, "is not a fingerprint"},
		{"verify user short fingerprint", []string{"verify", "user", "@bob:localhost", "--fingerprint", "nqOv zeuG WT/s"}, "is not a fingerprint"},
		{"verify device bad ID", []string{"verify", "device", "A:B"}, "not a device ID"},
		{"verify device bad owner", []string{"verify", "device", "DEV", "--owner", "bob"}, "not a Matrix user ID"},
		{"identity reset without --yes", []string{"identity", "reset"}, "re-run with --yes"},
		{"identity approve malformed", []string{"identity", "approve", "@bob"}, "not a Matrix user ID"},
		{"devices rename bad ID", []string{"devices", "rename", "A B", "x"}, "not a device ID"},
		{"devices delete bad ID", []string{"devices", "delete", ""}, "not a device ID"},
		{"watch bad poll", []string{"watch", "--poll", "0s"}, "must be positive"},
		{"watch bad track", []string{"watch", "--track", "bob"}, "not a Matrix user ID"},
		{"trust no args", []string{"trust"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := acctRun(t, t.TempDir(), tt.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if n := strings.Count(strings.TrimRight(errOut, "\n"), "\n"); n != 0 {
				t.Errorf("stderr has %d lines, want one: %q", n+1, errOut)
			}
			if !strings.HasPrefix(errOut, "vouch: ") {
				t.Errorf("stderr %q does not start with vouch:", errOut)
			}
		})
	}
}

func TestAccountCommandsHelp(t *testing.T) {
	for _, c := range [][]string{
		{"login"}, {"logout"}, {"whoami"}, {"bootstrap"}, {"status"}, {"devices", "list"}, {"devices", "rename"},
		{"devices", "delete"}, {"keys"}, {"verify", "user"}, {"verify", "device"}, {"trust"}, {"identity", "reset"},
		{"identity", "approve"}, {"watch"},
	} {
		code, out, _ := acctRun(t, t.TempDir(), append(c, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--state-dir") {
			t.Errorf("%v --help: code %d\n%s", c, code, out)
		}
	}
}

func TestDiffReport(t *testing.T) {
	// Covered through the watch output in the end-to-end test; here the
	// pure diff on hand-made snapshots.
	prev := &snapshot{Master: "OLD", Verified: true, Devices: map[string]bool{"B1": true, "B2": false}}
	cur := sampleReport("NEW", false, map[string]bool{"B1": false, "B3": true})
	events, snap := diffReport(prev, cur)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event+":"+e.DeviceID)
	}
	want := "identity_changed:,device_trust_changed:B1,device_removed:B2,device_added:B3"
	if strings.Join(kinds, ",") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if snap.Master != "NEW" || len(snap.Devices) != 2 {
		t.Errorf("snapshot %+v", snap)
	}
	if !events[0].WasVerified || !strings.Contains(events[0].text(), "identity approve") {
		t.Errorf("identity change text %q", events[0].text())
	}
	events, _ = diffReport(nil, cur)
	if len(events) != 1 || events[0].Event != "tracking" {
		t.Errorf("first sight %v", events)
	}
	events, _ = diffReport(&snap, cur)
	if len(events) != 0 {
		t.Errorf("no change reported as %v", events)
	}
	events, _ = diffReport(&snapshot{Master: "NEW", Devices: map[string]bool{"B1": false, "B3": true}}, sampleReport("NEW", true, map[string]bool{"B1": false, "B3": true}))
	if len(events) != 1 || events[0].Event != "verified" {
		t.Errorf("verification %v", events)
	}
}

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p, end := progressTo(&b)
	p(1, 3, "one")
	p(2, 3, "two")
	end()
	if b.String() != "[1/3] one\n[2/3] two\n" {
		t.Fatalf("progress %q", b.String())
	}
}
