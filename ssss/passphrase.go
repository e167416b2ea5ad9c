package ssss

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
)

// PassphraseAlgorithmPBKDF2 is the only passphrase algorithm the spec defines.
const PassphraseAlgorithmPBKDF2 = "m.pbkdf2"

// PBKDF2 bounds and defaults.
const (
	// DefaultBits is the key size derived when a passphrase description has no
	// bits property.
	DefaultBits = 256
	// MaxBits is the largest key size PassphraseKey derives (one SHA-512 block).
	MaxBits = 512
	// DefaultIterations is the PBKDF2 iteration count NewPassphraseInfo uses
	// for new keys when the caller passes 0.
	DefaultIterations = 500_000
	// MaxIterations caps the iteration count accepted from a key description.
	// Account data is controlled by the homeserver, which could otherwise make
	// a client spin for hours; 10 million is about 20 times today's defaults.
	MaxIterations = 10_000_000
	// saltBytes random bytes give a 32-character base64 salt.
	saltBytes = 24
)

// PassphraseInfo is the passphrase property of a secret storage key
// description: how to derive the key from a passphrase the user types.
type PassphraseInfo struct {
	// Algorithm is PassphraseAlgorithmPBKDF2.
	Algorithm string `json:"algorithm"`
	// Salt is the PBKDF2 salt, used as its UTF-8 bytes.
	Salt string `json:"salt"`
	// Iterations is the PBKDF2 iteration count.
	Iterations int `json:"iterations"`
	// Bits is the derived key size in bits; 0 (absent) means DefaultBits.
	Bits int `json:"bits,omitempty"`
}

// NewPassphraseInfo returns m.pbkdf2 parameters for a new key: a random
// 32-character salt read from rand and the given iteration count, or
// DefaultIterations when iterations is 0. Production callers should pass 0 (or
// at least DefaultIterations); smaller counts exist so that tests run fast.
func NewPassphraseInfo(rand io.Reader, iterations int) (*PassphraseInfo, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < 1 || iterations > MaxIterations {
		return nil, fmt.Errorf("%w: iterations %d not in [1, %d]", ErrPassphraseParams, iterations, MaxIterations)
	}
	salt := make([]byte, saltBytes)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("%w: salt: %w", ErrRandom, err)
	}
	return &PassphraseInfo{
		Algorithm:  PassphraseAlgorithmPBKDF2,
		Salt:       base64.StdEncoding.EncodeToString(salt),
		Iterations: iterations,
		Bits:       DefaultBits,
	}, nil
}

// Key derives the key described by p from passphrase. It fails with
// ErrUnsupportedAlgorithm for algorithms other than m.pbkdf2 and with
// ErrPassphraseParams for an empty salt or out-of-bounds parameters.
func (p PassphraseInfo) Key(passphrase string) ([]byte, error) {
	if p.Algorithm != PassphraseAlgorithmPBKDF2 {
		return nil, fmt.Errorf("%w: passphrase algorithm %q", ErrUnsupportedAlgorithm, p.Algorithm)
	}
	if p.Salt == "" {
		return nil, fmt.Errorf("%w: empty salt", ErrPassphraseParams)
	}
	return PassphraseKey(passphrase, p.Salt, p.Iterations, p.Bits)
}

// PassphraseKey derives a key with PBKDF2-HMAC-SHA-512 from passphrase and
// salt (both used as UTF-8 bytes). bits 0 means DefaultBits; otherwise bits
// must be a positive multiple of 8 no larger than MaxBits, and iterations must
// be in [1, MaxIterations]. The result is bits/8 bytes long.
func PassphraseKey(passphrase, salt string, iterations, bits int) ([]byte, error) {
	if bits == 0 {
		bits = DefaultBits
	}
	if bits < 8 || bits > MaxBits || bits%8 != 0 {
		return nil, fmt.Errorf("%w: bits %d is not a multiple of 8 in [8, %d]", ErrPassphraseParams, bits, MaxBits)
	}
	if iterations < 1 || iterations > MaxIterations {
		return nil, fmt.Errorf("%w: iterations %d not in [1, %d]", ErrPassphraseParams, iterations, MaxIterations)
	}
	key, err := pbkdf2.Key(sha512.New, passphrase, []byte(salt), iterations, bits/8)
	if err != nil {
		return nil, fmt.Errorf("%w: pbkdf2: %w", ErrPassphraseParams, err)
	}
	return key, nil
}
