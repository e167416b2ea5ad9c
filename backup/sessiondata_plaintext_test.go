package backup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const sessionPlaintextBase = `"algorithm":"m.megolm.v1.aes-sha2","forwarding_curve25519_key_chain":[],"sender_claimed_keys":{"ed25519":"E"},"sender_key":"S","session_key":"K"`

func TestParseBackedUpSession(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want func(*BackedUpSession) bool
	}{
		{"minimal", `{` + sessionPlaintextBase + `}`, true, func(s *BackedUpSession) bool {
			return s.SessionKey == "K" && s.SenderKey == "S" && s.SenderClaimedKeys["ed25519"] == "E" &&
				s.ForwardingCurve25519KeyChain != nil && len(s.ForwardingCurve25519KeyChain) == 0 &&
				s.Authenticated == nil && s.UnstableAuthenticated == nil && s.SharedHistory == nil && !s.ClaimsAuthenticated()
		}},
		{"unknown members ignored", `{` + sessionPlaintextBase + `,"org.matrix.msc4048.unauthenticated":"x","z":{"a":[1,2]}}`, true, nil},
		{"stable authenticated", `{` + sessionPlaintextBase + `,"authenticated":true}`, true, func(s *BackedUpSession) bool {
			return s.Authenticated != nil && *s.Authenticated && s.ClaimsAuthenticated()
		}},
		{"unstable authenticated", `{` + sessionPlaintextBase + `,"org.matrix.mscxxxx.authenticated":true}`, true, func(s *BackedUpSession) bool {
			return s.UnstableAuthenticated != nil && *s.UnstableAuthenticated && s.ClaimsAuthenticated()
		}},
		{"stable wins over unstable", `{` + sessionPlaintextBase + `,"authenticated":false,"org.matrix.mscxxxx.authenticated":true}`, true, func(s *BackedUpSession) bool {
			return !s.ClaimsAuthenticated()
		}},
		{"signatures and shared_history", `{` + sessionPlaintextBase + `,"shared_history":true,"signatures":{"@a:b":{"ed25519:K":"sig"}}}`, true, func(s *BackedUpSession) bool {
			return s.Signatures["@a:b"]["ed25519:K"] == "sig" && s.SharedHistory != nil && *s.SharedHistory
		}},
		{"missing algorithm", `{"forwarding_curve25519_key_chain":[],"sender_claimed_keys":{},"sender_key":"S","session_key":"K"}`, false, nil},
		{"null algorithm", `{` + strings.Replace(sessionPlaintextBase, `"m.megolm.v1.aes-sha2"`, `null`, 1) + `}`, false, nil},
		{"wrong algorithm", `{` + strings.Replace(sessionPlaintextBase, `m.megolm.v1.aes-sha2`, `m.megolm.v2.aes-sha2`, 1) + `}`, false, nil},
		{"missing chain", `{` + strings.Replace(sessionPlaintextBase, `"forwarding_curve25519_key_chain":[],`, ``, 1) + `}`, false, nil},
		{"null chain", `{` + strings.Replace(sessionPlaintextBase, `[]`, `null`, 1) + `}`, false, nil},
		{"missing claimed keys", `{` + strings.Replace(sessionPlaintextBase, `"sender_claimed_keys":{"ed25519":"E"},`, ``, 1) + `}`, false, nil},
		{"missing sender_key", `{` + strings.Replace(sessionPlaintextBase, `"sender_key":"S",`, ``, 1) + `}`, false, nil},
		{"missing session_key", `{` + strings.Replace(sessionPlaintextBase, `,"session_key":"K"`, ``, 1) + `}`, false, nil},
		{"session_key number", `{` + strings.Replace(sessionPlaintextBase, `"K"`, `1`, 1) + `}`, false, nil},
		{"authenticated string", `{` + sessionPlaintextBase + `,"authenticated":"yes"}`, false, nil},
		{"duplicate top-level", `{` + sessionPlaintextBase + `,"session_key":"K2"}`, false, nil},
		{"duplicate nested", `{` + strings.Replace(sessionPlaintextBase, `{"ed25519":"E"}`, `{"ed25519":"E","ed25519":"F"}`, 1) + `}`, false, nil},
		{"duplicate in array of objects", `{` + sessionPlaintextBase + `,"x":[{"a":1},{"a":1,"a":2}]}`, false, nil},
		{"same key in sibling objects ok", `{` + sessionPlaintextBase + `,"x":[{"a":1},{"a":1}],"y":{"a":{"a":1}}}`, true, nil},
		{"invalid UTF-8", `{` + sessionPlaintextBase + `,"x":"` + "\xff" + `"}`, false, nil},
		{"trailing data", `{` + sessionPlaintextBase + `} x`, false, nil},
		{"two objects", `{` + sessionPlaintextBase + `}{}`, false, nil},
		{"array", `[` + sessionPlaintextBase + `]`, false, nil},
		{"empty", ``, false, nil},
		{"too large", `{` + sessionPlaintextBase + `,"pad":"` + strings.Repeat("a", MaxBackedUpSessionSize) + `"}`, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseBackedUpSession([]byte(tc.in))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBackedUpSessionInvalid) || s != nil {
					t.Fatalf("err %v / session %v", err, s)
				}
				return
			}
			if tc.want != nil && !tc.want(s) {
				t.Fatalf("unexpected session %+v", s)
			}
		})
	}
}

// TestBackedUpSessionMarshal checks that a parsed session marshals back to
// the same members (the vectors' plaintexts only carry spec members).
func TestBackedUpSessionMarshal(t *testing.T) {
	v := loadSessionDataVectors(t)
	for _, c := range v.Sessions {
		s, err := ParseBackedUpSession([]byte(c.Plaintext))
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var a, b map[string]any
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.Plaintext), &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("re-marshalled session differs:\n%s\n%s", ja, jb)
		}
	}
}

func TestCheckSessionDataJSONDeepNesting(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	if err := checkSessionDataJSON([]byte(deep)); err != nil {
		t.Fatalf("deep but valid nesting refused by the scanner: %v", err)
	}
	if _, err := ParseBackedUpSession([]byte(deep)); !errors.Is(err, ErrBackedUpSessionInvalid) {
		t.Fatalf("deep nesting: %v", err)
	}
}
