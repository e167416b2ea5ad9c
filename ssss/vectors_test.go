package ssss

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"vouch/internal/testvectors"
)

func TestVectorsRecoveryKeys(t *testing.T) {
	for _, c := range testvectors.LoadSSSS(t).RecoveryKeys {
		t.Run(c.KeyHex[:8]+c.Note, func(t *testing.T) {
			key, err := DecodeRecoveryKey(c.Encoded)
			if err != nil {
				t.Fatalf("decode %q: %v", c.Encoded, err)
			}
			if got := hex.EncodeToString(key); got != c.KeyHex {
				t.Fatalf("decode = %s, want %s", got, c.KeyHex)
			}
			if c.Note != "" {
				return // the input is deliberately not in canonical form
			}
			enc, err := EncodeRecoveryKey(testvectors.Hex(t, c.KeyHex))
			if err != nil {
				t.Fatal(err)
			}
			if enc != c.Encoded {
				t.Fatalf("encode = %q, want %q", enc, c.Encoded)
			}
		})
	}
}

func TestVectorsInvalidRecoveryKeys(t *testing.T) {
	want := map[string]error{
		"parity":    ErrRecoveryKeyParity,
		"prefix":    ErrRecoveryKeyPrefix,
		"length":    ErrRecoveryKeyLength,
		"alphabet":  ErrRecoveryKeyCharacter,
		"empty":     ErrRecoveryKeyLength,
		"character": ErrRecoveryKeyCharacter,
	}
	for _, c := range testvectors.LoadSSSS(t).InvalidRecoveryKeys {
		t.Run(c.Reason, func(t *testing.T) {
			var sentinel error
			for word, err := range want {
				if strings.Contains(c.Reason, word) {
					sentinel = err
				}
			}
			if sentinel == nil {
				t.Fatalf("no expected error known for reason %q: extend the table", c.Reason)
			}
			key, err := DecodeRecoveryKey(c.Encoded)
			if !errors.Is(err, sentinel) {
				t.Fatalf("DecodeRecoveryKey(%q) = %x, %v; want %v", c.Encoded, key, err, sentinel)
			}
		})
	}
}

func TestVectorsPassphraseKeys(t *testing.T) {
	for _, c := range testvectors.LoadSSSS(t).PassphraseKeys {
		t.Run(c.Passphrase, func(t *testing.T) {
			key, err := PassphraseKey(c.Passphrase, c.Salt, c.Iterations, c.Bits)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key); got != c.KeyHex {
				t.Fatalf("key = %s, want %s", got, c.KeyHex)
			}
			info := PassphraseInfo{Algorithm: PassphraseAlgorithmPBKDF2, Salt: c.Salt, Iterations: c.Iterations, Bits: c.Bits}
			key2, err := info.Key(c.Passphrase)
			if err != nil || hex.EncodeToString(key2) != c.KeyHex {
				t.Fatalf("PassphraseInfo.Key = %x, %v", key2, err)
			}
		})
	}
}

func TestVectorsKeyChecks(t *testing.T) {
	for i, c := range testvectors.LoadSSSS(t).KeyChecks {
		t.Run(c.KeyHex[:8]+c.Reason+c.Note, func(t *testing.T) {
			d := KeyDescription{Algorithm: AlgorithmAESHMACSHA2, IV: c.IV, MAC: c.MAC}
			err := d.Check(testvectors.Hex(t, c.KeyHex))
			if c.Valid && err != nil {
				t.Fatalf("case %d: Check = %v, want nil", i, err)
			}
			if !c.Valid && !errors.Is(err, ErrWrongKey) {
				t.Fatalf("case %d: Check = %v, want ErrWrongKey", i, err)
			}
			if !c.Valid {
				return
			}
			// Recomputing the check with the same IV gives the same MAC.
			iv, err := decodeB64("iv", c.IV)
			if err != nil {
				t.Fatal(err)
			}
			mac, err := keyCheckMAC(testvectors.Hex(t, c.KeyHex), iv)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeB64(mac); got != strings.TrimRight(c.MAC, "=") {
				t.Fatalf("key check MAC = %s, want %s", got, c.MAC)
			}
		})
	}
}

func TestVectorsSecrets(t *testing.T) {
	for _, c := range testvectors.LoadSSSS(t).Secrets {
		t.Run(c.Name, func(t *testing.T) {
			key := testvectors.Hex(t, c.KeyHex)
			enc := EncryptedSecret{IV: c.IV, Ciphertext: c.Ciphertext, MAC: c.MAC}
			got, err := DecryptString(key, c.Name, enc)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Plaintext {
				t.Fatalf("plaintext = %q, want %q", got, c.Plaintext)
			}
			iv, err := decodeB64("iv", c.IV)
			if err != nil {
				t.Fatal(err)
			}
			re, err := EncryptWithIV(key, c.Name, []byte(c.Plaintext), iv)
			if err != nil {
				t.Fatal(err)
			}
			if re != enc {
				t.Fatalf("EncryptWithIV = %+v, want %+v", re, enc)
			}
			// Padded base64 on input is accepted too.
			padded := EncryptedSecret{IV: c.IV + "==", Ciphertext: pad(c.Ciphertext), MAC: c.MAC + "="}
			if got, err := DecryptString(key, c.Name, padded); err != nil || got != c.Plaintext {
				t.Fatalf("padded: %q, %v", got, err)
			}
		})
	}
}

func pad(s string) string {
	for len(s)%4 != 0 {
		s += "="
	}
	return s
}

func TestVectorsTamperedSecrets(t *testing.T) {
	v := testvectors.LoadSSSS(t)
	for _, c := range v.TamperedSecrets {
		t.Run(c.Reason, func(t *testing.T) {
			key := testvectors.Hex(t, c.KeyHex)
			plain, err := Decrypt(key, c.Name, EncryptedSecret{IV: c.IV, Ciphertext: c.Ciphertext, MAC: c.MAC})
			if !c.Decrypts {
				if !errors.Is(err, ErrMACMismatch) || plain != nil {
					t.Fatalf("Decrypt = %q, %v; want ErrMACMismatch", plain, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decrypt = %v; the vector says it decrypts", err)
			}
			// It decrypts, but not to the original secret: find the original.
			for _, s := range v.Secrets {
				if s.Ciphertext == c.Ciphertext && s.MAC == c.MAC && string(plain) == s.Plaintext {
					t.Fatalf("a changed IV still gave the original plaintext")
				}
			}
		})
	}
}
