package backup

import (
	"bytes"
	"encoding/json"
	"testing"

	mautrixbackup "maunium.net/go/mautrix/crypto/backup"
)

// Interoperability with an independent implementation (mautrix-go's
// crypto/backup, test-only dependency): sessions it encrypts decrypt here,
// and sessions encrypted here decrypt there. The benchmarks below give the
// baseline for BenchmarkEncrypt / BenchmarkDecrypt.

func mautrixKey(t testing.TB, priv PrivateKey) *mautrixbackup.MegolmBackupKey {
	t.Helper()
	k, err := mautrixbackup.MegolmBackupKeyFromBytes(priv[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestInteropMautrix(t *testing.T) {
	v := loadSessionDataVectors(t)
	for _, c := range v.Sessions {
		priv := mustPrivateKey(t, c.PrivateKey)
		pub := mustPublicKey(t, c.PublicKey)
		mk := mautrixKey(t, priv)
		// The vectors' compact plaintexts survive json.Marshal(RawMessage)
		// unchanged; vector 3 is indented, which mautrix compacts.
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(c.Plaintext)); err != nil {
			t.Fatal(err)
		}

		// mautrix -> vouch
		theirs, err := mautrixbackup.EncryptSessionData(mk, json.RawMessage(c.Plaintext))
		if err != nil {
			t.Fatal(err)
		}
		wire, err := json.Marshal(theirs)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := ParseEncryptedSessionData(wire)
		if err != nil {
			t.Fatalf("parsing mautrix output %s: %v", wire, err)
		}
		got, err := Decrypt(priv, enc)
		if err != nil || !bytes.Equal(got, compact.Bytes()) {
			t.Fatalf("decrypting mautrix output: %q, %v", got, err)
		}

		// vouch -> mautrix
		ours, err := Encrypt(pub, []byte(c.Plaintext), nil)
		if err != nil {
			t.Fatal(err)
		}
		wire, err = json.Marshal(ours)
		if err != nil {
			t.Fatal(err)
		}
		var back mautrixbackup.EncryptedSessionData[json.RawMessage]
		if err := json.Unmarshal(wire, &back); err != nil {
			t.Fatal(err)
		}
		pt, err := back.Decrypt(mk)
		if err != nil || !bytes.Equal(*pt, []byte(c.Plaintext)) {
			t.Fatalf("mautrix decrypting ours: %v", err)
		}
	}
}

// BenchmarkMautrixEncrypt is the baseline for BenchmarkEncrypt.
func BenchmarkMautrixEncrypt(b *testing.B) {
	priv, _, pt := benchSessionPlaintext(b)
	mk := mautrixKey(b, priv)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mautrixbackup.EncryptSessionData(mk, json.RawMessage(pt)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkMautrixDecrypt is the baseline for BenchmarkDecrypt (it also
// copies the plaintext into a json.RawMessage). mautrix decrypts the
// ciphertext buffer in place, so each iteration restores it first (a
// ~600-byte copy).
func BenchmarkMautrixDecrypt(b *testing.B) {
	priv, _, pt := benchSessionPlaintext(b)
	mk := mautrixKey(b, priv)
	enc, err := mautrixbackup.EncryptSessionData(mk, json.RawMessage(pt))
	if err != nil {
		b.Fatal(err)
	}
	ct := bytes.Clone(enc.Ciphertext)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		copy(enc.Ciphertext, ct)
		if _, err := enc.Decrypt(mk); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
