package client_test

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/signatures"
	"maunium.net/go/mautrix/id"

	"vouch/client"
	"vouch/client/device"
	"vouch/signedjson"
)

// TestInteropMautrixVerifies checks the objects this client signs with an
// independent implementation (mautrix-go's signature verification and
// types): device keys, one-time and fallback keys, the cross-signing keys
// and the signatures the verification flows upload.
func TestInteropMautrixVerifies(t *testing.T) {
	dev, err := device.New("@alice:localhost", "ALICEDEV", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := client.GenerateCrossSigningKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	master, ssk, usk, err := ks.Objects("@alice:localhost")
	if err != nil {
		t.Fatal(err)
	}
	dk, err := dev.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	otks, err := dev.GenerateOneTimeKeys(rand.Reader, 2)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := dev.GenerateFallbackKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	devSigned, err := signedjson.Sign(dk, "@alice:localhost", "ed25519:"+client.PublicKey(ks.SelfSigning), ks.SelfSigning)
	if err != nil {
		t.Fatal(err)
	}
	masterByDevice, err := dev.Sign(master)
	if err != nil {
		t.Fatal(err)
	}
	mpub := client.PublicKey(ks.Master)
	tests := []struct {
		name    string
		obj     []byte
		keyName string // after "ed25519:"
		key     string
	}{
		{"device self-signature", dk, "ALICEDEV", dev.Ed25519()},
		{"one-time key", otks[0].Object, "ALICEDEV", dev.Ed25519()},
		{"fallback key", fb.Object, "ALICEDEV", dev.Ed25519()},
		{"self-signing key by master", ssk, mpub, mpub},
		{"user-signing key by master", usk, mpub, mpub},
		{"device by self-signing key", devSigned, client.PublicKey(ks.SelfSigning), client.PublicKey(ks.SelfSigning)},
		{"master by device", masterByDevice, "ALICEDEV", dev.Ed25519()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := signatures.VerifySignatureJSON(json.RawMessage(tt.obj), "@alice:localhost", tt.keyName, id.Ed25519(tt.key))
			if err != nil || !ok {
				t.Fatalf("mautrix does not verify %s: %v", tt.obj, err)
			}
		})
	}
	// mautrix's wire types read our objects with the fields intact.
	var mdk mautrix.DeviceKeys
	if err := json.Unmarshal(dk, &mdk); err != nil || mdk.DeviceID != "ALICEDEV" || string(mdk.Keys.GetEd25519("ALICEDEV")) != dev.Ed25519() ||
		string(mdk.Keys.GetCurve25519("ALICEDEV")) != dev.Curve25519() {
		t.Fatalf("mautrix reads device keys as %+v (%v)", mdk, err)
	}
	var mcs mautrix.CrossSigningKeys
	if err := json.Unmarshal(master, &mcs); err != nil || len(mcs.Usage) != 1 || mcs.Usage[0] != id.XSUsageMaster || string(mcs.Keys[id.NewKeyID(id.KeyAlgorithmEd25519, mpub)]) != mpub {
		t.Fatalf("mautrix reads the master key as %+v (%v)", mcs, err)
	}
}
