package ssss

import (
	"crypto/rand"
	"testing"

	"vouch/internal/testvectors"
)

func BenchmarkDecrypt(b *testing.B) {
	v := testvectors.LoadSSSS(b)
	c := v.Secrets[0]
	key := testvectors.Hex(b, c.KeyHex)
	enc := EncryptedSecret{IV: c.IV, Ciphertext: c.Ciphertext, MAC: c.MAC}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(key, c.Name, enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	key := fixedKey(1)
	plain := []byte("2Nc65yf60rxD1ZSr1iiAyE1Y34ZOVMN/o/6m0mJ8QCc")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(key, SecretCrossSigningMaster, plain, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyCheck(b *testing.B) {
	c := testvectors.LoadSSSS(b).KeyChecks[0]
	d := KeyDescription{Algorithm: AlgorithmAESHMACSHA2, IV: c.IV, MAC: c.MAC}
	key := testvectors.Hex(b, c.KeyHex)
	for b.Loop() {
		if err := d.Check(key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassphraseKey500k measures the cost of deriving a key with
// DefaultIterations (500,000) PBKDF2-HMAC-SHA-512 rounds, what a user waits
// for after typing a passphrase.
func BenchmarkPassphraseKey500k(b *testing.B) {
	for b.Loop() {
		if _, err := PassphraseKey("correct horse battery staple", "MmMsAlty", DefaultIterations, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRecoveryKey(b *testing.B) {
	s := testvectors.LoadSSSS(b).RecoveryKeys[1].Encoded
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRecoveryKey(s); err != nil {
			b.Fatal(err)
		}
	}
}
