package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"vouch/signedjson"
)

// TestSignaturesUploadBatch uploads one request with many signatures by the
// caller's user-signing key (verified in parallel), some of them bad: each
// bad one gets its own failure, every good one is stored (visible to the
// signer alone) and becomes one device-list change in the signer's /sync.
func TestSignaturesUploadBatch(t *testing.T) {
	e := newEnv(t)
	alice := e.register("alice")
	alice.uploadDeviceKeys()
	alice.crossSign()
	// 40 others: 36 good signatures, more device-list changes than the
	// store writes with one statement.
	var others []*acct
	for i := range 40 {
		o := e.register(fmt.Sprintf("other%d", i))
		o.uploadDeviceKeys()
		o.crossSign()
		others = append(others, o)
	}
	ids := make([]string, len(others))
	for i, o := range others {
		ids[i] = o.user
	}
	alice.query(ids...) // alice watches them
	since := alice.sync("", 0).NextBatch

	uskID := "ed25519:" + pubB64(alice.usk)
	body := map[string]map[string]json.RawMessage{}
	wantFail := map[string]string{}
	for i, o := range others {
		obj := o.csObj("master", o.master)
		var signed []byte
		switch i {
		case 3: // signed by another key under the user-signing key's ID
			signed = alice.signed(obj, uskID, newKey())
		case 5: // a signature that is not base64
			var m map[string]any
			if err := json.Unmarshal(alice.signed(obj, uskID, alice.usk), &m); err != nil {
				t.Fatal(err)
			}
			m["signatures"] = map[string]any{alice.user: map[string]string{uskID: "!!!"}}
			signed, _ = json.Marshal(m)
		case 7: // no signature by the user-signing key at all
			signed = alice.signed(obj, "ed25519:"+alice.device, alice.devPriv)
		case 9: // a 63-byte signature
			var m map[string]any
			if err := json.Unmarshal(alice.signed(obj, uskID, alice.usk), &m); err != nil {
				t.Fatal(err)
			}
			m["signatures"] = map[string]any{alice.user: map[string]string{uskID: signedjson.EncodeBase64(make([]byte, 63))}}
			signed, _ = json.Marshal(m)
		default:
			signed = alice.signed(obj, uskID, alice.usk)
		}
		if i == 3 || i == 5 || i == 7 || i == 9 {
			wantFail[o.user] = "M_INVALID_SIGNATURE"
		}
		body[o.user] = map[string]json.RawMessage{pubB64(o.master): signed}
	}
	failures := alice.sigUpload(body)
	got := map[string]string{}
	for u, byKey := range failures {
		for _, f := range byKey {
			got[u] = f["errcode"]
		}
	}
	if len(got) != len(wantFail) {
		t.Fatalf("failures %v, want %v", failures, wantFail)
	}
	for u, code := range wantFail {
		if got[u] != code {
			t.Errorf("failure of %s: %q, want %q (all: %v)", u, got[u], code, failures)
		}
	}

	asAlice := alice.query(ids...)
	asBob := others[0].query(ids...)
	var changedWant []string
	for _, o := range others {
		_, signedA := asAlice.MasterKeys[o.user].Signatures[alice.user][uskID]
		_, signedB := asBob.MasterKeys[o.user].Signatures[alice.user][uskID]
		if _, bad := wantFail[o.user]; signedA == bad {
			t.Errorf("%s: alice sees her signature %v, want %v", o.user, signedA, !bad)
		} else if !bad {
			changedWant = append(changedWant, o.user)
		}
		if signedB {
			t.Errorf("%s: another user sees alice's user-signing signature", o.user)
		}
	}
	changed := alice.sync(since, 0).DeviceLists.Changed
	slices.Sort(changed)
	slices.Sort(changedWant)
	if !slices.Equal(changed, changedWant) {
		t.Errorf("alice's device-list changes %v, want %v", changed, changedWant)
	}

	// The same batch again: the good ones are stored again, the bad ones
	// fail again.
	if f := alice.sigUpload(body); len(f) != len(wantFail) {
		t.Errorf("again: failures %v", f)
	}
}

// BenchmarkSignaturesUploadBatch16 measures POST /keys/signatures/upload of
// 16 user-signing signatures over 16 other users' master keys per request.
func BenchmarkSignaturesUploadBatch16(b *testing.B) {
	const k = 16
	e := newEnvB(b)
	var users []*acct
	for i := 0; i < k+4; i++ {
		a := e.register(fmt.Sprintf("u%d", i))
		a.uploadDeviceKeys()
		a.crossSign()
		users = append(users, a)
	}
	// bodies[i]: user i signs the k users after it.
	bodies := make([][]byte, len(users))
	for i, a := range users {
		body := map[string]map[string]json.RawMessage{}
		for j := 1; j <= k; j++ {
			o := users[(i+j)%len(users)]
			body[o.user] = map[string]json.RawMessage{pubB64(o.master): a.signed(o.csObj("master", o.master), "ed25519:"+pubB64(a.usk), a.usk)}
		}
		bodies[i], _ = json.Marshal(body)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) % len(users)
		for pb.Next() {
			if !benchPost(b, client, e.srv.URL+v3+"/keys/signatures/upload", users[i].token, bodies[i], `{"failures":{}}`) {
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/signature")
}
