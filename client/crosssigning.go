package client

import (
	"crypto/ed25519"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"

	"vouch/canonicaljson"
	"vouch/keys"
	"vouch/signedjson"
)

// CrossSigningKeys holds a user's cross-signing private keys. A nil key is
// one this device does not hold. Never log or print it.
type CrossSigningKeys struct {
	Master      ed25519.PrivateKey
	SelfSigning ed25519.PrivateKey
	UserSigning ed25519.PrivateKey
}

// GenerateCrossSigningKeys creates a fresh master, self-signing and
// user-signing key.
func GenerateCrossSigningKeys(rand io.Reader) (*CrossSigningKeys, error) {
	var k CrossSigningKeys
	for _, dst := range []*ed25519.PrivateKey{&k.Master, &k.SelfSigning, &k.UserSigning} {
		_, priv, err := ed25519.GenerateKey(rand)
		if err != nil {
			return nil, fmt.Errorf("client: generating cross-signing key: %w", err)
		}
		*dst = priv
	}
	return &k, nil
}

// CrossSigningKeysFromSeeds restores keys from their 32-byte seeds; an
// empty seed leaves that key nil.
func CrossSigningKeysFromSeeds(master, selfSigning, userSigning []byte) (*CrossSigningKeys, error) {
	var k CrossSigningKeys
	for _, s := range []struct {
		seed []byte
		dst  *ed25519.PrivateKey
		name string
	}{{master, &k.Master, "master"}, {selfSigning, &k.SelfSigning, "self-signing"}, {userSigning, &k.UserSigning, "user-signing"}} {
		if len(s.seed) == 0 {
			continue
		}
		if len(s.seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%w: %s seed is %d bytes", keys.ErrInvalidKey, s.name, len(s.seed))
		}
		*s.dst = ed25519.NewKeyFromSeed(s.seed)
	}
	return &k, nil
}

// Seeds returns the 32-byte seeds (nil for keys not held), for storage.
func (k *CrossSigningKeys) Seeds() (master, selfSigning, userSigning []byte) {
	if k == nil {
		return nil, nil, nil
	}
	seed := func(p ed25519.PrivateKey) []byte {
		if p == nil {
			return nil
		}
		return p.Seed()
	}
	return seed(k.Master), seed(k.SelfSigning), seed(k.UserSigning)
}

// PublicKey returns a private key's public half in unpadded base64, "" for nil.
func PublicKey(p ed25519.PrivateKey) string {
	if len(p) != ed25519.PrivateKeySize {
		return ""
	}
	return signedjson.EncodeBase64(p.Public().(ed25519.PublicKey))
}

// keyObject is the unsigned cross-signing key object of pub for userID.
func keyObject(userID string, usage keys.Usage, pub string) ([]byte, error) {
	return canonicaljson.Marshal(map[string]any{
		"user_id": userID,
		"usage":   []string{string(usage)},
		"keys":    map[string]string{"ed25519:" + pub: pub},
	})
}

// Objects returns the key objects to upload for userID: the master key
// (unsigned) and the self-signing and user-signing keys signed by it.
func (k *CrossSigningKeys) Objects(userID string) (master, selfSigning, userSigning []byte, err error) {
	if k == nil || k.Master == nil || k.SelfSigning == nil || k.UserSigning == nil {
		return nil, nil, nil, fmt.Errorf("%w: need all three keys to publish an identity", ErrMissingPrivateKey)
	}
	mpub := PublicKey(k.Master)
	if master, err = keyObject(userID, keys.UsageMaster, mpub); err != nil {
		return nil, nil, nil, err
	}
	signSub := func(usage keys.Usage, p ed25519.PrivateKey) ([]byte, error) {
		obj, err := keyObject(userID, usage, PublicKey(p))
		if err != nil {
			return nil, err
		}
		return signedjson.Sign(obj, userID, "ed25519:"+mpub, k.Master)
	}
	if selfSigning, err = signSub(keys.UsageSelfSigning, k.SelfSigning); err != nil {
		return nil, nil, nil, err
	}
	if userSigning, err = signSub(keys.UsageUserSigning, k.UserSigning); err != nil {
		return nil, nil, nil, err
	}
	return master, selfSigning, userSigning, nil
}

// signOnly returns obj with its signatures replaced by one signature of
// entity's key keyID: what /keys/signatures/upload expects (the server
// compares the rest with the stored key).
func signOnly(obj []byte, entity, keyID string, priv ed25519.PrivateKey) ([]byte, error) {
	bare, err := signedjson.SigningBytes(obj)
	if err != nil {
		return nil, err
	}
	return signedjson.Sign(bare, entity, keyID, priv)
}

// FormatFingerprint groups a master key (unpadded base64) in blocks of four
// characters for people to read aloud and compare.
func FormatFingerprint(master string) string {
	var b strings.Builder
	for i := 0; i < len(master); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(master[i:min(i+4, len(master))])
	}
	return b.String()
}

// NormalizeFingerprint removes the spaces (and other whitespace) a person
// may type between the groups of a fingerprint.
func NormalizeFingerprint(fp string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '-' {
			return -1
		}
		return r
	}, fp)
}

// FingerprintMatches compares a typed fingerprint with a master key
// (unpadded base64) in constant time.
func FingerprintMatches(typed, master string) bool {
	return subtle.ConstantTimeCompare([]byte(NormalizeFingerprint(typed)), []byte(master)) == 1
}
