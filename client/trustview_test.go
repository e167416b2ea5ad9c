package client_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"vouch/client"
	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/trust"
)

// queryResponse assembles a /keys/query answer as the server would send it
// to viewer alice.
type queryResponse struct{ r client.KeysQueryResponse }

func newQR() *queryResponse {
	return &queryResponse{client.KeysQueryResponse{
		DeviceKeys: map[string]map[string]json.RawMessage{},
		MasterKeys: map[string]json.RawMessage{}, SelfSigningKeys: map[string]json.RawMessage{},
		UserSigningKeys: map[string]json.RawMessage{},
	}}
}

func (q *queryResponse) add(id *testidentity.Identity, master []byte, withUSK bool) *queryResponse {
	q.r.MasterKeys[id.UserID] = master
	q.r.SelfSigningKeys[id.UserID] = id.SubKey(keys.UsageSelfSigning)
	if withUSK {
		q.r.UserSigningKeys[id.UserID] = id.SubKey(keys.UsageUserSigning)
	}
	q.r.DeviceKeys[id.UserID] = map[string]json.RawMessage{}
	for d := range id.Devices {
		q.r.DeviceKeys[id.UserID][d] = id.DeviceKeysCrossSigned(d)
	}
	return q
}

func TestEvaluateTrust(t *testing.T) {
	alice := testidentity.New("@alice:localhost", "A1")
	bob := testidentity.New("@bob:localhost", "B1")
	bob2 := testidentity.NewGeneration("@bob:localhost", "reset", "B1")
	in := func(pins ...trust.Pin) client.TrustInputs {
		m := map[string]trust.Pin{}
		for _, p := range pins {
			m[p.UserID] = p
		}
		return client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64, Pins: m}
	}
	pinned := trust.Pin{UserID: bob.UserID, Master: bob.Master.B64, WasVerified: true}

	tests := []struct {
		name          string
		resp          *queryResponse
		in            client.TrustInputs
		verified      bool
		deviceTrusted bool
		needsApproval bool
		change        trust.ChangeKind
		reason        string
		pathLen       int
	}{
		{"verified", newQR().add(alice, alice.MasterKey(), true).add(bob, alice.SignOtherMaster(bob), false),
			in(), true, true, false, trust.FirstSeen, "user-signing key signed", 3},
		{"not verified", newQR().add(alice, alice.MasterKey(), true).add(bob, bob.MasterKey(), false),
			in(), false, false, false, trust.FirstSeen, "not verified", 2},
		{"identity reset after verification", newQR().add(alice, alice.MasterKey(), true).add(bob2, bob2.MasterKey(), false),
			in(pinned), false, false, true, trust.IdentityChanged, "identity changed", 2},
		{"new identity verified again", newQR().add(alice, alice.MasterKey(), true).add(bob2, alice.SignOtherMaster(bob2), false),
			in(pinned), true, true, false, trust.IdentityChanged, "user-signing key signed", 3},
		{"own master not trusted", newQR().add(alice, alice.MasterKey(), true).add(bob, alice.SignOtherMaster(bob), false),
			client.TrustInputs{UserID: alice.UserID}, false, false, false, trust.FirstSeen, "does not trust your own cross-signing identity", 0},
		{"no identity", newQR().add(alice, alice.MasterKey(), true),
			in(), false, false, false, trust.NoChange, "has no cross-signing identity", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tv := client.EvaluateTrust(&tt.resp.r, tt.in, []string{bob.UserID})
			r := tv.Users[bob.UserID]
			if r.Verified != tt.verified || r.NeedsApproval != tt.needsApproval || r.Change.Kind != tt.change {
				t.Fatalf("verified=%v approval=%v change=%v reason=%q", r.Verified, r.NeedsApproval, r.Change.Kind, r.Decision.Reason)
			}
			if !strings.Contains(r.Decision.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", r.Decision.Reason, tt.reason)
			}
			if len(r.Decision.Path) != tt.pathLen {
				t.Errorf("path %v, want %d steps", r.Decision.Path, tt.pathLen)
			}
			if tt.verified && (!r.Pin.WasVerified || r.Pin.Master != r.Master) {
				t.Errorf("verified user's pin not updated: %+v", r.Pin)
			}
			if tt.needsApproval && r.Pin.Master != bob.Master.B64 {
				t.Errorf("changed identity was pinned: %+v", r.Pin)
			}
			trusted := len(r.Devices) > 0 && r.Devices[0].Trusted
			if trusted != tt.deviceTrusted {
				t.Errorf("device trusted=%v: %+v", trusted, r.Devices)
			}
		})
	}
}

func TestEvaluateOwnDevices(t *testing.T) {
	alice := testidentity.New("@alice:localhost", "A1")
	alice.AddDevice("A2")
	q := newQR().add(alice, alice.MasterKey(), true)
	q.r.DeviceKeys[alice.UserID]["A2"] = alice.DeviceKeys("A2") // not cross-signed
	tv := client.EvaluateTrust(&q.r, client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64}, []string{alice.UserID})
	r := tv.Users[alice.UserID]
	if !r.Verified || len(r.Devices) != 2 || !r.Devices[0].Trusted || r.Devices[1].Trusted {
		t.Fatalf("own view %+v", r)
	}
	if r.NeedsApproval {
		t.Error("own identity needs approval")
	}
	tv = client.EvaluateTrust(&q.r, client.TrustInputs{UserID: alice.UserID, OwnMaster: "OTHER"}, []string{alice.UserID})
	if r := tv.Users[alice.UserID]; r.Verified || !r.NeedsApproval {
		t.Fatalf("replaced own identity trusted: %+v", r)
	}
}

func TestEvaluateMigration(t *testing.T) {
	alice := testidentity.New("@alice:localhost", "A1")
	bob := testidentity.New("@bob:localhost", "B1")
	q := newQR().add(alice, alice.MasterKey(), true).add(bob, bob.SignMasterWithDevice("B1"), false)
	in := client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64,
		VerifiedDevices: map[string]map[string]string{bob.UserID: {"B1": bob.Devices["B1"].Ed25519.B64}}}
	r := client.EvaluateTrust(&q.r, in, []string{bob.UserID}).Users[bob.UserID]
	if r.Verified || r.Migration == nil || !r.Migration.Trusted {
		t.Fatalf("migration not offered: %+v", r)
	}
	// Not for a changed identity.
	in.Pins = map[string]trust.Pin{bob.UserID: {UserID: bob.UserID, Master: "OLD"}}
	if r := client.EvaluateTrust(&q.r, in, []string{bob.UserID}).Users[bob.UserID]; r.Migration != nil {
		t.Fatalf("migration offered for a changed identity")
	}
}

func TestParseUserKeysProblems(t *testing.T) {
	bob := testidentity.New("@bob:localhost", "B1")
	q := newQR().add(bob, bob.MasterKey(), false)
	q.r.SelfSigningKeys[bob.UserID] = json.RawMessage(`{"user_id":"@bob:localhost"}`)
	// A device whose ID is the master public key (seed 002 namespace rule).
	evil := testidentity.New("@bob:localhost", bob.Master.B64)
	q.r.DeviceKeys[bob.UserID][bob.Master.B64] = evil.DeviceKeys(bob.Master.B64)
	q.r.DeviceKeys[bob.UserID]["B2"] = bob.DeviceKeys("B1") // listed under another ID
	q.r.Failures = map[string]json.RawMessage{"localhost": json.RawMessage(`{"errcode":"M_UNKNOWN"}`)}
	u, problems := client.ParseUserKeys(&q.r, bob.UserID)
	if u.Master == nil || u.SelfSigning != nil || len(u.Devices) != 1 || u.Devices["B1"] == nil {
		t.Fatalf("parsed %+v", u)
	}
	if len(problems) != 4 {
		t.Fatalf("problems %q", problems)
	}
}

func BenchmarkEvaluateTrust(b *testing.B) {
	alice := testidentity.New("@alice:localhost", "A1")
	q := newQR().add(alice, alice.MasterKey(), true)
	var users []string
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
		u := testidentity.New("@"+name+":localhost", "D1", "D2")
		q.add(u, alice.SignOtherMaster(u), false)
		users = append(users, u.UserID)
	}
	in := client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64}
	b.ReportAllocs()
	for b.Loop() {
		tv := client.EvaluateTrust(&q.r, in, users)
		if !tv.Users["@k:localhost"].Devices[1].Trusted {
			b.Fatal("not trusted")
		}
	}
}

// BenchmarkVerifyFloor is the baseline of BenchmarkEvaluateTrust: the 120
// bare ed25519 verifications (12 per user with two devices: own chain and
// theirs per decision) that the trust view of ten users performs.
func BenchmarkVerifyFloor(b *testing.B) {
	k := testidentity.NewKey("floor")
	msg := []byte(`{"keys":{"ed25519:X":"Y"},"usage":["master"],"user_id":"@b:localhost"}`)
	sig := ed25519.Sign(k.Priv, msg)
	b.ReportAllocs()
	for b.Loop() {
		for range 120 {
			if !ed25519.Verify(k.Pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	}
}
