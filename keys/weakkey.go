package keys

import (
	"crypto/ed25519"
	"fmt"

	"filippo.io/edwards25519"
)

// checkPublicKey reports whether b, already known to be 32 bytes, is an
// ed25519 public key worth verifying signatures with: a canonical encoding
// of a point on the curve that is not of small order. The error wraps
// [ErrInvalidKey], and also [ErrWeakKey] when the point is of small order.
//
// Why each rule (docs/trust.md, "Weak ed25519 public keys"):
//   - not a point: ed25519.Verify refuses every signature under such a key,
//     so it can only be a mistake or a probe; say so when it is parsed.
//   - small order (the eight points of order 1, 2, 4 and 8, in any
//     encoding): with Go's cofactorless ed25519.Verify a signature with
//     R = the identity and S = 0 verifies every message under the identity
//     key, and the other small-order keys admit similar universal or
//     many-message forgeries without any private key.
//   - non-canonical (y not reduced mod p, or x = 0 with the sign bit set):
//     the same point under a second spelling, so one key would have two key
//     IDs. Keys made from a seed are always canonical; nobody holds the
//     private key of the few large-order points with a second spelling.
//
// It costs one square root in the field (what [edwards25519.Point.SetBytes]
// does, and what ed25519.Verify does again for the key) plus three point
// doublings, a small fraction of one verification (BenchmarkCheckPublicKey).
func checkPublicKey(b []byte) error {
	if len(b) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: ed25519 key is %d bytes, want %d", ErrInvalidKey, len(b), ed25519.PublicKeySize)
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return fmt.Errorf("%w: ed25519 key is not a point on the curve", ErrInvalidKey)
	}
	// [8]P is the identity exactly when P's order divides 8.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("%w: %w: ed25519 key is a point of small order", ErrInvalidKey, ErrWeakKey)
	}
	// The points with x = 0 are y = 1 (the identity) and y = p - 1 (order
	// 2), both refused above, so a set sign bit with x = 0 cannot reach
	// here; what is left to refuse is a y coordinate of p or more: the low
	// 255 bits, little-endian, at least p = 2^255 - 19 = 0x7fff…ffed.
	if yNotReduced(b) {
		return fmt.Errorf("%w: ed25519 key is not canonically encoded", ErrInvalidKey)
	}
	return nil
}

// yNotReduced reports whether the y coordinate in the 32-byte point encoding
// b (its low 255 bits, little-endian) is p = 2^255 - 19 or more.
func yNotReduced(b []byte) bool {
	if b[31]&0x7f != 0x7f || b[0] < 0xed {
		return false
	}
	for _, c := range b[1:31] {
		if c != 0xff {
			return false
		}
	}
	return true
}
