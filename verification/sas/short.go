package sas

import (
	"encoding/base64"
	"fmt"
)

// The emoji table is generated from the spec's reference copy, which lives
// beside the repository rather than in it.
//go:generate go run gen_emoji.go ../../../shared/spec/matrix-spec/data-definitions/sas-emoji.json

// EmojiEntry is one row of the SAS emoji table.
type EmojiEntry struct {
	// Number is the 6-bit value, 0..63.
	Number int
	// Emoji is the emoji itself (some include U+FE0F).
	Emoji string
	// Description is the English name the spec gives the emoji.
	Description string
}

// EmojiTable returns a copy of the 64-entry SAS emoji table.
func EmojiTable() [64]EmojiEntry { return emojiTable }

// Party is one end of the SAS key agreement, as named in the SAS info.
type Party struct {
	// UserID is the Matrix user ID.
	UserID string
	// DeviceID is the device ID.
	DeviceID string
	// PublicKey is the 32-byte ephemeral Curve25519 public key the device sent
	// in m.key.verification.key.
	PublicKey []byte
}

func (p Party) check(role string) error {
	if p.UserID == "" {
		return fmt.Errorf("%s user ID: %w", role, ErrEmptyField)
	}
	if p.DeviceID == "" {
		return fmt.Errorf("%s device ID: %w", role, ErrEmptyField)
	}
	if len(p.PublicKey) != curve25519KeyLen {
		return fmt.Errorf("%s: %d bytes: %w", role, len(p.PublicKey), ErrBadPublicKey)
	}
	return nil
}

// SASInfo returns the HKDF info for the SAS bytes under the
// curve25519-hkdf-sha256 key agreement:
//
//	MATRIX_KEY_VERIFICATION_SAS|startUser|startDevice|startKey|acceptUser|acceptDevice|acceptKey|txn
//
// where start is the device that sent m.key.verification.start and accept
// the one that sent m.key.verification.accept. The deprecated curve25519 key
// agreement is not supported.
func SASInfo(start, accept Party, transactionID string) (string, error) {
	if err := start.check("start"); err != nil {
		return "", fmt.Errorf("sas info: %w", err)
	}
	if err := accept.check("accept"); err != nil {
		return "", fmt.Errorf("sas info: %w", err)
	}
	if transactionID == "" {
		return "", fmt.Errorf("sas info: transaction ID: %w", ErrEmptyField)
	}
	enc := base64.RawStdEncoding.EncodeToString
	return sasInfoPrefix +
		start.UserID + "|" + start.DeviceID + "|" + enc(start.PublicKey) + "|" +
		accept.UserID + "|" + accept.DeviceID + "|" + enc(accept.PublicKey) + "|" +
		transactionID, nil
}

// SASBytes derives the six SAS bytes from the shared secret and the SAS info.
func SASBytes(sharedSecret []byte, info string) ([]byte, error) {
	return HKDF(sharedSecret, info, SASBytesLen)
}

// Emoji splits the first 42 bits of sasBytes (at least 6 bytes) into seven
// 6-bit groups, most significant first, and looks each up in the emoji table.
func Emoji(sasBytes []byte) ([7]EmojiEntry, error) {
	var out [7]EmojiEntry
	if len(sasBytes) < 6 {
		return out, fmt.Errorf("sas emoji: %d bytes, need 6: %w", len(sasBytes), ErrShortSASBytes)
	}
	var v uint64
	for _, b := range sasBytes[:6] {
		v = v<<8 | uint64(b)
	}
	for i := range out {
		out[i] = emojiTable[(v>>(48-6*(i+1)))&0x3f]
	}
	return out, nil
}

// Decimals splits the first 39 bits of sasBytes (at least 5 bytes) into
// three 13-bit numbers and adds 1000 to each, giving values in 1000..9191.
func Decimals(sasBytes []byte) ([3]int, error) {
	var out [3]int
	if len(sasBytes) < 5 {
		return out, fmt.Errorf("sas decimals: %d bytes, need 5: %w", len(sasBytes), ErrShortSASBytes)
	}
	var v uint64
	for _, b := range sasBytes[:5] {
		v = v<<8 | uint64(b)
	}
	for i := range out {
		out[i] = int((v>>(40-13*(i+1)))&0x1fff) + 1000
	}
	return out, nil
}
