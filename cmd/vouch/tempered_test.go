package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
)

// temperedQuery is a /keys/query response seen by @me:v: me verified
// @alice:a; alice's public user-signing key signed the master keys of
// @carol:example.org, @dave:example.org and @olga:o and the PUSK of
// @ivan:example.org, who signed @erin:example.org's master key;
// @frank:example.org's master key carries a signature by a PUSK that its
// owner's master key never signed; me also verified @bob:b directly.
func temperedQuery(t *testing.T) []byte {
	t.Helper()
	ids := map[string]*testidentity.Identity{}
	for _, u := range []string{"@me:v", "@alice:a", "@bob:b", "@carol:example.org", "@dave:example.org", "@erin:example.org", "@frank:example.org", "@ivan:example.org", "@mallory:example.org", "@olga:o"} {
		ids[u] = testidentity.New(u)
	}
	master := map[string][]byte{}
	pusk := map[string][]byte{}
	for u, id := range ids {
		master[u] = id.MasterKey()
		pusk[u] = id.SubKey(keys.UsagePublicUserSigning)
	}
	sign := func(obj []byte, entity string, k testidentity.Key) []byte {
		out, err := signedjson.Sign(obj, entity, k.KeyID(), k.Priv)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	me := ids["@me:v"]
	master["@alice:a"] = sign(master["@alice:a"], me.UserID, me.UserSigning)
	master["@bob:b"] = sign(master["@bob:b"], me.UserID, me.UserSigning)
	a := ids["@alice:a"].PublicUserSig
	for _, u := range []string{"@carol:example.org", "@dave:example.org", "@olga:o"} {
		master[u] = sign(master[u], "@alice:a", a)
	}
	pusk["@ivan:example.org"] = sign(pusk["@ivan:example.org"], "@alice:a", a)
	master["@erin:example.org"] = sign(master["@erin:example.org"], "@ivan:example.org", ids["@ivan:example.org"].PublicUserSig)
	// mallory's PUSK is not signed by her master key, yet alice "trusts" it.
	mal := ids["@mallory:example.org"]
	pusk["@mallory:example.org"] = sign(mal.CrossSigningKeyUnsigned(keys.UsagePublicUserSigning), "@alice:a", a)
	master["@frank:example.org"] = sign(master["@frank:example.org"], mal.UserID, mal.PublicUserSig)

	raw := func(m map[string][]byte) map[string]json.RawMessage {
		out := map[string]json.RawMessage{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	resp := map[string]any{
		"failures":                 map[string]any{},
		"device_keys":              map[string]any{},
		"master_keys":              raw(master),
		"self_signing_keys":        raw(map[string][]byte{me.UserID: me.SubKey(keys.UsageSelfSigning)}),
		"user_signing_keys":        raw(map[string][]byte{me.UserID: me.SubKey(keys.UsageUserSigning)}),
		"public_user_signing_keys": raw(pusk),
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const temperedPolicy = `{"vouchers": {"@alice:a": {"for": ["*:example.org"], "except": ["@dave:example.org"], "depth": 2}}}`

func TestTrustTransitive(t *testing.T) {
	query := writeTemp(t, temperedQuery(t))
	policy := writeTemp(t, []byte(temperedPolicy))
	depth1 := writeTemp(t, []byte(strings.Replace(temperedPolicy, `"depth": 2`, `"depth": 1`, 1)))
	tests := []struct {
		name    string
		policy  string
		target  string
		trusted bool
		reason  string
		path    []string // key kinds, in order
	}{
		{"vouched for by alice", policy, "@carol:example.org", true, "vouched for by @alice:a (policy: *:example.org)",
			[]string{"master", "user_signing", "master", "public_user_signing", "master"}},
		{"through ivan", policy, "@erin:example.org", true, "vouched for by @alice:a (policy: *:example.org), through @ivan:example.org",
			[]string{"master", "user_signing", "master", "public_user_signing", "public_user_signing", "master"}},
		{"through ivan beyond depth 1", depth1, "@erin:example.org", false, "chain longer than the voucher's depth", nil},
		{"excepted", policy, "@dave:example.org", false, "excepted", nil},
		{"out of scope", policy, "@olga:o", false, "outside the voucher's scope", nil},
		{"the voucher, verified directly", policy, "@alice:a", true, "your user-signing key signed", nil},
		{"directly verified", policy, "@bob:b", true, "your user-signing key signed @bob:b", []string{"master", "user_signing", "master"}},
		{"PUSK not signed by its master key", policy, "@frank:example.org", false, "public signature chain broken", nil},
		{"unknown user", policy, "@zoe:example.org", false, "no master signing key: @zoe:example.org", nil},
		{"own identity", policy, "@me:v", true, "own master signing key", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", "trust", "transitive", "--policy", tc.policy, "--keys", query, "--viewer", "@me:v", tc.target, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got struct {
				UserID  string `json:"user_id"`
				Trusted *bool  `json:"trusted"`
				Reason  string `json:"reason"`
				Path    []struct {
					UserID string `json:"user_id"`
					Kind   string `json:"kind"`
					KeyID  string `json:"key_id"`
				} `json:"path"`
				Verifications int `json:"verifications"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.UserID != tc.target || got.Trusted == nil || *got.Trusted != tc.trusted || !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("got %s", out)
			}
			if got.Path == nil {
				t.Fatalf("path missing: %s", out)
			}
			if tc.path != nil {
				var kinds []string
				for _, s := range got.Path {
					kinds = append(kinds, s.Kind)
					if !strings.HasPrefix(s.KeyID, "ed25519:") {
						t.Errorf("step %+v without key ID", s)
					}
				}
				if strings.Join(kinds, ",") != strings.Join(tc.path, ",") {
					t.Fatalf("path kinds %v, want %v", kinds, tc.path)
				}
			}

			// The text form says the same.
			code, text, errOut := runCLI(t, "", "trust", "transitive", "--policy", tc.policy, "--keys", query, "--viewer", "@me:v", tc.target)
			if code != 0 {
				t.Fatalf("text: exit %d: %s", code, errOut)
			}
			head := "✗ " + tc.target + ": NOT trusted"
			if tc.trusted {
				head = "✓ " + tc.target + ": trusted"
			}
			if !strings.HasPrefix(text, head+"\n") || !strings.Contains(text, "  reason: ") || !strings.Contains(text, tc.reason) {
				t.Fatalf("text:\n%s", text)
			}
		})
	}
}

func TestTrustTransitiveStdin(t *testing.T) {
	query := string(temperedQuery(t))
	policy := writeTemp(t, []byte(temperedPolicy))
	code, out, errOut := runCLI(t, query, "trust", "transitive", "--policy", policy, "--keys", "-", "--viewer", "@me:v", "@carol:example.org")
	if code != 0 || !strings.HasPrefix(out, "✓ @carol:example.org: trusted") || !strings.Contains(out, "path: @me:v master ed25519:") {
		t.Fatalf("keys on stdin: %d %s %s", code, out, errOut)
	}
	queryFile := writeTemp(t, []byte(query))
	code, out, errOut = runCLI(t, temperedPolicy, "trust", "transitive", "--policy", "-", "--keys", queryFile, "--viewer", "@me:v", "@carol:example.org")
	if code != 0 || !strings.HasPrefix(out, "✓ @carol:example.org: trusted") {
		t.Fatalf("policy on stdin: %d %s %s", code, out, errOut)
	}
}

func TestTrustTransitiveErrors(t *testing.T) {
	query := writeTemp(t, temperedQuery(t))
	policy := writeTemp(t, []byte(temperedPolicy))
	badPolicy := writeTemp(t, []byte(`{"vouchers":{"@alice:a":{"for":["*"],"depth":9}}}`))
	notQuery := writeTemp(t, []byte(`[1]`))
	missing := filepath.Join(t.TempDir(), "none.json")
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no policy", []string{"--keys", query, "--viewer", "@me:v", "@carol:example.org"}, "needs --policy and --viewer"},
		{"viewer without keys", []string{"--policy", policy, "--viewer", "@me:v", "@carol:example.org"}, "go with --keys"},
		{"no viewer", []string{"--policy", policy, "--keys", query, "@carol:example.org"}, "needs --policy and --viewer"},
		{"no target", []string{"--policy", policy, "--keys", query, "--viewer", "@me:v"}, "accepts 1 arg"},
		{"bad target", []string{"--policy", policy, "--keys", query, "--viewer", "@me:v", "carol"}, "not a Matrix user ID"},
		{"bad viewer", []string{"--policy", policy, "--keys", query, "--viewer", "me", "@carol:example.org"}, "--viewer"},
		{"both stdin", []string{"--policy", "-", "--keys", "-", "--viewer", "@me:v", "@carol:example.org"}, "both"},
		{"invalid policy", []string{"--policy", badPolicy, "--keys", query, "--viewer", "@me:v", "@carol:example.org"}, "depth out of range"},
		{"missing policy", []string{"--policy", missing, "--keys", query, "--viewer", "@me:v", "@carol:example.org"}, "reading"},
		{"not a query", []string{"--policy", policy, "--keys", notQuery, "--viewer", "@me:v", "@carol:example.org"}, "not a /keys/query response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"trust", "transitive"}, tc.args...)...)
			if code != 1 || out != "" || !strings.HasPrefix(errOut, "vouch: ") || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, out %q, err %q; want exit 1 and %q", code, out, errOut, tc.msg)
			}
		})
	}
}

func TestTrustPolicyCheck(t *testing.T) {
	canon := `{"vouchers":{"@alice:example.com":{"depth":1,"except":["@dave:example.org"],"for":["@carol:matrix.org","*:example.org"]}}}` + "\n"
	brief := `{"vouchers": {"@alice:example.com": {"for": ["@carol:matrix.org", "*:example.org"], "except": ["@dave:example.org"], "depth": 1}}}`
	file := writeTemp(t, []byte(brief))
	for _, args := range [][]string{{file}, {}} {
		code, out, errOut := runCLI(t, brief, append([]string{"trust", "policy", "check"}, args...)...)
		if code != 0 || out != canon {
			t.Fatalf("check %v: exit %d, %q %q", args, code, out, errOut)
		}
		// The canonical form is a fixed point.
		code, again, _ := runCLI(t, out, "trust", "policy", "check")
		if code != 0 || again != canon {
			t.Fatalf("recheck: %q", again)
		}
	}
	tests := []struct {
		name, in, msg string
	}{
		{"not JSON", `{`, "malformed policy"},
		{"missing vouchers", `{}`, "missing policy member"},
		{"bad voucher", `{"vouchers":{"alice":{"for":["*"]}}}`, "invalid user ID"},
		{"bad pattern", `{"vouchers":{"@a:x":{"for":["*.x"]}}}`, "invalid pattern"},
		{"duplicate", `{"vouchers":{"@a:x":{"for":["*","*"]}}}`, "duplicate pattern"},
		{"conflict", `{"vouchers":{"@a:x":{"for":["@b:x"],"except":["@b:x"]}}}`, "both in for and except"},
		{"depth", `{"vouchers":{"@a:x":{"for":["*"],"depth":0}}}`, "depth out of range"},
		{"duplicate key", `{"vouchers":{"@a:x":{"for":["*"]},"@a:x":{"for":["*"]}}}`, "duplicate object key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.in, "trust", "policy", "check")
			if code != 1 || out != "" || !strings.HasPrefix(errOut, "vouch: policy from stdin: ") || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, out %q, err %q; want %q", code, out, errOut, tc.msg)
			}
		})
	}
	if code, _, errOut := runCLI(t, "", "trust", "policy", "check", filepath.Join(t.TempDir(), "none")); code != 1 || !strings.Contains(errOut, "reading") {
		t.Fatalf("missing file: %d %s", code, errOut)
	}
}

// TestTrustUserUnchangedByTransitive: attaching the subcommands leaves
// `vouch trust USER` taking a user ID as before.
func TestTrustUserUnchangedByTransitive(t *testing.T) {
	code, _, errOut := runCLI(t, "", "trust", "not-a-user")
	if code != 1 || !strings.Contains(errOut, "not a Matrix user ID") {
		t.Fatalf("trust USER: %d %s", code, errOut)
	}
}
