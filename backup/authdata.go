package backup

import (
	"encoding/json"
	"errors"
	"fmt"

	"vouch/canonicaljson"
	"vouch/signedjson"
)

// Member names of the signed key backup proposal (seed 003, "MSCxxxx:
// Signed key backup"). The seed asks for the unstable names until the
// proposal is accepted; vouch writes only the unstable names and reads both
// (docs/msc4048.md, decisions 1 and 4).
const (
	// UnstableSigningPublicKeyField is the auth_data member vouch writes
	// for the backup signing public key, exactly as the seed spells it.
	UnstableSigningPublicKeyField = "org.matrix.mscxxxx.signing_public_key"
	// SigningPublicKeyField is the final auth_data member name; read, never
	// written.
	SigningPublicKeyField = "signing_public_key"
	// UnstableAuthenticatedField is the SessionData member vouch writes for
	// the writer's "this key belongs to sender_key" claim.
	UnstableAuthenticatedField = "org.matrix.mscxxxx.authenticated"
	// AuthenticatedField is the final SessionData member name; read, never
	// written.
	AuthenticatedField = "authenticated"
	// SigningKeySecretName is the secret-storage name of the backup signing
	// private key (seed 003).
	SigningKeySecretName = "m.key_backup.signing"
)

// MaxAuthDataSize bounds the auth_data object ParseAuthData accepts. A real
// one is a public key, a signing key and a handful of signatures: well
// under 2 KiB.
const MaxAuthDataSize = 64 << 10

// Errors of the signed key backup half of the package (auth_data, signing,
// restoring, migrating). They are returned wrapped with context; test with
// errors.Is. The session_data errors live in sessiondata.go.
var (
	// ErrAuthDataMalformed: auth_data is not a JSON object acceptable to
	// canonical JSON, is too large, lacks public_key, or has a member of the
	// wrong type or a key of the wrong length.
	ErrAuthDataMalformed = errors.New("backup: malformed auth_data")
	// ErrAmbiguousSigningKey: auth_data names two different backup signing
	// keys under the unstable and the final member names.
	ErrAmbiguousSigningKey = errors.New("backup: auth_data names two different backup signing keys")
	// ErrAuthDataUntrusted: no trust path holds for auth_data (not signed by
	// the trusted master signing key nor by a verified own device, and the
	// caller's private key, if any, does not match public_key).
	ErrAuthDataUntrusted = errors.New("backup: auth_data is not trusted")
	// ErrSigningKeyInvalid: a backup signing key (seed or public key) is not
	// base64 of 32 bytes.
	ErrSigningKeyInvalid = errors.New("backup: invalid backup signing key")
	// ErrInvalidUserID: the user ID given for signing or verifying is not a
	// valid Matrix user ID.
	ErrInvalidUserID = errors.New("backup: invalid user ID")
	// ErrUserMismatch: a session is opened for another user than the one
	// whose auth_data trust was decided.
	ErrUserMismatch = errors.New("backup: user ID does not match the trusted auth_data")
	// ErrWrongBackupKey: the backup private key does not belong to the
	// auth_data's public_key.
	ErrWrongBackupKey = errors.New("backup: private key does not match auth_data public_key")
	// ErrFieldNameCase: the session plaintext has a member whose name
	// differs only in letter case from a BackedUpSession member. Go's
	// encoding/json matches names case-insensitively, so such a member
	// could steer the parsed value; it is refused.
	ErrFieldNameCase = errors.New("backup: member name differs from a known member only by case")
	// ErrMigration: the migration cannot go on (bad configuration or
	// checkpoint, or a misbehaving MigrationIO).
	ErrMigration = errors.New("backup: migration")
)

// AuthData is a parsed auth_data object of an
// m.megolm_backup.v1.curve25519-aes-sha2 backup version, with the seed 003
// backup signing public key. Parsing checks shape only: whether the
// signing key may be used is decided by TrustAuthData.
type AuthData struct {
	// PublicKey is auth_data.public_key, the X25519 key sessions are
	// encrypted to.
	PublicKey PublicKey
	// SigningKey is the backup signing public key, nil when auth_data names
	// none.
	SigningKey *SigningPublicKey
	// SigningKeyField is the member SigningKey was read from: the unstable
	// name when both names are present (with the same key), "" when none.
	SigningKeyField string
	// Signatures are auth_data's signed-JSON signatures, not verified.
	Signatures signedjson.Signatures
	// Raw is the object exactly as given; signatures are checked over it,
	// never over a re-encoding, so unknown members stay covered.
	Raw []byte
}

// NewAuthData returns the canonical JSON of a fresh, unsigned auth_data:
// public_key and, when signing is not nil, the backup signing public key
// under UnstableSigningPublicKeyField. Sign it with SignAuthData.
func NewAuthData(pub PublicKey, signing *SigningPublicKey) ([]byte, error) {
	m := map[string]string{"public_key": pub.Encode()}
	if signing != nil {
		m[UnstableSigningPublicKeyField] = signing.Encode()
	}
	out, err := canonicaljson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("backup: encoding auth_data: %w", err)
	}
	return out, nil
}

// ParseAuthData parses an auth_data object. It refuses input over
// MaxAuthDataSize, anything canonical JSON refuses (duplicate member names,
// floats, invalid UTF-8, trailing data), a missing or non-string
// public_key, keys that are not base64 of 32 bytes, a malformed signatures
// member, and — with ErrAmbiguousSigningKey — both signing key names naming
// different keys. Unknown members are kept in Raw (and so stay covered by
// signatures) and otherwise ignored.
func ParseAuthData(raw []byte) (*AuthData, error) {
	if len(raw) > MaxAuthDataSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrAuthDataMalformed, len(raw), MaxAuthDataSize)
	}
	canon, err := canonicaljson.Canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthDataMalformed, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(canon, &members); err != nil || members == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrAuthDataMalformed)
	}
	ad := &AuthData{Raw: raw}
	pkRaw, ok := members["public_key"]
	if !ok {
		return nil, fmt.Errorf("%w: missing public_key", ErrAuthDataMalformed)
	}
	var pk string
	if err := json.Unmarshal(pkRaw, &pk); err != nil || string(pkRaw) == "null" {
		return nil, fmt.Errorf("%w: public_key is not a string", ErrAuthDataMalformed)
	}
	if ad.PublicKey, err = ParsePublicKey(pk); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthDataMalformed, err)
	}
	unstable, err := authDataSigningKey(members, UnstableSigningPublicKeyField)
	if err != nil {
		return nil, err
	}
	final, err := authDataSigningKey(members, SigningPublicKeyField)
	if err != nil {
		return nil, err
	}
	switch {
	case unstable != nil && final != nil && *unstable != *final:
		return nil, fmt.Errorf("%w: %s=%s, %s=%s", ErrAmbiguousSigningKey,
			UnstableSigningPublicKeyField, unstable.Encode(), SigningPublicKeyField, final.Encode())
	case unstable != nil:
		ad.SigningKey, ad.SigningKeyField = unstable, UnstableSigningPublicKeyField
	case final != nil:
		ad.SigningKey, ad.SigningKeyField = final, SigningPublicKeyField
	}
	if ad.Signatures, err = signedjson.SignaturesOf(canon); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthDataMalformed, err)
	}
	return ad, nil
}

// authDataSigningKey reads one of the two signing key members: nil when
// absent, an error when present but not a string holding a 32-byte key.
func authDataSigningKey(members map[string]json.RawMessage, name string) (*SigningPublicKey, error) {
	raw, ok := members[name]
	if !ok {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || string(raw) == "null" {
		return nil, fmt.Errorf("%w: %s is not a string", ErrAuthDataMalformed, name)
	}
	k, err := ParseSigningPublicKey(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAuthDataMalformed, name, err)
	}
	return &k, nil
}
