package tempered

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"

	"vouch/ssss"
)

// Seal encrypts the policy with secret storage, under the secret name
// EventType, with the secret storage key key whose ID is keyID, and returns
// the account-data content to store as EventType:
// {"encrypted": {keyID: {"iv", "ciphertext", "mac"}}}. The plaintext is the
// policy's canonical JSON. The MAC (HMAC-SHA-256 under a key derived from
// key and the secret name) authenticates it: nobody without the key can
// change the policy or move another secret into its place.
func Seal(p Policy, key []byte, keyID string) ([]byte, error) {
	return SealRand(p, key, keyID, rand.Reader)
}

// SealRand is Seal with the random source for the IV given, for
// reproducible tests.
func SealRand(p Policy, key []byte, keyID string, random io.Reader) ([]byte, error) {
	if keyID == "" {
		return nil, fmt.Errorf("%w: empty key ID", ErrSealed)
	}
	plain, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	enc, err := ssss.Encrypt(key, EventType, plain, random)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	var c ssss.SecretContent
	c.Set(keyID, enc)
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	return b, nil
}

// Open checks and decrypts the account-data content of EventType with the
// secret storage key key whose ID is keyID, then parses the policy. A wrong
// key, a missing copy for keyID or any change to the ciphertext or MAC gives
// an error wrapping ErrSealed (and the ssss sentinel); a plaintext that is
// not a valid policy (which, the MAC having verified, only the key's holder
// can have written, or a changed IV can have garbled) gives Parse's error.
func Open(content []byte, key []byte, keyID string) (Policy, error) {
	if len(content) > 2*MaxPolicySize {
		return Policy{}, fmt.Errorf("%w: content of %d bytes", ErrTooLarge, len(content))
	}
	var c ssss.SecretContent
	if err := json.Unmarshal(content, &c); err != nil {
		return Policy{}, fmt.Errorf("%w: %w: %v", ErrSealed, ssss.ErrMalformed, err)
	}
	enc, ok := c.Get(keyID)
	if !ok {
		return Policy{}, fmt.Errorf("%w: %w: key %q", ErrSealed, ssss.ErrNotEncryptedForKey, keyID)
	}
	plain, err := ssss.DecryptString(key, EventType, enc)
	if err != nil {
		return Policy{}, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	p, err := Parse([]byte(plain))
	if err != nil {
		return Policy{}, fmt.Errorf("sealed policy: %w", err)
	}
	return p, nil
}
