package trust_test

import (
	"maps"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/trust"
)

func TestObserveIdentities(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1")
	carol := testidentity.New("@carol:z", "C1")
	dave := testidentity.New("@dave:w")
	bob2 := testidentity.NewGeneration(bob.UserID, "2", "B1")
	carol2 := testidentity.NewGeneration(carol.UserID, "2", "C1")
	viewer := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, nil)}

	// Round 1: everyone seen for the first time; bob already verified.
	round1 := map[string]*trust.UserKeys{
		carol.UserID: published(t, carol, nil),
		bob.UserID:   published(t, bob, alice.SignOtherMaster(bob)),
		dave.UserID:  {UserID: dave.UserID},
		alice.UserID: published(t, alice, nil),
	}
	pins, changes := viewer.ObserveIdentities(nil, round1)
	want := []trust.IdentityChange{
		{UserID: bob.UserID, Kind: trust.FirstSeen, New: bob.Master.B64, Verified: true},
		{UserID: carol.UserID, Kind: trust.FirstSeen, New: carol.Master.B64},
	}
	if !sameChanges(changes, want) {
		t.Fatalf("round 1:\n got %+v\nwant %+v", changes, want)
	}
	if _, ok := pins[alice.UserID]; ok {
		t.Error("the viewer's own identity was pinned")
	}
	if p := pins[bob.UserID]; !p.WasVerified || p.Master != bob.Master.B64 {
		t.Errorf("bob pin %+v", p)
	}
	if p := pins[dave.UserID]; p.Master != "" {
		t.Errorf("dave pin %+v", p)
	}

	// Round 2: bob and carol reset their identities; nobody approves.
	round2 := map[string]*trust.UserKeys{
		bob.UserID:   published(t, bob2, nil),
		carol.UserID: published(t, carol2, nil),
	}
	before := maps.Clone(pins)
	pins2, changes := viewer.ObserveIdentities(pins, round2)
	if !maps.Equal(before, pins) {
		t.Fatal("ObserveIdentities modified its input")
	}
	want = []trust.IdentityChange{
		{UserID: bob.UserID, Kind: trust.IdentityChanged, Old: bob.Master.B64, New: bob2.Master.B64, WasVerified: true},
		{UserID: carol.UserID, Kind: trust.IdentityChanged, Old: carol.Master.B64, New: carol2.Master.B64},
	}
	if !sameChanges(changes, want) {
		t.Fatalf("round 2:\n got %+v\nwant %+v", changes, want)
	}
	for _, u := range []string{bob.UserID, carol.UserID} {
		if pins2[u].Master != pins[u].Master {
			t.Errorf("%s: a changed key was pinned without approval", u)
		}
	}
	if p := pins2[bob.UserID]; !p.VerificationViolation(viewer.User(round2[bob.UserID]).Trusted) {
		t.Error("bob: no verification violation after the change")
	}
	// Observed again: still reported, never silently accepted.
	pins3, changes := viewer.ObserveIdentities(pins2, round2)
	if len(changes) != 2 || changes[0].Kind != trust.IdentityChanged || changes[1].Kind != trust.IdentityChanged {
		t.Fatalf("second observation: %+v", changes)
	}

	// Round 3: alice verifies carol's new identity (her USK signs it) and
	// approves bob's without verifying; dave publishes a key of bob's.
	pins3[bob.UserID] = pins3[bob.UserID].Approve(bob2.Master.B64)
	daveWithBobsKey := &trust.UserKeys{UserID: dave.UserID, Master: testidentity.MustParseCrossSigningKey(t, bob.MasterKey())}
	round3 := map[string]*trust.UserKeys{
		bob.UserID:   published(t, bob2, nil),
		carol.UserID: published(t, carol2, alice.SignOtherMaster(carol2)),
		dave.UserID:  daveWithBobsKey,
	}
	pins4, changes := viewer.ObserveIdentities(pins3, round3)
	want = []trust.IdentityChange{
		{UserID: carol.UserID, Kind: trust.IdentityChanged, Old: carol.Master.B64, New: carol2.Master.B64, Verified: true},
	}
	if !sameChanges(changes, want) {
		t.Fatalf("round 3:\n got %+v\nwant %+v", changes, want)
	}
	if p := pins4[carol.UserID]; p.Master != carol2.Master.B64 || !p.Changed || !p.WasVerified {
		t.Errorf("carol pin %+v", p)
	}
	if p := pins4[bob.UserID]; p.Master != bob2.Master.B64 || !p.Changed || !p.WasVerified {
		t.Errorf("bob pin %+v", p)
	}
	if p := pins4[dave.UserID]; p.Master != "" {
		t.Errorf("dave pinned another user's key: %+v", p)
	}
	// Migration stays refused for bob after the approved change.
	if d := trust.MigrateFromDeviceVerification(pins4[bob.UserID], published(t, bob2, bob2.SignMasterWithDevice("B1")),
		map[string]string{"B1": bob2.Devices["B1"].Ed25519.B64}); d.Trusted {
		t.Fatal("migration after an approved change")
	}

	// Round 4: bob's keys vanish.
	_, changes = viewer.ObserveIdentities(pins4, map[string]*trust.UserKeys{bob.UserID: nil})
	want = []trust.IdentityChange{{UserID: bob.UserID, Kind: trust.IdentityRemoved, Old: bob2.Master.B64, WasVerified: true}}
	if !sameChanges(changes, want) {
		t.Fatalf("round 4:\n got %+v\nwant %+v", changes, want)
	}
}

// TestObserveIdentitiesWithoutViewer: the plain function pins like
// Pin.Observe, knows no verification, and is deterministic.
func TestObserveIdentitiesWithoutViewer(t *testing.T) {
	var result = map[string]*trust.UserKeys{}
	for _, u := range []string{"@z:x", "@a:x", "@m:x", "@b:x"} {
		id := testidentity.New(u)
		result[u] = &trust.UserKeys{UserID: u, Master: testidentity.MustParseCrossSigningKey(t, id.MasterKey())}
	}
	for range 10 {
		pins, changes := trust.ObserveIdentities(map[string]trust.Pin{}, result)
		if len(changes) != 4 || len(pins) != 4 {
			t.Fatalf("%d changes, %d pins", len(changes), len(pins))
		}
		for i, want := range []string{"@a:x", "@b:x", "@m:x", "@z:x"} {
			if changes[i].UserID != want || changes[i].Kind != trust.FirstSeen || changes[i].Verified {
				t.Fatalf("change %d: %+v", i, changes[i])
			}
		}
	}
	// A master key object with a usage other than master is no master key.
	ssk := testidentity.New("@a:x")
	result = map[string]*trust.UserKeys{"@a:x": {UserID: "@a:x", Master: testidentity.MustParseCrossSigningKey(t, ssk.SubKey(keys.UsageSelfSigning))}}
	if _, changes := trust.ObserveIdentities(nil, result); len(changes) != 0 {
		t.Fatalf("self-signing key pinned as master: %+v", changes)
	}
}

func TestPinVerificationViolation(t *testing.T) {
	var p trust.Pin
	p, _ = p.Observe("@b:y", "K1")
	if p.VerificationViolation(false) {
		t.Fatal("never verified, yet a violation")
	}
	p = p.MarkVerified("K1")
	if p.VerificationViolation(true) || !p.VerificationViolation(false) {
		t.Fatal("violation flag wrong")
	}
	p = p.WithdrawVerification()
	if p.WasVerified || p.VerificationViolation(false) || p.Master != "K1" {
		t.Fatalf("withdraw: %+v", p)
	}
}

func sameChanges(a, b []trust.IdentityChange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
