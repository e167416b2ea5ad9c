package backup_test

import (
	"encoding/base64"
	"reflect"
	"testing"

	"vouch/backup"
	"vouch/signedjson"
)

// FuzzOpenSession feeds OpenSession (with a trusted signing key) two kinds
// of hostile input: an arbitrary plaintext, encrypted properly so that it
// reaches the parser and the signature check, and an arbitrary raw
// ciphertext under a valid ephemeral key and mac, so that it reaches CBC
// and the padding check. Seeded with every backup.json plaintext and
// ciphertext and with signed versions of the plaintexts. Properties:
//   - no panic; an error never comes with a session, a success always does;
//   - Authenticated implies Signed and a true flag;
//   - non-malleability: an authenticated plaintext has exactly the signed
//     content (canonical signing bytes) of one of the sessions signed in the
//     seed set, and parses to the same BackedUpSession — nothing a writer
//     without the signing key can produce is authenticated.
//
// Every execution does two X25519 operations and an ed25519 verification,
// so the default 60 s minimisation of each new input stalls a short run;
// use -fuzzminimizetime 0 (go test -run X -fuzz FuzzOpenSession
// -fuzztime 25s -fuzzminimizetime 0).
func FuzzOpenSession(f *testing.F) {
	fx := newFixture(f)
	signedTrust, _, _ := fx.trusts(f)
	user := fx.alice.UserID
	v := loadVectors(f)

	signedContent := map[string]*backup.BackedUpSession{}
	var carrier backup.EncryptedSessionData
	for i, c := range v.Sessions {
		for _, prov := range []backup.Provenance{backup.OlmRoomKey, backup.Unauthenticated} {
			pt, err := backup.SignSession([]byte(c.Plaintext), user, fx.signing, prov)
			if err != nil {
				f.Fatal(err)
			}
			sb, err := signedjson.SigningBytes(pt)
			if err != nil {
				f.Fatal(err)
			}
			s, err := backup.ParseBackedUpSession(pt)
			if err != nil {
				f.Fatal(err)
			}
			signedContent[string(sb)] = s
			enc, err := backup.EncryptWithEphemeralKey(fx.pub, fuzzEphemeral(i), pt)
			if err != nil {
				f.Fatal(err)
			}
			if i == 0 && prov == backup.OlmRoomKey {
				carrier = enc
			}
			ct, _ := base64.RawStdEncoding.DecodeString(enc.Ciphertext)
			f.Add(pt, ct)
		}
		ct, _ := base64.RawStdEncoding.DecodeString(c.SessionData.Ciphertext)
		f.Add([]byte(c.Plaintext), ct)
	}
	for _, c := range v.Invalid {
		ct, _ := base64.StdEncoding.DecodeString(c.SessionData.Ciphertext)
		f.Add([]byte(c.Reason), ct)
	}

	check := func(t *testing.T, r backup.RestoredSession, err error) {
		if err != nil {
			if r.Session != nil || r.Authenticated || r.Signed {
				t.Fatalf("error %v with a session %+v", err, r)
			}
			return
		}
		if r.Session == nil || r.Reason == "" {
			t.Fatalf("success without a session: %+v", r)
		}
		if r.Authenticated && !r.Signed {
			t.Fatal("authenticated but not signed")
		}
		if !r.Signed {
			return
		}
		sb, serr := signedjson.SigningBytes(r.Plaintext)
		if serr != nil {
			t.Fatalf("signed plaintext has no signing bytes: %v", serr)
		}
		orig, ok := signedContent[string(sb)]
		if !ok {
			t.Fatalf("signature verified over content nobody signed: %q", r.Plaintext)
		}
		if !reflect.DeepEqual(withoutSignatures(r.Session), withoutSignatures(orig)) {
			t.Fatalf("same signed bytes, different parse:\n%+v\n%+v", r.Session, orig)
		}
	}

	f.Fuzz(func(t *testing.T, plaintext, ct []byte) {
		if len(plaintext) <= backup.MaxSessionPlaintextSize {
			enc, err := backup.EncryptWithEphemeralKey(fx.pub, fuzzEphemeral(0), plaintext)
			if err != nil {
				t.Fatal(err)
			}
			r, err := backup.OpenSession(enc, fx.priv, signedTrust, user)
			check(t, r, err)
		}
		e := carrier
		e.Ciphertext = base64.RawStdEncoding.EncodeToString(ct)
		r, err := backup.OpenSession(e, fx.priv, signedTrust, user)
		check(t, r, err)
	})
}

func fuzzEphemeral(i int) backup.PrivateKey {
	return backup.PrivateKey(signingKeyFrom("fuzz ephemeral " + string(rune('a'+i))))
}

func withoutSignatures(s *backup.BackedUpSession) backup.BackedUpSession {
	c := *s
	c.Signatures = nil
	return c
}
