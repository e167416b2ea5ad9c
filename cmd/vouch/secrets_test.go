package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"vouch/internal/testserver"
	"vouch/ssss"
)

// cliAccount is one device's state directory, driven through run.
type cliAccount struct {
	t   *testing.T
	dir string
}

func newCLIAccount(t *testing.T) *cliAccount { return &cliAccount{t: t, dir: t.TempDir()} }

// must runs a command that must succeed and returns stdout.
func (a *cliAccount) must(args ...string) string {
	a.t.Helper()
	return acctMust(a.t, a.dir, args...)
}

// fails runs a command that must fail with exit 1 and one "vouch: " line
// on stderr containing want.
func (a *cliAccount) fails(want string, args ...string) {
	a.t.Helper()
	code, out, errOut := acctRun(a.t, a.dir, args...)
	if code != 1 {
		a.t.Fatalf("vouch %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	if !strings.HasPrefix(errOut, "vouch: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
		a.t.Fatalf("vouch %s: stderr %q, want one line containing %q", strings.Join(args, " "), errOut, want)
	}
}

// json runs a command and decodes its JSON output.
func (a *cliAccount) json(args ...string) map[string]any {
	a.t.Helper()
	out := a.must(args...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		a.t.Fatalf("vouch %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// recoveryKeyLine finds the recovery key printed by secrets setup.
var recoveryKeyLine = regexp.MustCompile(`(?m)^ {4}((?:[1-9A-HJ-NP-Za-km-z]{4} ){11}[1-9A-HJ-NP-Za-km-z]{4})$`)

func recoveryKeyIn(t *testing.T, out string) string {
	t.Helper()
	m := recoveryKeyLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no recovery key in %q", out)
	}
	if _, err := ssss.DecodeRecoveryKey(m[1]); err != nil {
		t.Fatalf("printed recovery key %q: %v", m[1], err)
	}
	return m[1]
}

// secretNames returns name -> key IDs from show-names --json.
func secretNames(t *testing.T, l map[string]any) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range l["secrets"].([]any) {
		m := s.(map[string]any)
		out[m["name"].(string)] = len(m["key_ids"].([]any))
	}
	return out
}

// TestSecretsCLI: setup prints the recovery key once and stores the
// cross-signing keys; show-names lists them; a second device recovers
// them with the recovery key (wrong or mistyped keys are refused with a
// clear message) and trusts its own identity; a passphrase key works too.
func TestSecretsCLI(t *testing.T) {
	t.Setenv("VOUCH_PASSWORD", "pw")
	t.Setenv("VOUCH_RECOVERY_KEY", "")
	t.Setenv("VOUCH_PASSPHRASE", "")
	url := testserver.URL(t)
	a := newCLIAccount(t)
	a.must("login", "--server", url, "--user", "@alice:localhost", "--register")
	a.fails("no cross-signing keys", "secrets", "setup")
	a.must("bootstrap")
	l := a.json("secrets", "show-names", "--json")
	if l["default_key"] != "" || len(l["secrets"].([]any)) != 0 {
		t.Fatalf("before setup: %v", l)
	}
	if out := a.must("secrets", "show-names"); !strings.Contains(out, "No default secret storage key") {
		t.Fatalf("human listing before setup: %q", out)
	}
	out := a.must("secrets", "setup")
	rk := recoveryKeyIn(t, out)
	if !strings.Contains(out, "shown only this once") || !strings.Contains(out, ssss.SecretCrossSigningUserSigning) {
		t.Fatalf("setup output: %s", out)
	}
	a.fails("already set up", "secrets", "setup")
	l = a.json("secrets", "show-names", "--json")
	names := secretNames(t, l)
	if len(names) != 3 || names[ssss.SecretCrossSigningMaster] != 1 || l["default_key"] == "" {
		t.Fatalf("after setup: %v", l)
	}
	human := a.must("secrets", "show-names")
	if !strings.Contains(human, "(default)") || !strings.Contains(human, ssss.SecretCrossSigningSelfSigning+": ") || strings.Contains(human, rk) {
		t.Fatalf("human listing: %s", human)
	}

	b := newCLIAccount(t)
	b.must("login", "--server", url, "--user", "@alice:localhost")
	b.fails("give --recovery-key", "secrets", "recover")
	b.fails("not both", "secrets", "recover", "--recovery-key", rk, "--passphrase", "x")
	typo := []byte(rk)
	if typo[5] == 'a' {
		typo[5] = 'b'
	} else {
		typo[5] = 'a'
	}
	b.fails("recovery key", "secrets", "recover", "--recovery-key", string(typo))
	b.fails("not a recovery key", "secrets", "recover", "--recovery-key", "hello")
	otherKey, _ := ssss.EncodeRecoveryKey(make([]byte, 32))
	b.fails("wrong recovery key", "secrets", "recover", "--recovery-key", otherKey)
	b.fails("not made from a passphrase", "secrets", "recover", "--passphrase", "guess")
	b.fails("does not hold your master signing key", "backup", "create")
	if st := b.json("status", "--json"); st["verified"] == true {
		t.Fatalf("second device trusts its identity before recovery: %v", st)
	}
	out = b.must("secrets", "recover", "--recovery-key", rk)
	if !strings.Contains(out, "now trusted as yours") || !strings.Contains(out, "vouch verify device") {
		t.Fatalf("recover output: %s", out)
	}
	// The recovered keys work: the second device signs itself and its
	// status shows the verified identity.
	b.must("verify", "device", b.json("whoami", "--json")["device_id"].(string))
	if st := b.json("status", "--json"); st["verified"] != true {
		t.Fatalf("status after recovery: %v", st)
	}
	// The environment variable works as the flag does.
	t.Setenv("VOUCH_RECOVERY_KEY", rk)
	b.must("secrets", "recover")
	t.Setenv("VOUCH_RECOVERY_KEY", "")

	// A passphrase key (500,000 iterations) recovers the same way.
	c := newCLIAccount(t)
	c.must("login", "--server", url, "--user", "@carol:localhost", "--register")
	c.must("bootstrap")
	out = c.must("secrets", "setup", "--passphrase", "carol's long passphrase")
	recoveryKeyIn(t, out)
	c2 := newCLIAccount(t)
	c2.must("login", "--server", url, "--user", "@carol:localhost")
	c2.fails("wrong recovery key or passphrase", "secrets", "recover", "--passphrase", "carol's wrong passphrase")
	c2.must("secrets", "recover", "--passphrase", "carol's long passphrase")
}

// TestSecretsCLIBadInput: every new command fails with one line and exit 1
// when not logged in or given bad flags.
func TestSecretsCLIBadInput(t *testing.T) {
	t.Setenv("VOUCH_RECOVERY_KEY", "")
	t.Setenv("VOUCH_PASSPHRASE", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"secrets", "setup"}, "not logged in"},
		{[]string{"secrets", "show-names"}, "not logged in"},
		{[]string{"secrets", "recover", "--recovery-key", "x"}, "not logged in"},
		{[]string{"backup", "create"}, "not logged in"},
		{[]string{"backup", "status", "--json"}, "not logged in"},
		{[]string{"backup", "restore"}, "not logged in"},
		{[]string{"backup", "migrate"}, "not logged in"},
		{[]string{"backup", "migrate", "--batch", "-1"}, "--batch"},
		{[]string{"secrets", "setup", "extra"}, "unknown command"},
		{[]string{"backup", "status", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a := newCLIAccount(t)
			a.fails(tt.want, tt.args...)
		})
	}
}
