// Package sas computes the values of Matrix Short Authentication String (SAS)
// verification (spec: client-server API, end-to-end encryption, "Short
// Authentication String (SAS) verification"): the HKDF-derived SAS bytes and
// their emoji and decimal renderings, the MACs of keys and of key-ID lists
// (methods hkdf-hmac-sha256.v2 and the deprecated hkdf-hmac-sha256), and the
// info strings these derivations are bound to.
//
// The package is pure: it does no ECDH (callers pass the shared secret they
// agreed with curve25519-hkdf-sha256), keeps no transaction state, sends and
// parses no m.key.verification.* events, and does not decide which keys to
// trust. It only computes and compares.
package sas

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MAC methods (the message_authentication_code of m.key.verification.accept).
const (
	// MethodHKDFHMACSHA256V2 is "hkdf-hmac-sha256.v2": HMAC-SHA-256 keyed by
	// HKDF-SHA-256(shared secret, no salt, info, 32 bytes), unpadded base64.
	MethodHKDFHMACSHA256V2 = "hkdf-hmac-sha256.v2"
	// MethodHKDFHMACSHA256 is the deprecated "hkdf-hmac-sha256": the same MAC
	// written with libolm's broken in-place base64 encoding. Use it only to
	// talk to peers that offer nothing else.
	MethodHKDFHMACSHA256 = "hkdf-hmac-sha256"
)

const (
	// macInfoPrefix starts the HKDF info of every MAC.
	macInfoPrefix = "MATRIX_KEY_VERIFICATION_MAC"
	// sasInfoPrefix starts the HKDF info of the SAS bytes
	// (key agreement curve25519-hkdf-sha256).
	sasInfoPrefix = "MATRIX_KEY_VERIFICATION_SAS|"
	// KeyIDsInfoSuffix replaces the key ID in the info of the key-ID list MAC.
	KeyIDsInfoSuffix = "KEY_IDS"
	// SASBytesLen is the number of bytes SASBytes derives: 42 bits of emoji,
	// of which the decimal method uses the first 39.
	SASBytesLen = 6
	// macKeyLen is the HMAC key length derived by HKDF.
	macKeyLen = 32
	// curve25519KeyLen is the length of the ephemeral public keys in the SAS info.
	curve25519KeyLen = 32
)

// Errors returned (wrapped, with context) by this package; test with errors.Is.
var (
	// ErrUnknownMethod: the MAC method is not one this package implements.
	ErrUnknownMethod = errors.New("sas: unknown MAC method")
	// ErrMACMismatch: a received MAC does not match the one computed.
	ErrMACMismatch = errors.New("sas: MAC mismatch")
	// ErrEmptyField: a user ID, device ID, transaction ID or key ID that goes
	// into an info string is empty.
	ErrEmptyField = errors.New("sas: empty identifier")
	// ErrBadKeyID: a key ID is not of the form algorithm:id, or contains a
	// comma (which would make the key-ID list ambiguous).
	ErrBadKeyID = errors.New("sas: malformed key ID")
	// ErrDuplicateKeyID: the same key ID appears twice in a key-ID list.
	ErrDuplicateKeyID = errors.New("sas: duplicate key ID")
	// ErrBadPublicKey: an ephemeral public key is not 32 bytes.
	ErrBadPublicKey = errors.New("sas: ephemeral public key must be 32 bytes")
	// ErrShortSASBytes: too few SAS bytes for the requested rendering.
	ErrShortSASBytes = errors.New("sas: too few SAS bytes")
	// ErrEmptySecret: the shared secret is empty.
	ErrEmptySecret = errors.New("sas: empty shared secret")
	// ErrBadMACEncoding: a received MAC is not valid base64 of the right length.
	ErrBadMACEncoding = errors.New("sas: malformed MAC encoding")
)

// HKDF derives n bytes with HKDF-SHA-256 (RFC 5869) from the shared secret,
// with no salt and the given info, as every SAS derivation does.
func HKDF(sharedSecret []byte, info string, n int) ([]byte, error) {
	if len(sharedSecret) == 0 {
		return nil, fmt.Errorf("sas hkdf: %w", ErrEmptySecret)
	}
	out, err := hkdf.Key(sha256.New, sharedSecret, nil, info, n)
	if err != nil {
		return nil, fmt.Errorf("sas hkdf: %d bytes: %w", n, err)
	}
	return out, nil
}

// rawMAC is HMAC-SHA-256(HKDF(sharedSecret, info, 32), input).
func rawMAC(sharedSecret []byte, info, input string) ([]byte, error) {
	key, err := HKDF(sharedSecret, info, macKeyLen)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(input))
	return h.Sum(nil), nil
}

// MAC computes the MAC of input under method and returns it in the encoding
// that goes into m.key.verification.mac: unpadded base64 for
// hkdf-hmac-sha256.v2, libolm's broken base64 for hkdf-hmac-sha256.
func MAC(method string, sharedSecret []byte, info, input string) (string, error) {
	switch method {
	case MethodHKDFHMACSHA256V2, MethodHKDFHMACSHA256:
	default:
		return "", fmt.Errorf("sas mac: %q: %w", method, ErrUnknownMethod)
	}
	sum, err := rawMAC(sharedSecret, info, input)
	if err != nil {
		return "", fmt.Errorf("sas mac: %w", err)
	}
	if method == MethodHKDFHMACSHA256 {
		return libolmInPlaceBase64(sum), nil
	}
	return base64.RawStdEncoding.EncodeToString(sum), nil
}

// VerifyMAC recomputes the MAC of input and compares it with mac in constant
// time. It returns nil on a match, an error wrapping ErrMACMismatch otherwise.
// For hkdf-hmac-sha256.v2 the received MAC may carry base64 padding, which
// the spec asks receivers to tolerate.
func VerifyMAC(method string, sharedSecret []byte, info, input, mac string) error {
	want, err := MAC(method, sharedSecret, info, input)
	if err != nil {
		return fmt.Errorf("sas verify: %w", err)
	}
	switch method {
	case MethodHKDFHMACSHA256V2:
		// Strict decoding: the unused low bits of the last character must be
		// zero and padding, if any, must be exact, so that only the one
		// unpadded and the one padded string are accepted.
		// Go's decoder skips '\r' and '\n' even in strict mode, so they
		// are refused first.
		if strings.ContainsAny(mac, "\r\n") {
			return fmt.Errorf("sas verify: %w", ErrBadMACEncoding)
		}
		enc := base64.RawStdEncoding.Strict()
		if strings.HasSuffix(mac, "=") {
			enc = base64.StdEncoding.Strict()
		}
		got, err := enc.DecodeString(mac)
		if err != nil || len(got) != sha256.Size {
			return fmt.Errorf("sas verify: %w", ErrBadMACEncoding)
		}
		wantRaw, err := base64.RawStdEncoding.DecodeString(want)
		if err != nil {
			return fmt.Errorf("sas verify: %w", err)
		}
		if !hmac.Equal(got, wantRaw) {
			return fmt.Errorf("sas verify: %w", ErrMACMismatch)
		}
	default:
		// The legacy encoding is not real base64: compare the strings.
		if !hmac.Equal([]byte(mac), []byte(want)) {
			return fmt.Errorf("sas verify: %w", ErrMACMismatch)
		}
	}
	return nil
}

// stdAlphabet is the standard base64 alphabet (RFC 4648 section 4).
const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// libolmInPlaceBase64 reproduces the output of libolm's hkdf-hmac-sha256 MAC,
// which base64-encoded the MAC into the buffer that held it: each group of
// four output characters overwrites input bytes that later groups still read.
// It simulates that overlap on one buffer: read three bytes at 3k, write four
// characters at 4k, then the two-byte tail as three characters, unpadded.
func libolmInPlaceBase64(in []byte) string {
	outLen := (len(in)*8 + 5) / 6
	buf := make([]byte, max(outLen, len(in)))
	copy(buf, in)
	full := len(in) / 3 * 3
	r, w := 0, 0
	for ; r < full; r, w = r+3, w+4 {
		v := uint32(buf[r])<<16 | uint32(buf[r+1])<<8 | uint32(buf[r+2])
		buf[w] = stdAlphabet[v>>18&0x3f]
		buf[w+1] = stdAlphabet[v>>12&0x3f]
		buf[w+2] = stdAlphabet[v>>6&0x3f]
		buf[w+3] = stdAlphabet[v&0x3f]
	}
	switch len(in) - full {
	case 1:
		v := uint32(buf[r]) << 4
		buf[w] = stdAlphabet[v>>6&0x3f]
		buf[w+1] = stdAlphabet[v&0x3f]
	case 2:
		v := (uint32(buf[r])<<8 | uint32(buf[r+1])) << 2
		buf[w] = stdAlphabet[v>>12&0x3f]
		buf[w+1] = stdAlphabet[v>>6&0x3f]
		buf[w+2] = stdAlphabet[v&0x3f]
	}
	return string(buf[:outLen])
}

// MACContext names the two ends of a verification, as seen by the device that
// sends the MAC. The spec's MAC info is
//
//	MATRIX_KEY_VERIFICATION_MAC | user whose key is MACed | sending device |
//	other user | receiving device | transaction ID | key ID (or KEY_IDS)
//
// concatenated with no separators.
type MACContext struct {
	// UserID is the Matrix ID of the user whose key is being MACed (the
	// sender's own user).
	UserID string
	// DeviceID is the device sending the MAC.
	DeviceID string
	// OtherUserID is the Matrix ID of the other user.
	OtherUserID string
	// OtherDeviceID is the device receiving the MAC.
	OtherDeviceID string
	// TransactionID is the verification's transaction_id (or request event ID).
	TransactionID string
}

// Reverse returns the context as the receiving device sees it: use it to
// check a MAC received from the other device.
func (c MACContext) Reverse() MACContext {
	return MACContext{
		UserID:        c.OtherUserID,
		DeviceID:      c.OtherDeviceID,
		OtherUserID:   c.UserID,
		OtherDeviceID: c.DeviceID,
		TransactionID: c.TransactionID,
	}
}

// check refuses empty identifiers: they make the separator-free info
// concatenation even easier to confuse.
func (c MACContext) check() error {
	for _, f := range []struct{ name, v string }{
		{"user ID", c.UserID}, {"device ID", c.DeviceID},
		{"other user ID", c.OtherUserID}, {"other device ID", c.OtherDeviceID},
		{"transaction ID", c.TransactionID},
	} {
		if f.v == "" {
			return fmt.Errorf("%s: %w", f.name, ErrEmptyField)
		}
	}
	return nil
}

// checkKeyID accepts algorithm:id with neither part empty and no comma.
func checkKeyID(keyID string) error {
	alg, id, ok := strings.Cut(keyID, ":")
	if !ok || alg == "" || id == "" || strings.Contains(keyID, ",") {
		return fmt.Errorf("%q: %w", keyID, ErrBadKeyID)
	}
	return nil
}

// KeyInfo returns the HKDF info for the MAC of the key keyID
// (algorithm:id, e.g. "ed25519:DEVICEID").
func (c MACContext) KeyInfo(keyID string) (string, error) {
	if err := c.check(); err != nil {
		return "", fmt.Errorf("sas key info: %w", err)
	}
	if err := checkKeyID(keyID); err != nil {
		return "", fmt.Errorf("sas key info: %w", err)
	}
	return c.prefix() + keyID, nil
}

// KeyIDsInfo returns the HKDF info for the MAC of the key-ID list.
func (c MACContext) KeyIDsInfo() (string, error) {
	if err := c.check(); err != nil {
		return "", fmt.Errorf("sas key IDs info: %w", err)
	}
	return c.prefix() + KeyIDsInfoSuffix, nil
}

func (c MACContext) prefix() string {
	return macInfoPrefix + c.UserID + c.DeviceID + c.OtherUserID + c.OtherDeviceID + c.TransactionID
}

// KeyIDList returns the key IDs sorted lexicographically (by bytes) and
// joined with commas, the input of the key-ID list MAC. ids is not modified.
func KeyIDList(ids []string) string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	return strings.Join(sorted, ",")
}

// MACKey computes the MAC of one public key: keyID is algorithm:id and key
// its encoding per the key algorithm (unpadded base64 for ed25519).
func MACKey(method string, sharedSecret []byte, c MACContext, keyID, key string) (string, error) {
	info, err := c.KeyInfo(keyID)
	if err != nil {
		return "", err
	}
	return MAC(method, sharedSecret, info, key)
}

// MACKeyIDs computes the MAC of the list of key IDs being verified. It
// refuses malformed or duplicated key IDs: a receiver rebuilds the list from
// the keys of the mac object, where duplicates cannot exist.
func MACKeyIDs(method string, sharedSecret []byte, c MACContext, keyIDs []string) (string, error) {
	info, err := c.KeyIDsInfo()
	if err != nil {
		return "", err
	}
	seen := make(map[string]bool, len(keyIDs))
	for _, id := range keyIDs {
		if err := checkKeyID(id); err != nil {
			return "", fmt.Errorf("sas key IDs: %w", err)
		}
		if seen[id] {
			return "", fmt.Errorf("sas key IDs: %q: %w", id, ErrDuplicateKeyID)
		}
		seen[id] = true
	}
	return MAC(method, sharedSecret, info, KeyIDList(keyIDs))
}

// MasterKeyID returns the key ID and the MAC input for a master signing
// public key MACed as a device whose ID is the key itself:
// "ed25519:<unpadded base64>" and "<unpadded base64>".
func MasterKeyID(masterPublicKey []byte) (keyID, key string) {
	key = base64.RawStdEncoding.EncodeToString(masterPublicKey)
	return "ed25519:" + key, key
}

// MACMasterKey computes the MAC of a master signing public key (32 bytes),
// treated as a device whose ID is its unpadded base64 encoding. It returns
// the key ID to use in the mac object along with the MAC.
func MACMasterKey(method string, sharedSecret []byte, c MACContext, masterPublicKey []byte) (keyID, mac string, err error) {
	if len(masterPublicKey) != 32 {
		return "", "", fmt.Errorf("sas master key: %d bytes, want 32: %w", len(masterPublicKey), ErrBadKeyID)
	}
	keyID, key := MasterKeyID(masterPublicKey)
	mac, err = MACKey(method, sharedSecret, c, keyID, key)
	if err != nil {
		return "", "", err
	}
	return keyID, mac, nil
}
