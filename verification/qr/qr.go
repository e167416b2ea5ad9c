// Package qr encodes and decodes the binary payload of Matrix QR code
// verification (spec: client-server API, end-to-end encryption, "QR code
// format"), and renders it as a QR code image or terminal text.
//
// The payload is the byte string
//
//	"MATRIX" | 0x02 | mode | u16be len | transaction ID (UTF-8) | key1 (32) | key2 (32) | secret
//
// where the shared secret is the remainder of the segment. Decode refuses
// every malformed payload with a sentinel error from this package, and a
// successful Decode is non-malleable: Encode of the result gives back exactly
// the decoded bytes.
//
// The package is pure: it does not know which keys belong to whom, does not
// check that key1/key2 match anybody's cross-signing keys, does not generate
// secrets and does not speak the m.key.verification.* protocol. Callers do
// that with the Code it returns.
package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Mode is the verification mode byte of a QR payload.
type Mode byte

const (
	// ModeVerifyOtherUser (0x00): verifying another user with cross-signing.
	// key1 is the displaying user's master signing key, key2 what the device
	// thinks the other user's master signing key is.
	ModeVerifyOtherUser Mode = 0x00
	// ModeSelfTrusted (0x01): self-verification where the displaying device
	// trusts the master signing key. key1 is the user's master signing key,
	// key2 what the device thinks the other device's Ed25519 key is.
	ModeSelfTrusted Mode = 0x01
	// ModeSelfUntrusted (0x02): self-verification where the displaying device
	// does not yet trust the master signing key. key1 is the displaying
	// device's Ed25519 key, key2 what it thinks the master signing key is.
	ModeSelfUntrusted Mode = 0x02
)

// Valid reports whether m is one of the three modes the spec defines.
func (m Mode) Valid() bool { return m <= ModeSelfUntrusted }

// String names the mode for humans.
func (m Mode) String() string {
	switch m {
	case ModeVerifyOtherUser:
		return "verify-other-user"
	case ModeSelfTrusted:
		return "self-trusted"
	case ModeSelfUntrusted:
		return "self-untrusted"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(m))
}

const (
	// Version is the only payload version byte this package reads or writes.
	Version byte = 0x02
	// MinSecretLen is the shortest shared secret accepted, in bytes. The spec
	// suggests "about 8 bytes"; anything shorter is refused (see
	// docs/verification.md).
	MinSecretLen = 8
	// MaxTransactionIDLen is the longest transaction ID the u16 length field
	// can carry, in bytes.
	MaxTransactionIDLen = 0xFFFF
	// KeyLen is the length of key1 and key2.
	KeyLen = 32
)

// prefix is the ASCII magic that starts every payload.
const prefix = "MATRIX"

// headerLen is the length of prefix, version, mode and the u16 ID length.
const headerLen = len(prefix) + 1 + 1 + 2

// Errors returned (wrapped, with context) by Encode, Decode and the renderers.
// Test for them with errors.Is.
var (
	// ErrEmpty: the payload has no bytes at all.
	ErrEmpty = errors.New("qr: empty payload")
	// ErrBadPrefix: the payload does not start with "MATRIX".
	ErrBadPrefix = errors.New("qr: payload does not start with MATRIX")
	// ErrTruncatedHeader: the payload ends inside the prefix, version, mode or
	// length field.
	ErrTruncatedHeader = errors.New("qr: payload truncated in header")
	// ErrBadVersion: the version byte is not 0x02.
	ErrBadVersion = errors.New("qr: unsupported payload version")
	// ErrUnknownMode: the mode byte is not 0x00, 0x01 or 0x02.
	ErrUnknownMode = errors.New("qr: unknown verification mode")
	// ErrTruncatedID: the payload ends inside the transaction ID.
	ErrTruncatedID = errors.New("qr: payload truncated in transaction ID")
	// ErrEmptyID: the transaction ID has length zero.
	ErrEmptyID = errors.New("qr: empty transaction ID")
	// ErrIDNotUTF8: the transaction ID is not valid UTF-8.
	ErrIDNotUTF8 = errors.New("qr: transaction ID is not valid UTF-8")
	// ErrIDTooLong: the transaction ID does not fit the u16 length field.
	ErrIDTooLong = errors.New("qr: transaction ID longer than 65535 bytes")
	// ErrTruncatedKey: the payload ends inside key1 or key2.
	ErrTruncatedKey = errors.New("qr: payload truncated in keys")
	// ErrSecretTooShort: the shared secret is shorter than MinSecretLen.
	ErrSecretTooShort = errors.New("qr: shared secret shorter than 8 bytes")
	// ErrImageSize: a requested image size is out of range.
	ErrImageSize = errors.New("qr: image size out of range")
	// ErrRender: the QR code library could not build a symbol (for example the
	// payload is too large for any QR version).
	ErrRender = errors.New("qr: cannot render QR code")
	// ErrImage: the image could not be read as a PNG.
	ErrImage = errors.New("qr: cannot read image")
	// ErrNoCode: no readable QR code was found in the image.
	ErrNoCode = errors.New("qr: no QR code found in image")
	// ErrNotSingleByteSegment: the QR code does not carry exactly one
	// byte-mode segment, as the spec requires.
	ErrNotSingleByteSegment = errors.New("qr: QR code does not hold exactly one byte segment")
)

// Code is a decoded QR verification payload.
type Code struct {
	// Mode is the verification mode.
	Mode Mode
	// TransactionID is the transaction_id (or event ID) of the verification
	// request; non-empty UTF-8, at most 65535 bytes.
	TransactionID string
	// Key1 is the first key; its meaning depends on Mode.
	Key1 [KeyLen]byte
	// Key2 is the second key; its meaning depends on Mode.
	Key2 [KeyLen]byte
	// Secret is the shared secret, at least MinSecretLen bytes.
	Secret []byte
}

// validate checks the fields that Encode and Decode both constrain.
func (c Code) validate() error {
	if !c.Mode.Valid() {
		return fmt.Errorf("mode 0x%02x: %w", byte(c.Mode), ErrUnknownMode)
	}
	if c.TransactionID == "" {
		return ErrEmptyID
	}
	if len(c.TransactionID) > MaxTransactionIDLen {
		return fmt.Errorf("transaction ID of %d bytes: %w", len(c.TransactionID), ErrIDTooLong)
	}
	if !utf8.ValidString(c.TransactionID) {
		return ErrIDNotUTF8
	}
	if len(c.Secret) < MinSecretLen {
		return fmt.Errorf("secret of %d bytes: %w", len(c.Secret), ErrSecretTooShort)
	}
	return nil
}

// Encode returns the binary segment for c. It refuses an unknown mode, an
// empty, non-UTF-8 or over-long transaction ID, and a secret shorter than
// MinSecretLen.
func (c Code) Encode() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("qr encode: %w", err)
	}
	out := make([]byte, 0, headerLen+len(c.TransactionID)+2*KeyLen+len(c.Secret))
	out = append(out, prefix...)
	out = append(out, Version, byte(c.Mode))
	out = binary.BigEndian.AppendUint16(out, uint16(len(c.TransactionID)))
	out = append(out, c.TransactionID...)
	out = append(out, c.Key1[:]...)
	out = append(out, c.Key2[:]...)
	out = append(out, c.Secret...)
	return out, nil
}

// Decode parses a binary segment. The returned Code does not alias b.
func Decode(b []byte) (Code, error) {
	var c Code
	if len(b) == 0 {
		return c, fmt.Errorf("qr decode: %w", ErrEmpty)
	}
	n := min(len(b), len(prefix))
	if !bytes.Equal(b[:n], []byte(prefix[:n])) {
		return c, fmt.Errorf("qr decode: first bytes %x: %w", b[:n], ErrBadPrefix)
	}
	if len(b) < headerLen {
		return c, fmt.Errorf("qr decode: %d bytes, header needs %d: %w", len(b), headerLen, ErrTruncatedHeader)
	}
	if v := b[len(prefix)]; v != Version {
		return c, fmt.Errorf("qr decode: version 0x%02x: %w", v, ErrBadVersion)
	}
	c.Mode = Mode(b[len(prefix)+1])
	if !c.Mode.Valid() {
		return Code{}, fmt.Errorf("qr decode: mode 0x%02x: %w", byte(c.Mode), ErrUnknownMode)
	}
	idLen := int(binary.BigEndian.Uint16(b[len(prefix)+2:]))
	rest := b[headerLen:]
	if idLen == 0 {
		return Code{}, fmt.Errorf("qr decode: %w", ErrEmptyID)
	}
	if len(rest) < idLen {
		return Code{}, fmt.Errorf("qr decode: ID length %d, %d bytes left: %w", idLen, len(rest), ErrTruncatedID)
	}
	id := rest[:idLen]
	if !utf8.Valid(id) {
		return Code{}, fmt.Errorf("qr decode: %w", ErrIDNotUTF8)
	}
	c.TransactionID = string(id)
	rest = rest[idLen:]
	if len(rest) < 2*KeyLen {
		return Code{}, fmt.Errorf("qr decode: %d bytes left for two %d-byte keys: %w", len(rest), KeyLen, ErrTruncatedKey)
	}
	copy(c.Key1[:], rest[:KeyLen])
	copy(c.Key2[:], rest[KeyLen:2*KeyLen])
	rest = rest[2*KeyLen:]
	if len(rest) < MinSecretLen {
		return Code{}, fmt.Errorf("qr decode: secret of %d bytes: %w", len(rest), ErrSecretTooShort)
	}
	c.Secret = bytes.Clone(rest)
	return c, nil
}
