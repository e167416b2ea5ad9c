package ssss

import "errors"

// Sentinel errors. Functions of this package wrap them with context; test for
// them with errors.Is.
var (
	// ErrRecoveryKeyCharacter means a recovery key contains a character that is
	// neither whitespace nor in the base58 (Bitcoin) alphabet.
	ErrRecoveryKeyCharacter = errors.New("ssss: recovery key: character outside the base58 alphabet")
	// ErrRecoveryKeyPrefix means a decoded recovery key does not start with the
	// bytes 0x8B 0x01.
	ErrRecoveryKeyPrefix = errors.New("ssss: recovery key: wrong prefix")
	// ErrRecoveryKeyParity means the parity byte of a recovery key is not the
	// XOR of the bytes before it: the key was mistyped.
	ErrRecoveryKeyParity = errors.New("ssss: recovery key: wrong parity byte")
	// ErrRecoveryKeyLength means a recovery key is empty or does not hold a
	// key of KeySize bytes.
	ErrRecoveryKeyLength = errors.New("ssss: recovery key: wrong length")

	// ErrKeyLength means a secret storage key is not KeySize bytes long.
	ErrKeyLength = errors.New("ssss: secret storage key must be 32 bytes")
	// ErrWrongKey means a key description's key check (iv/mac) does not match
	// the candidate key.
	ErrWrongKey = errors.New("ssss: wrong secret storage key")
	// ErrUnsupportedAlgorithm means a key description or passphrase uses an
	// algorithm this package does not implement.
	ErrUnsupportedAlgorithm = errors.New("ssss: unsupported algorithm")
	// ErrMalformed means an encrypted secret or key description has a missing
	// field, invalid base64 or a field of the wrong length.
	ErrMalformed = errors.New("ssss: malformed data")
	// ErrMACMismatch means an encrypted secret's MAC does not verify: wrong key,
	// wrong secret name, or tampered ciphertext. Nothing was decrypted.
	ErrMACMismatch = errors.New("ssss: MAC mismatch")
	// ErrNotEncryptedForKey means a secret's account data has no copy
	// encrypted with the requested key ID.
	ErrNotEncryptedForKey = errors.New("ssss: secret not encrypted with this key")
	// ErrNotUTF8 means a decrypted secret is not valid UTF-8 (secrets are plain
	// strings; the IV, which the MAC does not cover, may have been altered).
	ErrNotUTF8 = errors.New("ssss: decrypted secret is not valid UTF-8")

	// ErrPassphraseParams means PBKDF2 parameters are out of bounds (iterations
	// or bits), or a passphrase description lacks its salt.
	ErrPassphraseParams = errors.New("ssss: invalid passphrase parameters")
	// ErrRandom means the caller's random source failed.
	ErrRandom = errors.New("ssss: reading randomness")
)
