package edcomb_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"

	"filippo.io/edwards25519"

	"vouch/internal/edcomb"
)

// detRand is a deterministic source for reproducible keys and messages.
type detRand struct{ r *rand.ChaCha8 }

func newDetRand(seed byte) detRand {
	var s [32]byte
	s[0] = seed
	return detRand{rand.NewChaCha8(s)}
}

func (d detRand) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d detRand) bytes(n int) []byte {
	b := make([]byte, n)
	_, _ = d.r.Read(b)
	return b
}

// same fails the test unless edcomb and crypto/ed25519 agree on (pub, msg,
// sig), and returns their common answer.
func same(t *testing.T, pub, msg, sig []byte) bool {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	k, err := edcomb.NewPublicKey(pub)
	if err != nil {
		if want {
			t.Fatalf("NewPublicKey(%x) = %v, but crypto/ed25519 accepts a signature by it", pub, err)
		}
		return false
	}
	if got := k.Verify(msg, sig); got != want {
		t.Fatalf("Verify(pub %x, msg %x, sig %x) = %v, crypto/ed25519 says %v", pub, msg, sig, got, want)
	}
	return want
}

func TestValidSignaturesAndTheirMutations(t *testing.T) {
	r := newDetRand(1)
	accepted, refused := 0, 0
	for i := range 300 {
		pub, priv, err := ed25519.GenerateKey(r)
		if err != nil {
			t.Fatal(err)
		}
		k, err := edcomb.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Bytes(), pub) {
			t.Fatalf("Bytes() = %x, want %x", k.Bytes(), pub)
		}
		for j := range 4 {
			msg := r.bytes(i % 97 * j)
			sig := ed25519.Sign(priv, msg)
			if !k.Verify(msg, sig) || !same(t, pub, msg, sig) {
				t.Fatalf("key %d message %d: a valid signature was refused", i, j)
			}
			accepted++
			bad := bytes.Clone(sig)
			bad[r.r.Uint64()%64] ^= 1 << (r.r.Uint64() % 8)
			if same(t, pub, msg, bad) {
				t.Fatalf("a signature with a flipped bit was accepted")
			}
			if len(msg) > 0 {
				m := bytes.Clone(msg)
				m[0] ^= 0x80
				if same(t, pub, m, sig) {
					t.Fatalf("a signature over another message was accepted")
				}
			}
			refused++
		}
	}
	if accepted != 1200 || refused != 1200 {
		t.Fatalf("accepted %d, refused %d", accepted, refused)
	}
}

func TestMalformedSignatures(t *testing.T) {
	r := newDetRand(2)
	pub, priv, _ := ed25519.GenerateKey(r)
	msg := []byte("a message")
	sig := ed25519.Sign(priv, msg)

	// S + l is the same scalar, not canonically encoded: refused by both.
	l := scalarOrder()
	nonCanonical := bytes.Clone(sig)
	addLE(nonCanonical[32:], l)
	highBits := bytes.Clone(sig)
	highBits[63] |= 0x80
	cases := map[string][]byte{
		"empty":             nil,
		"short":             sig[:63],
		"long":              append(bytes.Clone(sig), 0),
		"S + l":             nonCanonical,
		"S top bits set":    highBits,
		"all zero":          make([]byte, 64),
		"all 0xff":          bytes.Repeat([]byte{0xff}, 64),
		"R of the identity": append([]byte{1}, make([]byte, 63)...),
	}
	for name, s := range cases {
		if same(t, pub, msg, s) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBadPublicKeys(t *testing.T) {
	for _, pub := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, err := edcomb.NewPublicKey(pub); err == nil {
			t.Errorf("NewPublicKey of %d bytes: no error", len(pub))
		}
	}
	// A y with no x on the curve: find one and check both refuse it.
	r := newDetRand(3)
	found := 0
	for found < 5 {
		pub := r.bytes(32)
		if _, err := new(edwards25519.Point).SetBytes(pub); err == nil {
			continue
		}
		found++
		if _, err := edcomb.NewPublicKey(pub); err == nil {
			t.Errorf("NewPublicKey(%x): no error for an encoding that is not a point", pub)
		}
		if ed25519.Verify(pub, []byte("m"), make([]byte, 64)) {
			t.Fatal("crypto/ed25519 accepted a signature by a non-point")
		}
	}
}

// TestTorsionKeys checks keys with a small-order component, where the
// result depends on [k]T for the torsion part T of the key: half of such
// signatures verify (cofactorless equation) and half do not, and the comb
// must agree with crypto/ed25519 on every one. It also checks
// non-canonical encodings of the key, which both accept and hash as given.
func TestTorsionKeys(t *testing.T) {
	r := newDetRand(4)
	torsion := torsionPoints(t, r)
	if len(torsion) != 8 {
		t.Fatalf("found %d torsion points, want 8", len(torsion))
	}
	accepted, refused := 0, 0
	for _, tp := range torsion {
		for range 16 {
			// A = [a]B + T, and a signature made as if A were [a]B.
			a := randomScalar(r)
			A := new(edwards25519.Point).ScalarBaseMult(a)
			A.Add(A, tp)
			pub := A.Bytes()
			msg := r.bytes(20)
			rs := randomScalar(r)
			R := new(edwards25519.Point).ScalarBaseMult(rs).Bytes()
			h := sha512.Sum512(append(append(append([]byte{}, R...), pub...), msg...))
			k, _ := edwards25519.NewScalar().SetUniformBytes(h[:])
			S := edwards25519.NewScalar().MultiplyAdd(k, a, rs)
			sig := append(R, S.Bytes()...)
			if same(t, pub, msg, sig) {
				accepted++
			} else {
				refused++
			}
		}
	}
	// The identity's 16 always verify; each other point verifies when k is
	// a multiple of its order.
	if accepted < 16 || refused == 0 {
		t.Fatalf("accepted %d, refused %d: the torsion cases did not exercise both outcomes", accepted, refused)
	}

	// Non-canonical encodings of y (y + p < 2²⁵⁵ for y < 19): points with
	// y in 0…18 that exist, encoded as y + p.
	for y := range 19 {
		var enc [32]byte
		enc[0] = byte(y)
		if _, err := new(edwards25519.Point).SetBytes(enc[:]); err != nil {
			continue
		}
		nc := fieldPrime()
		addLE(nc, enc[:])
		for _, pub := range [][]byte{enc[:], nc} {
			for range 8 {
				same(t, pub, r.bytes(8), append(new(edwards25519.Point).ScalarBaseMult(randomScalar(r)).Bytes(), randomScalar(r).Bytes()...))
			}
			// The identity key (y = 1): [S]B encodes R for every message.
			if y == 1 {
				s := randomScalar(r)
				sig := append(new(edwards25519.Point).ScalarBaseMult(s).Bytes(), s.Bytes()...)
				if !same(t, pub, []byte("any"), sig) {
					t.Errorf("identity key %x: the signature [S]B, S was refused", pub)
				}
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	r := newDetRand(5)
	pub, priv, _ := ed25519.GenerateKey(r)
	k, err := edcomb.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		msg := []byte{byte(g)}
		sig := ed25519.Sign(priv, msg)
		wg.Go(func() {
			for range 50 {
				if !k.Verify(msg, sig) || k.Verify(append(msg, 0), sig) {
					errs <- "wrong answer under concurrent use"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func FuzzVerify(f *testing.F) {
	r := newDetRand(6)
	pub, priv, _ := ed25519.GenerateKey(r)
	for _, m := range []string{"", "x", "{\"user_id\":\"@a:b\"}"} {
		f.Add([]byte(pub), []byte(m), ed25519.Sign(priv, []byte(m)), []byte{})
		f.Add([]byte(pub), []byte(m), ed25519.Sign(priv, []byte(m)), []byte{0, 1})
	}
	identity := append([]byte{1}, make([]byte, 31)...)
	s := randomScalar(r)
	f.Add(identity, []byte("m"), append(new(edwards25519.Point).ScalarBaseMult(s).Bytes(), s.Bytes()...), []byte{})
	f.Fuzz(func(t *testing.T, pub, msg, sig, flip []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519.Verify panics on other lengths
		}
		// flip lists (index, mask) pairs applied to sig, so that mutations
		// of valid signatures are reached.
		sig = bytes.Clone(sig)
		for i := 0; i+1 < len(flip) && len(sig) > 0; i += 2 {
			sig[int(flip[i])%len(sig)] ^= flip[i+1]
		}
		same(t, pub, msg, sig)
	})
}

func BenchmarkVerify(b *testing.B) {
	r := newDetRand(7)
	pub, priv, _ := ed25519.GenerateKey(r)
	msg := r.bytes(300)
	sig := ed25519.Sign(priv, msg)
	k, _ := edcomb.NewPublicKey(pub)
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("prepared", func(b *testing.B) {
		for b.Loop() {
			if !k.Verify(msg, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("prepare", func(b *testing.B) {
		for b.Loop() {
			if _, err := edcomb.NewPublicKey(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// torsionPoints returns the 8 points of order dividing 8, as [l]P for
// random points P.
func torsionPoints(t *testing.T, r detRand) []*edwards25519.Point {
	t.Helper()
	minusOne := edwards25519.NewScalar().Subtract(edwards25519.NewScalar(), scalarOne())
	seen := map[string]*edwards25519.Point{}
	for tries := 0; len(seen) < 8 && tries < 2000; tries++ {
		p, err := new(edwards25519.Point).SetBytes(r.bytes(32))
		if err != nil {
			continue
		}
		lp := new(edwards25519.Point).ScalarMult(minusOne, p) // [l−1]P
		lp.Add(lp, p)
		seen[string(lp.Bytes())] = lp
	}
	out := make([]*edwards25519.Point, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	return out
}

func randomScalar(r detRand) *edwards25519.Scalar {
	s, _ := edwards25519.NewScalar().SetUniformBytes(r.bytes(64))
	return s
}

func scalarOne() *edwards25519.Scalar {
	var b [32]byte
	b[0] = 1
	s, _ := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	return s
}

// scalarOrder is l = 2²⁵² + 27742317777372353535851937790883648493,
// little-endian.
func scalarOrder() []byte {
	l := make([]byte, 32)
	binary.LittleEndian.PutUint64(l[0:], 0x5812631a5cf5d3ed)
	binary.LittleEndian.PutUint64(l[8:], 0x14def9dea2f79cd6)
	binary.LittleEndian.PutUint64(l[24:], 0x1000000000000000)
	return l
}

// fieldPrime is p = 2²⁵⁵ − 19, little-endian.
func fieldPrime() []byte {
	p := bytes.Repeat([]byte{0xff}, 32)
	p[0] = 0xed
	p[31] = 0x7f
	return p
}

// addLE adds the little-endian b to a in place, modulo 2²⁵⁶.
func addLE(a, b []byte) {
	carry := 0
	for i := range a {
		s := int(a[i]) + int(b[i]) + carry
		a[i] = byte(s)
		carry = s >> 8
	}
}
