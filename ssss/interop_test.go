package ssss_test

// Interoperability with a second Go implementation (mautrix-go, test-only
// dependency). mautrix's ssss API takes raw key bytes and base64-encodes them
// before encryption (the secret string of a private key is its unpadded
// base64), while vouch/ssss encrypts the secret string as given: the tests do
// the base64 step on our side.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	mssss "maunium.net/go/mautrix/crypto/ssss"
	"maunium.net/go/mautrix/crypto/utils"

	"vouch/ssss"
)

func TestInteropMautrixSecrets(t *testing.T) {
	for _, name := range []string{ssss.SecretCrossSigningMaster, ssss.SecretMegolmBackup, ssss.SecretPublicUserSigning} {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		mk, err := mssss.NewKey("")
		if err != nil {
			t.Fatal(err)
		}
		secret := []byte(base64.RawStdEncoding.EncodeToString(raw))

		// mautrix encrypts, vouch decrypts.
		m := mk.Encrypt(name, raw)
		got, err := ssss.Decrypt(mk.Key, name, ssss.EncryptedSecret{IV: m.IV, Ciphertext: m.Ciphertext, MAC: m.MAC})
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s: vouch decrypting mautrix: %q, %v", name, got, err)
		}
		// vouch encrypts, mautrix decrypts.
		enc, err := ssss.Encrypt(mk.Key, name, secret, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		back, err := mk.Decrypt(name, mssss.EncryptedKeyData{IV: enc.IV, Ciphertext: enc.Ciphertext, MAC: enc.MAC})
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("%s: mautrix decrypting vouch: %x, %v", name, back, err)
		}
	}
}

func TestInteropMautrixKeys(t *testing.T) {
	// mautrix key description checked by vouch.
	mk, err := mssss.NewKey("")
	if err != nil {
		t.Fatal(err)
	}
	d := ssss.KeyDescription{Algorithm: string(mk.Metadata.Algorithm), IV: mk.Metadata.IV, MAC: mk.Metadata.MAC}
	if err := d.Check(mk.Key); err != nil {
		t.Fatalf("vouch refuses mautrix's key check: %v", err)
	}
	// vouch key description checked by mautrix.
	vk, err := ssss.NewKey(rand.Reader, "vouch")
	if err != nil {
		t.Fatal(err)
	}
	meta := mssss.KeyMetadata{Algorithm: mssss.AlgorithmAESHMACSHA2, IV: vk.Description.IV, MAC: vk.Description.MAC}
	if !meta.VerifyKey(vk.Key) {
		t.Fatal("mautrix refuses vouch's key check")
	}
	// Recovery keys both ways.
	rk, err := vk.RecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := utils.DecodeBase58RecoveryKey(rk); !bytes.Equal(got, vk.Key) {
		t.Fatalf("mautrix decodes vouch's recovery key to %x", got)
	}
	if got, err := ssss.DecodeRecoveryKey(mk.RecoveryKey()); err != nil || !bytes.Equal(got, mk.Key) {
		t.Fatalf("vouch decodes mautrix's recovery key: %x, %v", got, err)
	}
}

// BenchmarkMautrixDecrypt is the baseline for BenchmarkDecrypt: the same
// vector secret decrypted by mautrix-go (which also base64-decodes the result).
func BenchmarkMautrixDecrypt(b *testing.B) {
	key := []byte{0x03, 0xa1, 0x2c, 0xff, 0xec, 0x1c, 0x3c, 0xcd, 0xb5, 0x11, 0x53, 0xc3, 0xb3, 0x30, 0x71, 0xcc,
		0x14, 0x59, 0x68, 0x42, 0x9d, 0x30, 0x8b, 0x59, 0x2f, 0x12, 0x3e, 0x32, 0xe0, 0x59, 0x76, 0xcd}
	mk := mssss.Key{Key: key}
	data := mssss.EncryptedKeyData{IV: "0pLcKBO+nBN4jtWpdoXUlA", Ciphertext: "KVifKlSZGDOCNbcK7qdhZuHtqLDHxyRhqb8pIrt8Cf0K738+JaAIefzhKQ", MAC: "+yoPZBexnlqN9dOGIK7XzQTDn64GFQOYupz6ST2gloM"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mk.Decrypt(ssss.SecretCrossSigningMaster, data); err != nil {
			b.Fatal(err)
		}
	}
}
