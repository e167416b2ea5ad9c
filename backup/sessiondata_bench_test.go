package backup

import (
	"testing"
)

// benchSessionPlaintext returns a realistic BackedUpSession of about 600
// bytes: vector 1's plaintext (one forwarding key), checked for size.
func benchSessionPlaintext(b *testing.B) (PrivateKey, PublicKey, []byte) {
	b.Helper()
	v := loadSessionDataVectors(b)
	c := v.Sessions[1]
	if n := len(c.Plaintext); n < 500 || n > 800 {
		b.Fatalf("vector 1 plaintext is %d bytes, not ~600", n)
	}
	return mustPrivateKey(b, c.PrivateKey), mustPublicKey(b, c.PublicKey), []byte(c.Plaintext)
}

// BenchmarkEncrypt measures Encrypt of one ~600-byte session (X25519 key
// generation and ECDH, HKDF, AES-CBC, HMAC), reported as sessions/s.
func BenchmarkEncrypt(b *testing.B) {
	_, pub, pt := benchSessionPlaintext(b)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(pub, pt, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkDecrypt measures Decrypt of one ~600-byte session (base64,
// X25519 ECDH, HKDF, legacy mac, AES-CBC, padding), reported as sessions/s.
func BenchmarkDecrypt(b *testing.B) {
	priv, pub, pt := benchSessionPlaintext(b)
	enc, err := Encrypt(pub, pt, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(priv, enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkSessionDecrypter measures Decrypt with a prepared key (one
// X25519 scalar multiplication per session instead of two), as a restore
// of a whole backup does, reported as sessions/s.
func BenchmarkSessionDecrypter(b *testing.B) {
	priv, pub, pt := benchSessionPlaintext(b)
	enc, err := Encrypt(pub, pt, nil)
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewSessionDecrypter(priv)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decrypt(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// BenchmarkParseBackedUpSession measures the strict plaintext parser on the
// same session, for comparison with the crypto above.
func BenchmarkParseBackedUpSession(b *testing.B) {
	_, _, pt := benchSessionPlaintext(b)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBackedUpSession(pt); err != nil {
			b.Fatal(err)
		}
	}
}
