package main

import (
	"encoding/json"
	"strings"
	"testing"

	"vouch/internal/testserver"
)

// masterOf returns the master key `vouch status --json` shows for the
// account in dir.
func masterOf(t *testing.T, dir string) string {
	t.Helper()
	var st struct {
		MasterKey string `json:"master_key"`
	}
	if err := json.Unmarshal([]byte(acctMust(t, dir, "status", "--json")), &st); err != nil || st.MasterKey == "" {
		t.Fatalf("status --json: %v, %+v", err, st)
	}
	return st.MasterKey
}

type puskShowJSON struct {
	UserID            string `json:"user_id"`
	Key               string `json:"public_user_signing_key"`
	HeldOnThisDevice  bool   `json:"held_on_this_device"`
	SignedByMasterKey bool   `json:"signed_by_master_key"`
	PublicSignatures  []publicSignature
}

func puskShow(t *testing.T, dir string, args ...string) puskShowJSON {
	t.Helper()
	out := acctMust(t, dir, append([]string{"pusk", "show", "--json"}, args...)...)
	var v struct {
		puskShowJSON
		Sigs []publicSignature `json:"public_signatures"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("pusk show --json: %v\n%s", err, out)
	}
	v.PublicSignatures = v.Sigs
	return v.puskShowJSON
}

func mustFail(t *testing.T, dir, wantErr string, args ...string) {
	t.Helper()
	code, out, errOut := acctRun(t, dir, args...)
	if code != 1 || !strings.Contains(errOut, wantErr) {
		t.Fatalf("vouch %s: exit %d, stdout %q, stderr %q; want exit 1 with %q", strings.Join(args, " "), code, out, errOut, wantErr)
	}
}

// TestPublicUserSigningCommands runs vouch pusk end to end against a real
// server: alice makes a public user-signing key and vouches publicly for
// bob, whom she verified; carol, a third user, sees exactly that public
// signature (and not alice's private user-signing signature); alice
// withdraws it; a changed identity and an unverified user are refused.
func TestPublicUserSigningCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	url := testserver.URL(t)
	t.Setenv("VOUCH_PASSWORD", "pusk-test-password")
	alice, bob, carol, nobody := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	for dir, user := range map[string]string{alice: "@alice:localhost", bob: "@bob:localhost", carol: "@carol:localhost"} {
		acctMust(t, dir, "login", "--server", url, "--user", user, "--register")
		acctMust(t, dir, "bootstrap")
	}
	bobMaster := masterOf(t, bob)
	acctMust(t, alice, "verify", "user", "@bob:localhost", "--fingerprint", bobMaster)

	if out := acctMust(t, alice, "pusk", "show"); !strings.Contains(out, "has no public user-signing key") {
		t.Errorf("show before create:\n%s", out)
	}
	mustFail(t, alice, "vouch pusk create", "pusk", "sign", "@bob:localhost")

	acctMust(t, alice, "pusk", "create")
	mustFail(t, alice, "already have a public user-signing key", "pusk", "create")
	own := puskShow(t, alice)
	if own.Key == "" || !own.HeldOnThisDevice || !own.SignedByMasterKey || own.UserID != "@alice:localhost" {
		t.Fatalf("own key after create: %+v", own)
	}

	mustFail(t, alice, "not verified by you", "pusk", "sign", "@carol:localhost")
	mustFail(t, alice, "signs other users", "pusk", "sign", "@alice:localhost")
	if out := acctMust(t, alice, "pusk", "sign", "@bob:localhost"); !strings.Contains(out, "Published") {
		t.Errorf("sign:\n%s", out)
	}

	// carol sees alice's public signature, verified, and nothing else of
	// alice's: her user-signing signature over bob is private.
	seen := puskShow(t, carol, "@bob:localhost").PublicSignatures
	if len(seen) != 1 || seen[0] != (publicSignature{Signer: "@alice:localhost", Key: own.Key, Status: "valid"}) {
		t.Fatalf("carol's view of bob's master key: %+v", seen)
	}
	// alice sees her private signature too, which is not a public one.
	mine := puskShow(t, alice, "@bob:localhost").PublicSignatures
	if len(mine) != 2 || mine[0].Status == mine[1].Status {
		t.Fatalf("alice's view of bob's master key: %+v", mine)
	}
	if text := acctMust(t, carol, "pusk", "show", "@bob:localhost"); !strings.Contains(text, "@alice:localhost") || !strings.Contains(text, "valid") {
		t.Errorf("text view:\n%s", text)
	}

	acctMust(t, alice, "pusk", "unsign", "@bob:localhost")
	if seen := puskShow(t, carol, "@bob:localhost").PublicSignatures; len(seen) != 0 {
		t.Fatalf("after unsign carol still sees %+v", seen)
	}
	mustFail(t, alice, "does not sign", "pusk", "unsign", "@bob:localhost")

	// A new key replaces the old one.
	acctMust(t, alice, "pusk", "create", "--replace")
	if again := puskShow(t, alice); again.Key == own.Key || !again.HeldOnThisDevice || !again.SignedByMasterKey {
		t.Fatalf("after --replace: %+v (old key %s)", again, own.Key)
	}

	// bob's identity changes: alice must look at it before vouching.
	acctMust(t, bob, "identity", "reset", "--yes")
	mustFail(t, alice, "identity changed", "pusk", "sign", "@bob:localhost")

	// Bad input.
	mustFail(t, alice, "", "pusk", "sign", "bob")
	mustFail(t, alice, "", "pusk", "show", "not-a-user")
	mustFail(t, nobody, "not logged in", "pusk", "show")
}
