package edcomb

import (
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
)

// TestCombMatchesScalarMult checks the comb arithmetic itself, apart from
// signatures: for random points P and scalars x, including 0, 1 and l − 1,
// the sum of x's digits over P's table encodes like the library's [x]P.
func TestCombMatchesScalarMult(t *testing.T) {
	var one, minusOne [32]byte
	one[0] = 1
	oneS, _ := edwards25519.NewScalar().SetCanonicalBytes(one[:])
	minusOneS := edwards25519.NewScalar().Subtract(edwards25519.NewScalar(), oneS)
	copy(minusOne[:], minusOneS.Bytes())
	for range 20 {
		var seed [64]byte
		rand.Read(seed[:])
		ps, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
		p := new(edwards25519.Point).ScalarBaseMult(ps)
		table := newCombTable(p)
		scalars := [][]byte{make([]byte, 32), one[:], minusOne[:]}
		for range 10 {
			rand.Read(seed[:])
			x, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
			scalars = append(scalars, x.Bytes())
		}
		for _, xb := range scalars {
			x, err := edwards25519.NewScalar().SetCanonicalBytes(xb)
			if err != nil {
				t.Fatal(err)
			}
			var digits [windows]int8
			signedRadix16(&digits, xb)
			var r extended
			r.setIdentity()
			for i := range windows {
				addDigit(&r, &table[i], digits[i])
			}
			var got [32]byte
			r.encode(&got)
			want := new(edwards25519.Point).ScalarMult(x, p).Bytes()
			if string(got[:]) != string(want) {
				t.Fatalf("[%x]P: comb %x, library %x", xb, got, want)
			}
		}
	}
}

// TestSignedRadix16 checks that the digits are in range and add up to the
// scalar.
func TestSignedRadix16(t *testing.T) {
	for range 200 {
		var seed [64]byte
		rand.Read(seed[:])
		x, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
		var e [windows]int8
		signedRadix16(&e, x.Bytes())
		// Rebuild the little-endian value Σ eᵢ·16ⁱ with signed carries.
		var acc [33]int
		for i, d := range e {
			if i < windows-1 && (d < -8 || d > 7) || i == windows-1 && (d < 0 || d > 8) {
				t.Fatalf("digit %d = %d out of range", i, d)
			}
			if i%2 == 0 {
				acc[i/2] += int(d)
			} else {
				acc[i/2] += int(d) * 16
			}
		}
		var got [32]byte
		carry := 0
		for i := range 32 {
			v := acc[i] + carry
			got[i] = byte(v)
			carry = (v - int(byte(v))) >> 8
		}
		if carry != 0 || string(got[:]) != string(x.Bytes()) {
			t.Fatalf("digits of %x add up to %x", x.Bytes(), got)
		}
	}
}
