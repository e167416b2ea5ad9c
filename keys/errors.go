package keys

import (
	"errors"

	"vouch/signedjson"
)

// Sentinel errors. Errors from this package wrap one of them (and, for
// signature problems, the signedjson sentinel underneath).
var (
	// ErrInvalidUserID means a string is not a valid Matrix user ID.
	ErrInvalidUserID = errors.New("keys: invalid user ID")
	// ErrInvalidDeviceID means a device ID is empty, too long or has
	// characters that cannot appear in a key ID.
	ErrInvalidDeviceID = errors.New("keys: invalid device ID")
	// ErrMalformedKey means a key object is not shaped as the spec says.
	ErrMalformedKey = errors.New("keys: malformed key object")
	// ErrInvalidKey means a public key is not valid unpadded base64 of the
	// right length, not a canonical encoding of a curve point, of small order
	// (see ErrWeakKey), or its key ID does not match it.
	ErrInvalidKey = errors.New("keys: invalid public key")
	// ErrWeakKey means an ed25519 public key is a point of small order, under
	// which signatures can be forged without a private key. Errors wrapping
	// it also wrap ErrInvalidKey.
	ErrWeakKey = errors.New("keys: weak (small-order) ed25519 public key")
	// ErrUserMismatch means a key's user_id is not the user it was given for.
	ErrUserMismatch = errors.New("keys: user_id does not match")
	// ErrDeviceMismatch means a device key's device_id is not the device it
	// was given for.
	ErrDeviceMismatch = errors.New("keys: device_id does not match")
	// ErrUsageMismatch means a cross-signing key's usage does not match the
	// slot it was given for.
	ErrUsageMismatch = errors.New("keys: usage does not match")
	// ErrNamespaceCollision means a device ID equals a cross-signing public
	// key of the same user; the two share one namespace of key IDs.
	ErrNamespaceCollision = errors.New("keys: device ID collides with a cross-signing public key")
	// ErrBadSignature means a required signature is missing, malformed or
	// does not verify. It wraps the signedjson error that says which.
	ErrBadSignature = errors.New("keys: bad signature")
	// ErrMissingSignature is signedjson's: a required signature is absent.
	ErrMissingSignature = signedjson.ErrMissingSignature
)
