package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vouch/client"
	"vouch/client/state"
	"vouch/internal/testserver"
	"vouch/trust/tempered"
)

// accountOf opens the saved state of userID in the vouch state dir dir and
// returns a client logged in as them and their cross-signing seeds.
func accountOf(t *testing.T, dir, userID string) (*client.Client, state.CrossSigning) {
	t.Helper()
	sa := openSaved(t, dir, userID)
	return sa.client, sa.crossSigning
}

type transitiveVerdict struct {
	UserID  string          `json:"user_id"`
	Trusted bool            `json:"trusted"`
	Path    json.RawMessage `json:"path"`
	Reason  string          `json:"reason"`
}

func transitive(t *testing.T, dir string, args ...string) transitiveVerdict {
	t.Helper()
	out := acctMust(t, dir, append([]string{"trust", "transitive", "--json"}, args...)...)
	var v transitiveVerdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("trust transitive --json: %v\n%s", err, out)
	}
	return v
}

// TestTransitiveTrustOnline: alice stores a sealed policy vouching bob for
// the users of localhost except dave; bob publicly signs carol and dave
// with his public user-signing key, and publicly signs erin's public
// user-signing key, which signs frank. Online, alice trusts carol through
// bob, not dave (excepted), not gus (nobody vouches), and frank only with
// depth 2. A tampered stored policy is refused.
func TestTransitiveTrustOnline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "transitive-test-password")
	t.Setenv("VOUCH_RECOVERY_KEY", "")
	t.Setenv("VOUCH_PASSPHRASE", "")
	dirs := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "gus"} {
		dirs[name] = t.TempDir()
		acctMust(t, dirs[name], "login", "--server", url, "--user", "@"+name+":localhost", "--register")
		acctMust(t, dirs[name], "bootstrap")
	}
	verify := func(who, whom string) {
		acctMust(t, dirs[who], "verify", "user", "@"+whom+":localhost", "--fingerprint", masterOf(t, dirs[whom]))
	}
	verify("alice", "bob")
	acctMust(t, dirs["bob"], "pusk", "create")
	acctMust(t, dirs["erin"], "pusk", "create")
	for _, whom := range []string{"carol", "dave"} {
		verify("bob", whom)
		acctMust(t, dirs["bob"], "pusk", "sign", "@"+whom+":localhost")
	}
	verify("erin", "frank")
	acctMust(t, dirs["erin"], "pusk", "sign", "@frank:localhost")
	// bob vouches for erin's public user-signing key (the library can; the
	// command line signs master keys only).
	bobClient, bobCS := accountOf(t, dirs["bob"], "@bob:localhost")
	resp, err := bobClient.QueryKeys(context.Background(), "@erin:localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := bobClient.PublishPublicSignature(context.Background(), "@bob:localhost", ed25519.NewKeyFromSeed(bobCS.PublicUserSigning), resp.PublicUserSigningKeys["@erin:localhost"]); err != nil {
		t.Fatal(err)
	}

	alice := dirs["alice"]
	mustFail(t, alice, "no transitive-trust policy is stored", "trust", "policy", "show")
	acctMust(t, alice, "secrets", "setup")
	policy := `{"vouchers":{"@bob:localhost":{"for":["*:localhost"],"except":["@dave:localhost"]}}}`
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	stored := acctMust(t, alice, "trust", "policy", "set", policyFile)
	if shown := acctMust(t, alice, "trust", "policy", "show"); shown != stored || !strings.Contains(shown, `"depth":1`) {
		t.Fatalf("policy show %q, set printed %q", shown, stored)
	}
	// The server holds only ciphertext.
	aliceClient, _ := accountOf(t, alice, "@alice:localhost")
	var content map[string]any
	if err := aliceClient.GetAccountData(context.Background(), "@alice:localhost", tempered.EventType, &content); err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(content); strings.Contains(string(raw), "bob") || !strings.Contains(string(raw), "ciphertext") {
		t.Fatalf("stored account data is not sealed: %s", raw)
	}
	// An invalid policy is refused and the stored one stays.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"vouchers":{"@bob:localhost":{"for":[],"depth":9}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustFail(t, alice, "policy from", "trust", "policy", "set", bad)
	if shown := acctMust(t, alice, "trust", "policy", "show"); shown != stored {
		t.Fatalf("a refused policy changed the stored one: %q", shown)
	}

	if v := transitive(t, alice, "@carol:localhost"); !v.Trusted || !strings.Contains(string(v.Path), "bob") {
		t.Errorf("carol: %+v", v)
	}
	if v := transitive(t, alice, "@dave:localhost"); v.Trusted {
		t.Errorf("dave is excepted but trusted: %+v", v)
	}
	if v := transitive(t, alice, "@gus:localhost"); v.Trusted {
		t.Errorf("gus has no voucher but is trusted: %+v", v)
	}
	if v := transitive(t, alice, "@frank:localhost"); v.Trusted {
		t.Errorf("frank is two hops away but trusted at depth 1: %+v", v)
	}
	deep := filepath.Join(t.TempDir(), "deep.json")
	if err := os.WriteFile(deep, []byte(`{"vouchers":{"@bob:localhost":{"for":["*:localhost"],"depth":2}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := transitive(t, alice, "--policy", deep, "@frank:localhost"); !v.Trusted || !strings.Contains(string(v.Path), "erin") {
		t.Errorf("frank at depth 2: %+v", v)
	}
	if text := acctMust(t, alice, "trust", "transitive", "@carol:localhost"); !strings.Contains(text, "@carol:localhost") || !strings.Contains(text, "path") {
		t.Errorf("text verdict:\n%s", text)
	}

	// Someone with write access to the account data but not the key.
	if err := aliceClient.PutAccountData(context.Background(), "@alice:localhost", tempered.EventType, map[string]any{
		"encrypted": map[string]any{"x": map[string]string{"iv": "AAAAAAAAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "mac": "AAAA"}},
	}); err != nil {
		t.Fatal(err)
	}
	mustFail(t, alice, "does not open with your secret storage key", "trust", "policy", "show")
	mustFail(t, alice, "does not open with your secret storage key", "trust", "transitive", "@carol:localhost")

	// Bad input.
	mustFail(t, t.TempDir(), "not logged in", "trust", "transitive", "@carol:localhost")
	mustFail(t, alice, "not a Matrix user ID", "trust", "transitive", "carol")
}
