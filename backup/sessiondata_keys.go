package backup

import (
	"crypto/ecdh"
	cryptorand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length in bytes of a backup private key (an X25519 scalar)
// and of a backup public key (an X25519 u-coordinate).
const KeySize = 32

// PrivateKey is the backup decryption key of an
// m.megolm_backup.v1.curve25519-aes-sha2 backup: a 32-byte X25519 scalar.
// The spec calls it the "decryption key"; it is stored in secret storage
// under the name m.megolm_backup.v1 (spec, "Decryption key").
//
// Its String, GoString and Format methods redact the key so that it cannot leak
// through fmt or a logger by accident; call Encode to get the base64 form
// when the user explicitly asked for it.
type PrivateKey [KeySize]byte

// PublicKey is the backup encryption key: the X25519 public key published in
// the backup version's auth_data.public_key (unpadded base64 on the wire).
type PublicKey [KeySize]byte

// GenerateKey returns a new random backup private key read from rand.
// A nil rand means crypto/rand.Reader. Any 32 bytes form a valid X25519
// scalar (clamping happens inside X25519), so the bytes are used as read.
func GenerateKey(rand io.Reader) (PrivateKey, error) {
	var k PrivateKey
	if rand == nil {
		rand = cryptorand.Reader
	}
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("backup: generating private key: %w", err)
	}
	return k, nil
}

// ParsePrivateKey decodes a backup private key from base64 (unpadded, or
// padded with '='; standard alphabet only; no whitespace) and checks that it
// is exactly 32 bytes long.
func ParsePrivateKey(s string) (PrivateKey, error) {
	b, err := decodeSessionDataBase64(s)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%w: private key: %w", ErrBackupKeyInvalid, err)
	}
	if len(b) != KeySize {
		return PrivateKey{}, fmt.Errorf("%w: private key is %d bytes, want %d", ErrBackupKeyInvalid, len(b), KeySize)
	}
	return PrivateKey(b), nil
}

// ParsePublicKey decodes a backup public key (auth_data.public_key) from
// base64 (unpadded, or padded with '='; standard alphabet only; no
// whitespace) and checks that it is exactly 32 bytes long. It does not
// detect low-order points: encrypting to one fails with ErrLowOrderKey.
func ParsePublicKey(s string) (PublicKey, error) {
	b, err := decodeSessionDataBase64(s)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: public key: %w", ErrBackupKeyInvalid, err)
	}
	if len(b) != KeySize {
		return PublicKey{}, fmt.Errorf("%w: public key is %d bytes, want %d", ErrBackupKeyInvalid, len(b), KeySize)
	}
	return PublicKey(b), nil
}

// PublicKey derives the public key (auth_data.public_key) of k.
func (k PrivateKey) PublicKey() (PublicKey, error) {
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrBackupKeyInvalid, err)
	}
	return PublicKey(priv.PublicKey().Bytes()), nil
}

// Encode returns k as unpadded base64, the form the spec uses for the
// backup decryption key in secret storage. Only call it when the user asked
// to see or store the private key.
func (k PrivateKey) Encode() string {
	return base64.RawStdEncoding.EncodeToString(k[:])
}

// String redacts the key; use Encode to get its value.
func (k PrivateKey) String() string { return "backup.PrivateKey(REDACTED)" }

// GoString redacts the key; use Encode to get its value.
func (k PrivateKey) GoString() string { return k.String() }

// Format redacts the key for every fmt verb (including %d and %x, which
// would otherwise print the array's bytes).
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// Encode returns p as unpadded base64, the form of auth_data.public_key.
func (p PublicKey) Encode() string {
	return base64.RawStdEncoding.EncodeToString(p[:])
}

// String returns p as unpadded base64.
func (p PublicKey) String() string { return p.Encode() }

// MarshalText encodes p as unpadded base64 (so it can be used directly as a
// JSON string field such as auth_data.public_key).
func (p PublicKey) MarshalText() ([]byte, error) { return []byte(p.Encode()), nil }

// UnmarshalText decodes p with the rules of ParsePublicKey.
func (p *PublicKey) UnmarshalText(text []byte) error {
	k, err := ParsePublicKey(string(text))
	if err != nil {
		return err
	}
	*p = k
	return nil
}

// decodeSessionDataBase64 decodes standard-alphabet base64, unpadded or with
// correct '=' padding, refusing non-zero trailing bits and any whitespace
// (encoding/base64 silently skips CR and LF even in Strict mode, which would
// make the encoding malleable).
func decodeSessionDataBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("base64 contains a line break")
	}
	enc := base64.RawStdEncoding.Strict()
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding.Strict()
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return b, nil
}
