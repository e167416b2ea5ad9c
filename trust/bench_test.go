package trust_test

import (
	"testing"

	"vouch/internal/testidentity"
	"vouch/trust"
)

// BenchmarkDeviceDecision is one full decision about another user's device:
// own MSK → own USK → their MSK → their SSK → their device, which is five
// ed25519 verifications (USK, their MSK, their SSK, the device's
// self-signature and the SSK's signature on it). Compare with five times
// signedjson's BenchmarkBareEd25519Verify.
func BenchmarkDeviceDecision(b *testing.B) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1")
	v := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(b, alice, nil)}
	their := published(b, bob, alice.SignOtherMaster(bob))
	b.ReportAllocs()
	for b.Loop() {
		if d := v.Device(their, "B1"); !d.Trusted {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkUserDecision is a decision about another user's identity: two
// verifications (own USK by own MSK, their MSK by own USK).
func BenchmarkUserDecision(b *testing.B) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1")
	v := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(b, alice, nil)}
	their := published(b, bob, alice.SignOtherMaster(bob))
	b.ReportAllocs()
	for b.Loop() {
		if d := v.User(their); !d.Trusted {
			b.Fatal(d.Reason)
		}
	}
}
