package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/internal/testserver"
	"vouch/keys"
	"vouch/signedjson"
)

var updateGraph = flag.Bool("update-graph", false, "rewrite cmd/vouch/testdata/graph-* from testidentity")

const graphQuery = "testdata/graph-query.json"

// graphFixture is a /keys/query response seen by @alice:x: alice verified
// @bob:y (her user-signing key signed his master key); bob's device B1 is
// cross-signed, B2 is not; @carol:z is not verified and her device C1
// carries a forged self-signing signature.
func graphFixture(t *testing.T) []byte {
	t.Helper()
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1", "B2")
	carol := testidentity.New("@carol:z", "C1")
	forged, err := signedjson.Sign(carol.DeviceKeys("C1"), carol.UserID, carol.SelfSigning.KeyID(), testidentity.NewKey("mallory").Priv)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(b []byte) json.RawMessage { return b }
	resp := map[string]any{
		"failures": map[string]any{},
		"device_keys": map[string]any{
			alice.UserID: map[string]any{"A1": raw(alice.DeviceKeysCrossSigned("A1"))},
			bob.UserID:   map[string]any{"B1": raw(bob.DeviceKeysCrossSigned("B1")), "B2": raw(bob.DeviceKeys("B2"))},
			carol.UserID: map[string]any{"C1": raw(forged)},
		},
		"master_keys": map[string]any{
			alice.UserID: raw(alice.MasterKey()),
			bob.UserID:   raw(alice.SignOtherMaster(bob)),
			carol.UserID: raw(carol.MasterKey()),
		},
		"self_signing_keys": map[string]any{
			alice.UserID: raw(alice.SubKey(keys.UsageSelfSigning)),
			bob.UserID:   raw(bob.SubKey(keys.UsageSelfSigning)),
			carol.UserID: raw(carol.SubKey(keys.UsageSelfSigning)),
		},
		"user_signing_keys": map[string]any{alice.UserID: raw(alice.SubKey(keys.UsageUserSigning))},
	}
	b, err := json.MarshalIndent(resp, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGraphFixture keeps testdata/graph-query.json what graphFixture
// builds (rewrite with -update-graph).
func TestGraphFixture(t *testing.T) {
	want := graphFixture(t)
	if *updateGraph {
		if err := os.WriteFile(graphQuery, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(graphQuery)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is stale; run go test -run TestGraphFixture -update-graph", graphQuery)
	}
}

// TestTrustGraphOffline draws the saved response through the CLI in each
// format, checks the text drawing against a golden file, and the errors.
func TestTrustGraphOffline(t *testing.T) {
	t.Setenv("VOUCH_STATE_DIR", t.TempDir())
	base := []string{"trust", "graph", "--keys", graphQuery, "--viewer", "@alice:x"}

	code, out, errOut := runCLI(t, "", append(base, "@bob:y", "@carol:z")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden := "testdata/graph-text.golden"
	if *updateGraph {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("text drawing differs from %s:\n%s", golden, out)
	}
	for _, line := range []string{
		"*   ✓ signed by @alice:x user-signing ", // the chain to bob, highlighted
		"  device B2 ",
		"    ✗ signed by self-signing ", // carol's forged signature
	} {
		if !strings.Contains(out, line) {
			t.Errorf("text drawing lacks %q", line)
		}
	}

	// The same from stdin, every user of the file (no USER: nothing
	// highlighted).
	data, err := os.ReadFile(graphQuery)
	if err != nil {
		t.Fatal(err)
	}
	code, all, errOut := runCLI(t, string(data), "trust", "graph", "--keys", "-", "--viewer", "@alice:x")
	if code != 0 || strings.Contains(all, "*") || !strings.Contains(all, "@carol:z") {
		t.Fatalf("stdin: exit %d %s\n%s", code, errOut, all)
	}

	code, dot, _ := runCLI(t, "", append(base, "@bob:y", "@carol:z", "--format", "dot")...)
	if code != 0 || !strings.HasPrefix(dot, "digraph trust {\n") || strings.Count(dot, "{") != strings.Count(dot, "}") {
		t.Fatalf("dot: exit %d\n%s", code, dot)
	}
	// Highlighted: alice's master → USK → bob's master.
	if n := strings.Count(dot, "style=\"solid,bold\""); n != 2 {
		t.Errorf("dot has %d highlighted edges, want 2 (alice MSK→USK→bob MSK):\n%s", n, dot)
	}
	if !strings.Contains(dot, `color=red, fontcolor=red, style="dashed"`) {
		t.Error("dot does not draw the forged signature dashed red")
	}
	code, mmd, _ := runCLI(t, "", append(base, "--format", "mermaid")...)
	if code != 0 || !strings.HasPrefix(mmd, "flowchart LR\n") || !regexp.MustCompile(`(?m)^  linkStyle [0-9,]+ stroke:red`).MatchString(mmd) {
		t.Fatalf("mermaid: exit %d\n%s", code, mmd)
	}

	bad := writeTemp(t, []byte(`{"device_keys": [}`))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad format", append(base, "--format", "svg"), "--format must be text, dot or mermaid"},
		{"bad user", append(base, "bob"), "not a Matrix user ID"},
		{"keys without viewer", []string{"trust", "graph", "--keys", graphQuery}, "--viewer"},
		{"missing file", []string{"trust", "graph", "--keys", filepath.Join(t.TempDir(), "none.json"), "--viewer", "@alice:x"}, "reading"},
		{"not JSON", []string{"trust", "graph", "--keys", bad, "--viewer", "@alice:x"}, "not a /keys/query response"},
		{"viewer without keys", []string{"trust", "graph", "--viewer", "@alice:x"}, "go with --keys"},
		{"online, not logged in", []string{"trust", "graph", "@bob:y"}, "not logged in"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != 1 || out != "" || !oneLineError(errOut, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want one error line with %q", code, out, errOut, tt.want)
			}
		})
	}
}

// TestTrustUserUnchanged: with graph attached, vouch trust USER still takes
// one user argument and its flags, and fails as before.
func TestTrustUserUnchanged(t *testing.T) {
	t.Setenv("VOUCH_STATE_DIR", t.TempDir())
	for _, args := range [][]string{{"trust", "@alice:x"}, {"trust", "@alice:x", "--json"}} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 1 || out != "" || !oneLineError(errOut, "not logged in") {
			t.Errorf("%v: exit %d %q %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "", "trust", "alice"); code != 1 || !strings.Contains(errOut, "not a Matrix user ID") {
		t.Errorf("trust alice: exit %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "trust"); code == 0 {
		t.Error("trust without USER succeeded")
	}
	if code, _, _ := runCLI(t, "", "trust", "@a:x", "@b:x"); code == 0 {
		t.Error("trust with two users succeeded")
	}
}

// TestTrustGraphOnline: alice verifies bob on a real server; the graph
// highlights her master → USK → bob's master and agrees with vouch trust.
func TestTrustGraphOnline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "pw")
	alice, bob := t.TempDir(), t.TempDir()
	acctMust(t, alice, "login", "--server", url, "--user", "@alice:localhost", "--register")
	acctMust(t, bob, "login", "--server", url, "--user", "@bob:localhost", "--register")
	acctMust(t, alice, "bootstrap")
	acctMust(t, bob, "bootstrap")

	before := acctMust(t, alice, "trust", "graph", "@bob:localhost")
	if strings.Contains(before, "@alice:localhost user-signing") {
		t.Fatalf("bob's master signed before verification:\n%s", before)
	}
	fp := jsonField(t, acctMust(t, bob, "status", "--json"), "fingerprint")
	acctMust(t, alice, "verify", "user", "@bob:localhost", "--fingerprint", fp)
	if !strings.Contains(acctMust(t, alice, "trust", "@bob:localhost", "--json"), `"verified": true`) {
		t.Fatal("trust USER no longer reports the verification")
	}
	out := acctMust(t, alice, "trust", "graph", "@bob:localhost")
	if !strings.Contains(out, "*   ✓ signed by @alice:localhost user-signing ") || !strings.Contains(out, "@alice:localhost (you)") {
		t.Fatalf("online graph lacks the highlighted chain:\n%s", out)
	}
	dot := acctMust(t, alice, "trust", "graph", "@bob:localhost", "--format", "dot")
	if n := strings.Count(dot, "style=\"solid,bold\""); n != 2 {
		t.Errorf("%d highlighted edges, want 2:\n%s", n, dot)
	}
}
