package signedjson_test

import (
	"crypto/ed25519"
	"testing"

	"vouch/signedjson"
)

const benchDeviceKeys = `{"algorithms":["m.olm.v1.curve25519-aes-sha2","m.megolm.v1.aes-sha2"],"device_id":"JLAFKJWSCS","keys":{"curve25519:JLAFKJWSCS":"3C5BFWi2Y8MaVvjM8M22DBmh24PmgR0nPvJOIArzgyI","ed25519:JLAFKJWSCS":"lEuiRJBit0IG6nUf5pUzWTUEsRVVe/HJkoKuEww9ULI"},"user_id":"@alice:example.com"}`

func benchSigned(b *testing.B) ([]byte, ed25519.PublicKey, []byte) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	signed, err := signedjson.Sign([]byte(benchDeviceKeys), "@alice:example.com", "ed25519:JLAFKJWSCS", priv)
	if err != nil {
		b.Fatal(err)
	}
	msg, err := signedjson.SigningBytes(signed)
	if err != nil {
		b.Fatal(err)
	}
	return signed, priv.Public().(ed25519.PublicKey), msg
}

// BenchmarkVerifyDeviceKeys is Verify on a signed device-keys object;
// compare with BenchmarkBareEd25519Verify, the physical floor.
func BenchmarkVerifyDeviceKeys(b *testing.B) {
	signed, pub, _ := benchSigned(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := signedjson.Verify(signed, "@alice:example.com", "ed25519:JLAFKJWSCS", pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareEd25519Verify verifies the same message with crypto/ed25519 alone.
func BenchmarkBareEd25519Verify(b *testing.B) {
	signed, pub, msg := benchSigned(b)
	sigs, _ := signedjson.SignaturesOf(signed)
	sig, _ := signedjson.DecodeBase64(sigs["@alice:example.com"]["ed25519:JLAFKJWSCS"])
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

// BenchmarkSignDeviceKeys is Sign on a device-keys object.
func BenchmarkSignDeviceKeys(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signedjson.Sign([]byte(benchDeviceKeys), "@alice:example.com", "ed25519:JLAFKJWSCS", priv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareEd25519Sign signs the same message with crypto/ed25519 alone.
func BenchmarkBareEd25519Sign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := []byte(benchDeviceKeys)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}
