package backup_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/signedjson"
)

func TestSigningKeyEncoding(t *testing.T) {
	k, err := backup.GenerateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := k.Encode()
	if len(enc) != 43 || strings.HasSuffix(enc, "=") {
		t.Fatalf("seed encoding %q is not unpadded base64 of 32 bytes", enc)
	}
	back, err := backup.ParseSigningKey(enc)
	if err != nil || back != k || back.PublicKey() != k.PublicKey() {
		t.Fatalf("round trip: %v", err)
	}
	if padded, err := backup.ParseSigningKey(enc + "="); err != nil || padded != k {
		t.Errorf("padded seed: %v", err)
	}
	for _, bad := range []string{"", "AAAA", enc + "AA", enc[:42] + "!", enc[:20] + "\n" + enc[20:]} {
		if _, err := backup.ParseSigningKey(bad); !errors.Is(err, backup.ErrSigningKeyInvalid) {
			t.Errorf("ParseSigningKey(%q): %v", bad, err)
		}
		if _, err := backup.ParseSigningPublicKey(bad); !errors.Is(err, backup.ErrSigningKeyInvalid) {
			t.Errorf("ParseSigningPublicKey(%q): %v", bad, err)
		}
	}
	pub := k.PublicKey()
	if got, err := backup.ParseSigningPublicKey(pub.Encode()); err != nil || got != pub {
		t.Errorf("public key round trip: %v", err)
	}
	if pub.KeyID() != "ed25519:"+pub.Encode() {
		t.Errorf("key ID %q", pub.KeyID())
	}
	// The private key never leaks through fmt.
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %x %s %d", k, k, k, k, k, k)} {
		if strings.Contains(s, enc) || strings.Contains(s, fmt.Sprintf("%x", [32]byte(k))) || strings.Contains(s, "[") {
			t.Errorf("fmt leaked the key: %s", s)
		}
	}
	if _, err := backup.GenerateSigningKey(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Error("short random source accepted")
	}
}

// flags returns the stable and unstable authenticated members of a signed
// session, as JSON ("" when absent).
func flags(t testing.TB, obj []byte) (stable, unstable string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return string(m[backup.AuthenticatedField]), string(m[backup.UnstableAuthenticatedField])
}

func TestSignSessionProvenance(t *testing.T) {
	f := newFixture(t)
	kid := f.signing.PublicKey().KeyID()
	tests := []struct {
		prov backup.Provenance
		want string
	}{
		{backup.OlmRoomKey, "true"},
		{backup.TrustedForward, "true"},
		{backup.AuthenticatedBackup, "true"},
		{backup.Unauthenticated, "false"},
		{backup.Provenance(-1), "false"},
		{backup.Provenance(4), "false"},
		{backup.Provenance(1 << 30), "false"},
	}
	for _, tt := range tests {
		t.Run(tt.prov.String(), func(t *testing.T) {
			// Start from a plaintext that already claims authenticated=true
			// under both names and carries a stale signature.
			in := withMembers(t, f.session, map[string]any{
				backup.AuthenticatedField: true, backup.UnstableAuthenticatedField: true,
				"signatures": map[string]any{"@old:x": map[string]string{"ed25519:old": "AAAA"}},
				"x.unknown":  "kept",
			})
			out, err := backup.SignSession(in, f.alice.UserID, f.signing, tt.prov)
			if err != nil {
				t.Fatal(err)
			}
			stable, unstable := flags(t, out)
			if stable != "" || unstable != tt.want {
				t.Errorf("authenticated=%q, unstable=%q, want absent and %q", stable, unstable, tt.want)
			}
			pub := f.signing.PublicKey()
			if err := signedjson.Verify(out, f.alice.UserID, kid, pub[:]); err != nil {
				t.Errorf("signature: %v", err)
			}
			sigs, err := signedjson.SignaturesOf(out)
			if err != nil || len(sigs) != 1 || len(sigs[f.alice.UserID]) != 1 {
				t.Errorf("signatures %v (%v): want exactly the new one", sigs, err)
			}
			if !strings.Contains(string(out), `"x.unknown":"kept"`) {
				t.Error("unknown member dropped")
			}
			if tt.prov.Authenticated() != (tt.want == "true") {
				t.Error("Provenance.Authenticated disagrees")
			}
		})
	}
}

func TestSignSessionRefuses(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		session []byte
		user    string
		want    error
	}{
		{"bad user ID", f.session, "@alice", backup.ErrInvalidUserID},
		{"empty user ID", f.session, "", backup.ErrInvalidUserID},
		{"not a session", []byte(`{"a":1}`), f.alice.UserID, backup.ErrBackedUpSessionInvalid},
		{"duplicate member", []byte(strings.Replace(string(f.session), `{`, `{"sender_key":"x",`, 1)), f.alice.UserID, backup.ErrBackedUpSessionInvalid},
		{"case-folded member", []byte(strings.Replace(string(f.session), `{`, `{"Session_Key":"x",`, 1)), f.alice.UserID, backup.ErrFieldNameCase},
		{"kelvin-sign folding", []byte(strings.Replace(string(f.session), `{`, `{"session_\u212aey":"x",`, 1)), f.alice.UserID, backup.ErrFieldNameCase},
		{"float", []byte(strings.Replace(string(f.session), `{`, `{"n":0.5,`, 1)), f.alice.UserID, backup.ErrBackedUpSessionInvalid},
	}
	for _, tt := range tests {
		if _, err := backup.SignSession(tt.session, tt.user, f.signing, backup.OlmRoomKey); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestCaseFoldingSteersEncodingJSON pins the reason ErrFieldNameCase exists:
// encoding/json fills a field from a member whose name differs only in
// case, and ParseBackedUpSession (which uses it) lets such a member win.
func TestCaseFoldingSteersEncodingJSON(t *testing.T) {
	var v struct {
		SessionKey string `json:"session_key"`
	}
	if err := json.Unmarshal([]byte(`{"session_key":"a","SESSION_KEY":"b"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.SessionKey != "b" {
		t.Fatalf("encoding/json no longer folds case (got %q): revisit ErrFieldNameCase", v.SessionKey)
	}
	f := newFixture(t)
	steered := strings.TrimSuffix(strings.TrimSpace(string(f.session)), "}") + `,"SESSION_KEY":"b"}`
	s, err := backup.ParseBackedUpSession([]byte(steered))
	if err != nil || s.SessionKey != "b" {
		t.Fatalf("ParseBackedUpSession: %v, session_key %q; the steering this guards against is gone", err, s.SessionKey)
	}
}
