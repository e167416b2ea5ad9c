// Package backup implements server-side room-key backups of Matrix
// end-to-end encryption (spec, client-server API, "Server-side key backups").
//
// A client that holds Megolm session keys can upload them, encrypted, to the
// user's homeserver, so that a new device of the same user can later download
// and decrypt them. The backup algorithm m.megolm_backup.v1.curve25519-aes-sha2
// encrypts every session to the backup's X25519 public key
// (auth_data.public_key); only holders of the matching private key (the
// "backup decryption key") can read the sessions back.
//
// The files sessiondata*.go hold the session_data cryptography: the key
// types (PrivateKey, PublicKey), Encrypt / Decrypt of the wire
// EncryptedSessionData, and the typed plaintext BackedUpSession. The MSC4048
// half of the package (signing auth_data and sessions with a backup signing
// key, and deciding which backed-up sessions to trust) lives in other files.
//
// Whether a backup's auth_data is trusted, and so whether a restored session
// counts as authenticated, is decided by TrustAuthData and OpenSession
// (authdata_trust.go, restore.go; docs/msc4048.md), never by Decrypt.
//
// What this package is not: it does not talk to a homeserver and it does not
// store anything. Decrypt only proves that the data decrypts under the key you hold;
// the legacy mac field does NOT authenticate the ciphertext (see Decrypt and
// docs/backup-mac.md): anyone who knows the (public) backup key can write a
// session that decrypts and passes every check here.
package backup

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Algorithm is the backup algorithm implemented by Encrypt and Decrypt, as it
// appears in a backup version's "algorithm" field.
const Algorithm = "m.megolm_backup.v1.curve25519-aes-sha2"

// MaxSessionCiphertextSize bounds the decoded ciphertext Decrypt accepts:
// 64 KiB. A Megolm session export is about 230 bytes, so a BackedUpSession is
// typically 600 bytes to 1 KiB of JSON; the limit leaves room for long
// forwarding chains and signatures while keeping a hostile server from making
// a client decrypt megabytes per key.
const MaxSessionCiphertextSize = 64 << 10

// MaxSessionPlaintextSize is the largest plaintext Encrypt accepts: one byte
// less than MaxSessionCiphertextSize, since PKCS#7 always adds 1 to 16 bytes.
const MaxSessionPlaintextSize = MaxSessionCiphertextSize - 1

// MaxEncryptedSessionDataSize bounds the JSON envelope accepted by
// ParseEncryptedSessionData (base64 ciphertext plus the other fields).
const MaxEncryptedSessionDataSize = 96 << 10

// legacyMACSize is the length of the truncated HMAC-SHA-256 in "mac".
const legacyMACSize = 8

// hkdf output layout (spec, "Backup algorithm", step 3).
const (
	sessionDataAESKeySize = 32
	sessionDataMACKeySize = 32
	sessionDataIVSize     = aes.BlockSize
	sessionDataKDFSize    = sessionDataAESKeySize + sessionDataMACKeySize + sessionDataIVSize
)

// Errors returned (wrapped with context) by the session_data functions.
// Test with errors.Is.
var (
	// ErrBackupKeyInvalid: a backup private or public key is not valid
	// base64 or not 32 bytes.
	ErrBackupKeyInvalid = errors.New("backup: invalid backup key")
	// ErrSessionDataMalformed: the session_data envelope is not a JSON
	// object with string fields, is too large, has duplicate keys, or lacks
	// ephemeral / ciphertext.
	ErrSessionDataMalformed = errors.New("backup: malformed session_data")
	// ErrEphemeralKeyInvalid: session_data.ephemeral is not base64 or not
	// 32 bytes.
	ErrEphemeralKeyInvalid = errors.New("backup: invalid ephemeral key")
	// ErrLowOrderKey: X25519 produced the all-zero shared secret, i.e. the
	// peer key (ephemeral or backup public key) is a low-order point.
	ErrLowOrderKey = errors.New("backup: low-order X25519 key (all-zero shared secret)")
	// ErrCiphertextInvalid: session_data.ciphertext is not base64, empty, or
	// not a whole number of AES blocks.
	ErrCiphertextInvalid = errors.New("backup: invalid ciphertext")
	// ErrCiphertextTooLarge: the ciphertext exceeds MaxSessionCiphertextSize.
	ErrCiphertextTooLarge = errors.New("backup: ciphertext too large")
	// ErrLegacyMACMismatch: session_data.mac is missing, not 8 bytes of
	// base64, or differs from the expected value. Usually the wrong backup
	// key, or a corrupted ephemeral key. See Decrypt.
	ErrLegacyMACMismatch = errors.New("backup: legacy mac missing or wrong (wrong backup key?)")
	// ErrSessionPadding: the decrypted data does not end in valid PKCS#7
	// padding. One error for every padding defect, on purpose.
	ErrSessionPadding = errors.New("backup: invalid padding (wrong key or tampered ciphertext)")
	// ErrPlaintextTooLarge: Encrypt was given more than
	// MaxSessionPlaintextSize bytes.
	ErrPlaintextTooLarge = errors.New("backup: plaintext too large")
	// ErrBackedUpSessionInvalid: a decrypted plaintext is not a valid
	// BackedUpSession (see ParseBackedUpSession).
	ErrBackedUpSessionInvalid = errors.New("backup: invalid backed-up session")
)

// EncryptedSessionData is the session_data object of a key backed up with
// m.megolm_backup.v1.curve25519-aes-sha2: the three strings are unpadded
// base64 when produced here; padded base64 is accepted by Decrypt.
type EncryptedSessionData struct {
	// Ephemeral is the sender's ephemeral X25519 public key.
	Ephemeral string `json:"ephemeral"`
	// Ciphertext is the AES-256-CBC encryption of the BackedUpSession JSON.
	Ciphertext string `json:"ciphertext"`
	// MAC is the legacy libolm mac: the first 8 bytes of HMAC-SHA-256 over
	// an EMPTY buffer. It does not cover the ciphertext.
	MAC string `json:"mac"`
}

// ParseEncryptedSessionData decodes a session_data JSON object. It refuses
// input over MaxEncryptedSessionDataSize, anything but a single JSON object,
// duplicate keys at any depth, and non-string ephemeral / ciphertext / mac
// values. Unknown members are ignored. Missing members are left empty and
// are reported by Decrypt.
func ParseEncryptedSessionData(data []byte) (EncryptedSessionData, error) {
	if len(data) > MaxEncryptedSessionDataSize {
		return EncryptedSessionData{}, fmt.Errorf("%w: %d bytes, limit %d", ErrSessionDataMalformed, len(data), MaxEncryptedSessionDataSize)
	}
	if err := checkSessionDataJSON(data); err != nil {
		return EncryptedSessionData{}, fmt.Errorf("%w: %w", ErrSessionDataMalformed, err)
	}
	var enc EncryptedSessionData
	if err := json.Unmarshal(data, &enc); err != nil {
		return EncryptedSessionData{}, fmt.Errorf("%w: %w", ErrSessionDataMalformed, err)
	}
	return enc, nil
}

// Encrypt encrypts plaintext (a BackedUpSession serialised as JSON) to the
// backup public key pub with a fresh ephemeral key read from rand (nil means
// crypto/rand.Reader), following the spec's "Backup algorithm:
// m.megolm_backup.v1.curve25519-aes-sha2" steps 2 to 5.
//
// Encrypt does not look at the plaintext; callers should pass JSON.
func Encrypt(pub PublicKey, plaintext []byte, rand io.Reader) (EncryptedSessionData, error) {
	eph, err := GenerateKey(rand)
	if err != nil {
		return EncryptedSessionData{}, fmt.Errorf("backup: ephemeral key: %w", err)
	}
	defer clear(eph[:])
	return EncryptWithEphemeralKey(pub, eph, plaintext)
}

// EncryptWithEphemeralKey is Encrypt with a caller-chosen ephemeral private
// key, which makes the output deterministic (used to reproduce test vectors).
//
// The ephemeral key determines the AES key AND the IV: reusing an ephemeral
// key for two plaintexts under the same backup key leaks their common prefix.
// Use a fresh key for every call; outside tests, call Encrypt.
func EncryptWithEphemeralKey(pub PublicKey, ephemeral PrivateKey, plaintext []byte) (EncryptedSessionData, error) {
	if len(plaintext) > MaxSessionPlaintextSize {
		return EncryptedSessionData{}, fmt.Errorf("%w: %d bytes, limit %d", ErrPlaintextTooLarge, len(plaintext), MaxSessionPlaintextSize)
	}
	x := ecdh.X25519()
	ephPriv, err := x.NewPrivateKey(ephemeral[:])
	if err != nil {
		return EncryptedSessionData{}, fmt.Errorf("%w: ephemeral: %w", ErrBackupKeyInvalid, err)
	}
	keys, err := deriveSessionDataKeys(ephPriv, pub[:])
	if err != nil {
		return EncryptedSessionData{}, fmt.Errorf("backup: encrypting to public key %s: %w", pub.Encode(), err)
	}
	defer keys.wipe()
	ct, err := keys.seal(plaintext)
	if err != nil {
		return EncryptedSessionData{}, err
	}
	return EncryptedSessionData{
		Ephemeral:  base64.RawStdEncoding.EncodeToString(ephPriv.PublicKey().Bytes()),
		Ciphertext: base64.RawStdEncoding.EncodeToString(ct),
		MAC:        base64.RawStdEncoding.EncodeToString(keys.legacyMAC()),
	}, nil
}

// Decrypt decrypts enc with the backup private key priv and returns the
// plaintext (normally BackedUpSession JSON; see ParseBackedUpSession).
//
// Checks, in order: ephemeral is strict base64 of 32 bytes; ciphertext is
// strict base64, at most MaxSessionCiphertextSize bytes, non-empty and a
// multiple of 16; X25519 does not yield the all-zero secret; the legacy mac
// matches; the PKCS#7 padding is valid (pad length 1..16, every pad byte
// checked, one error for any defect).
//
// The legacy mac (spec, "Backup algorithm: m.megolm_backup.v1.curve25519-
// aes-sha2", step 5 and its warning) is HMAC-SHA-256 over an EMPTY buffer,
// truncated to 8 bytes. It depends only on the shared secret, so it proves
// that the writer used the backup public key we hold the private half of —
// nothing about the ciphertext, and nothing about who the writer was (the
// public key is public). Every conforming writer (libolm, vodozemac, the
// matrix SDKs) still produces it, and MSC4048 tells clients to keep
// producing it, so a missing or wrong mac means "wrong backup key or a
// damaged ephemeral/mac field": Decrypt refuses it with ErrLegacyMACMismatch
// before touching the ciphertext, which turns "garbage plaintext" into a
// clear error. It is compared with hmac.Equal. A modified ciphertext is NOT
// detected by the mac: it fails the padding check (ErrSessionPadding) when
// the last block is affected, and otherwise decrypts to altered plaintext.
// Authenticity of the content is the job of MSC4048 signatures, not of this
// function. See docs/backup-mac.md.
//
// Decrypt derives the X25519 public key of priv on every call (crypto/ecdh
// does so eagerly); to decrypt many sessions with one key, create a
// SessionDecrypter once instead.
func Decrypt(priv PrivateKey, enc EncryptedSessionData) ([]byte, error) {
	d, err := NewSessionDecrypter(priv)
	if err != nil {
		return nil, err
	}
	return d.Decrypt(enc)
}

// SessionDecrypter decrypts session_data with one backup private key,
// prepared once: use it to restore a whole backup. It is safe for
// concurrent use and holds a copy of the private key.
type SessionDecrypter struct {
	key *ecdh.PrivateKey
}

// NewSessionDecrypter prepares priv for repeated Decrypt calls.
func NewSessionDecrypter(priv PrivateKey) (*SessionDecrypter, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackupKeyInvalid, err)
	}
	return &SessionDecrypter{key: k}, nil
}

// Decrypt is the package-level Decrypt with the prepared key; it performs
// the same checks in the same order and returns the same errors.
func (d *SessionDecrypter) Decrypt(enc EncryptedSessionData) ([]byte, error) {
	if d == nil || d.key == nil {
		return nil, fmt.Errorf("%w: nil SessionDecrypter", ErrBackupKeyInvalid)
	}
	if enc.Ephemeral == "" {
		return nil, fmt.Errorf("%w: missing ephemeral", ErrSessionDataMalformed)
	}
	if enc.Ciphertext == "" {
		return nil, fmt.Errorf("%w: missing ciphertext", ErrSessionDataMalformed)
	}
	ephBytes, err := decodeSessionDataBase64(enc.Ephemeral)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEphemeralKeyInvalid, err)
	}
	if len(ephBytes) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrEphemeralKeyInvalid, len(ephBytes), KeySize)
	}
	// Refuse before decoding so that an oversized field costs nothing.
	if len(enc.Ciphertext) > base64.StdEncoding.EncodedLen(MaxSessionCiphertextSize) {
		return nil, fmt.Errorf("%w: %d base64 characters, limit %d bytes", ErrCiphertextTooLarge, len(enc.Ciphertext), MaxSessionCiphertextSize)
	}
	ct, err := decodeSessionDataBase64(enc.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCiphertextInvalid, err)
	}
	if len(ct) > MaxSessionCiphertextSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrCiphertextTooLarge, len(ct), MaxSessionCiphertextSize)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrCiphertextInvalid, len(ct), aes.BlockSize)
	}
	if enc.MAC == "" {
		return nil, fmt.Errorf("%w: missing mac", ErrLegacyMACMismatch)
	}
	gotMAC, err := decodeSessionDataBase64(enc.MAC)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLegacyMACMismatch, err)
	}

	keys, err := deriveSessionDataKeys(d.key, ephBytes)
	if err != nil {
		return nil, fmt.Errorf("backup: ephemeral key %s: %w", enc.Ephemeral, err)
	}
	defer keys.wipe()
	// Spec section "Backup algorithm", step 5: the libolm-compatible mac.
	// hmac.Equal returns false for a length mismatch, in constant time for
	// equal lengths.
	if !hmac.Equal(gotMAC, keys.legacyMAC()) {
		return nil, ErrLegacyMACMismatch
	}
	return keys.open(ct)
}

// sessionDataKeys is the 80-byte HKDF output split per the spec.
type sessionDataKeys struct {
	okm []byte // aesKey | macKey | iv
}

func (k sessionDataKeys) aesKey() []byte { return k.okm[:sessionDataAESKeySize] }
func (k sessionDataKeys) macKey() []byte {
	return k.okm[sessionDataAESKeySize : sessionDataAESKeySize+sessionDataMACKeySize]
}
func (k sessionDataKeys) iv() []byte { return k.okm[sessionDataAESKeySize+sessionDataMACKeySize:] }
func (k sessionDataKeys) wipe()      { clear(k.okm) }

// deriveSessionDataKeys runs X25519(priv, peer) and HKDF-SHA-256 with a salt
// of 32 zero bytes and empty info, producing 80 bytes (spec steps 2 and 3).
func deriveSessionDataKeys(priv *ecdh.PrivateKey, peer []byte) (sessionDataKeys, error) {
	peerKey, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return sessionDataKeys{}, fmt.Errorf("%w: %w", ErrEphemeralKeyInvalid, err)
	}
	shared, err := priv.ECDH(peerKey)
	if err != nil {
		// crypto/ecdh refuses the all-zero X25519 output (RFC 7748,
		// section 6.1), which only a low-order peer point produces.
		return sessionDataKeys{}, fmt.Errorf("%w: %w", ErrLowOrderKey, err)
	}
	defer clear(shared)
	var salt [32]byte
	okm, err := hkdf.Key(sha256.New, shared, salt[:], "", sessionDataKDFSize)
	if err != nil {
		return sessionDataKeys{}, fmt.Errorf("backup: hkdf: %w", err)
	}
	return sessionDataKeys{okm: okm}, nil
}

// legacyMAC is HMAC-SHA-256(macKey, "") truncated to 8 bytes.
func (k sessionDataKeys) legacyMAC() []byte {
	m := hmac.New(sha256.New, k.macKey())
	return m.Sum(nil)[:legacyMACSize]
}

// seal pads plaintext with PKCS#7 and encrypts it with AES-256-CBC.
func (k sessionDataKeys) seal(plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(k.aesKey())
	if err != nil {
		return nil, fmt.Errorf("backup: aes: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	copy(buf[len(plaintext):], bytes.Repeat([]byte{byte(pad)}, pad))
	cipher.NewCBCEncrypter(block, k.iv()).CryptBlocks(buf, buf)
	return buf, nil
}

// open decrypts AES-256-CBC and strips strict PKCS#7 padding. ct must be a
// positive multiple of the block size (checked by the caller).
func (k sessionDataKeys) open(ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(k.aesKey())
	if err != nil {
		return nil, fmt.Errorf("backup: aes: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCiphertextInvalid, len(ct))
	}
	buf := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, k.iv()).CryptBlocks(buf, ct)
	n, ok := unpadPKCS7(buf)
	if !ok {
		clear(buf)
		return nil, ErrSessionPadding
	}
	return buf[:n], nil
}

// unpadPKCS7 returns the unpadded length of buf (a positive multiple of the
// block size) and whether the padding is valid. It examines the whole last
// block whatever the pad value, without data-dependent early exits, so the
// only observable result is valid / invalid.
func unpadPKCS7(buf []byte) (int, bool) {
	last := buf[len(buf)-aes.BlockSize:]
	pad := int(last[aes.BlockSize-1])
	bad := 0
	if pad == 0 || pad > aes.BlockSize {
		bad = 1
	}
	for i := range aes.BlockSize {
		// Byte i is a pad byte when i >= BlockSize-pad.
		inPad := 0
		if i >= aes.BlockSize-pad {
			inPad = 1
		}
		if int(last[i]) != pad {
			bad |= inPad
		}
	}
	if bad != 0 {
		return 0, false
	}
	return len(buf) - pad, true
}
