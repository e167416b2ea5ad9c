package main

import (
	"encoding/json"
	"strings"
	"testing"

	"vouch/client"
	"vouch/internal/testserver"
	"vouch/keys"
)

// TestAccountMessagesSayWhatNext drives the account commands in-process
// against a real server and checks the human output where a person needs to
// know what to do next: lists read as words, a second device is told how to
// get trusted (not to bootstrap again), a mistyped fingerprint is called a
// typo, and a reset names the devices to sign again.
func TestAccountMessagesSayWhatNext(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "alice-password")
	first, second := t.TempDir(), t.TempDir()
	acctMust(t, first, "login", "--server", url, "--user", "@alice:localhost", "--register")
	if out := acctMust(t, first, "bootstrap"); !strings.Contains(out, "Next: read your fingerprint") {
		t.Errorf("bootstrap does not say what comes next:\n%s", out)
	}
	st := acctMust(t, first, "status")
	if !strings.Contains(st, "Cross-signing private keys on this device: master, self-signing, user-signing\n") {
		t.Errorf("status lists held keys badly:\n%s", st)
	}

	acctMust(t, second, "login", "--server", url, "--user", "@alice:localhost")
	dev2 := strings.TrimSpace(strings.Fields(strings.SplitN(acctMust(t, second, "whoami"), ", device ", 2)[1])[0])
	dev2 = strings.TrimSuffix(dev2, ",")
	st = acctMust(t, second, "status")
	if strings.Contains(st, "vouch bootstrap") || strings.Contains(st, "<you>") {
		t.Errorf("second device told to bootstrap or given a placeholder:\n%s", st)
	}
	for _, want := range []string{"vouch verify device " + dev2, "vouch verify user @alice:localhost --fingerprint"} {
		if !strings.Contains(st, want) {
			t.Errorf("second device's status lacks %q:\n%s", want, st)
		}
	}

	// A fingerprint of the right length whose last character cannot end a
	// 32-byte key is a typo, not "not a fingerprint".
	fp := client.NormalizeFingerprint(acctMust(t, first, "status", "--json")[strings.Index(acctMust(t, first, "status", "--json"), `"master_key": "`)+len(`"master_key": "`):][:43])
	typo := fp[:42] + "/"
	if _, err := keys.DecodePublicKey(typo); err == nil {
		t.Fatalf("test typo %q is a valid key", typo)
	}
	code, _, errOut := acctRun(t, second, "verify", "user", "@alice:localhost", "--fingerprint", client.FormatFingerprint(typo))
	if code != 1 || !strings.Contains(errOut, "typo") {
		t.Errorf("mistyped fingerprint: exit %d, %q", code, errOut)
	}

	acctMust(t, second, "verify", "user", "@alice:localhost", "--fingerprint", fp)
	out := acctMust(t, first, "identity", "reset", "--yes")
	if !strings.Contains(out, "vouch verify device "+dev2) {
		t.Errorf("reset does not say which devices to sign again:\n%s", out)
	}

	// The second device, which trusted the old identity, is told how to
	// trust the new one here, and then that it still needs signing.
	st = acctMust(t, second, "status")
	if !strings.Contains(st, "vouch verify user @alice:localhost --fingerprint FP") || strings.Contains(st, "log in again") {
		t.Errorf("second device after a reset elsewhere:\n%s", st)
	}
	newFP := acctMust(t, first, "status", "--json")
	newFP = newFP[strings.Index(newFP, `"master_key": "`)+len(`"master_key": "`):][:43]
	acctMust(t, second, "verify", "user", "@alice:localhost", "--fingerprint", newFP)
	st = acctMust(t, second, "status")
	if !strings.Contains(st, "vouch verify device "+dev2) {
		t.Errorf("unsigned second device not told how to get signed:\n%s", st)
	}
	if out := acctMust(t, first, "verify", "device", dev2); strings.Count(out, dev2) != 1 {
		t.Errorf("verify device repeats itself:\n%s", out)
	}
}

// TestConnectionMessages checks the wording of a bad --server and of a server
// that is down: one plain sentence with an example, no parser internals and
// no repetition.
func TestConnectionMessages(t *testing.T) {
	t.Setenv("VOUCH_PASSWORD", "pw")
	code, _, errOut := acctRun(t, t.TempDir(), "login", "--server", "127.0.0.1:8008", "--user", "@alice:localhost")
	if code != 1 || !strings.Contains(errOut, "http://127.0.0.1:8008") || strings.Contains(errOut, "first path segment") {
		t.Errorf("URL without scheme: exit %d, %q", code, errOut)
	}
	code, _, errOut = acctRun(t, t.TempDir(), "login", "--server", "http://"+closedPort(t), "--user", "@alice:localhost")
	if code != 1 || strings.Count(errOut, "cannot reach") != 1 {
		t.Errorf("server down: exit %d, %q", code, errOut)
	}
}

// TestWatchTextReadsAsSentences checks that watch's human lines say
// "trusted"/"not trusted" rather than printing Go booleans.
func TestWatchTextReadsAsSentences(t *testing.T) {
	yes, no := true, false
	for _, e := range []watchEvent{
		{UserID: "@bob:localhost", Event: "tracking", Verified: true},
		{UserID: "@bob:localhost", Event: "tracking"},
		{UserID: "@bob:localhost", Event: "device_added", DeviceID: "D", Trusted: &no},
		{UserID: "@bob:localhost", Event: "device_added", DeviceID: "D", Trusted: &yes},
		{UserID: "@bob:localhost", Event: "device_trust_changed", DeviceID: "D", Trusted: &no},
		{UserID: "@bob:localhost", Event: "device_trust_changed", DeviceID: "D", Trusted: &yes},
	} {
		s := e.text()
		if strings.Contains(s, "true") || strings.Contains(s, "false") {
			t.Errorf("%s: %q prints a boolean", e.Event, s)
		}
	}
}

// TestNewPasswordAskedTwice: a new account's password typed on a terminal is
// asked twice, and two different answers stop with a one-line error instead
// of creating an account nobody can log in to.
func TestNewPasswordAskedTwice(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		want    string
		wantErr string
	}{
		{"same twice", []string{"s3cret", "s3cret"}, "s3cret", ""},
		{"different", []string{"s3cret", "s3cert"}, "", "differ"},
		{"empty", []string{"", ""}, "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prompts []string
			ask := func(prompt string) (string, error) {
				prompts = append(prompts, prompt)
				return tt.answers[len(prompts)-1], nil
			}
			got, err := askNewPassword(ask, "New password: ")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || len(prompts) != 2 || prompts[1] == prompts[0] {
				t.Fatalf("got %q, %v after prompts %q", got, err, prompts)
			}
		})
	}
}

// TestLoginWhileLoggedIn: logging in again over a working login would
// abandon that device on the server (its keys gone from this machine, its
// signature still trusted by others), so it is refused with the way out; a
// login the server no longer accepts is replaced.
func TestLoginWhileLoggedIn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "pw")
	first, second := t.TempDir(), t.TempDir()
	login := []string{"login", "--server", url, "--user", "@erin:localhost"}
	acctMust(t, first, append(login, "--register")...)
	acctMust(t, second, login...)
	_, who, _ := acctRun(t, second, "whoami", "--json")
	dev2 := who[strings.Index(who, `"device_id": "`)+len(`"device_id": "`):]
	dev2 = dev2[:strings.Index(dev2, `"`)]

	code, _, errOut := acctRun(t, second, login...)
	if code != 1 || !strings.Contains(errOut, "already logged in") || !strings.Contains(errOut, "vouch logout") {
		t.Fatalf("second login over a working one: exit %d, %q", code, errOut)
	}
	if _, out, _ := acctRun(t, first, "devices", "list"); strings.Count(out, "\n") != 2 {
		t.Fatalf("devices after the refused login:\n%s", out)
	}
	// Reusing the same device is allowed.
	acctMust(t, second, append(login, "--device-id", dev2)...)
	// Once the device is deleted elsewhere, its login is dead: replace it.
	acctMust(t, first, "devices", "delete", dev2)
	acctMust(t, second, login...)

	// A wrong password that came from the environment says so: the person
	// typed nothing and may not know the variable is set.
	_, who, _ = acctRun(t, second, "whoami", "--json")
	dev3 := jsonField(t, who, "device_id")
	t.Setenv("VOUCH_PASSWORD", "wrong")
	for _, args := range [][]string{{"devices", "delete", dev3}, append([]string{"login"}, login[1:]...)} {
		dir := first
		if args[0] == "login" {
			dir = t.TempDir()
		}
		code, _, errOut := acctRun(t, dir, args...)
		if code != 1 || !strings.Contains(errOut, "wrong") || !strings.Contains(errOut, "VOUCH_PASSWORD") {
			t.Errorf("%v with a wrong VOUCH_PASSWORD: exit %d, %q", args, code, errOut)
		}
	}
}

// jsonField returns the string field name of a one-object JSON output.
func jsonField(t *testing.T, out, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	s, _ := m[name].(string)
	return s
}

// TestMigrationFromDeviceVerification drives the migration through the CLI:
// alice verifies frank's device the old way (ed25519 key compared), frank
// then bootstraps; trust offers the migration and verify user --from-device
// carries it out. Without the recorded device it is refused.
func TestMigrationFromDeviceVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "pw")
	alice, frank, gina := t.TempDir(), t.TempDir(), t.TempDir()
	acctMust(t, alice, "login", "--server", url, "--user", "@alice:localhost", "--register")
	acctMust(t, alice, "bootstrap")
	acctMust(t, frank, "login", "--server", url, "--user", "@frank:localhost", "--register")
	acctMust(t, gina, "login", "--server", url, "--user", "@gina:localhost", "--register")
	st := acctMust(t, frank, "status", "--json")
	dev, key := jsonField(t, st, "device_id"), jsonField(t, st, "device_ed25519")

	code, _, errOut := acctRun(t, alice, "verify", "device", dev, "--owner", "@frank:localhost", "--key", strings.Repeat("A", 43))
	if code != 1 || errOut == "" {
		t.Fatalf("wrong device key accepted: exit %d %q", code, errOut)
	}
	acctMust(t, alice, "verify", "device", dev, "--owner", "@frank:localhost", "--key", key)
	acctMust(t, frank, "bootstrap")
	acctMust(t, gina, "bootstrap")

	if out := acctMust(t, alice, "trust", "@frank:localhost"); !strings.Contains(out, "vouch verify user @frank:localhost --from-device") {
		t.Errorf("trust does not offer the migration:\n%s", out)
	}
	if code, _, _ := acctRun(t, alice, "verify", "user", "@gina:localhost", "--from-device"); code != 1 {
		t.Errorf("migration without a verified device: exit %d", code)
	}
	acctMust(t, alice, "verify", "user", "@frank:localhost", "--from-device")
	if out := acctMust(t, alice, "trust", "@frank:localhost", "--json"); !strings.Contains(out, `"verified": true`) {
		t.Errorf("after migration:\n%s", out)
	}
}
