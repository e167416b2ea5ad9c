package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"vouch/signedjson"
)

// The eight points of small order, canonically encoded (little-endian y,
// sign of x in the top bit). TestSmallOrderConstants checks each of them
// with edwards25519 rather than trusting this table.
const (
	hexIdentity = "0100000000000000000000000000000000000000000000000000000000000000" // order 1
	hexOrder2   = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" // (0, -1)
	hexOrder4a  = "0000000000000000000000000000000000000000000000000000000000000000" // (+sqrt(-1), 0)
	hexOrder4b  = "0000000000000000000000000000000000000000000000000000000000000080" // (-sqrt(-1), 0)
	hexOrder8a  = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
	hexOrder8b  = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
	hexOrder8c  = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
	hexOrder8d  = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
)

// smallOrder lists the canonical small-order encodings with their order.
var smallOrder = []struct {
	hex   string
	order int
}{
	{hexIdentity, 1},
	{hexOrder2, 2},
	{hexOrder4a, 4},
	{hexOrder4b, 4},
	{hexOrder8a, 8},
	{hexOrder8b, 8},
	{hexOrder8c, 8},
	{hexOrder8d, 8},
}

// Non-canonical encodings: the point's canonical encoding is given beside.
var nonCanonicalSmallOrder = []struct{ hex, canonical string }{
	{"0100000000000000000000000000000000000000000000000000000000000080", hexIdentity}, // x = 0, sign bit set
	{"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", hexIdentity}, // y = p + 1
	{"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", hexIdentity}, // y = p + 1, sign bit set
	{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", hexOrder2},   // x = 0, sign bit set
	{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", hexOrder4a},  // y = p
	{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", hexOrder4b},  // y = p, sign bit set
}

const (
	// hexNotAPoint is y = 2: (y² - 1)/(dy² + 1) has no square root.
	hexNotAPoint = "0200000000000000000000000000000000000000000000000000000000000000"
	// hexNonCanonicalLarge is y = p + 3, a second spelling of the
	// large-order point with y = 3.
	hexNonCanonicalLarge = "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	hexCanonicalLarge    = "0300000000000000000000000000000000000000000000000000000000000000"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex constant %q: %v", s, err)
	}
	return b
}

// scalar returns the scalar k (small, non-negative).
func scalar(t testing.TB, k int) *edwards25519.Scalar {
	t.Helper()
	var b [32]byte
	b[0], b[1] = byte(k), byte(k>>8)
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// orderOf returns the order of p if it divides 8, or 0. It multiplies by
// scalars with ScalarMult, not by MultByCofactor as the code under test does.
func orderOf(t testing.TB, p *edwards25519.Point) int {
	t.Helper()
	for _, k := range []int{1, 2, 4, 8} {
		if new(edwards25519.Point).ScalarMult(scalar(t, k), p).Equal(edwards25519.NewIdentityPoint()) == 1 {
			return k
		}
	}
	return 0
}

// TestSmallOrderConstants checks the hex table itself: each constant is a
// canonical encoding of a point of the stated order, and the eight are
// distinct, so they are all eight small-order points.
func TestSmallOrderConstants(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range smallOrder {
		b := mustHex(t, tt.hex)
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			t.Fatalf("%s: not a point: %v", tt.hex, err)
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Errorf("%s: not canonical, canonical is %x", tt.hex, p.Bytes())
		}
		if got := orderOf(t, p); got != tt.order {
			t.Errorf("%s: order %d, table says %d", tt.hex, got, tt.order)
		}
		seen[tt.hex] = true
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct small-order points, want 8", len(seen))
	}
	for _, tt := range nonCanonicalSmallOrder {
		p, err := new(edwards25519.Point).SetBytes(mustHex(t, tt.hex))
		if err != nil {
			t.Fatalf("%s: not a point: %v", tt.hex, err)
		}
		if got := hex.EncodeToString(p.Bytes()); got != tt.canonical {
			t.Errorf("%s: canonical form %s, table says %s", tt.hex, got, tt.canonical)
		}
	}
	if _, err := new(edwards25519.Point).SetBytes(mustHex(t, hexNotAPoint)); err == nil {
		t.Errorf("%s is a point after all", hexNotAPoint)
	}
	p, err := new(edwards25519.Point).SetBytes(mustHex(t, hexNonCanonicalLarge))
	if err != nil {
		t.Fatalf("%s: not a point: %v", hexNonCanonicalLarge, err)
	}
	if got := hex.EncodeToString(p.Bytes()); got != hexCanonicalLarge {
		t.Errorf("%s: canonical form %s, want %s", hexNonCanonicalLarge, got, hexCanonicalLarge)
	}
	if orderOf(t, p) != 0 {
		t.Errorf("%s is of small order", hexNonCanonicalLarge)
	}
}

func TestDecodePublicKeyRefusesWeakAndInvalid(t *testing.T) {
	good := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	type tc struct {
		name string
		key  []byte
		weak bool // refused as small order
		ok   bool
	}
	tests := []tc{
		{name: "generated key", key: good, ok: true},
		{name: "large-order point y=3", key: mustHex(t, hexCanonicalLarge), ok: true},
		{name: "not a point y=2", key: mustHex(t, hexNotAPoint)},
		{name: "non-canonical large-order point y=p+3", key: mustHex(t, hexNonCanonicalLarge)},
		{name: "31 bytes", key: good[:31]},
		{name: "33 bytes", key: append(append([]byte(nil), good...), 0)},
	}
	for _, so := range smallOrder {
		tests = append(tests, tc{name: fmt.Sprintf("order %d %s…%s", so.order, so.hex[:8], so.hex[62:]), key: mustHex(t, so.hex), weak: true})
	}
	for _, nc := range nonCanonicalSmallOrder {
		tests = append(tests, tc{name: "non-canonical small order " + nc.hex[:8] + "…" + nc.hex[62:], key: mustHex(t, nc.hex), weak: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := DecodePublicKey(signedjson.EncodeBase64(tt.key))
			if tt.ok {
				if err != nil || !bytes.Equal(pub, tt.key) {
					t.Fatalf("refused or changed a good key: %x, %v", pub, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %x", tt.key)
			}
			if pub != nil {
				t.Errorf("returned a key with the error")
			}
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("error %v does not wrap ErrInvalidKey", err)
			}
			if errors.Is(err, ErrWeakKey) != tt.weak {
				t.Errorf("error %v: wraps ErrWeakKey = %v, want %v", err, !tt.weak, tt.weak)
			}
		})
	}
}

// TestIdentityKeyForgery shows why small-order keys are refused: under the
// identity key, the 64-byte "signature" R = identity, S = 0 verifies every
// message with crypto/ed25519, no private key needed.
func TestIdentityKeyForgery(t *testing.T) {
	identity := ed25519.PublicKey(mustHex(t, hexIdentity))
	forged := append(mustHex(t, hexIdentity), make([]byte, 32)...)
	for _, msg := range []string{"", "hello", `{"user_id":"@mallory:x"}`, strings.Repeat("x", 1000)} {
		if !ed25519.Verify(identity, []byte(msg), forged) {
			t.Fatalf("forged signature does not verify over %q: the premise of this test is wrong", msg)
		}
	}
	_, err := DecodePublicKey(signedjson.EncodeBase64(identity))
	if !errors.Is(err, ErrWeakKey) || !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("identity key not refused as weak: %v", err)
	}
}

// TestParsersRefuseWeakKeys goes through the public parsers with objects
// that are "self-signed" under the identity key by the forged signature,
// which signedjson.Verify accepts.
func TestParsersRefuseWeakKeys(t *testing.T) {
	idB64 := signedjson.EncodeBase64(mustHex(t, hexIdentity))
	forged := signedjson.EncodeBase64(append(mustHex(t, hexIdentity), make([]byte, 32)...))
	sign := func(t *testing.T, obj map[string]any, entity, keyID string) []byte {
		t.Helper()
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := signedjson.AddSignature(raw, entity, keyID, forged)
		if err != nil {
			t.Fatal(err)
		}
		if err := signedjson.Verify(signed, entity, keyID, mustHex(t, hexIdentity)); err != nil {
			t.Fatalf("forged self-signature does not verify (premise wrong): %v", err)
		}
		return signed
	}
	device := sign(t, map[string]any{
		"user_id":    "@mallory:example.org",
		"device_id":  "EVIL",
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys": map[string]string{
			"ed25519:EVIL":    idB64,
			"curve25519:EVIL": signedjson.EncodeBase64(bytes.Repeat([]byte{9}, 32)),
		},
	}, "@mallory:example.org", "ed25519:EVIL")
	master := sign(t, map[string]any{
		"user_id": "@mallory:example.org",
		"usage":   []string{"master"},
		"keys":    map[string]string{"ed25519:" + idB64: idB64},
	}, "@mallory:example.org", "ed25519:"+idB64)

	tests := []struct {
		name  string
		parse func() error
	}{
		{"device keys", func() error { _, err := ParseDeviceKeys(device); return err }},
		{"cross-signing key", func() error { _, err := ParseCrossSigningKey(master); return err }},
		{"device keys Ed25519", func() error {
			d := DeviceKeys{DeviceID: "EVIL", Keys: map[string]string{"ed25519:EVIL": idB64}}
			_, err := d.Ed25519()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse()
			if !errors.Is(err, ErrInvalidKey) || !errors.Is(err, ErrWeakKey) {
				t.Fatalf("identity key not refused as weak: %v", err)
			}
		})
	}
}

// vectorPublicKeys returns every ed25519 public key in the signing vectors:
// each case's public_key and the ed25519 keys inside its input object.
func vectorPublicKeys(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors/signing.json")
	if err != nil {
		t.Fatal(err)
	}
	type vcase struct {
		PublicKey string `json:"public_key"`
		Input     struct {
			Keys map[string]string `json:"keys"`
		} `json:"input"`
	}
	var v struct {
		Sign   []vcase `json:"sign"`
		Verify []vcase `json:"verify"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range append(v.Sign, v.Verify...) {
		out = append(out, c.PublicKey)
		for id, k := range c.Input.Keys {
			if strings.HasPrefix(id, "ed25519:") {
				out = append(out, k)
			}
		}
	}
	if len(out) < len(v.Sign)+len(v.Verify) {
		t.Fatalf("only %d keys in the vectors", len(out))
	}
	return out
}

// TestVectorKeysAccepted: every key in the independent vectors is a real
// key and must still be accepted.
func TestVectorKeysAccepted(t *testing.T) {
	for _, k := range vectorPublicKeys(t) {
		if _, err := DecodePublicKey(k); err != nil {
			t.Errorf("vector key %s refused: %v", k, err)
		}
	}
}

// FuzzDecodePublicKey checks DecodePublicKey against an oracle written
// with edwards25519 independently of the code: a key is accepted exactly
// when it decodes to 32 bytes that are the canonical encoding of a point
// whose order does not divide 8; every refusal wraps ErrInvalidKey, and
// ErrWeakKey exactly for small-order points.
func FuzzDecodePublicKey(f *testing.F) {
	for _, k := range vectorPublicKeys(f) {
		f.Add(k)
	}
	for _, so := range smallOrder {
		f.Add(signedjson.EncodeBase64(mustHex(f, so.hex)))
	}
	for _, nc := range nonCanonicalSmallOrder {
		f.Add(signedjson.EncodeBase64(mustHex(f, nc.hex)))
	}
	f.Add(signedjson.EncodeBase64(mustHex(f, hexNotAPoint)))
	f.Add(signedjson.EncodeBase64(mustHex(f, hexNonCanonicalLarge)))
	f.Add("AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, b64 string) {
		pub, err := DecodePublicKey(b64)
		raw, b64err := signedjson.DecodeBase64(b64)
		var (
			point     *edwards25519.Point
			canonical bool
			small     bool
		)
		if b64err == nil && len(raw) == 32 {
			if p, perr := new(edwards25519.Point).SetBytes(raw); perr == nil {
				point = p
				canonical = bytes.Equal(p.Bytes(), raw)
				small = orderOf(t, p) != 0
			}
		}
		want := point != nil && canonical && !small
		if (err == nil) != want {
			t.Fatalf("DecodePublicKey(%q) = %x, %v; oracle: point=%v canonical=%v small=%v", b64, pub, err, point != nil, canonical, small)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
			if errors.Is(err, ErrWeakKey) != (point != nil && small) {
				t.Fatalf("error %v: ErrWeakKey for small=%v", err, small)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize || !bytes.Equal(pub, raw) {
			t.Fatalf("accepted %q as %x", b64, pub)
		}
		// One key, one spelling: the key round-trips through its encoding.
		again, err := DecodePublicKey(signedjson.EncodeBase64(pub))
		if err != nil || !bytes.Equal(again, pub) {
			t.Fatalf("re-encoded key %x does not round-trip: %v", pub, err)
		}
	})
}

// The benchmarks below put the new check next to what it protects:
// BenchmarkCheckPublicKey is the point check alone, BenchmarkSmallOrderTest
// its small-order part, BenchmarkDecodePublicKey
// the whole decoder (base64 included), BenchmarkEd25519Verify one
// crypto/ed25519 verification of a 256-byte message.

func benchKey() (ed25519.PrivateKey, ed25519.PublicKey) {
	seed := sha256.Sum256([]byte("weakkey bench"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	return priv, priv.Public().(ed25519.PublicKey)
}

func BenchmarkCheckPublicKey(b *testing.B) {
	_, pub := benchKey()
	for b.Loop() {
		if err := checkPublicKey(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallOrderTest is the small-order test alone on a point already
// decoded: three doublings and a comparison. The rest of checkPublicKey is
// the decoding (SetBytes, one field square root), which is what tells a
// point from a non-point and which ed25519.Verify does too.
func BenchmarkSmallOrderTest(b *testing.B) {
	_, pub := benchKey()
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		b.Fatal(err)
	}
	var q edwards25519.Point
	id := edwards25519.NewIdentityPoint()
	for b.Loop() {
		if q.MultByCofactor(p).Equal(id) == 1 {
			b.Fatal("small order")
		}
	}
}

func BenchmarkDecodePublicKey(b *testing.B) {
	_, pub := benchKey()
	b64 := signedjson.EncodeBase64(pub)
	for b.Loop() {
		if _, err := DecodePublicKey(b64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	priv, pub := benchKey()
	msg := bytes.Repeat([]byte("m"), 256)
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("does not verify")
		}
	}
}
