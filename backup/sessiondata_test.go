package backup

import (
	"bytes"
	"crypto/aes"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// sessionDataVectors mirrors testdata/vectors/backup.json.
type sessionDataVectors struct {
	About    string `json:"about"`
	Sessions []struct {
		PrivateKey          string               `json:"private_key"`
		PublicKey           string               `json:"public_key"`
		EphemeralPrivateKey string               `json:"ephemeral_private_key"`
		Plaintext           string               `json:"plaintext"`
		SessionData         EncryptedSessionData `json:"session_data"`
	} `json:"sessions"`
	Invalid []struct {
		PrivateKey  string               `json:"private_key"`
		SessionData EncryptedSessionData `json:"session_data"`
		Reason      string               `json:"reason"`
	} `json:"invalid"`
}

func loadSessionDataVectors(t testing.TB) sessionDataVectors {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors/backup.json")
	if err != nil {
		t.Fatal(err)
	}
	var v sessionDataVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Sessions) == 0 || len(v.Invalid) == 0 {
		t.Fatal("backup.json: no sessions or no invalid cases")
	}
	return v
}

func mustPrivateKey(t testing.TB, s string) PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPublicKey(t testing.TB, s string) PublicKey {
	t.Helper()
	k, err := ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := decodeSessionDataBase64(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsDecrypt(t *testing.T) {
	v := loadSessionDataVectors(t)
	for i, c := range v.Sessions {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := Decrypt(mustPrivateKey(t, c.PrivateKey), c.SessionData)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != c.Plaintext {
				t.Fatalf("plaintext mismatch:\n got %q\nwant %q", got, c.Plaintext)
			}
			s, err := ParseBackedUpSession(got)
			if err != nil {
				t.Fatalf("ParseBackedUpSession: %v", err)
			}
			if s.Algorithm != MegolmAlgorithm || s.SessionKey == "" || s.SenderKey == "" || s.SenderClaimedKeys["ed25519"] == "" {
				t.Fatalf("unexpected session %+v", s)
			}
		})
	}
}

func TestVectorsEncryptExact(t *testing.T) {
	v := loadSessionDataVectors(t)
	for i, c := range v.Sessions {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			priv := mustPrivateKey(t, c.PrivateKey)
			pub, err := priv.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if pub.Encode() != c.PublicKey {
				t.Fatalf("public key %s, want %s", pub.Encode(), c.PublicKey)
			}
			if pub != mustPublicKey(t, c.PublicKey) {
				t.Fatal("ParsePublicKey disagrees with derived key")
			}
			got, err := EncryptWithEphemeralKey(pub, mustPrivateKey(t, c.EphemeralPrivateKey), []byte(c.Plaintext))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.SessionData {
				t.Fatalf("session_data mismatch:\n got %+v\nwant %+v", got, c.SessionData)
			}
			if !bytes.Equal(unb64(t, got.Ciphertext), unb64(t, c.SessionData.Ciphertext)) {
				t.Fatal("ciphertext bytes differ")
			}
		})
	}
}

func TestVectorsInvalid(t *testing.T) {
	v := loadSessionDataVectors(t)
	// Expected error per vector, keyed by a phrase of its reason, so a
	// vector that changes meaning makes the test fail instead of passing.
	want := []struct {
		reason string
		err    error
	}{
		{"PKCS#7 padding check fails", ErrSessionPadding},
		{"another backup's private key", ErrLegacyMACMismatch},
		{"legacy mac changed", ErrLegacyMACMismatch},
		{"not a whole number of AES blocks", ErrCiphertextInvalid},
	}
	if len(v.Invalid) != len(want) {
		t.Fatalf("%d invalid vectors, test knows %d", len(v.Invalid), len(want))
	}
	for i, c := range v.Invalid {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if !strings.Contains(c.Reason, want[i].reason) {
				t.Fatalf("vector %d reason %q, expected it to mention %q", i, c.Reason, want[i].reason)
			}
			got, err := Decrypt(mustPrivateKey(t, c.PrivateKey), c.SessionData)
			if !errors.Is(err, want[i].err) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, want[i].err)
			}
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1, 15, 16, 17, 31, 32, 33, 600, 1024, MaxSessionPlaintextSize}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := make([]byte, n)
			if _, err := cryptorand.Read(pt); err != nil {
				t.Fatal(err)
			}
			enc, err := Encrypt(pub, pt, nil)
			if err != nil {
				t.Fatal(err)
			}
			ct := unb64(t, enc.Ciphertext)
			if wantLen := (n/aes.BlockSize + 1) * aes.BlockSize; len(ct) != wantLen {
				t.Fatalf("ciphertext %d bytes, want %d", len(ct), wantLen)
			}
			for _, f := range []string{enc.Ephemeral, enc.Ciphertext, enc.MAC} {
				if strings.Contains(f, "=") {
					t.Fatalf("padded base64 in output: %q", f)
				}
			}
			got, err := Decrypt(priv, enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatal("round trip mismatch")
			}
		})
	}
	if _, err := Encrypt(pub, make([]byte, MaxSessionPlaintextSize+1), nil); !errors.Is(err, ErrPlaintextTooLarge) {
		t.Fatalf("oversized plaintext: %v", err)
	}
}

func TestEncryptFreshEphemeral(t *testing.T) {
	v := loadSessionDataVectors(t)
	pub := mustPublicKey(t, v.Sessions[0].PublicKey)
	a, err := Encrypt(pub, []byte(v.Sessions[0].Plaintext), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt(pub, []byte(v.Sessions[0].Plaintext), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Ephemeral == b.Ephemeral || a.Ciphertext == b.Ciphertext {
		t.Fatal("two encryptions share an ephemeral key or ciphertext")
	}
}

func TestEncryptRandFailure(t *testing.T) {
	pub := mustPublicKey(t, loadSessionDataVectors(t).Sessions[0].PublicKey)
	if _, err := Encrypt(pub, []byte("{}"), bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("Encrypt succeeded with a short random source")
	}
}

// TestTamperEphemeral flips every bit of the ephemeral key. X25519 ignores
// the top bit of the u-coordinate (RFC 7748, section 5), so flipping bit 7
// of byte 31 yields the same shared secret: that envelope still decrypts to
// the same plaintext. Every other flip changes the secret and is refused by
// the legacy mac.
func TestTamperEphemeral(t *testing.T) {
	v := loadSessionDataVectors(t)
	c := v.Sessions[0]
	priv := mustPrivateKey(t, c.PrivateKey)
	eph := unb64(t, c.SessionData.Ephemeral)
	for i := range eph {
		for bit := range 8 {
			m := bytes.Clone(eph)
			m[i] ^= 1 << bit
			enc := c.SessionData
			enc.Ephemeral = b64(m)
			got, err := Decrypt(priv, enc)
			if i == KeySize-1 && bit == 7 {
				if err != nil || string(got) != c.Plaintext {
					t.Fatalf("top-bit flip: got %q, %v; want the original plaintext", got, err)
				}
				continue
			}
			if !errors.Is(err, ErrLegacyMACMismatch) {
				t.Fatalf("byte %d bit %d: err = %v, want ErrLegacyMACMismatch", i, bit, err)
			}
		}
	}
}

func TestTamperMAC(t *testing.T) {
	v := loadSessionDataVectors(t)
	c := v.Sessions[0]
	priv := mustPrivateKey(t, c.PrivateKey)
	mac := unb64(t, c.SessionData.MAC)
	if len(mac) != legacyMACSize {
		t.Fatalf("vector mac is %d bytes", len(mac))
	}
	for i := range mac {
		for bit := range 8 {
			m := bytes.Clone(mac)
			m[i] ^= 1 << bit
			enc := c.SessionData
			enc.MAC = b64(m)
			if _, err := Decrypt(priv, enc); !errors.Is(err, ErrLegacyMACMismatch) {
				t.Fatalf("byte %d bit %d: err = %v", i, bit, err)
			}
		}
	}
	full := append(bytes.Clone(mac), make([]byte, 24)...)
	for name, m := range map[string]string{
		"missing":   "",
		"truncated": b64(mac[:7]),
		"too long":  b64(full),
		"not b64":   "!!!!!!!!!!!",
	} {
		enc := c.SessionData
		enc.MAC = m
		if _, err := Decrypt(priv, enc); !errors.Is(err, ErrLegacyMACMismatch) {
			t.Errorf("%s mac: err = %v", name, err)
		}
	}
}

// TestTamperCiphertext flips the low bit of every ciphertext byte and
// asserts exactly what CBC does, since the legacy mac does not cover the
// ciphertext:
//   - a byte of the last block garbles the whole last plaintext block, so
//     the padding check fails;
//   - byte j of block b < last flips bit 0 of plaintext byte j of block b+1
//     and garbles plaintext block b. If block b+1 is the last block and j
//     falls in the padding, the padding check fails; otherwise Decrypt
//     SUCCEEDS and returns the altered plaintext.
func TestTamperCiphertext(t *testing.T) {
	v := loadSessionDataVectors(t)
	for vi, c := range v.Sessions {
		priv := mustPrivateKey(t, c.PrivateKey)
		ct := unb64(t, c.SessionData.Ciphertext)
		pt := []byte(c.Plaintext)
		nBlocks := len(ct) / aes.BlockSize
		pad := len(ct) - len(pt)
		accepted := 0
		for i := range ct {
			m := bytes.Clone(ct)
			m[i] ^= 0x01
			enc := c.SessionData
			enc.Ciphertext = b64(m)
			got, err := Decrypt(priv, enc)
			b, j := i/aes.BlockSize, i%aes.BlockSize
			switch {
			case b == nBlocks-1, b == nBlocks-2 && j >= aes.BlockSize-pad:
				if !errors.Is(err, ErrSessionPadding) || got != nil {
					t.Fatalf("vector %d byte %d: got %d bytes, %v; want ErrSessionPadding", vi, i, len(got), err)
				}
			default:
				if err != nil {
					t.Fatalf("vector %d byte %d: %v; want silent acceptance", vi, i, err)
				}
				accepted++
				if len(got) != len(pt) {
					t.Fatalf("vector %d byte %d: length %d, want %d", vi, i, len(got), len(pt))
				}
				for k := range pt {
					kb := k / aes.BlockSize
					switch {
					case kb == b: // garbled block: must differ somewhere
					case k == i+aes.BlockSize:
						if got[k] != pt[k]^0x01 {
							t.Fatalf("vector %d byte %d: plaintext byte %d = %#x, want %#x", vi, i, k, got[k], pt[k]^0x01)
						}
					default:
						if got[k] != pt[k] {
							t.Fatalf("vector %d byte %d: plaintext byte %d changed", vi, i, k)
						}
					}
				}
				lo, hi := b*aes.BlockSize, min((b+1)*aes.BlockSize, len(pt))
				if bytes.Equal(got[lo:hi], pt[lo:hi]) {
					t.Fatalf("vector %d byte %d: block %d not garbled", vi, i, b)
				}
			}
		}
		if want := (nBlocks-1)*aes.BlockSize - pad; accepted != want {
			t.Fatalf("vector %d: %d tampered ciphertexts accepted, want %d", vi, accepted, want)
		}

		// Dropping the last block leaves JSON text as the "padding".
		enc := c.SessionData
		enc.Ciphertext = b64(ct[:len(ct)-aes.BlockSize])
		if _, err := Decrypt(priv, enc); !errors.Is(err, ErrSessionPadding) {
			t.Fatalf("vector %d truncated by a block: %v", vi, err)
		}
	}
}

func TestDecryptMalformed(t *testing.T) {
	v := loadSessionDataVectors(t)
	c := v.Sessions[0]
	priv := mustPrivateKey(t, c.PrivateKey)
	ct := unb64(t, c.SessionData.Ciphertext)
	lowOrder := [][]byte{
		make([]byte, 32),                       // u = 0
		append([]byte{1}, make([]byte, 31)...), // u = 1
	}
	mod := func(f func(*EncryptedSessionData)) EncryptedSessionData {
		e := c.SessionData
		f(&e)
		return e
	}
	tests := []struct {
		name string
		enc  EncryptedSessionData
		err  error // nil: must decrypt to the vector plaintext
	}{
		{"padded base64 accepted", mod(func(e *EncryptedSessionData) {
			e.Ephemeral += "="
			e.Ciphertext = base64.StdEncoding.EncodeToString(ct)
			e.MAC += "="
		}), nil},
		{"missing ephemeral", mod(func(e *EncryptedSessionData) { e.Ephemeral = "" }), ErrSessionDataMalformed},
		{"missing ciphertext", mod(func(e *EncryptedSessionData) { e.Ciphertext = "" }), ErrSessionDataMalformed},
		{"ephemeral 31 bytes", mod(func(e *EncryptedSessionData) { e.Ephemeral = b64(make([]byte, 31)) }), ErrEphemeralKeyInvalid},
		{"ephemeral 33 bytes", mod(func(e *EncryptedSessionData) { e.Ephemeral = b64(make([]byte, 33)) }), ErrEphemeralKeyInvalid},
		{"ephemeral url-safe alphabet", mod(func(e *EncryptedSessionData) {
			e.Ephemeral = base64.RawURLEncoding.EncodeToString(unb64(t, c.SessionData.Ephemeral))
		}), ErrEphemeralKeyInvalid},
		{"ephemeral with newline", mod(func(e *EncryptedSessionData) { e.Ephemeral = e.Ephemeral[:10] + "\n" + e.Ephemeral[10:] }), ErrEphemeralKeyInvalid},
		{"ephemeral wrong padding", mod(func(e *EncryptedSessionData) { e.Ephemeral += "==" }), ErrEphemeralKeyInvalid},
		{"ephemeral non-zero trailing bits", mod(func(e *EncryptedSessionData) {
			// 43 chars carry 258 bits; the last char's 2 low bits must be 0.
			e.Ephemeral = e.Ephemeral[:42] + "X" // 'X' = 23 = 0b010111
		}), ErrEphemeralKeyInvalid},
		{"ephemeral u=0 (low order)", mod(func(e *EncryptedSessionData) { e.Ephemeral = b64(lowOrder[0]) }), ErrLowOrderKey},
		{"ephemeral u=1 (low order)", mod(func(e *EncryptedSessionData) { e.Ephemeral = b64(lowOrder[1]) }), ErrLowOrderKey},
		{"ciphertext empty after decode", mod(func(e *EncryptedSessionData) { e.Ciphertext = "=" }), ErrCiphertextInvalid},
		{"ciphertext 15 bytes", mod(func(e *EncryptedSessionData) { e.Ciphertext = b64(ct[:15]) }), ErrCiphertextInvalid},
		{"ciphertext 17 bytes", mod(func(e *EncryptedSessionData) { e.Ciphertext = b64(ct[:17]) }), ErrCiphertextInvalid},
		{"ciphertext bad base64", mod(func(e *EncryptedSessionData) { e.Ciphertext = "*" + e.Ciphertext[1:] }), ErrCiphertextInvalid},
		{"ciphertext with CRLF", mod(func(e *EncryptedSessionData) { e.Ciphertext = e.Ciphertext[:64] + "\r\n" + e.Ciphertext[64:] }), ErrCiphertextInvalid},
		{"ciphertext over limit", mod(func(e *EncryptedSessionData) { e.Ciphertext = b64(make([]byte, MaxSessionCiphertextSize+16)) }), ErrCiphertextTooLarge},
		{"ciphertext base64 far over limit", mod(func(e *EncryptedSessionData) { e.Ciphertext = strings.Repeat("A", 1<<20) }), ErrCiphertextTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decrypt(priv, tc.enc)
			if tc.err == nil {
				if err != nil || string(got) != c.Plaintext {
					t.Fatalf("got %q, %v; want vector plaintext", got, err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	// A ciphertext of exactly the limit passes the size checks (and then
	// fails the mac, since it is all zeros under the vector's ephemeral and
	// a zero mac).
	enc := c.SessionData
	enc.Ciphertext = b64(make([]byte, MaxSessionCiphertextSize))
	enc.MAC = b64(make([]byte, 8))
	if _, err := Decrypt(priv, enc); !errors.Is(err, ErrLegacyMACMismatch) {
		t.Fatalf("limit-sized ciphertext: %v", err)
	}
}

func TestEncryptLowOrderPublicKey(t *testing.T) {
	eph, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []PublicKey{{}, {1}} {
		if _, err := EncryptWithEphemeralKey(pub, eph, []byte("{}")); !errors.Is(err, ErrLowOrderKey) {
			t.Fatalf("public key %s: err = %v, want ErrLowOrderKey", pub, err)
		}
	}
}

func TestUnpadPKCS7(t *testing.T) {
	data := []byte("0123456789abcdef0123456789abcdef") // 2 blocks of data
	for pad := 0; pad <= 17; pad++ {
		valid := pad >= 1 && pad <= aes.BlockSize
		buf := bytes.Clone(data)
		for i := 0; i < pad && i < aes.BlockSize; i++ {
			buf[len(buf)-1-i] = byte(pad)
		}
		buf[len(buf)-1] = byte(pad)
		n, ok := unpadPKCS7(buf)
		if ok != valid {
			t.Fatalf("pad %d: ok = %v, want %v", pad, ok, valid)
		}
		if !valid {
			continue
		}
		if n != len(buf)-pad {
			t.Fatalf("pad %d: n = %d", pad, n)
		}
		// Corrupting any single pad byte invalidates the padding.
		for i := 1; i < pad; i++ {
			bad := bytes.Clone(buf)
			bad[len(bad)-1-i] ^= 0x40
			if _, ok := unpadPKCS7(bad); ok {
				t.Fatalf("pad %d: corrupt pad byte %d accepted", pad, i)
			}
		}
	}
}

func TestParseEncryptedSessionData(t *testing.T) {
	v := loadSessionDataVectors(t)
	good := v.Sessions[0].SessionData
	goodJSON, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"vector", string(goodJSON), true},
		{"extra member ignored", `{"ephemeral":"a","ciphertext":"b","mac":"c","x":[1,{"y":2}]}`, true},
		{"surrounding whitespace", " \n" + string(goodJSON) + "\n ", true},
		{"empty object", `{}`, true},
		{"duplicate mac", `{"ephemeral":"a","ciphertext":"b","mac":"c","mac":"d"}`, false},
		{"duplicate nested", `{"ephemeral":"a","x":{"k":1,"k":2}}`, false},
		{"array", `[]`, false},
		{"string", `"x"`, false},
		{"null", `null`, false},
		{"empty", ``, false},
		{"trailing data", string(goodJSON) + `{}`, false},
		{"unterminated", `{"ephemeral":"a"`, false},
		{"number field", `{"ephemeral":1}`, false},
		{"too large", `{"x":"` + strings.Repeat("a", MaxEncryptedSessionDataSize) + `"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEncryptedSessionData([]byte(tc.in))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrSessionDataMalformed) {
				t.Fatalf("err %v does not wrap ErrSessionDataMalformed", err)
			}
			if tc.name == "vector" && got != good {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xef, 0xbe}, 11)[:32] // "++++..."
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"unpadded", b64(raw), true},
		{"padded", base64.StdEncoding.EncodeToString(raw), true},
		{"31 bytes", b64(raw[:31]), false},
		{"33 bytes", b64(append(bytes.Clone(raw), 0)), false},
		{"empty", "", false},
		{"url alphabet", base64.RawURLEncoding.EncodeToString(raw), false},
		{"newline", b64(raw) + "\n", false},
		{"space", " " + b64(raw), false},
		{"non-canonical trailing bits", b64(raw)[:42] + "t", false},
		{"double padding", b64(raw) + "==", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			priv, err1 := ParsePrivateKey(tc.in)
			pub, err2 := ParsePublicKey(tc.in)
			if (err1 == nil) != tc.ok || (err2 == nil) != tc.ok {
				t.Fatalf("errs = %v / %v, want ok=%v", err1, err2, tc.ok)
			}
			if !tc.ok {
				if !errors.Is(err1, ErrBackupKeyInvalid) || !errors.Is(err2, ErrBackupKeyInvalid) {
					t.Fatalf("errors do not wrap ErrBackupKeyInvalid: %v / %v", err1, err2)
				}
				return
			}
			if !bytes.Equal(priv[:], raw) || !bytes.Equal(pub[:], raw) {
				t.Fatal("decoded bytes differ")
			}
			if priv.Encode() != b64(raw) || pub.Encode() != b64(raw) {
				t.Fatal("Encode is not unpadded base64")
			}
		})
	}
}

func TestPublicKeyText(t *testing.T) {
	pub := mustPublicKey(t, loadSessionDataVectors(t).Sessions[0].PublicKey)
	out, err := json.Marshal(struct {
		PublicKey PublicKey `json:"public_key"`
	}{pub})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"public_key":"` + pub.Encode() + `"}`; string(out) != want {
		t.Fatalf("got %s, want %s", out, want)
	}
	var back struct {
		PublicKey PublicKey `json:"public_key"`
	}
	if err := json.Unmarshal(out, &back); err != nil || back.PublicKey != pub {
		t.Fatalf("round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"public_key":"AAAA"}`), &back); !errors.Is(err, ErrBackupKeyInvalid) {
		t.Fatalf("short key: %v", err)
	}
}

func TestPrivateKeyRedacted(t *testing.T) {
	priv := mustPrivateKey(t, loadSessionDataVectors(t).Sessions[0].PrivateKey)
	enc := priv.Encode()
	for _, format := range []string{"%v", "%s", "%+v", "%#v", "%q", "%d", "%x", "%X"} {
		out := fmt.Sprintf(format, priv)
		if strings.Contains(out, enc) || strings.Contains(out, enc[:8]) || !strings.Contains(out, "REDACTED") {
			t.Fatalf("%s prints %q", format, out)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	k, err := GenerateKey(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k[:], seed) {
		t.Fatal("GenerateKey did not use the reader's bytes")
	}
	if _, err := GenerateKey(bytes.NewReader(seed[:31])); err == nil {
		t.Fatal("short reader accepted")
	}
	a, err1 := GenerateKey(nil)
	b, err2 := GenerateKey(nil)
	if err1 != nil || err2 != nil || a == b {
		t.Fatalf("GenerateKey(nil): %v %v equal=%v", err1, err2, a == b)
	}
}

// TestSessionDecrypter checks that the prepared decrypter agrees with
// Decrypt on every vector, valid or not, and that its zero value refuses.
func TestSessionDecrypter(t *testing.T) {
	v := loadSessionDataVectors(t)
	type tc struct {
		priv string
		enc  EncryptedSessionData
	}
	var cases []tc
	for _, c := range v.Sessions {
		cases = append(cases, tc{c.PrivateKey, c.SessionData})
	}
	for _, c := range v.Invalid {
		cases = append(cases, tc{c.PrivateKey, c.SessionData})
	}
	for i, c := range cases {
		priv := mustPrivateKey(t, c.priv)
		d, err := NewSessionDecrypter(priv)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := Decrypt(priv, c.enc)
		got, gotErr := d.Decrypt(c.enc)
		if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("case %d: decrypter %q, %v; Decrypt %q, %v", i, got, gotErr, want, wantErr)
		}
	}
	var zero SessionDecrypter
	if _, err := zero.Decrypt(v.Sessions[0].SessionData); !errors.Is(err, ErrBackupKeyInvalid) {
		t.Fatalf("zero SessionDecrypter: %v", err)
	}
}
