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

// BenchmarkObserveIdentities is identity-change detection over a
// /keys/query result of 1,000 users, all pinned and unchanged but one.
func BenchmarkObserveIdentities(b *testing.B) {
	result := map[string]*trust.UserKeys{}
	var pins map[string]trust.Pin
	for i := range 1000 {
		u := "@u" + string(rune('a'+i%26)) + itoaB(i) + ":x"
		id := testidentity.New(u)
		result[u] = &trust.UserKeys{UserID: u, Master: testidentity.MustParseCrossSigningKey(b, id.MasterKey())}
	}
	pins, _ = trust.ObserveIdentities(nil, result)
	result["@ua0:x"] = &trust.UserKeys{UserID: "@ua0:x", Master: testidentity.MustParseCrossSigningKey(b, testidentity.NewGeneration("@ua0:x", "2").MasterKey())}
	b.ReportAllocs()
	for b.Loop() {
		if _, changes := trust.ObserveIdentities(pins, result); len(changes) != 1 {
			b.Fatalf("%d changes", len(changes))
		}
	}
}

func itoaB(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		if i /= 10; i == 0 {
			return s
		}
	}
}
