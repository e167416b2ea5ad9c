// Package edcomb verifies Ed25519 signatures made by a key that signs many
// messages, faster than crypto/ed25519 once the key is prepared.
//
// Verifying a signature (R, S) by a public key A over a message M checks
// that [S]B − [k]A encodes to R, where k = SHA-512(R ‖ A ‖ M). crypto/ed25519
// computes that double scalar multiplication with about 253 point doublings
// shared by both scalars. A [PublicKey] instead holds the signed radix-16
// multiples of −A (64 windows of 1·16ⁱ·(−A) … 8·16ⁱ·(−A), a fixed-base
// comb), and the base point has the same table, built once per process;
// each verification is then at most 128 point additions and no doublings.
// Preparing a key costs about as much as two verifications and the table
// takes about 80 KB, so it pays from the fourth or so signature by the same
// key: a server checking a batch of signatures by one user-signing key, or
// a client checking many users' keys against its own.
//
// What it accepts is exactly what [crypto/ed25519.Verify] accepts, input
// for input: the same length checks, the same refusal of a non-canonical S,
// the same decoding of A, and the same byte comparison of the computed
// point's encoding with R (the point arithmetic is exact, so the comb and
// the double scalar multiplication reach the same point). The package's
// differential tests and fuzz target hold it to that.
//
// It is not a signer, not a batch verifier (batch verification accepts
// some signatures that single verification refuses) and not constant time:
// verification handles only public data.
package edcomb

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"sync"

	"filippo.io/edwards25519"
)

// ErrBadPublicKey is returned by [NewPublicKey] for an input that is not
// 32 bytes or does not decode to a curve point: keys crypto/ed25519 could
// never verify a signature with.
var ErrBadPublicKey = errors.New("edcomb: bad ed25519 public key")

// windows is the number of radix-16 digits of a scalar below 2²⁵³.
const windows = 64

// combTable holds, for each window i, the points j·16ⁱ·P for j = 1 … 8.
type combTable [windows][8]edwards25519.Point

// PublicKey is an Ed25519 public key prepared for verifying many
// signatures. It is safe for concurrent use.
type PublicKey struct {
	encoded [ed25519.PublicKeySize]byte
	minusA  *combTable
}

// NewPublicKey prepares pub for [PublicKey.Verify].
func NewPublicKey(pub []byte) (*PublicKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrBadPublicKey
	}
	a, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, ErrBadPublicKey
	}
	k := &PublicKey{minusA: newCombTable(new(edwards25519.Point).Negate(a))}
	copy(k.encoded[:], pub)
	return k, nil
}

// Bytes returns the encoded public key.
func (k *PublicKey) Bytes() []byte {
	b := k.encoded
	return b[:]
}

// Verify reports whether sig is a valid signature of message by k, with
// the result crypto/ed25519.Verify gives for the same inputs.
func (k *PublicKey) Verify(message, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.encoded[:])
	h.Write(message)
	var digest [sha512.Size]byte
	kScalar, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false // unreachable: the digest is 64 bytes
	}

	// R' = [S]B + [k](−A)
	var sDigits, kDigits [windows]int8
	signedRadix16(&sDigits, s.Bytes())
	signedRadix16(&kDigits, kScalar.Bytes())
	r := edwards25519.NewIdentityPoint()
	base := baseTable()
	for i := range windows {
		addDigit(r, &base[i], sDigits[i])
		addDigit(r, &k.minusA[i], kDigits[i])
	}
	var enc [32]byte
	copy(enc[:], r.Bytes())
	return string(enc[:]) == string(sig[:32])
}

// addDigit adds d·P to r, where row holds 1·P … 8·P and −8 ≤ d ≤ 8.
func addDigit(r *edwards25519.Point, row *[8]edwards25519.Point, d int8) {
	switch {
	case d > 0:
		r.Add(r, &row[d-1])
	case d < 0:
		r.Subtract(r, &row[-d-1])
	}
}

// signedRadix16 writes the digits e₀ … e₆₃ of the little-endian scalar b
// (below 2²⁵³) such that b = Σ eᵢ·16ⁱ, with −8 ≤ eᵢ < 8 for i < 63 and
// 0 ≤ e₆₃ ≤ 8.
func signedRadix16(e *[windows]int8, b []byte) {
	for i := range 32 {
		e[2*i] = int8(b[i] & 15)
		e[2*i+1] = int8(b[i] >> 4)
	}
	for i := range windows - 1 {
		carry := (e[i] + 8) >> 4
		e[i] -= carry << 4
		e[i+1] += carry
	}
}

// newCombTable computes j·16ⁱ·p for every window i and j = 1 … 8.
func newCombTable(p *edwards25519.Point) *combTable {
	t := new(combTable)
	w := new(edwards25519.Point).Set(p)
	for i := range windows {
		t[i][0].Set(w)
		for j := 1; j < 8; j++ {
			t[i][j].Add(&t[i][j-1], w)
		}
		w.Add(&t[i][7], &t[i][7]) // 16·16ⁱ·p
	}
	return t
}

// baseTable is the comb table of the base point, computed on first use.
var baseTable = sync.OnceValue(func() *combTable {
	return newCombTable(edwards25519.NewGeneratorPoint())
})
