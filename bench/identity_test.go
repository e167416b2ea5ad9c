package bench

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"vouch/keys"
	"vouch/signedjson"
)

func testPopulation(t testing.TB, users, devices int) *population {
	t.Helper()
	p, err := syntheticPopulation(users, devices, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pubOf(k key) ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

func TestDeviceKeysUploadBodyParses(t *testing.T) {
	p := testPopulation(t, 2, 3)
	for _, u := range p.users {
		for _, d := range u.devices {
			body, err := u.deviceKeysUploadBody(d)
			if err != nil {
				t.Fatal(err)
			}
			var req struct {
				DeviceKeys json.RawMessage `json:"device_keys"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatal(err)
			}
			dk, err := keys.ParseDeviceKeys(req.DeviceKeys)
			if err != nil {
				t.Fatalf("ParseDeviceKeys: %v\n%s", err, req.DeviceKeys)
			}
			if err := dk.Validate(u.id, d.id); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if err := dk.Validate(u.id, "OTHER"); err == nil {
				t.Fatal("device keys validate for another device")
			}
			if dk.Curve25519() != d.curve {
				t.Errorf("curve25519 key %q, want %q", dk.Curve25519(), d.curve)
			}
		}
	}
}

func TestCrossSigningUploadBodyVerifies(t *testing.T) {
	u := testPopulation(t, 1, 1).users[0]
	body, err := u.crossSigningUploadBody()
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	master, err := keys.ParseCrossSigningKey(req["master_key"])
	if err != nil {
		t.Fatal(err)
	}
	if err := master.Validate(u.id, keys.UsageMaster); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		usage keys.Usage
		k     key
	}{
		{"self_signing_key", keys.UsageSelfSigning, u.ssk},
		{"user_signing_key", keys.UsageUserSigning, u.usk},
	} {
		sub, err := keys.ParseCrossSigningKey(req[tc.field])
		if err != nil {
			t.Fatalf("%s: %v", tc.field, err)
		}
		if err := sub.Validate(u.id, tc.usage); err != nil {
			t.Fatalf("%s: %v", tc.field, err)
		}
		if err := sub.VerifySignedByMaster(master); err != nil {
			t.Fatalf("%s: %v", tc.field, err)
		}
		if _, b64, _ := sub.PublicKey(); b64 != tc.k.b64 {
			t.Errorf("%s: public key %s, want %s", tc.field, b64, tc.k.b64)
		}
	}
	if len(req) != 3 {
		t.Errorf("body has %d members, want 3", len(req))
	}
}

// signedObjects decodes a /keys/signatures/upload body.
func signedObjects(t *testing.T, body []byte) map[string]map[string]json.RawMessage {
	t.Helper()
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignatureBodiesVerify(t *testing.T) {
	p := testPopulation(t, 2, 2)
	alice, bob := p.users[0], p.users[1]

	t.Run("self-signing key over each device", func(t *testing.T) {
		body, err := alice.deviceCrossSignaturesBody()
		if err != nil {
			t.Fatal(err)
		}
		m := signedObjects(t, body)
		if len(m) != 1 || len(m[alice.id]) != len(alice.devices) {
			t.Fatalf("body %s", body)
		}
		for _, d := range alice.devices {
			dk, err := keys.ParseDeviceKeys(m[alice.id][d.id])
			if err != nil {
				t.Fatal(err)
			}
			if err := dk.Validate(alice.id, d.id); err != nil {
				t.Fatal(err)
			}
			if err := signedjson.Verify(dk.Raw, alice.id, alice.ssk.keyID(), pubOf(alice.ssk)); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("user-signing key over another master", func(t *testing.T) {
		body, err := alice.signOtherMasterBody(bob)
		if err != nil {
			t.Fatal(err)
		}
		m := signedObjects(t, body)
		raw := m[bob.id][bob.master.b64]
		k, err := keys.ParseCrossSigningKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Validate(bob.id, keys.UsageMaster); err != nil {
			t.Fatal(err)
		}
		if err := k.VerifySignedBy(alice.id, pubOf(alice.usk), alice.usk.keyID()); err != nil {
			t.Fatal(err)
		}
		if err := k.VerifySignedBy(alice.id, pubOf(alice.ssk), alice.ssk.keyID()); err == nil {
			t.Fatal("verified with the wrong key")
		}
		stored, _ := bob.masterKey()
		if same, err := keys.SameKeyIgnoringSignatures(raw, stored); err != nil || !same {
			t.Fatalf("signed master differs from the stored one: %v", err)
		}
	})
	t.Run("device over own master", func(t *testing.T) {
		d := bob.devices[1]
		body, err := bob.deviceSignsMasterBody(d)
		if err != nil {
			t.Fatal(err)
		}
		raw := signedObjects(t, body)[bob.id][bob.master.b64]
		if err := signedjson.Verify(raw, bob.id, "ed25519:"+d.id, pubOf(d.sign)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeysQueryBody(t *testing.T) {
	p := testPopulation(t, 5, 1)
	body, err := keysQueryBody(p.userIDs(3, 4))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		DeviceKeys map[string][]string `json:"device_keys"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	want := []string{p.users[3].id, p.users[4].id, p.users[0].id, p.users[1].id}
	if len(req.DeviceKeys) != len(want) {
		t.Fatalf("queried %v, want %v", req.DeviceKeys, want)
	}
	for _, id := range want {
		if devs, ok := req.DeviceKeys[id]; !ok || devs == nil || len(devs) != 0 {
			t.Errorf("%s: %v, %v (want an empty list: all devices)", id, devs, ok)
		}
	}
}

func TestOTKPoolBodies(t *testing.T) {
	u := testPopulation(t, 1, 1).users[0]
	d := u.devices[0]
	pub := pubOf(d.sign)
	const uploads = 4
	pool, err := newOTKPool(u, d, 7, 100, uploads)
	if err != nil {
		t.Fatal(err)
	}
	if pool.uploads() != uploads {
		t.Fatalf("uploads() = %d", pool.uploads())
	}
	seenIDs := map[string]bool{}
	seenKeys := map[string]bool{}
	for i := range uploads {
		body, ok := pool.appendKeysUploadBody([]byte("junk"), i)
		if !ok {
			t.Fatalf("upload %d missing", i)
		}
		body = body[len("junk"):]
		var req struct {
			OTKs map[string]struct {
				Key        string                `json:"key"`
				Signatures signedjson.Signatures `json:"signatures"`
			} `json:"one_time_keys"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("upload %d: %v\n%s", i, err, body)
		}
		if len(req.OTKs) != OTKsPerUpload {
			t.Fatalf("upload %d has %d keys", i, len(req.OTKs))
		}
		for id, k := range req.OTKs {
			if !strings.HasPrefix(id, "signed_curve25519:W7K") || seenIDs[id] {
				t.Errorf("key ID %q repeated or malformed", id)
			}
			seenIDs[id] = true
			if seenKeys[k.Key] {
				t.Errorf("key %s repeated", k.Key)
			}
			seenKeys[k.Key] = true
			if raw, err := signedjson.DecodeBase64(k.Key); err != nil || len(raw) != 32 {
				t.Errorf("key %q is not 32 bytes of base64", k.Key)
			}
			obj, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := signedjson.Verify(obj, u.id, "ed25519:"+d.id, pub); err != nil {
				t.Errorf("one-time key %s: %v", id, err)
			}
		}
	}
	if _, ok := pool.appendKeysUploadBody(nil, uploads); ok {
		t.Error("upload beyond the pool was built")
	}
	if _, ok := pool.appendKeysUploadBody(nil, -1); ok {
		t.Error("upload -1 was built")
	}
	// Key IDs start at the pool's base so later pools do not collide.
	if !seenIDs["signed_curve25519:W7K500"] {
		t.Errorf("first key ID not numbered from base 100: %v", seenIDs)
	}
	if _, err := newOTKPool(u, d, 0, 0, -1); err == nil {
		t.Error("negative pool size accepted")
	}
}

func BenchmarkAppendKeysUploadBody(b *testing.B) {
	u := testPopulation(b, 1, 1).users[0]
	pool, err := newOTKPool(u, u.devices[0], 0, 0, 16)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf, _ = pool.appendKeysUploadBody(buf[:0], i%16)
		i++
	}
}

// TestKeysUploadPlanCeilingRepeats: against the server each upload is
// fresh and the pool bounds the phase; against the ceiling the same
// uploads repeat.
func TestKeysUploadPlanCeilingRepeats(t *testing.T) {
	p := testPopulation(t, 2, 1)
	pl, err := keysUploadPlan(p, 2, 4) // two uploads per worker
	if err != nil {
		t.Fatal(err)
	}
	var scratch []byte
	for seq := range 2 {
		if _, ok, err := pl.next(1, seq, &scratch); !ok || err != nil {
			t.Fatalf("upload %d: %v %v", seq, ok, err)
		}
	}
	if _, ok, _ := pl.next(1, 2, &scratch); ok {
		t.Error("the server got an upload beyond the pool")
	}
	first, _, _ := pl.nextCeiling(1, 0, &scratch)
	firstBody := string(first.body)
	again, ok, err := pl.nextCeiling(1, 2, &scratch)
	if !ok || err != nil || string(again.body) != firstBody {
		t.Errorf("ceiling upload 2 is not upload 0 again: %v %v", ok, err)
	}
}
