package trust_test

import (
	"errors"
	"testing"

	"vouch/canonicaljson"
	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
)

// deviceObject builds a device-keys object of userID with the given device
// ID and ed25519 key, unsigned.
func deviceObject(t *testing.T, userID, deviceID, ed25519 string) []byte {
	t.Helper()
	b, err := canonicaljson.Marshal(map[string]any{
		"user_id":    userID,
		"device_id":  deviceID,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2"},
		"keys":       map[string]string{"ed25519:" + deviceID: ed25519},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(t *testing.T, obj []byte, entity string, k testidentity.Key, keyID string) []byte {
	t.Helper()
	out, err := signedjson.Sign(obj, entity, keyID, k.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNamespaceCollision: device IDs and cross-signing public keys share
// the "ed25519:" namespace (seed 002). A malicious server can present a
// device named after a cross-signing key; Viewer must never take a
// signature by one for a signature by the other.
func TestNamespaceCollision(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1")
	bob := testidentity.New("@bob:y", "B1")
	viewer := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, nil)}

	t.Run("device named after the master key is not trusted", func(t *testing.T) {
		// Bob is verified; the server adds a device whose ID is Bob's
		// master public key, with a key the server holds, self-signed.
		// Its ID makes its key ID "ed25519:<bob MSK>", the key ID of the
		// master's signatures.
		mallory := testidentity.NewKey("server device")
		their := published(t, bob, alice.SignOtherMaster(bob))
		fake := sign(t, deviceObject(t, bob.UserID, bob.Master.B64, mallory.B64), bob.UserID, mallory, "ed25519:"+bob.Master.B64)
		their.Devices[bob.Master.B64] = testidentity.MustParseDeviceKeys(t, fake)
		if d := viewer.User(their); !d.Trusted {
			t.Fatalf("user: %s", d.Reason)
		}
		d := viewer.Device(their, bob.Master.B64)
		if d.Trusted || !errors.Is(d.Cause, keys.ErrNamespaceCollision) {
			t.Fatalf("device named after the master key: trusted=%v cause=%v", d.Trusted, d.Cause)
		}
		if err := their.CheckNamespace(); !errors.Is(err, keys.ErrNamespaceCollision) {
			t.Fatalf("CheckNamespace: %v", err)
		}
		// Bob's real device is unaffected.
		if d := viewer.Device(their, "B1"); !d.Trusted {
			t.Fatalf("B1: %s", d.Reason)
		}
	})

	t.Run("one signature does not count as self-signature and SSK signature", func(t *testing.T) {
		// A device named after the self-signing key and using it as its
		// ed25519 key: one signature by the SSK would then be both the
		// device's self-signature and the SSK's signature over it.
		own := published(t, alice, nil)
		obj := deviceObject(t, alice.UserID, alice.SelfSigning.B64, alice.SelfSigning.B64)
		own.Devices[alice.SelfSigning.B64] = testidentity.MustParseDeviceKeys(t, sign(t, obj, alice.UserID, alice.SelfSigning, alice.SelfSigning.KeyID()))
		v := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}
		d := v.OwnDevice(alice.SelfSigning.B64)
		if d.Trusted || !errors.Is(d.Cause, keys.ErrNamespaceCollision) {
			t.Fatalf("trusted=%v cause=%v", d.Trusted, d.Cause)
		}
	})

	t.Run("device reusing a cross-signing key under its own ID", func(t *testing.T) {
		own := published(t, alice, nil)
		obj := deviceObject(t, alice.UserID, "REUSE", alice.SelfSigning.B64)
		obj = sign(t, obj, alice.UserID, alice.SelfSigning, "ed25519:REUSE")
		obj = sign(t, obj, alice.UserID, alice.SelfSigning, alice.SelfSigning.KeyID())
		own.Devices["REUSE"] = testidentity.MustParseDeviceKeys(t, obj)
		d := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}.OwnDevice("REUSE")
		if d.Trusted || !errors.Is(d.Cause, keys.ErrNamespaceCollision) {
			t.Fatalf("trusted=%v cause=%v", d.Trusted, d.Cause)
		}
	})

	t.Run("migration does not take the master's self-signature for a device's", func(t *testing.T) {
		// A client that recorded a SAS-verified master key the way the
		// spec describes verifying it ("as a device": ID and key are the
		// master public key). The server adds such a "device"; the master
		// key carries its own self-signature under that very key ID.
		masterSelfSigned := bob.Sign(bob.MasterKey(), bob.Master)
		their := published(t, bob, masterSelfSigned)
		ghost := deviceObject(t, bob.UserID, bob.Master.B64, bob.Master.B64)
		their.Devices[bob.Master.B64] = testidentity.MustParseDeviceKeys(t, sign(t, ghost, bob.UserID, bob.Master, bob.Master.KeyID()))
		var pin trust.Pin
		pin, _ = pin.Observe(bob.UserID, bob.Master.B64)
		verified := map[string]string{bob.Master.B64: bob.Master.B64}
		d := trust.MigrateFromDeviceVerification(pin, their, verified)
		if d.Trusted || !errors.Is(d.Cause, trust.ErrMigrationRefused) || !errors.Is(d.Cause, keys.ErrNamespaceCollision) {
			t.Fatalf("trusted=%v cause=%v", d.Trusted, d.Cause)
		}
	})

	t.Run("clean user has no collision", func(t *testing.T) {
		if err := published(t, bob, nil).CheckNamespace(); err != nil {
			t.Fatal(err)
		}
		var nilKeys *trust.UserKeys
		if err := nilKeys.CheckNamespace(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestOwnUserAskedThroughTheirKeys: User and Device accept any UserKeys,
// including a fresh copy of the viewer's own. The answer must be about
// that copy, checked against the trusted master key, and not about v.Own.
func TestOwnUserAskedThroughTheirKeys(t *testing.T) {
	alice := testidentity.New("@alice:x", "A1", "A2")
	viewer := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, nil)}

	// The server now shows alice a different master key for herself.
	reset := testidentity.NewGeneration(alice.UserID, "evil", "A1")
	if d := viewer.User(published(t, reset, nil)); d.Trusted || !errors.Is(d.Cause, trust.ErrOwnMasterNotTrusted) {
		t.Fatalf("own user with a foreign master key: trusted=%v cause=%v", d.Trusted, d.Cause)
	}
	if d := viewer.User(published(t, alice, nil)); !d.Trusted {
		t.Fatalf("own user: %s", d.Reason)
	}
	// A fresh copy in which A2 is no longer cross-signed.
	fresh := published(t, alice, nil, "A2")
	if d := viewer.Device(fresh, "A2"); d.Trusted {
		t.Fatal("decided about v.Own's A2 instead of the copy asked about")
	}
	if d := viewer.Device(fresh, "A1"); !d.Trusted {
		t.Fatalf("A1: %s", d.Reason)
	}
	// A copy whose device is signed by a self-signing key of the reset.
	forged := published(t, alice, nil)
	forged.SelfSigning = testidentity.MustParseCrossSigningKey(t, reset.SubKey(keys.UsageSelfSigning))
	forged.Devices["A1"] = testidentity.MustParseDeviceKeys(t, reset.DeviceKeysCrossSigned("A1"))
	if d := viewer.Device(forged, "A1"); d.Trusted {
		t.Fatal("device vouched for by a foreign self-signing key")
	}
}

// TestDeviceOfAnotherUserListedAsOwn: a device object of bob, signed by
// bob's SSK, listed by the server among alice's devices under the same ID,
// is not alice's device.
func TestDeviceOfAnotherUserListedAsOwn(t *testing.T) {
	alice := testidentity.New("@alice:x", "D1")
	bob := testidentity.New("@bob:y", "D1")
	own := published(t, alice, nil)
	own.Devices["D1"] = testidentity.MustParseDeviceKeys(t, bob.DeviceKeysCrossSigned("D1"))
	d := trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}.OwnDevice("D1")
	if d.Trusted || !errors.Is(d.Cause, keys.ErrUserMismatch) {
		t.Fatalf("trusted=%v cause=%v", d.Trusted, d.Cause)
	}
	// And UserKeys whose UserID disagrees with their keys decides nothing.
	own = published(t, alice, nil)
	own.UserID = bob.UserID
	d = trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: own}.OwnDevice("D1")
	if d.Trusted {
		t.Fatal("device trusted through UserKeys of the wrong user")
	}
}

// TestMigrationHardening covers the rest of the migration rule: the pin
// must be the user's, the device must be valid and self-signed, and the
// answer does not depend on map order.
func TestMigrationHardening(t *testing.T) {
	bob := testidentity.New("@bob:y", "B1", "B2", "B3")
	masterByAll := bob.SignMasterWithDevice("B1")
	masterByAll = bob.Sign(masterByAll, bob.Devices["B2"].Ed25519)
	masterByAll = signedjsonRekey(t, masterByAll, bob, "B2")
	their := published(t, bob, masterByAll)
	var pin trust.Pin
	pin, _ = pin.Observe(bob.UserID, bob.Master.B64)
	verified := map[string]string{"B1": bob.Devices["B1"].Ed25519.B64, "B2": bob.Devices["B2"].Ed25519.B64}

	for range 20 {
		d := trust.MigrateFromDeviceVerification(pin, their, verified)
		if !d.Trusted || len(d.Path) != 2 || d.Path[0].KeyID != "ed25519:B1" {
			t.Fatalf("not deterministic or not trusted: %+v", d)
		}
	}
	carolPin := pin
	carolPin.UserID = "@carol:z"
	if d := trust.MigrateFromDeviceVerification(carolPin, their, verified); d.Trusted {
		t.Fatal("another user's pin accepted")
	}
	// B1's device object is no longer self-signed: it is not the device
	// that was verified, whatever its key says.
	broken := published(t, bob, bob.SignMasterWithDevice("B1"))
	broken.Devices["B1"] = testidentity.MustParseDeviceKeys(t, bob.DeviceKeysUnsigned("B1"))
	if d := trust.MigrateFromDeviceVerification(pin, broken, map[string]string{"B1": bob.Devices["B1"].Ed25519.B64}); d.Trusted {
		t.Fatal("device without self-signature accepted")
	}
	// Never seen: the pin is empty, so this is not "the first key seen".
	if d := trust.MigrateFromDeviceVerification(trust.Pin{}, their, verified); d.Trusted {
		t.Fatal("migration without a pin accepted")
	}
}

// signedjsonRekey moves the signature made with device's key under the
// identity's key ID (testidentity signs as "ed25519:<public key>") to the
// device's key ID "ed25519:<device ID>".
func signedjsonRekey(t *testing.T, obj []byte, id *testidentity.Identity, device string) []byte {
	t.Helper()
	k := id.Devices[device].Ed25519
	sigs, err := signedjson.SignaturesOf(obj)
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := sigs.Get(id.UserID, k.KeyID())
	if !ok {
		t.Fatal("no signature to move")
	}
	out, err := signedjson.AddSignature(obj, id.UserID, "ed25519:"+device, sig)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
