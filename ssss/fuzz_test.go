package ssss

import (
	"bytes"
	"strings"
	"testing"

	"unicode"
	"vouch/internal/testvectors"
)

// FuzzDecodeRecoveryKey checks that decoding never panics and that a
// successful decode is canonical: re-encoding the key gives back the input
// with its whitespace removed (base58 is a bijection), and that encoding
// decodes to the same key.
func FuzzDecodeRecoveryKey(f *testing.F) {
	v := testvectors.LoadSSSS(f)
	for _, c := range v.RecoveryKeys {
		f.Add(c.Encoded)
	}
	for _, c := range v.InvalidRecoveryKeys {
		f.Add(c.Encoded)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := DecodeRecoveryKey(s)
		if err != nil {
			if key != nil {
				t.Fatalf("key returned with error %v", err)
			}
			return
		}
		enc, err := EncodeRecoveryKey(key)
		if err != nil {
			t.Fatalf("decoded key does not encode: %v", err)
		}
		compact := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
		if strings.ReplaceAll(enc, " ", "") != compact {
			t.Fatalf("non-canonical input %q accepted (canonical %q)", s, enc)
		}
		back, err := DecodeRecoveryKey(enc)
		if err != nil || !bytes.Equal(back, key) {
			t.Fatalf("re-decode of %q: %x, %v; want %x", enc, back, err, key)
		}
	})
}

// FuzzDecrypt feeds arbitrary iv/ciphertext/mac strings and names to Decrypt
// under the vectors' keys. It must never panic, and whatever it accepts must
// be exactly what EncryptWithIV produces for the plaintext it returned: the
// MAC check leaves no room for a second ciphertext of the same secret.
func FuzzDecrypt(f *testing.F) {
	v := testvectors.LoadSSSS(f)
	for i, c := range v.Secrets {
		f.Add(uint8(i), c.Name, c.IV, c.Ciphertext, c.MAC)
	}
	for _, c := range v.TamperedSecrets {
		f.Add(uint8(0), c.Name, c.IV, c.Ciphertext, c.MAC)
	}
	f.Add(uint8(0), "", "", "", "")
	keys := make([][]byte, len(v.Secrets))
	for i, c := range v.Secrets {
		keys[i] = testvectors.Hex(f, c.KeyHex)
	}
	f.Fuzz(func(t *testing.T, k uint8, name, iv, ct, mac string) {
		key := keys[int(k)%len(keys)]
		enc := EncryptedSecret{IV: iv, Ciphertext: ct, MAC: mac}
		plain, err := Decrypt(key, name, enc)
		if err != nil {
			return
		}
		rawIV, err := decodeB64("iv", iv)
		if err != nil {
			t.Fatalf("accepted an iv that does not decode: %v", err)
		}
		re, err := EncryptWithIV(key, name, plain, rawIV)
		if err != nil {
			t.Fatal(err)
		}
		if re.Ciphertext != strings.TrimRight(ct, "=") || re.MAC != strings.TrimRight(mac, "=") {
			t.Fatalf("accepted %+v, which re-encrypts as %+v", enc, re)
		}
	})
}

// FuzzKeyDescriptionCheck feeds arbitrary iv/mac strings to Check: it must
// never panic, and may only accept the key whose check it is.
func FuzzKeyDescriptionCheck(f *testing.F) {
	v := testvectors.LoadSSSS(f)
	for _, c := range v.KeyChecks {
		f.Add(c.IV, c.MAC)
	}
	f.Add("", "")
	key := testvectors.Hex(f, v.KeyChecks[0].KeyHex)
	f.Fuzz(func(t *testing.T, iv, mac string) {
		d := KeyDescription{Algorithm: AlgorithmAESHMACSHA2, IV: iv, MAC: mac}
		if err := d.Check(key); err != nil || !d.Verifiable() {
			return
		}
		rawIV, err := decodeB64("iv", iv)
		if err != nil {
			t.Fatalf("accepted an iv that does not decode: %v", err)
		}
		want, err := keyCheckMAC(key, rawIV)
		if err != nil {
			t.Fatal(err)
		}
		if encodeB64(want) != strings.TrimRight(mac, "=") {
			t.Fatalf("accepted mac %q for iv %q", mac, iv)
		}
	})
}

// FuzzDecodeB64 checks that the base64 reader accepts only the two canonical
// encodings (unpadded and padded) of each byte string.
func FuzzDecodeB64(f *testing.F) {
	for _, s := range []string{"", "AA", "AA==", "AAA=", "AAAA", "0pLcKBO+nBN4jtWpdoXUlA", "xhDQklsHDQQ+EWP4ILdiZr0kRvgsgHa8MvXHJeeQ5eo=", "A\nA", "AB", "-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeB64("x", s)
		if err != nil {
			return
		}
		raw := encodeB64(b)
		if s != raw && s != pad(raw) {
			t.Fatalf("accepted %q for %x (canonical %q)", s, b, raw)
		}
	})
}
