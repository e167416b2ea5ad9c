package ssss

import "fmt"

// DefaultKeyContent is the content of m.secret_storage.default_key account
// data: the ID of the key used for secrets that all the user's clients should
// be able to read.
type DefaultKeyContent struct {
	// Key is the ID of the default key.
	Key string `json:"key"`
}

// SecretContent is the account-data content of a stored secret: the secret
// encrypted under one or more keys, by key ID.
type SecretContent struct {
	// Encrypted maps a key ID to the secret encrypted with that key.
	Encrypted map[string]EncryptedSecret `json:"encrypted"`
}

// Set stores enc as the secret encrypted under keyID, replacing any previous
// value for that key.
func (c *SecretContent) Set(keyID string, enc EncryptedSecret) {
	if c.Encrypted == nil {
		c.Encrypted = make(map[string]EncryptedSecret)
	}
	c.Encrypted[keyID] = enc
}

// Get returns the secret encrypted under keyID and whether there is one.
func (c SecretContent) Get(keyID string) (EncryptedSecret, bool) {
	enc, ok := c.Encrypted[keyID]
	return enc, ok
}

// Decrypt decrypts the copy of the secret called name that is encrypted under
// keyID, whose raw key is key. It fails with ErrNotEncryptedForKey when there is no
// copy for keyID, and as Decrypt otherwise.
func (c SecretContent) Decrypt(keyID string, key []byte, name string) ([]byte, error) {
	enc, ok := c.Get(keyID)
	if !ok {
		return nil, fmt.Errorf("%w: secret %q, key %q", ErrNotEncryptedForKey, name, keyID)
	}
	return Decrypt(key, name, enc)
}
