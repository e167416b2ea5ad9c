package backup

import (
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"vouch/canonicaljson"
	"vouch/keys"
	"vouch/signedjson"
)

// SigningKey is the backup signing key of seed 003: an ed25519 private key,
// held as its 32-byte seed. The seed, in unpadded base64, is what secret
// storage keeps under SigningKeySecretName.
//
// Its String, GoString and Format methods redact the key; call Encode only
// when the user asked to store or see it.
type SigningKey [ed25519.SeedSize]byte

// SigningPublicKey is the public half of a backup signing key, published in
// auth_data (unpadded base64) and used as the key ID of session signatures.
type SigningPublicKey [ed25519.PublicKeySize]byte

// GenerateSigningKey returns a new random backup signing key read from rand
// (nil means crypto/rand.Reader).
func GenerateSigningKey(rand io.Reader) (SigningKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var k SigningKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return SigningKey{}, fmt.Errorf("backup: generating signing key: %w", err)
	}
	return k, nil
}

// ParseSigningKey decodes a backup signing key from its base64 seed, the
// form stored in secret storage (unpadded; padded input is accepted; no
// whitespace; exactly 32 bytes).
func ParseSigningKey(s string) (SigningKey, error) {
	b, err := decodeSessionDataBase64(s)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: seed: %w", ErrSigningKeyInvalid, err)
	}
	defer clear(b)
	if len(b) != ed25519.SeedSize {
		return SigningKey{}, fmt.Errorf("%w: seed is %d bytes, want %d", ErrSigningKeyInvalid, len(b), ed25519.SeedSize)
	}
	return SigningKey(b), nil
}

// Encode returns the seed as unpadded base64, the secret-storage form. Only
// call it when the key is to be stored or the user asked to see it.
func (k SigningKey) Encode() string { return base64.RawStdEncoding.EncodeToString(k[:]) }

// PublicKey returns the public half of k.
func (k SigningKey) PublicKey() SigningPublicKey {
	priv := ed25519.NewKeyFromSeed(k[:])
	defer clear(priv)
	return SigningPublicKey(priv[ed25519.SeedSize:])
}

// String redacts the key; use Encode to get its value.
func (k SigningKey) String() string { return "backup.SigningKey(REDACTED)" }

// GoString redacts the key; use Encode to get its value.
func (k SigningKey) GoString() string { return k.String() }

// Format redacts the key for every fmt verb.
func (k SigningKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// ParseSigningPublicKey decodes a backup signing public key (base64,
// unpadded or padded, 32 bytes).
func ParseSigningPublicKey(s string) (SigningPublicKey, error) {
	b, err := decodeSessionDataBase64(s)
	if err != nil {
		return SigningPublicKey{}, fmt.Errorf("%w: public key: %w", ErrSigningKeyInvalid, err)
	}
	if len(b) != ed25519.PublicKeySize {
		return SigningPublicKey{}, fmt.Errorf("%w: public key is %d bytes, want %d", ErrSigningKeyInvalid, len(b), ed25519.PublicKeySize)
	}
	return SigningPublicKey(b), nil
}

// Encode returns p as unpadded base64.
func (p SigningPublicKey) Encode() string { return base64.RawStdEncoding.EncodeToString(p[:]) }

// String returns p as unpadded base64.
func (p SigningPublicKey) String() string { return p.Encode() }

// KeyID returns "ed25519:<unpadded base64 public key>", the key ID of
// session signatures (seed 003: "using the public key ... as the key ID").
func (p SigningPublicKey) KeyID() string { return "ed25519:" + p.Encode() }

// AuthDataSigner is one key that signs auth_data: the user's master signing
// key or one of the user's devices. Build it with MasterSigner or
// DeviceSigner.
type AuthDataSigner struct {
	keyID string
	priv  ed25519.PrivateKey
}

// MasterSigner signs auth_data with the user's master signing key (key ID
// "ed25519:<master public key>"). priv is a 64-byte ed25519 private key.
func MasterSigner(priv ed25519.PrivateKey) AuthDataSigner {
	if len(priv) != ed25519.PrivateKeySize {
		return AuthDataSigner{priv: priv}
	}
	pub := priv.Public().(ed25519.PublicKey)
	return AuthDataSigner{keyID: "ed25519:" + signedjson.EncodeBase64(pub), priv: priv}
}

// DeviceSigner signs auth_data with the ed25519 key of the user's device
// deviceID (key ID "ed25519:<device ID>").
func DeviceSigner(deviceID string, priv ed25519.PrivateKey) AuthDataSigner {
	return AuthDataSigner{keyID: "ed25519:" + deviceID, priv: priv}
}

// SignAuthData signs authData as userID with each signer in turn and
// returns the signed object in canonical JSON. authData must pass
// ParseAuthData (so an ambiguous or malformed auth_data is never signed).
// Existing signatures are kept.
func SignAuthData(authData []byte, userID string, signers ...AuthDataSigner) ([]byte, error) {
	if _, err := keys.ParseUserID(userID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserID, err)
	}
	if _, err := ParseAuthData(authData); err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("%w: no signer given", ErrSigningKeyInvalid)
	}
	out := authData
	for _, s := range signers {
		if len(s.priv) != ed25519.PrivateKeySize || s.keyID == "" || s.keyID == "ed25519:" {
			return nil, fmt.Errorf("%w: auth_data signer %q", ErrSigningKeyInvalid, s.keyID)
		}
		signed, err := signedjson.Sign(out, userID, s.keyID, s.priv)
		if err != nil {
			return nil, fmt.Errorf("backup: signing auth_data with %s: %w", s.keyID, err)
		}
		out = signed
	}
	return out, nil
}

// Provenance is how the client that uploads a session came to hold it. It
// decides the session's authenticated flag: seed 003 sets it true only
// when a) the key came in an Olm-encrypted m.room_key from sender_key
// (OlmRoomKey), b) it came by a trusted key forward, MSC3879
// (TrustedForward), or c) it was restored from a backup, marked
// authenticated and signed by a trusted key (AuthenticatedBackup: use
// RestoredSession.Provenance rather than asserting it by hand). The zero
// value is Unauthenticated, and so is every value not listed.
type Provenance int

// The provenances of a room key.
const (
	// Unauthenticated: anything else (untrusted forward, unsigned or
	// untrusted backup, key import, unknown). authenticated=false.
	Unauthenticated Provenance = iota
	// OlmRoomKey: received in an Olm-encrypted m.room_key event from the
	// sender_key device.
	OlmRoomKey
	// TrustedForward: received via a trusted key forward (MSC3879).
	TrustedForward
	// AuthenticatedBackup: restored from a backup with the flag true and a
	// valid signature by a trusted backup signing key.
	AuthenticatedBackup
)

// Authenticated reports whether p is one of the seed's three conditions.
func (p Provenance) Authenticated() bool {
	switch p {
	case OlmRoomKey, TrustedForward, AuthenticatedBackup:
		return true
	}
	return false
}

// String names p.
func (p Provenance) String() string {
	switch p {
	case Unauthenticated:
		return "unauthenticated"
	case OlmRoomKey:
		return "olm_room_key"
	case TrustedForward:
		return "trusted_forward"
	case AuthenticatedBackup:
		return "authenticated_backup"
	}
	return fmt.Sprintf("provenance(%d)", int(p))
}

// caseFoldedMember returns the BackedUpSession member (one that
// ParseBackedUpSession reads) whose name equals name only after case
// folding, if there is one.
func caseFoldedMember(name string) (string, bool) {
	known := [...]string{
		"algorithm", "forwarding_curve25519_key_chain", "sender_claimed_keys",
		"sender_key", "session_key", "shared_history", AuthenticatedField,
		UnstableAuthenticatedField, "signatures",
	}
	for _, k := range known {
		if name != k && strings.EqualFold(name, k) {
			return k, true
		}
	}
	return "", false
}

// strictSession parses a session plaintext so that nothing in it can steer
// the parse: ParseBackedUpSession (size, UTF-8, no duplicate names at any
// depth, required members typed), canonical JSON (what signatures cover),
// and no top-level member whose name folds to a known member's name
// without being it (encoding/json would take it for that member). It
// returns the parsed session and the top-level members of the canonical
// form.
func strictSession(plaintext []byte) (*BackedUpSession, map[string]json.RawMessage, error) {
	s, err := ParseBackedUpSession(plaintext)
	if err != nil {
		return nil, nil, err
	}
	canon, err := canonicaljson.Canonicalize(plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBackedUpSessionInvalid, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(canon, &members); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBackedUpSessionInvalid, err)
	}
	for name := range members {
		if known, ok := caseFoldedMember(name); ok {
			return nil, nil, fmt.Errorf("%w: %q looks like %q", ErrFieldNameCase, name, known)
		}
	}
	return s, members, nil
}

// SignSession returns session (a BackedUpSession plaintext) signed with the
// backup signing key key as userID, in canonical JSON, ready for Encrypt.
//
// The authenticated flag is written as UnstableAuthenticatedField, true
// exactly when prov.Authenticated(); any final-name "authenticated" member
// and any earlier "signatures" are removed first (they described another
// writer's claim). The signature's entity is the user's own user ID and its
// key ID is SigningPublicKey.KeyID (docs/msc4048.md, decision 2). Unknown
// members are kept and signed.
func SignSession(session []byte, userID string, key SigningKey, prov Provenance) ([]byte, error) {
	if _, err := keys.ParseUserID(userID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserID, err)
	}
	_, members, err := strictSession(session)
	if err != nil {
		return nil, err
	}
	delete(members, "signatures")
	delete(members, AuthenticatedField)
	members[UnstableAuthenticatedField] = json.RawMessage("false")
	if prov.Authenticated() {
		members[UnstableAuthenticatedField] = json.RawMessage("true")
	}
	obj, err := canonicaljson.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("backup: encoding session: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(key[:])
	defer clear(priv)
	pub := SigningPublicKey(priv[ed25519.SeedSize:])
	signed, err := signedjson.Sign(obj, userID, pub.KeyID(), priv)
	if err != nil {
		return nil, fmt.Errorf("backup: signing session: %w", err)
	}
	return signed, nil
}

// EncryptSignedSession signs session with SignSession and encrypts the
// result to the backup public key pub with Encrypt (fresh ephemeral key
// from rand, nil meaning crypto/rand.Reader). The result still carries the
// legacy mac for older clients, as seed 003 asks.
func EncryptSignedSession(pub PublicKey, session []byte, userID string, key SigningKey, prov Provenance, rand io.Reader) (EncryptedSessionData, error) {
	signed, err := SignSession(session, userID, key, prov)
	if err != nil {
		return EncryptedSessionData{}, err
	}
	return Encrypt(pub, signed, rand)
}
