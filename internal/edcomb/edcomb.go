// Package edcomb verifies Ed25519 signatures made by a key that signs many
// messages, faster than crypto/ed25519 once the key is prepared.
//
// Verifying a signature (R, S) by a public key A over a message M checks
// that [S]B − [k]A encodes to R, where k = SHA-512(R ‖ A ‖ M). crypto/ed25519
// computes that double scalar multiplication with about 253 point doublings
// shared by both scalars. A [PublicKey] instead holds the signed radix-16
// multiples of −A (64 windows of 1·16ⁱ·(−A) … 8·16ⁱ·(−A), a fixed-base
// comb) in affine Niels form, and the base point has the same table, built
// once per process; each verification is then at most 128 mixed point
// additions of 8 field multiplications each, no doublings, and one
// inversion to encode the result. On the project's machine that is 0.44 of
// crypto/ed25519's time per verification; preparing a key costs about 3.6
// verifications and its table takes 60 KB, so it pays from about the
// seventh signature by the same key: a server checking a batch of
// signatures by one user-signing key, or a client checking many users'
// keys against its own.
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
	"filippo.io/edwards25519/field"
)

// ErrBadPublicKey is returned by [NewPublicKey] for an input that is not
// 32 bytes or does not decode to a curve point: keys crypto/ed25519 could
// never verify a signature with.
var ErrBadPublicKey = errors.New("edcomb: bad ed25519 public key")

// windows is the number of radix-16 digits of a scalar below 2²⁵³.
const windows = 64

// combTable holds, for each window i, the points j·16ⁱ·P for j = 1 … 8,
// in affine Niels form.
type combTable [windows][8]affineNiels

// affineNiels is a point (x, y) kept as y+x, y−x and 2d·x·y: the form in
// which adding it to a point in extended coordinates costs 8 field
// multiplications (Hisil, Wong, Carter and Dawson, "Twisted Edwards Curves
// Revisited", 2008, section 3.1, with a = −1).
type affineNiels struct {
	yPlusX, yMinusX, xy2d field.Element
}

// extended is a point (X:Y:Z:T) in extended coordinates: x = X/Z,
// y = Y/Z, x·y = T/Z.
type extended struct {
	x, y, z, t field.Element
}

func (p *extended) setIdentity() {
	p.x.Zero()
	p.y.One()
	p.z.One()
	p.t.Zero()
}

// addNiels sets p = p + q, or p − q when negate is set.
func (p *extended) addNiels(q *affineNiels, negate bool) {
	var a, b, c, d, e, f, g, h field.Element
	a.Subtract(&p.y, &p.x)
	b.Add(&p.y, &p.x)
	if negate { // −q = (−x, y): swaps y+x and y−x, negates 2d·x·y
		a.Multiply(&a, &q.yPlusX)
		b.Multiply(&b, &q.yMinusX)
	} else {
		a.Multiply(&a, &q.yMinusX)
		b.Multiply(&b, &q.yPlusX)
	}
	c.Multiply(&p.t, &q.xy2d)
	d.Add(&p.z, &p.z)
	e.Subtract(&b, &a)
	h.Add(&b, &a)
	if negate {
		f.Add(&d, &c)
		g.Subtract(&d, &c)
	} else {
		f.Subtract(&d, &c)
		g.Add(&d, &c)
	}
	p.x.Multiply(&e, &f)
	p.y.Multiply(&g, &h)
	p.t.Multiply(&e, &h)
	p.z.Multiply(&f, &g)
}

// encode writes the 32-byte encoding of p (y with the sign of x in the top
// bit), as edwards25519.Point.Bytes does.
func (p *extended) encode(out *[32]byte) {
	var zInv, x, y field.Element
	zInv.Invert(&p.z)
	x.Multiply(&p.x, &zInv)
	y.Multiply(&p.y, &zInv)
	copy(out[:], y.Bytes())
	out[31] |= byte(x.IsNegative() << 7)
}

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
	var r extended
	r.setIdentity()
	base := baseTable()
	for i := range windows {
		addDigit(&r, &base[i], sDigits[i])
		addDigit(&r, &k.minusA[i], kDigits[i])
	}
	var enc [32]byte
	r.encode(&enc)
	return string(enc[:]) == string(sig[:32])
}

// addDigit adds d·P to r, where row holds 1·P … 8·P and −8 ≤ d ≤ 8.
func addDigit(r *extended, row *[8]affineNiels, d int8) {
	switch {
	case d > 0:
		r.addNiels(&row[d-1], false)
	case d < 0:
		r.addNiels(&row[-d-1], true)
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

// newCombTable computes j·16ⁱ·p for every window i and j = 1 … 8 with
// the library's point addition, then turns them into affine Niels form
// with one field inversion for all of them (Montgomery's trick).
func newCombTable(p *edwards25519.Point) *combTable {
	var pts [windows * 8]edwards25519.Point
	w := new(edwards25519.Point).Set(p)
	for i := range windows {
		row := pts[i*8 : i*8+8]
		row[0].Set(w)
		for j := 1; j < 8; j++ {
			row[j].Add(&row[j-1], w)
		}
		w.Add(&row[7], &row[7]) // 16·16ⁱ·p
	}

	// prefix[n] = Z₀·…·Zₙ; then walk back with the inverse of the whole
	// product to get each 1/Zₙ.
	var xs, ys, zs [windows * 8]field.Element
	var prefix [windows * 8]field.Element
	for n := range pts {
		x, y, z, _ := pts[n].ExtendedCoordinates()
		xs[n].Set(x)
		ys[n].Set(y)
		zs[n].Set(z)
		if n == 0 {
			prefix[n].Set(z)
		} else {
			prefix[n].Multiply(&prefix[n-1], z)
		}
	}
	var inv, zInv, x, y, xy field.Element
	inv.Invert(&prefix[len(pts)-1])
	d2 := curveD2()
	t := new(combTable)
	for n := len(pts) - 1; n >= 0; n-- {
		if n > 0 {
			zInv.Multiply(&inv, &prefix[n-1])
			inv.Multiply(&inv, &zs[n])
		} else {
			zInv.Set(&inv)
		}
		x.Multiply(&xs[n], &zInv)
		y.Multiply(&ys[n], &zInv)
		q := &t[n/8][n%8]
		q.yPlusX.Add(&y, &x)
		q.yMinusX.Subtract(&y, &x)
		xy.Multiply(&x, &y)
		q.xy2d.Multiply(&xy, d2)
	}
	return t
}

// curveD2 is 2·d, where d = −121665/121666 is the curve constant.
var curveD2 = sync.OnceValue(func() *field.Element {
	var b [32]byte
	b[0], b[1], b[2] = 0x41, 0xdb, 0x01 // 121665
	num, _ := new(field.Element).SetBytes(b[:])
	b[0] = 0x42 // 121666
	den, _ := new(field.Element).SetBytes(b[:])
	d := new(field.Element).Invert(den)
	d.Multiply(d, num).Negate(d)
	return d.Add(d, d)
})

// baseTable is the comb table of the base point, computed on first use.
var baseTable = sync.OnceValue(func() *combTable {
	return newCombTable(edwards25519.NewGeneratorPoint())
})
