package keys

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"vouch/canonicaljson"
	"vouch/signedjson"
)

// Usage is the role of a cross-signing key, as written in its "usage" list.
type Usage string

// The cross-signing key usages.
const (
	// UsageMaster is the master signing key (MSK): the user's identity.
	UsageMaster Usage = "master"
	// UsageSelfSigning is the self-signing key (SSK): signs the user's devices.
	UsageSelfSigning Usage = "self_signing"
	// UsageUserSigning is the user-signing key (USK): privately signs other
	// users' master keys.
	UsageUserSigning Usage = "user_signing"
	// UsagePublicUserSigning is the MSC2882 public user-signing key (PUSK):
	// publicly signs other users' master or public user-signing keys.
	UsagePublicUserSigning Usage = "public-user"
)

// Valid reports whether u is one of the four usages.
func (u Usage) Valid() bool {
	switch u {
	case UsageMaster, UsageSelfSigning, UsageUserSigning, UsagePublicUserSigning:
		return true
	}
	return false
}

// CrossSigningKey is a user's public cross-signing key object.
type CrossSigningKey struct {
	UserID     string                `json:"user_id"`
	Usage      []Usage               `json:"usage"`
	Keys       map[string]string     `json:"keys"`
	Signatures signedjson.Signatures `json:"signatures,omitempty"`
	// Raw is the object exactly as parsed; signatures are checked over it.
	Raw []byte `json:"-"`

	pub    ed25519.PublicKey
	pubB64 string
}

// ParseCrossSigningKey decodes a cross-signing key object and checks its
// shape: a valid user_id, a non-empty usage list of known usages without
// repeats, and exactly one key, an ed25519 key whose ID is
// "ed25519:<its unpadded base64 public key>". It does not check signatures.
func ParseCrossSigningKey(raw []byte) (*CrossSigningKey, error) {
	var k CrossSigningKey
	if err := strictUnmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("%w: cross-signing key: %v", ErrMalformedKey, err)
	}
	k.Raw = raw
	if _, err := ParseUserID(k.UserID); err != nil {
		return nil, fmt.Errorf("%w: cross-signing key: %w", ErrMalformedKey, err)
	}
	if len(k.Usage) == 0 {
		return nil, fmt.Errorf("%w: cross-signing key: empty usage", ErrMalformedKey)
	}
	for i, u := range k.Usage {
		if !u.Valid() {
			return nil, fmt.Errorf("%w: cross-signing key: unknown usage %q", ErrMalformedKey, u)
		}
		if slices.Contains(k.Usage[:i], u) {
			return nil, fmt.Errorf("%w: cross-signing key: usage %q repeated", ErrMalformedKey, u)
		}
	}
	if len(k.Keys) != 1 {
		return nil, fmt.Errorf("%w: cross-signing key must have exactly one key, has %d", ErrMalformedKey, len(k.Keys))
	}
	for id, b64 := range k.Keys {
		alg, kid, ok := KeyID(id).Split()
		if !ok || alg != "ed25519" {
			return nil, fmt.Errorf("%w: cross-signing key ID %q is not ed25519:<key>", ErrInvalidKey, id)
		}
		if kid != b64 {
			return nil, fmt.Errorf("%w: cross-signing key ID %q does not name its key %q", ErrInvalidKey, id, b64)
		}
		pub, err := decodePublicKey(b64)
		if err != nil {
			return nil, err
		}
		// The ID must be the unpadded encoding of the key, byte for byte, so
		// that one key has exactly one ID.
		if signedjson.EncodeBase64(pub) != b64 {
			return nil, fmt.Errorf("%w: cross-signing key %q is not in unpadded base64", ErrInvalidKey, b64)
		}
		k.pub, k.pubB64 = pub, b64
	}
	return &k, nil
}

// PublicKey returns the key's ed25519 public key and its unpadded base64 form.
func (k *CrossSigningKey) PublicKey() (ed25519.PublicKey, string, error) {
	if k.pub == nil {
		return nil, "", fmt.Errorf("%w: cross-signing key was not parsed", ErrMalformedKey)
	}
	return k.pub, k.pubB64, nil
}

// KeyID returns "ed25519:<public key>", the ID others sign with.
func (k *CrossSigningKey) KeyID() KeyID { return Ed25519KeyID(k.pubB64) }

// Validate checks that k belongs to userID and is a key for the usage slot:
// its usage list names usage and no other cross-signing role (a key that
// claims two roles is refused, so one compromise cannot stand for two).
func (k *CrossSigningKey) Validate(userID string, usage Usage) error {
	if k.UserID != userID {
		return fmt.Errorf("%w: %s key for %q given as %q", ErrUserMismatch, usage, k.UserID, userID)
	}
	if len(k.Usage) != 1 || k.Usage[0] != usage {
		return fmt.Errorf("%w: key with usage %v given as %s", ErrUsageMismatch, k.Usage, usage)
	}
	return nil
}

// VerifySignedBy checks the signature of entity's key signerKeyID (public key
// signer) over k.
func (k *CrossSigningKey) VerifySignedBy(entity string, signer ed25519.PublicKey, signerKeyID string) error {
	if err := signedjson.Verify(k.Raw, entity, signerKeyID, signer); err != nil {
		return fmt.Errorf("%w: %s key of %s signed by %s %s: %w", ErrBadSignature, usageName(k.Usage), k.UserID, entity, signerKeyID, err)
	}
	return nil
}

// VerifySignedByMaster checks that k is signed by master, the same user's
// master signing key, as self-signing, user-signing and public user-signing
// keys must be.
//
// master must be a parsed key whose only usage is master: a self-signing or
// user-signing key of the same user never vouches for another key, even if
// its signature happens to be there.
func (k *CrossSigningKey) VerifySignedByMaster(master *CrossSigningKey) error {
	if master == nil {
		return fmt.Errorf("%w: no master key", ErrMalformedKey)
	}
	if err := master.Validate(master.UserID, UsageMaster); err != nil {
		return fmt.Errorf("%s key of %s checked against a key that is not a master key: %w", usageName(k.Usage), k.UserID, err)
	}
	if master.UserID != k.UserID {
		return fmt.Errorf("%w: master key of %q cannot vouch for a key of %q", ErrUserMismatch, master.UserID, k.UserID)
	}
	pub, b64, err := master.PublicKey()
	if err != nil {
		return err
	}
	return k.VerifySignedBy(k.UserID, pub, string(Ed25519KeyID(b64)))
}

func usageName(u []Usage) string {
	if len(u) == 0 {
		return "unknown"
	}
	return string(u[0])
}

// SameKeyIgnoringSignatures reports whether a and b are the same key object
// apart from their "signatures" and "unsigned" members, comparing canonical
// forms. It is how a server checks that an uploaded signature is over the
// key it has stored.
func SameKeyIgnoringSignatures(a, b []byte) (bool, error) {
	ca, err := signedjson.SigningBytes(a)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	cb, err := signedjson.SigningBytes(b)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	return string(ca) == string(cb), nil
}

// CheckNamespace returns ErrNamespaceCollision when one of deviceIDs equals
// one of the unpadded base64 cross-signing public keys of the same user.
// Device key IDs ("ed25519:<device id>") and cross-signing key IDs
// ("ed25519:<public key>") share one namespace; a server must keep them apart.
func CheckNamespace(deviceIDs, crossSigningKeys []string) error {
	for _, d := range deviceIDs {
		if slices.Contains(crossSigningKeys, d) {
			return fmt.Errorf("%w: %q", ErrNamespaceCollision, d)
		}
	}
	return nil
}

func checkCanonicalizable(raw []byte) error {
	_, err := canonicaljson.Canonicalize(raw)
	return err
}
