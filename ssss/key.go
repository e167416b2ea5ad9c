package ssss

import (
	"crypto/hmac"
	"fmt"
	"io"
)

// Account-data event types of secret storage keys.
const (
	// KeyEventTypePrefix prefixes a key ID to form the account-data type of
	// its key description: m.secret_storage.key.<key ID>.
	KeyEventTypePrefix = "m.secret_storage.key."
	// DefaultKeyEventType is the account-data type naming the default key.
	DefaultKeyEventType = "m.secret_storage.default_key"
)

// keyIDLength is the number of characters of a generated key ID.
const keyIDLength = 32

// keyIDAlphabet is the alphabet of generated key IDs: safe in event types and
// URLs.
const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// KeyEventType returns the account-data event type holding the description of
// the key with the given ID.
func KeyEventType(keyID string) string { return KeyEventTypePrefix + keyID }

// KeyDescription is the content of m.secret_storage.key.<key ID> account data
// for the m.secret_storage.v1.aes-hmac-sha2 algorithm.
type KeyDescription struct {
	// Name is an optional human-readable name.
	Name string `json:"name,omitempty"`
	// Algorithm is AlgorithmAESHMACSHA2.
	Algorithm string `json:"algorithm"`
	// Passphrase, when present, says how to derive the key from a passphrase.
	Passphrase *PassphraseInfo `json:"passphrase,omitempty"`
	// IV is the base64 IV of the key check; optional.
	IV string `json:"iv,omitempty"`
	// MAC is the base64 MAC of the key check; optional.
	MAC string `json:"mac,omitempty"`
}

// Verifiable reports whether d carries a key check (iv and mac). Without one,
// Check cannot tell a wrong key from the right one.
func (d KeyDescription) Verifiable() bool { return d.IV != "" || d.MAC != "" }

// Check verifies that key is the key d describes. It returns nil when the key
// check matches, ErrWrongKey when it does not (the MAC is compared in constant
// time), ErrUnsupportedAlgorithm for another algorithm and ErrMalformed for a
// broken iv/mac or only one of the two.
//
// When d has neither iv nor mac, Check returns nil: the spec says clients must
// then assume the key is valid. Use Verifiable to tell the user that the key
// could not actually be checked; a wrong key will then fail later, when a
// secret's MAC does not verify.
func (d KeyDescription) Check(key []byte) error {
	if d.Algorithm != AlgorithmAESHMACSHA2 {
		return fmt.Errorf("%w: key algorithm %q", ErrUnsupportedAlgorithm, d.Algorithm)
	}
	if len(key) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrKeyLength, len(key))
	}
	if !d.Verifiable() {
		return nil
	}
	if d.IV == "" || d.MAC == "" {
		return fmt.Errorf("%w: key description has only one of iv and mac", ErrMalformed)
	}
	iv, err := decodeB64("iv", d.IV)
	if err != nil {
		return err
	}
	mac, err := decodeB64("mac", d.MAC)
	if err != nil {
		return err
	}
	if len(mac) != MACSize {
		return fmt.Errorf("%w: mac is %d bytes, want %d", ErrMalformed, len(mac), MACSize)
	}
	want, err := keyCheckMAC(key, iv)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, mac) {
		return ErrWrongKey
	}
	return nil
}

// keyCheckMAC computes the MAC of a key check with iv: the secret named ""
// made of 32 zero bytes is encrypted and its ciphertext MACed (the ciphertext
// itself is not stored).
func keyCheckMAC(key, iv []byte) ([]byte, error) {
	enc, err := EncryptWithIV(key, "", make([]byte, 32), iv)
	if err != nil {
		return nil, err
	}
	return decodeB64("mac", enc.MAC)
}

// Key is a newly created secret storage key: its ID, the raw key and the
// description to store as m.secret_storage.key.<ID> account data.
//
// String and GoString never show the raw key, so a Key can be logged by
// mistake without leaking it.
type Key struct {
	// ID is the key ID.
	ID string
	// Key is the raw KeySize-byte secret storage key. Keep it secret.
	Key []byte
	// Description is the key description, with a key check.
	Description KeyDescription
}

// String describes k without its raw key.
func (k *Key) String() string {
	return fmt.Sprintf("ssss.Key{ID: %q, Algorithm: %q}", k.ID, k.Description.Algorithm)
}

// GoString describes k without its raw key.
func (k *Key) GoString() string { return k.String() }

// RecoveryKey returns the key in the recovery-key representation to show the
// user.
func (k *Key) RecoveryKey() (string, error) { return EncodeRecoveryKey(k.Key) }

// NewKey creates a random secret storage key named name (may be empty) with a
// random 32-character key ID and a key check, all read from rand.
func NewKey(rand io.Reader, name string) (*Key, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrRandom, err)
	}
	return newKey(rand, name, key, nil)
}

// NewPassphraseKey creates a secret storage key derived from passphrase with
// fresh m.pbkdf2 parameters (see NewPassphraseInfo; iterations 0 means
// DefaultIterations), a random key ID and a key check.
func NewPassphraseKey(rand io.Reader, name, passphrase string, iterations int) (*Key, error) {
	info, err := NewPassphraseInfo(rand, iterations)
	if err != nil {
		return nil, err
	}
	key, err := info.Key(passphrase)
	if err != nil {
		return nil, err
	}
	return newKey(rand, name, key, info)
}

// newKey builds the Key for raw key material: ID, IV and key check.
func newKey(rand io.Reader, name string, key []byte, info *PassphraseInfo) (*Key, error) {
	id, err := randomString(rand, keyIDAlphabet, keyIDLength)
	if err != nil {
		return nil, err
	}
	iv, err := newIV(rand)
	if err != nil {
		return nil, err
	}
	mac, err := keyCheckMAC(key, iv)
	if err != nil {
		return nil, err
	}
	return &Key{
		ID:  id,
		Key: key,
		Description: KeyDescription{
			Name:       name,
			Algorithm:  AlgorithmAESHMACSHA2,
			Passphrase: info,
			IV:         encodeB64(iv),
			MAC:        encodeB64(mac),
		},
	}, nil
}

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) by rejection sampling bytes read from rand. It gives up
// with ErrRandom if rand keeps producing rejected bytes (a broken source).
func randomString(rand io.Reader, alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for round := 0; len(out) < n; round++ {
		if round == 64 {
			return "", fmt.Errorf("%w: key ID: random source keeps returning out-of-range bytes", ErrRandom)
		}
		if _, err := io.ReadFull(rand, buf); err != nil {
			return "", fmt.Errorf("%w: key ID: %w", ErrRandom, err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
