package backup

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecrypt fuzzes both the JSON envelope (ParseEncryptedSessionData then
// Decrypt with vector 0's key) and the raw ciphertext (vector 0's ephemeral
// and mac with the fuzzed bytes as ciphertext, so the mac passes and the
// fuzzer reaches CBC and the padding check). Properties:
//   - no panic; a result is either plaintext or an error, never both;
//   - every accepted ciphertext is canonical: re-encrypting the plaintext
//     under the derived key and IV gives back exactly the same bytes (strict
//     PKCS#7 leaves no second ciphertext for one plaintext);
//   - every accepted envelope re-serialises (unpadded base64) to one that
//     decrypts to the same plaintext, and its base64 fields equal the
//     canonical unpadded encoding of their bytes up to '=' padding.
func FuzzDecrypt(f *testing.F) {
	v := loadSessionDataVectors(f)
	c0 := v.Sessions[0]
	priv := mustPrivateKey(f, c0.PrivateKey)
	for _, c := range v.Sessions {
		env, _ := json.Marshal(c.SessionData)
		f.Add(env, unb64(f, c.SessionData.Ciphertext))
	}
	for _, c := range v.Invalid {
		env, _ := json.Marshal(c.SessionData)
		ct, err := decodeSessionDataBase64(c.SessionData.Ciphertext)
		if err != nil {
			ct = nil
		}
		f.Add(env, ct)
	}
	f.Add([]byte(`{"ephemeral":"","ciphertext":"","mac":""}`), []byte{})
	f.Add([]byte(`{"ephemeral":"a","ephemeral":"b"}`), make([]byte, 16))

	ephBytes := unb64(f, c0.SessionData.Ephemeral)
	keys := mustSessionDataKeys(f, priv, ephBytes)

	f.Fuzz(func(t *testing.T, envelope, ct []byte) {
		// Path 1: the JSON envelope.
		if enc, err := ParseEncryptedSessionData(envelope); err == nil {
			pt, err := Decrypt(priv, enc)
			if (pt == nil) == (err == nil) {
				t.Fatalf("Decrypt returned %q and %v", pt, err)
			}
			if err == nil {
				for _, field := range []string{enc.Ephemeral, enc.Ciphertext, enc.MAC} {
					raw, derr := decodeSessionDataBase64(field)
					if derr != nil || base64.RawStdEncoding.EncodeToString(raw) != strings.TrimRight(field, "=") {
						t.Fatalf("accepted non-canonical base64 %q", field)
					}
				}
				again, err := json.Marshal(enc)
				if err != nil {
					t.Fatal(err)
				}
				enc2, err := ParseEncryptedSessionData(again)
				if err != nil {
					t.Fatalf("re-parse: %v", err)
				}
				pt2, err := Decrypt(priv, enc2)
				if err != nil || !bytes.Equal(pt, pt2) {
					t.Fatalf("re-decrypt: %v", err)
				}
			}
		} else if !errors.Is(err, ErrSessionDataMalformed) {
			t.Fatalf("parse error %v does not wrap ErrSessionDataMalformed", err)
		}

		// Path 2: raw ciphertext under a valid key and mac.
		enc := c0.SessionData
		enc.Ciphertext = base64.RawStdEncoding.EncodeToString(ct)
		pt, err := Decrypt(priv, enc)
		if err != nil {
			if len(ct) != 0 && len(ct)%16 == 0 && len(ct) <= MaxSessionCiphertextSize && !errors.Is(err, ErrSessionPadding) {
				t.Fatalf("well-formed ciphertext refused with %v", err)
			}
			return
		}
		back, err := keys.seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, ct) {
			t.Fatalf("ciphertext is malleable: %x re-encrypts to %x", ct, back)
		}
	})
}

// FuzzParseBackedUpSession checks that the strict parser never panics, that
// what it accepts is a JSON object that encoding/json also accepts, and that
// marshalling an accepted session and parsing it again is a fixed point.
func FuzzParseBackedUpSession(f *testing.F) {
	for _, c := range loadSessionDataVectors(f).Sessions {
		f.Add([]byte(c.Plaintext))
	}
	f.Add([]byte(`{` + sessionPlaintextBase + `,"authenticated":true,"signatures":{"@a:b":{"ed25519:K":"s"}}}`))
	f.Add([]byte(`{` + sessionPlaintextBase + `,"session_key":"x"}`))
	f.Add([]byte(`{"a":[{"b":1},{"b":2}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseBackedUpSession(data)
		if err != nil {
			if s != nil || !errors.Is(err, ErrBackedUpSessionInvalid) {
				t.Fatalf("%v / %v", s, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatal("accepted invalid JSON")
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseBackedUpSession(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		out2, err := json.Marshal(s2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point:\n%s\n%s", out, out2)
		}
	})
}

// FuzzParseKeys checks the key decoders: no panic, and an accepted string
// is the canonical unpadded encoding of the key up to '=' padding.
func FuzzParseKeys(f *testing.F) {
	v := loadSessionDataVectors(f)
	for _, c := range v.Sessions {
		f.Add(c.PrivateKey)
		f.Add(c.PublicKey)
		f.Add(c.PublicKey + "=")
	}
	f.Add("")
	f.Add("AAAA\nAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		priv, err1 := ParsePrivateKey(s)
		pub, err2 := ParsePublicKey(s)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("decoders disagree: %v / %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrBackupKeyInvalid) || !errors.Is(err2, ErrBackupKeyInvalid) {
				t.Fatalf("%v / %v", err1, err2)
			}
			return
		}
		if priv.Encode() != strings.TrimRight(s, "=") || pub.Encode() != strings.TrimRight(s, "=") {
			t.Fatalf("%q accepted but encodes as %q", s, pub.Encode())
		}
		if _, err := priv.PublicKey(); err != nil {
			t.Fatal(err)
		}
	})
}

// mustSessionDataKeys derives the AES key, mac key and IV a reader of
// (priv, ephemeral) uses.
func mustSessionDataKeys(t testing.TB, priv PrivateKey, ephemeral []byte) sessionDataKeys {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		t.Fatal(err)
	}
	keys, err := deriveSessionDataKeys(k, ephemeral)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
