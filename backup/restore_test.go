package backup_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/signedjson"
	"vouch/trust"
)

// trusts returns the trust decisions used by the restore tests: auth_data
// naming f.signing signed by alice's master key (trusted), the same unsigned
// (untrusted), and the same unsigned with the private key known.
func (f *fixture) trusts(t testing.TB) (signed, unsigned, known backup.AuthDataTrust) {
	t.Helper()
	ad := f.authData(t)
	sad, err := backup.SignAuthData(ad, f.alice.UserID, backup.MasterSigner(f.alice.Master.Priv))
	if err != nil {
		t.Fatal(err)
	}
	signed = backup.TrustAuthData(sad, f.viewer)
	unsigned = backup.TrustAuthData(ad, f.viewer)
	known = backup.TrustAuthData(ad, f.viewer, backup.KnownPrivateKey(f.priv))
	if !signed.SigningKeyTrusted() || unsigned.Trusted || known.Path != backup.TrustKnownPrivateKey {
		t.Fatalf("fixture trust: %+v / %+v / %+v", signed, unsigned, known)
	}
	return signed, unsigned, known
}

func signingPriv(k backup.SigningKey) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(k[:]) }

func encrypt(t testing.TB, pub backup.PublicKey, pt []byte) backup.EncryptedSessionData {
	t.Helper()
	enc, err := backup.Encrypt(pub, pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestOpenSession(t *testing.T) {
	f := newFixture(t)
	signedTrust, unsignedTrust, knownTrust := f.trusts(t)
	user := f.alice.UserID
	signWith := func(k backup.SigningKey, prov backup.Provenance) []byte {
		out, err := backup.SignSession(f.session, user, k, prov)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	good := signWith(f.signing, backup.OlmRoomKey)
	goodUnauth := signWith(f.signing, backup.Unauthenticated)
	// The authenticated flag flipped after signing.
	flipped := []byte(strings.Replace(string(goodUnauth), `"org.matrix.mscxxxx.authenticated":false`, `"org.matrix.mscxxxx.authenticated":true`, 1))
	// A plaintext claiming authenticated=true under both names, unsigned.
	claimOnly := withMembers(t, f.session, map[string]any{backup.UnstableAuthenticatedField: true, backup.AuthenticatedField: true})
	// Signed, but the two names disagree.
	pub := f.signing.PublicKey()
	disagree, err := signedjson.Sign(withMembers(t, f.session, map[string]any{backup.UnstableAuthenticatedField: true, backup.AuthenticatedField: false}),
		user, pub.KeyID(), signingPriv(f.signing))
	if err != nil {
		t.Fatal(err)
	}
	stableOnly, err := signedjson.Sign(withMembers(t, f.session, map[string]any{backup.AuthenticatedField: true}), user, pub.KeyID(), signingPriv(f.signing))
	if err != nil {
		t.Fatal(err)
	}
	// Signed by the right key under bob's user ID.
	otherEntity, err := backup.SignSession(f.session, f.bob.UserID, f.signing, backup.OlmRoomKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		plaintext     []byte
		trust         backup.AuthDataTrust
		signed, authn bool
	}{
		{"signed, authenticated, trusted auth_data", good, signedTrust, true, true},
		{"signed, unauthenticated flag", goodUnauth, signedTrust, true, false},
		{"signed, flag flipped after signing", flipped, signedTrust, false, false},
		{"signed by wrong key", signWith(signingKeyFrom("mallory"), backup.OlmRoomKey), signedTrust, false, false},
		{"signed under another user ID", otherEntity, signedTrust, false, false},
		{"authenticated=true but no signature", claimOnly, signedTrust, false, false},
		{"signed, names disagree", disagree, signedTrust, true, false},
		{"signed, final name only", stableOnly, signedTrust, true, true},
		{"untrusted (unsigned) auth_data", good, unsignedTrust, false, false},
		{"auth_data trusted by private key only", good, knownTrust, false, false},
		{"no trust decision at all", good, backup.AuthDataTrust{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := backup.OpenSession(encrypt(t, f.pub, tt.plaintext), f.priv, tt.trust, user)
			if err != nil {
				t.Fatal(err)
			}
			if r.Signed != tt.signed || r.Authenticated != tt.authn {
				t.Fatalf("signed=%v authenticated=%v, want %v %v (%s)", r.Signed, r.Authenticated, tt.signed, tt.authn, r.Reason)
			}
			if r.Session == nil || r.Session.SessionKey == "" || string(r.Plaintext) != string(tt.plaintext) || r.Reason == "" {
				t.Errorf("restored %+v", r)
			}
			if want := backup.Unauthenticated; tt.authn {
				if r.Provenance() != backup.AuthenticatedBackup {
					t.Errorf("provenance %v", r.Provenance())
				}
			} else if r.Provenance() != want {
				t.Errorf("provenance %v", r.Provenance())
			}
		})
	}
}

// TestOpenSessionTamperedAuthData: the server swaps the signing key in a
// signed auth_data for its own and signs sessions with it. The swap breaks
// the master signature, so the backup is untrusted and nothing
// authenticates, not even sessions signed with the server's key.
func TestOpenSessionTamperedAuthData(t *testing.T) {
	f := newFixture(t)
	mallory := signingKeyFrom("server's own key")
	sad, err := backup.SignAuthData(f.authData(t), f.alice.UserID, backup.MasterSigner(f.alice.Master.Priv))
	if err != nil {
		t.Fatal(err)
	}
	swapped := withMembers(t, sad, map[string]any{backup.UnstableSigningPublicKeyField: mallory.PublicKey().Encode()})
	tr := backup.TrustAuthData(swapped, f.viewer)
	if tr.Trusted || tr.SigningKey != nil {
		t.Fatalf("swapped auth_data trusted: %+v", tr)
	}
	for _, k := range []backup.SigningKey{mallory, f.signing} {
		pt, err := backup.SignSession(f.session, f.alice.UserID, k, backup.OlmRoomKey)
		if err != nil {
			t.Fatal(err)
		}
		r, err := backup.OpenSession(encrypt(t, f.pub, pt), f.priv, tr, f.alice.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Authenticated || r.Signed {
			t.Errorf("session authenticated through a swapped auth_data: %+v", r)
		}
	}
}

func withEphemeral(t testing.TB, enc backup.EncryptedSessionData, change func([]byte)) backup.EncryptedSessionData {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(enc.Ephemeral)
	if err != nil {
		t.Fatal(err)
	}
	change(b)
	enc.Ephemeral = base64.RawStdEncoding.EncodeToString(b)
	return enc
}

func TestOpenSessionRefuses(t *testing.T) {
	f := newFixture(t)
	signedTrust, _, _ := f.trusts(t)
	user := f.alice.UserID
	good, err := backup.SignSession(f.session, user, f.signing, backup.OlmRoomKey)
	if err != nil {
		t.Fatal(err)
	}
	insert := func(member string) []byte {
		return []byte(strings.TrimSuffix(string(good), "}") + "," + member + "}")
	}
	wrongPriv := backup.PrivateKey(signingKeyFrom("another backup"))
	wrongPub, _ := wrongPriv.PublicKey()
	tests := []struct {
		name string
		enc  backup.EncryptedSessionData
		priv backup.PrivateKey
		user string
		want error
	}{
		{"duplicate member", encrypt(t, f.pub, insert(`"sender_key":"x"`)), f.priv, user, backup.ErrBackedUpSessionInvalid},
		{"case-folded member", encrypt(t, f.pub, insert(`"Session_Key":"x"`)), f.priv, user, backup.ErrFieldNameCase},
		{"not JSON", encrypt(t, f.pub, []byte("hello")), f.priv, user, backup.ErrBackedUpSessionInvalid},
		{"float in plaintext", encrypt(t, f.pub, insert(`"n":1.5`)), f.priv, user, backup.ErrBackedUpSessionInvalid},
		{"trailing data", encrypt(t, f.pub, append(append([]byte{}, good...), " {}"...)), f.priv, user, backup.ErrBackedUpSessionInvalid},
		{"private key not the auth_data's", encrypt(t, wrongPub, good), wrongPriv, user, backup.ErrWrongBackupKey},
		{"user other than the trust's", encrypt(t, f.pub, good), f.priv, f.bob.UserID, backup.ErrUserMismatch},
		{"missing ciphertext", backup.EncryptedSessionData{Ephemeral: "x"}, f.priv, user, backup.ErrSessionDataMalformed},
		{"ephemeral with top bit set", withEphemeral(t, encrypt(t, f.pub, good), func(b []byte) { b[31] |= 0x80 }), f.priv, user, backup.ErrEphemeralKeyInvalid},
		{"ephemeral not reduced (p+1)", withEphemeral(t, encrypt(t, f.pub, good), func(b []byte) {
			for i := range b {
				b[i] = 0xff
			}
			b[0], b[31] = 0xee, 0x7f
		}), f.priv, user, backup.ErrEphemeralKeyInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := backup.OpenSession(tt.enc, tt.priv, signedTrust, tt.user)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if r.Session != nil || r.Authenticated {
				t.Errorf("refused session returned %+v", r)
			}
		})
	}
}

// TestOpenSessionTamperedCiphertext flips every bit position of one byte
// at a time in the ciphertext, ephemeral key and mac of a signed,
// authenticated session: none may come back authenticated, and changes to
// the last block, the ephemeral key or the mac must be refused outright.
func TestOpenSessionTamperedCiphertext(t *testing.T) {
	f := newFixture(t)
	signedTrust, _, _ := f.trusts(t)
	user := f.alice.UserID
	pt, err := backup.SignSession(f.session, user, f.signing, backup.OlmRoomKey)
	if err != nil {
		t.Fatal(err)
	}
	enc := encrypt(t, f.pub, pt)
	if r, err := backup.OpenSession(enc, f.priv, signedTrust, user); err != nil || !r.Authenticated {
		t.Fatalf("untampered: %v %+v", err, r)
	}
	raw := func(s string) []byte {
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ct, eph, mac := raw(enc.Ciphertext), raw(enc.Ephemeral), raw(enc.MAC)
	refused, parsedButUnauth := 0, 0
	for field, buf := range map[string][]byte{"ciphertext": ct, "ephemeral": eph, "mac": mac} {
		for i := range buf {
			for _, bit := range []byte{0x01, 0x80} {
				mod := append([]byte{}, buf...)
				mod[i] ^= bit
				e := enc
				s := base64.RawStdEncoding.EncodeToString(mod)
				switch field {
				case "ciphertext":
					e.Ciphertext = s
				case "ephemeral":
					e.Ephemeral = s
				case "mac":
					e.MAC = s
				}
				r, err := backup.OpenSession(e, f.priv, signedTrust, user)
				if err == nil && r.Authenticated {
					t.Fatalf("%s byte %d bit %#x: still authenticated", field, i, bit)
				}
				mustRefuse := field != "ciphertext" || i >= len(ct)-16
				if mustRefuse && err == nil {
					t.Fatalf("%s byte %d bit %#x: accepted", field, i, bit)
				}
				if err != nil {
					refused++
				} else {
					parsedButUnauth++
				}
			}
		}
	}
	t.Logf("%d tampered inputs refused, %d decrypted to JSON that failed the signature", refused, parsedButUnauth)
}

// TestOpenSessionVectors runs every backup.json case through OpenSession:
// the vector sessions are unsigned, so they open but never authenticate,
// even with a trusted signing key; every invalid case is refused.
func TestOpenSessionVectors(t *testing.T) {
	v := loadVectors(t)
	f := newFixture(t)
	signedTrust, _, _ := f.trusts(t)
	for i, c := range v.Sessions {
		priv, err := backup.ParsePrivateKey(c.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		tr := backup.AuthDataTrust{UserID: f.alice.UserID}
		if priv == f.priv {
			tr = signedTrust
		}
		r, err := backup.OpenSession(c.SessionData, priv, tr, f.alice.UserID)
		if err != nil {
			t.Errorf("session %d: %v", i, err)
			continue
		}
		if r.Authenticated || r.Signed || string(r.Plaintext) != c.Plaintext {
			t.Errorf("session %d: %+v", i, r)
		}
	}
	for i, c := range v.Invalid {
		priv, err := backup.ParsePrivateKey(c.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := backup.OpenSession(c.SessionData, priv, backup.AuthDataTrust{}, f.alice.UserID); err == nil {
			t.Errorf("invalid %d (%s) accepted: %+v", i, c.Reason, r)
		}
	}
}

// TestRoundTrip1000 signs, encrypts, decrypts and verifies 1,000 distinct
// sessions with every provenance.
func TestRoundTrip1000(t *testing.T) {
	f := newFixture(t)
	signedTrust, unsignedTrust, _ := f.trusts(t)
	user := f.alice.UserID
	provs := []backup.Provenance{backup.OlmRoomKey, backup.TrustedForward, backup.AuthenticatedBackup, backup.Unauthenticated}
	for i := range 1000 {
		key := base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "session key number %06d", i))
		pt := withMembers(t, f.session, map[string]any{"session_key": key})
		prov := provs[i%len(provs)]
		enc, err := backup.EncryptSignedSession(f.pub, pt, user, f.signing, prov, nil)
		if err != nil {
			t.Fatal(err)
		}
		if enc.MAC == "" {
			t.Fatal("legacy mac not written")
		}
		r, err := backup.OpenSession(enc, f.priv, signedTrust, user)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if !r.Signed || r.Authenticated != prov.Authenticated() || r.Session.SessionKey != key {
			t.Fatalf("session %d (%v): %+v", i, prov, r)
		}
		if i%100 == 0 {
			// The same ciphertext read through an untrusted auth_data.
			r, err := backup.OpenSession(enc, f.priv, unsignedTrust, user)
			if err != nil || r.Authenticated || r.Signed {
				t.Fatalf("session %d via untrusted auth_data: %v %+v", i, err, r)
			}
		}
	}
}

func TestTrustViewerWithoutOwnKeys(t *testing.T) {
	f := newFixture(t)
	sad, err := backup.SignAuthData(f.authData(t), f.alice.UserID, backup.DeviceSigner("A1", f.alice.Devices["A1"].Ed25519.Priv))
	if err != nil {
		t.Fatal(err)
	}
	// A viewer who trusts a master key but has no published keys at hand
	// cannot verify devices; it must not panic and must not trust.
	tr := backup.TrustAuthData(sad, trust.Viewer{UserID: f.alice.UserID, TrustedMaster: f.alice.Master.B64})
	if tr.Trusted {
		t.Fatalf("trusted without own keys: %+v", tr)
	}
}
