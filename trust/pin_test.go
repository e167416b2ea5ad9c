package trust_test

import (
	"errors"
	"testing"

	"vouch/internal/testidentity"
	"vouch/trust"
)

func TestPinLifecycle(t *testing.T) {
	var p trust.Pin
	p, c := p.Observe("@bob:y", "K1")
	if c.Kind != trust.FirstSeen || p.Master != "K1" {
		t.Fatalf("first: %+v %+v", p, c)
	}
	p, c = p.Observe("@bob:y", "K1")
	if c.Kind != trust.NoChange || p.Violation("K1") {
		t.Fatalf("same: %+v %+v", p, c)
	}
	p = p.MarkVerified("K1")
	p, c = p.Observe("@bob:y", "K2")
	if c.Kind != trust.IdentityChanged || c.Old != "K1" || c.New != "K2" || !c.WasVerified {
		t.Fatalf("change: %+v", c)
	}
	if p.Master != "K1" || !p.Violation("K2") {
		t.Fatal("a changed key must not be pinned before approval")
	}
	// Observing again still reports the change: it is not silently accepted.
	if _, c = p.Observe("@bob:y", "K2"); c.Kind != trust.IdentityChanged {
		t.Fatalf("second observation: %+v", c)
	}
	p = p.Approve("K2")
	if p.Violation("K2") || !p.Changed || p.Master != "K2" {
		t.Fatalf("approve: %+v", p)
	}
	if _, c = p.Observe("@bob:y", ""); c.Kind != trust.IdentityRemoved {
		t.Fatalf("removed: %+v", c)
	}
}

func TestMigrateFromDeviceVerification(t *testing.T) {
	bob := testidentity.New("@bob:y", "B1", "B2")
	signedByB1 := bob.SignMasterWithDevice("B1")
	verified := map[string]string{"B1": bob.Devices["B1"].Ed25519.B64}
	var first trust.Pin
	first, _ = first.Observe(bob.UserID, bob.Master.B64)

	their := published(t, bob, signedByB1)
	if d := trust.MigrateFromDeviceVerification(first, their, verified); !d.Trusted {
		t.Fatalf("first key signed by a verified device refused: %s", d.Reason)
	}
	// Signed only by a device we never verified.
	if d := trust.MigrateFromDeviceVerification(first, published(t, bob, bob.SignMasterWithDevice("B2")), verified); d.Trusted {
		t.Fatal("unverified device's signature accepted")
	}
	// The verified device's key changed since we verified it.
	if d := trust.MigrateFromDeviceVerification(first, their, map[string]string{"B1": bob.Devices["B2"].Ed25519.B64}); d.Trusted {
		t.Fatal("stale device key accepted")
	}
	// After an identity change, even an approved one, migration is refused.
	reset := testidentity.NewGeneration("@bob:y", "2", "B1")
	reset.Devices["B1"] = bob.Devices["B1"]
	theirNew := published(t, reset, reset.SignMasterWithDevice("B1"))
	changed, _ := first.Observe(bob.UserID, reset.Master.B64)
	d := trust.MigrateFromDeviceVerification(changed, theirNew, verified)
	if d.Trusted || !errors.Is(d.Cause, trust.ErrMigrationRefused) {
		t.Fatalf("changed identity migrated: %+v", d)
	}
	approved := changed.Approve(reset.Master.B64)
	if d := trust.MigrateFromDeviceVerification(approved, theirNew, verified); d.Trusted {
		t.Fatal("migration after an approved change accepted")
	}
}
