package ssss

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"unicode/utf8"
)

// AlgorithmAESHMACSHA2 is the only secret storage algorithm the spec defines
// and the only one this package implements.
const AlgorithmAESHMACSHA2 = "m.secret_storage.v1.aes-hmac-sha2"

// Sizes of m.secret_storage.v1.aes-hmac-sha2 values, in bytes.
const (
	// KeySize is the size of a secret storage key.
	KeySize = 32
	// IVSize is the size of the AES-CTR initialization vector.
	IVSize = 16
	// MACSize is the size of the HMAC-SHA-256 tag.
	MACSize = sha256.Size
)

// EncryptedSecret is one secret encrypted with m.secret_storage.v1.aes-hmac-sha2
// (AesHmacSha2EncryptedData): the value stored under a key ID in the encrypted
// map of a secret's account data. All three fields are base64; this package
// writes unpadded base64 and reads both padded and unpadded.
type EncryptedSecret struct {
	// IV is the 16-byte AES-CTR initialization vector.
	IV string `json:"iv"`
	// Ciphertext is the AES-CTR-256 encrypted secret.
	Ciphertext string `json:"ciphertext"`
	// MAC is the HMAC-SHA-256 of the raw ciphertext bytes.
	MAC string `json:"mac"`
}

// Encrypt encrypts plaintext under the secret storage key for the secret
// called name, with a fresh random IV read from rand whose bit 63 is cleared
// as the spec requires.
func Encrypt(key []byte, name string, plaintext []byte, rand io.Reader) (EncryptedSecret, error) {
	iv, err := newIV(rand)
	if err != nil {
		return EncryptedSecret{}, err
	}
	return EncryptWithIV(key, name, plaintext, iv)
}

// EncryptWithIV is Encrypt with a caller-chosen 16-byte IV, used as given
// (bit 63 is not touched), for reproducible output and test vectors. Never
// reuse an IV with the same key and name for a different plaintext.
func EncryptWithIV(key []byte, name string, plaintext, iv []byte) (EncryptedSecret, error) {
	if len(iv) != IVSize {
		return EncryptedSecret{}, fmt.Errorf("%w: iv is %d bytes, want %d", ErrMalformed, len(iv), IVSize)
	}
	aesKey, macKey, err := deriveKeys(key, name)
	if err != nil {
		return EncryptedSecret{}, err
	}
	ciphertext, err := ctr(aesKey, iv, plaintext)
	if err != nil {
		return EncryptedSecret{}, err
	}
	return EncryptedSecret{
		IV:         encodeB64(iv),
		Ciphertext: encodeB64(ciphertext),
		MAC:        encodeB64(computeMAC(macKey, ciphertext)),
	}, nil
}

// Decrypt verifies and decrypts the secret called name. The MAC is checked, in
// constant time, before anything is decrypted; a wrong key, a wrong name or a
// modified ciphertext or MAC gives ErrMACMismatch. Invalid base64 or fields of
// the wrong length give ErrMalformed.
//
// The algorithm's MAC does not cover the IV: a modified IV decrypts, to
// different bytes. Callers expecting text should use DecryptString.
func Decrypt(key []byte, name string, enc EncryptedSecret) ([]byte, error) {
	iv, ciphertext, mac, err := enc.decode()
	if err != nil {
		return nil, err
	}
	aesKey, macKey, err := deriveKeys(key, name)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(computeMAC(macKey, ciphertext), mac) {
		return nil, fmt.Errorf("%w: secret %q (wrong key, wrong secret name or tampered data)", ErrMACMismatch, name)
	}
	return ctr(aesKey, iv, ciphertext)
}

// DecryptString is Decrypt for secrets that are strings, as the spec defines
// them all: it also fails with ErrNotUTF8 when the plaintext is not UTF-8.
func DecryptString(key []byte, name string, enc EncryptedSecret) (string, error) {
	plain, err := Decrypt(key, name, enc)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(plain) {
		return "", fmt.Errorf("%w: secret %q", ErrNotUTF8, name)
	}
	return string(plain), nil
}

// decode parses the three base64 fields and checks their lengths.
func (e EncryptedSecret) decode() (iv, ciphertext, mac []byte, err error) {
	if e.IV == "" || e.MAC == "" {
		return nil, nil, nil, fmt.Errorf("%w: encrypted secret needs iv, ciphertext and mac", ErrMalformed)
	}
	if iv, err = decodeB64("iv", e.IV); err != nil {
		return nil, nil, nil, err
	}
	if len(iv) != IVSize {
		return nil, nil, nil, fmt.Errorf("%w: iv is %d bytes, want %d", ErrMalformed, len(iv), IVSize)
	}
	if ciphertext, err = decodeB64("ciphertext", e.Ciphertext); err != nil {
		return nil, nil, nil, err
	}
	if mac, err = decodeB64("mac", e.MAC); err != nil {
		return nil, nil, nil, err
	}
	if len(mac) != MACSize {
		return nil, nil, nil, fmt.Errorf("%w: mac is %d bytes, want %d", ErrMalformed, len(mac), MACSize)
	}
	return iv, ciphertext, mac, nil
}

// newIV reads 16 random bytes and clears bit 63 (the top bit of byte 8), which
// the spec requires to work around AES-CTR implementations that only
// increment the low 64 bits of the counter.
func newIV(rand io.Reader) ([]byte, error) {
	iv := make([]byte, IVSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("%w: iv: %w", ErrRandom, err)
	}
	iv[8] &= 0x7f
	return iv, nil
}

// deriveKeys runs HKDF-SHA-256 over key with a salt of 32 zero bytes and the
// secret name as info, and splits the 64 bytes into the AES and HMAC keys.
func deriveKeys(key []byte, name string) (aesKey, macKey []byte, err error) {
	if len(key) != KeySize {
		return nil, nil, fmt.Errorf("%w: got %d bytes", ErrKeyLength, len(key))
	}
	okm, err := hkdf.Key(sha256.New, key, make([]byte, sha256.Size), name, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("ssss: hkdf: %w", err)
	}
	return okm[:32], okm[32:], nil
}

// ctr applies AES-256-CTR with the given key and IV (encryption and
// decryption are the same operation).
func ctr(aesKey, iv, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("ssss: aes: %w", err)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}

// computeMAC returns HMAC-SHA-256 of the raw ciphertext.
func computeMAC(macKey, ciphertext []byte) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write(ciphertext)
	return m.Sum(nil)
}
