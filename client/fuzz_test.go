package client_test

import (
	"encoding/json"
	"testing"

	"vouch/client"
	"vouch/internal/testidentity"
	"vouch/keys"
)

// FuzzEvaluateTrust feeds attacker-controlled master and device objects for
// bob into alice's trust view. Whatever the bytes, nothing panics, every
// device kept is well formed and listed under its own ID, and bob can only
// come out verified with exactly the master key alice's user-signing key
// signed.
func FuzzEvaluateTrust(f *testing.F) {
	alice := testidentity.New("@alice:localhost", "A1")
	bob := testidentity.New("@bob:localhost", "B1")
	f.Add(alice.SignOtherMaster(bob), bob.DeviceKeysCrossSigned("B1"), bob.SubKey(keys.UsageSelfSigning))
	f.Add(bob.MasterKey(), bob.DeviceKeys("B1"), []byte(`{}`))
	f.Add([]byte(`{"user_id":"@bob:localhost","usage":["master"],"keys":{}}`), []byte(`[]`), []byte(`null`))
	in := client.TrustInputs{UserID: alice.UserID, OwnMaster: alice.Master.B64}
	f.Fuzz(func(t *testing.T, master, dev, ssk []byte) {
		q := newQR().add(alice, alice.MasterKey(), true)
		q.r.MasterKeys[bob.UserID] = json.RawMessage(master)
		q.r.SelfSigningKeys[bob.UserID] = json.RawMessage(ssk)
		q.r.DeviceKeys[bob.UserID] = map[string]json.RawMessage{"B1": dev}
		r := client.EvaluateTrust(&q.r, in, []string{bob.UserID}).Users[bob.UserID]
		for _, d := range r.Devices {
			if d.DeviceID != "B1" || d.Ed25519 == "" {
				t.Fatalf("bad device kept: %+v", d)
			}
		}
		if r.Verified {
			if r.Master != bob.Master.B64 {
				t.Fatalf("verified a master key alice never signed: %s", r.Master)
			}
			same, err := keys.SameKeyIgnoringSignatures(master, bob.MasterKey())
			if err != nil || !same {
				t.Fatalf("verified a different master object: %s", master)
			}
		}
	})
}
