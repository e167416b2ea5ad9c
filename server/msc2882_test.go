package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"vouch/server"
	"vouch/signedjson"
)

const msc2882 = "/_matrix/client/unstable/msc2882"

// puskObj is a's public user-signing key object for k, unsigned.
func (a *acct) puskObj(k ed25519.PrivateKey) map[string]any {
	return a.csObj("public-user", k)
}

// uploadPusk publishes a fresh public user-signing key signed by a's master
// key and returns it.
func (a *acct) uploadPusk() ed25519.PrivateKey {
	a.e.t.Helper()
	k := newKey()
	obj := a.signed(a.puskObj(k), "ed25519:"+pubB64(a.master), a.master)
	a.e.ok("POST", v3+"/keys/device_signing/upload", a.token, map[string]json.RawMessage{"public_user_signing_key": obj})
	return k
}

// signOver returns obj signed by a's key priv (key ID ed25519:<pub>).
func (a *acct) signOver(obj map[string]any, priv ed25519.PrivateKey) json.RawMessage {
	a.e.t.Helper()
	js, _ := json.Marshal(obj)
	out, err := signedjson.Sign(js, a.user, "ed25519:"+pubB64(priv), priv)
	if err != nil {
		a.e.t.Fatal(err)
	}
	return out
}

// post2882 posts to an MSC2882 endpoint and returns the failures as
// "user|key" → errcode.
func (a *acct) post2882(path string, body any) map[string]string {
	a.e.t.Helper()
	r := a.e.ok("POST", msc2882+path, a.token, body)
	var out struct {
		Failures map[string]map[string]struct {
			Code string `json:"errcode"`
		} `json:"failures"`
	}
	r.decode(a.e.t, &out)
	got := map[string]string{}
	for u, m := range out.Failures {
		for k, e := range m {
			got[u+"|"+k] = e.Code
		}
	}
	return got
}

type queryResp2882 struct {
	queryResp
	PublicUserSigningKeys map[string]keyObj `json:"public_user_signing_keys"`
}

func (a *acct) query2882(users ...string) queryResp2882 {
	a.e.t.Helper()
	dk := map[string][]string{}
	for _, u := range users {
		dk[u] = []string{}
	}
	var q queryResp2882
	a.e.ok("POST", v3+"/keys/query", a.token, map[string]any{"device_keys": dk}).decode(a.e.t, &q)
	return q
}

// sigsOn lists "signer|keyID" of the signatures on one key object.
func sigsOn(o keyObj, names map[string]string) []string {
	out := []string{}
	for u, ks := range o.Signatures {
		for kid := range ks {
			n := names[u+"|"+kid]
			if n == "" {
				n = u + "|" + kid
			}
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func TestMSC2882PuskUpload(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	for _, a := range []*acct{alice, bob} {
		a.uploadDeviceKeys()
		a.crossSign()
	}
	mid := "ed25519:" + pubB64(alice.master)
	k := newKey()
	// A device whose ID is the key's public key.
	e.ok("POST", v3+"/login", "", map[string]string{"type": "m.login.password", "user": "alice", "password": alice.password, "device_id": pubB64(k)})
	wrongUsage := alice.signed(alice.csObj("user_signing", newKey()), mid, alice.master)
	twoUsages := alice.signed(map[string]any{"user_id": alice.user, "usage": []string{"public-user", "user_signing"}, "keys": map[string]string{"ed25519:" + pubB64(k): pubB64(k)}}, mid, alice.master)
	foreign := newKey()
	byForeign := alice.signed(alice.puskObj(newKey()), "ed25519:"+pubB64(foreign), foreign)
	bobsMaster := bob.signed(alice.puskObj(newKey()), "ed25519:"+pubB64(bob.master), bob.master)
	otherUser := bob.signed(bob.puskObj(newKey()), "ed25519:"+pubB64(bob.master), bob.master)
	collides := alice.signed(alice.puskObj(k), mid, alice.master)
	sameAsSSK := alice.signed(alice.puskObj(alice.ssk), mid, alice.master)
	tests := []struct {
		name   string
		obj    any
		status int
		code   string
	}{
		{"wrong usage", json.RawMessage(wrongUsage), 400, "M_INVALID_PARAM"},
		{"two usages", json.RawMessage(twoUsages), 400, "M_INVALID_PARAM"},
		{"unsigned", alice.puskObj(newKey()), 400, "M_INVALID_SIGNATURE"},
		{"signed by a foreign key", json.RawMessage(byForeign), 400, "M_INVALID_SIGNATURE"},
		{"signed by another user's master", json.RawMessage(bobsMaster), 400, "M_INVALID_SIGNATURE"},
		{"another user's key", json.RawMessage(otherUser), 403, "M_FORBIDDEN"},
		{"collides with a device ID", json.RawMessage(collides), 400, "M_INVALID_PARAM"},
		{"same key as the self-signing key", json.RawMessage(sameAsSSK), 400, "M_INVALID_PARAM"},
		{"not an object", "[1]", 400, "M_INVALID_PARAM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.want(tc.status, tc.code, "POST", v3+"/keys/device_signing/upload", alice.token, map[string]any{"public_user_signing_key": tc.obj})
			if q := bob.query2882(alice.user); len(q.PublicUserSigningKeys) != 0 {
				t.Fatalf("refused key stored: %v", q.PublicUserSigningKeys)
			}
		})
	}
	// Happy path, alone and next to a new master key in the same request
	// (which needs the password, as replacing the master key always does).
	p := alice.uploadPusk()
	names := map[string]string{alice.user + "|" + mid: "alice.msk"}
	carol := e.register("carol")
	for _, viewer := range []*acct{alice, bob, carol} {
		q := viewer.query2882(alice.user, bob.user)
		got, ok := q.PublicUserSigningKeys[alice.user]
		if !ok || len(q.PublicUserSigningKeys) != 1 || got.Keys["ed25519:"+pubB64(p)] != pubB64(p) {
			t.Fatalf("viewer %s: public_user_signing_keys %+v", viewer.user, q.PublicUserSigningKeys)
		}
		if s := sigsOn(got, names); !reflect.DeepEqual(s, []string{"alice.msk"}) {
			t.Fatalf("viewer %s: signatures on the PUSK %v", viewer.user, s)
		}
	}
	m2 := newKey()
	p2 := newKey()
	body := map[string]json.RawMessage{
		"master_key":              alice.signed(alice.csObj("master", m2), "ed25519:"+alice.device, alice.devPriv),
		"public_user_signing_key": alice.signed(alice.puskObj(p2), "ed25519:"+pubB64(m2), m2),
	}
	e.want(401, "", "POST", v3+"/keys/device_signing/upload", alice.token, body)
	body["auth"], _ = json.Marshal(map[string]any{"type": "m.login.password", "identifier": map[string]string{"type": "m.id.user", "user": alice.user}, "password": alice.password})
	e.ok("POST", v3+"/keys/device_signing/upload", alice.token, body)
	q := bob.query2882(alice.user)
	if q.PublicUserSigningKeys[alice.user].Keys["ed25519:"+pubB64(p2)] == "" {
		t.Fatalf("new PUSK not served: %+v", q.PublicUserSigningKeys)
	}
	// Replacing the master key without a new PUSK keeps the PUSK but not
	// the old master's signature on it (as for the self-signing key).
	m3 := newKey()
	body = map[string]json.RawMessage{"master_key": alice.signed(alice.csObj("master", m3), "ed25519:"+alice.device, alice.devPriv), "auth": body["auth"]}
	e.ok("POST", v3+"/keys/device_signing/upload", alice.token, body)
	q = bob.query2882(alice.user)
	if got := q.PublicUserSigningKeys[alice.user]; got.Keys["ed25519:"+pubB64(p2)] == "" || len(got.Signatures) != 0 {
		t.Fatalf("after a master replacement: %+v", got)
	}
	if q.SelfSigningKeys[alice.user].Keys == nil || len(q.SelfSigningKeys[alice.user].Signatures) != 0 {
		t.Fatalf("self-signing key after a master replacement: %+v", q.SelfSigningKeys[alice.user])
	}
	// Re-signing the PUSK with the new master key (old endpoint).
	alice.master = m3
	if f := alice.sigUpload(map[string]map[string]json.RawMessage{alice.user: {pubB64(p2): alice.signOver(alice.puskObj(p2), m3)}}); len(f) != 0 {
		t.Fatalf("re-signing failures %v", f)
	}
	q = carol.query2882(alice.user)
	if s := sigsOn(q.PublicUserSigningKeys[alice.user], nil); !reflect.DeepEqual(s, []string{alice.user + "|ed25519:" + pubB64(m3)}) {
		t.Fatalf("re-signed PUSK signatures %v", s)
	}
}

// trio2882 is trio with a PUSK for everyone.
func trio2882(t *testing.T) (*env, []*acct, map[string]ed25519.PrivateKey, map[string]string) {
	e, alice, bob, carol, names := trio(t)
	pusks := map[string]ed25519.PrivateKey{}
	for _, a := range []*acct{alice, bob, carol} {
		p := a.uploadPusk()
		pusks[a.user] = p
		names[a.user+"|ed25519:"+pubB64(p)] = names[a.user] + ".pusk"
	}
	return e, []*acct{alice, bob, carol}, pusks, names
}

func TestMSC2882PublicSignatureVisibility(t *testing.T) {
	e, as, pusks, names := trio2882(t)
	alice, bob, carol := as[0], as[1], as[2]
	// Alice publicly signs bob's master (new endpoint) and bob's PUSK (old
	// endpoint); trio already made her private signature of bob's master.
	f := alice.post2882("/keys/signatures/upload", map[string]any{"public": map[string]any{bob.user: map[string]any{
		pubB64(bob.master): alice.signOver(bob.csObj("master", bob.master), pusks[alice.user])}}})
	if len(f) != 0 {
		t.Fatalf("failures %v", f)
	}
	if f := alice.sigUpload(map[string]map[string]json.RawMessage{bob.user: {pubB64(pusks[bob.user]): alice.signOver(bob.puskObj(pusks[bob.user]), pusks[alice.user])}}); len(f) != 0 {
		t.Fatalf("failures %v", f)
	}
	tests := []struct {
		viewer     *acct
		master     []string
		bobPusk    []string
		aliceOnBob bool
	}{
		{alice, []string{"alice.pusk", "alice.usk", "bob.dev"}, []string{"alice.pusk", "bob.msk"}, true},
		{bob, []string{"alice.pusk", "bob.dev"}, []string{"alice.pusk", "bob.msk"}, true},
		{carol, []string{"alice.pusk", "bob.dev", "carol.usk"}, []string{"alice.pusk", "bob.msk"}, true},
	}
	for _, tc := range tests {
		t.Run(names[tc.viewer.user], func(t *testing.T) {
			q := tc.viewer.query2882(alice.user, bob.user, carol.user)
			if got := sigsOn(q.MasterKeys[bob.user], names); !reflect.DeepEqual(got, tc.master) {
				t.Fatalf("bob's master: got %v want %v", got, tc.master)
			}
			if got := sigsOn(q.PublicUserSigningKeys[bob.user], names); !reflect.DeepEqual(got, tc.bobPusk) {
				t.Fatalf("bob's PUSK: got %v want %v", got, tc.bobPusk)
			}
			if len(q.PublicUserSigningKeys) != 3 {
				t.Fatalf("PUSKs served: %d", len(q.PublicUserSigningKeys))
			}
		})
	}
	_ = e
}

func TestMSC2882SignatureUploadRules(t *testing.T) {
	e, as, pusks, names := trio2882(t)
	alice, bob, carol := as[0], as[1], as[2]
	bm := pubB64(bob.master)
	byPusk := alice.signOver(bob.csObj("master", bob.master), pusks[alice.user])
	byUsk := alice.signOver(bob.csObj("master", bob.master), alice.usk)
	var both map[string]any
	json.Unmarshal(byUsk, &both)
	bothSigs := alice.signOver(both, pusks[alice.user]) // carries the USK and the PUSK signature
	forged := []byte(strings.Replace(string(byPusk), `"signatures":{`, `"signatures":{"x":{"y":"z"},`, 1))
	var forgedObj map[string]any
	json.Unmarshal(byPusk, &forgedObj)
	forgedObj["signatures"] = map[string]any{alice.user: map[string]string{"ed25519:" + pubB64(pusks[alice.user]): signedjson.EncodeBase64(make([]byte, 64))}}
	ownSSKDev := alice.signOver(alice.deviceKeysObjFrom(alice.devKeys), alice.ssk)
	tooLong := map[string]any{}
	json.Unmarshal(byPusk, &tooLong)
	tooLong["signatures"] = map[string]any{alice.user: map[string]string{"ed25519:" + pubB64(pusks[alice.user]): strings.Repeat("A", 1025)}}
	_ = forged
	tests := []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"USK signature in public", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: byUsk}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}},
		{"PUSK signature in private", map[string]any{"private": map[string]any{bob.user: map[string]any{bm: byPusk}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}},
		{"both signatures in public", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: bothSigs}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}},
		{"SSK signature in private", map[string]any{"private": map[string]any{alice.user: map[string]any{alice.device: ownSSKDev}}}, map[string]string{alice.user + "|" + alice.device: "M_INVALID_PARAM"}},
		{"forged PUSK signature", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: forgedObj}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_SIGNATURE"}},
		{"signature over 1 KiB", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: tooLong}}}, map[string]string{bob.user + "|" + bm: "M_TOO_LARGE"}},
		{"PUSK over another user's device", map[string]any{"public": map[string]any{bob.user: map[string]any{bob.device: alice.signOver(bob.deviceKeysObjFrom(bob.devKeys), pusks[alice.user])}}}, map[string]string{bob.user + "|" + bob.device: "M_FORBIDDEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := alice.post2882("/keys/signatures/upload", tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("failures %v, want %v", got, tc.want)
			}
			if got := sigsOn(carol.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"bob.dev", "carol.usk"}) {
				t.Fatalf("nothing may be stored; carol sees %v", got)
			}
		})
	}
	// Valid ones in the same request are stored: SSK over device in public,
	// USK signature in private, next to a refused one.
	f := alice.post2882("/keys/signatures/upload", map[string]any{
		"public":  map[string]any{alice.user: map[string]any{alice.device: ownSSKDev}, bob.user: map[string]any{bm: byUsk}},
		"private": map[string]any{bob.user: map[string]any{bm: byUsk}},
	})
	if !reflect.DeepEqual(f, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}) {
		t.Fatalf("mixed request failures %v", f)
	}
	// One public signature per signer per key, across a PUSK rotation.
	if f := alice.post2882("/keys/signatures/upload", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: byPusk}}}); len(f) != 0 {
		t.Fatal(f)
	}
	p2 := alice.uploadPusk()
	names[alice.user+"|ed25519:"+pubB64(p2)] = "alice.pusk2"
	if got := sigsOn(carol.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"bob.dev", "carol.usk"}) {
		t.Fatalf("after rotation carol sees %v", got)
	}
	for range 2 {
		if f := alice.post2882("/keys/signatures/upload", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: alice.signOver(bob.csObj("master", bob.master), p2)}}}); len(f) != 0 {
			t.Fatal(f)
		}
	}
	if got := sigsOn(carol.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"alice.pusk2", "bob.dev", "carol.usk"}) {
		t.Fatalf("after re-signing carol sees %v", got)
	}
	if got := sigsOn(alice.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"alice.pusk2", "alice.usk", "bob.dev"}) {
		t.Fatalf("alice sees %v", got)
	}
	_ = e
}

func TestMSC2882DeleteAndSync(t *testing.T) {
	e, as, pusks, names := trio2882(t)
	alice, bob, carol := as[0], as[1], as[2]
	bm := pubB64(bob.master)
	carol.query2882(bob.user) // carol watches bob
	since := carol.sync("", 0).NextBatch
	changed := func() []string {
		t.Helper()
		s := carol.sync(since, 0)
		since = s.NextBatch
		return s.DeviceLists.Changed
	}
	// A private signature: carol is not told.
	if f := alice.sigUpload(map[string]map[string]json.RawMessage{bob.user: {bm: alice.signOver(bob.csObj("master", bob.master), alice.usk)}}); len(f) != 0 {
		t.Fatal(f)
	}
	if c := changed(); len(c) != 0 {
		t.Fatalf("carol told of a private signature: %v", c)
	}
	// A public one: carol is told.
	if f := alice.post2882("/keys/signatures/upload", map[string]any{"public": map[string]any{bob.user: map[string]any{bm: alice.signOver(bob.csObj("master", bob.master), pusks[alice.user])}}}); len(f) != 0 {
		t.Fatal(f)
	}
	if c := changed(); !reflect.DeepEqual(c, []string{bob.user}) {
		t.Fatalf("after a public signature carol got %v", c)
	}
	ap := "ed25519:" + pubB64(pusks[alice.user])
	tests := []struct {
		name string
		body any
		want map[string]string
	}{
		{"missing", map[string]any{carol.user: map[string]any{pubB64(carol.master): []string{ap}}}, map[string]string{carol.user + "|" + pubB64(carol.master): "M_NOT_FOUND"}},
		{"foreign key", map[string]any{bob.user: map[string]any{bm: []string{"ed25519:" + pubB64(carol.usk)}}}, map[string]string{bob.user + "|" + bm: "M_FORBIDDEN"}},
		{"malformed key ID", map[string]any{bob.user: map[string]any{bm: []string{"nocolon"}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}},
		{"empty list", map[string]any{bob.user: map[string]any{bm: []string{}}}, map[string]string{bob.user + "|" + bm: "M_INVALID_PARAM"}},
		{"device self-signature", map[string]any{alice.user: map[string]any{alice.device: []string{"ed25519:" + alice.device}}}, map[string]string{alice.user + "|" + alice.device: "M_FORBIDDEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := alice.post2882("/keys/signatures/delete", tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("failures %v, want %v", got, tc.want)
			}
		})
	}
	if c := changed(); len(c) != 0 {
		t.Fatalf("carol told of refused deletes: %v", c)
	}
	// Deleting the public signature: carol is told and no longer sees it.
	if f := alice.post2882("/keys/signatures/delete", map[string]any{bob.user: map[string]any{bm: []string{ap}}}); len(f) != 0 {
		t.Fatal(f)
	}
	if c := changed(); !reflect.DeepEqual(c, []string{bob.user}) {
		t.Fatalf("after a delete carol got %v", c)
	}
	if got := sigsOn(carol.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"bob.dev", "carol.usk"}) {
		t.Fatalf("carol sees %v", got)
	}
	// Deleting the private one: carol not told, alice no longer sees it.
	if f := alice.post2882("/keys/signatures/delete", map[string]any{bob.user: map[string]any{bm: []string{"ed25519:" + pubB64(alice.usk)}}}); len(f) != 0 {
		t.Fatal(f)
	}
	if c := changed(); len(c) != 0 {
		t.Fatalf("carol told of a private delete: %v", c)
	}
	if got := sigsOn(alice.query2882(bob.user).MasterKeys[bob.user], names); !reflect.DeepEqual(got, []string{"bob.dev"}) {
		t.Fatalf("alice sees %v", got)
	}
	_ = e
}

func TestMSC2882VersionsAndBadInput(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxSignaturesPerUpload = 2 })
	a := e.register("alice")
	var v struct {
		Unstable map[string]bool `json:"unstable_features"`
	}
	e.ok("GET", "/_matrix/client/versions", "", nil).decode(t, &v)
	if !v.Unstable["org.matrix.msc2882"] {
		t.Fatalf("unstable_features %v", v.Unstable)
	}
	big := `{"public":{"@b:x":{"K":{"x":"` + strings.Repeat("a", 2<<20) + `"}}}}`
	tests := []struct {
		name, path string
		body       string
		status     int
		code       string
	}{
		{"upload not JSON", "/keys/signatures/upload", "{", 400, "M_NOT_JSON"},
		{"upload array", "/keys/signatures/upload", "[]", 400, "M_BAD_JSON"},
		{"upload public not an object", "/keys/signatures/upload", `{"public":"x"}`, 400, "M_BAD_JSON"},
		{"upload bad user ID", "/keys/signatures/upload", `{"private":{"bob":{}}}`, 400, "M_INVALID_PARAM"},
		{"upload too many", "/keys/signatures/upload", `{"public":{"@b:x":{"A":{},"B":{}}},"private":{"@b:x":{"C":{}}}}`, 400, "M_INVALID_PARAM"},
		{"upload oversized body", "/keys/signatures/upload", big, 413, "M_TOO_LARGE"},
		{"delete not JSON", "/keys/signatures/delete", "nope", 400, "M_NOT_JSON"},
		{"delete list of numbers", "/keys/signatures/delete", `{"@b:x":{"K":[1]}}`, 400, "M_BAD_JSON"},
		{"delete bad user ID", "/keys/signatures/delete", `{"b":{"K":["ed25519:x"]}}`, 400, "M_INVALID_PARAM"},
		{"delete too many", "/keys/signatures/delete", `{"@b:x":{"K":["ed25519:a","ed25519:b","ed25519:c"]}}`, 400, "M_INVALID_PARAM"},
		{"delete oversized body", "/keys/signatures/delete", big, 413, "M_TOO_LARGE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.want(tc.status, tc.code, "POST", msc2882+tc.path, a.token, tc.body)
		})
	}
	e.want(401, "M_MISSING_TOKEN", "POST", msc2882+"/keys/signatures/upload", "", "{}")
	// Objects that are not key objects are failures, not errors.
	f := a.post2882("/keys/signatures/upload", map[string]any{"public": map[string]any{"@b:x": map[string]any{"K": 5}}})
	if len(f) != 1 {
		t.Fatalf("failures %v", f)
	}
}

// FuzzMSC2882Bodies sends arbitrary bodies to the two MSC2882 endpoints as
// alice, who has a PUSK and a public signature over bob's master key.
// Properties: never a 5xx; every error is a Matrix error; a 200 answer is
// {"failures":…}; a body that is not a JSON object changes nothing (the
// stream position does not move).
func FuzzMSC2882Bodies(f *testing.F) {
	e := startEnv(f, filepath.Join(f.TempDir(), "data"))
	alice, bob := e.register("alice"), e.register("bob")
	for _, a := range []*acct{alice, bob} {
		a.uploadDeviceKeys()
		a.crossSign()
	}
	p := alice.uploadPusk()
	signed := alice.signOver(bob.csObj("master", bob.master), p)
	bm := pubB64(bob.master)
	f.Add(false, []byte(`{}`))
	f.Add(false, []byte(`{"public":{"`+bob.user+`":{"`+bm+`":`+string(signed)+`}}}`))
	f.Add(false, []byte(`{"private":{"`+bob.user+`":{"`+bm+`":`+string(signed)+`}}}`))
	f.Add(true, []byte(`{"`+bob.user+`":{"`+bm+`":["ed25519:`+pubB64(p)+`"]}}`))
	f.Add(true, []byte(`{"`+bob.user+`":{"`+bm+`":[]}}`))
	client := e.srv.Client()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, del bool, body []byte) {
		path := msc2882 + "/keys/signatures/upload"
		if del {
			path = msc2882 + "/keys/signatures/delete"
		}
		before, err := e.st.CurrentPosition(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+alice.token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s %q: answer %d %q is not a JSON object", path, body, res.StatusCode, out)
		}
		switch {
		case res.StatusCode >= 500:
			t.Fatalf("%s %q: %d %s", path, body, res.StatusCode, out)
		case res.StatusCode >= 400:
			if _, ok := m["errcode"]; !ok {
				t.Fatalf("%s %q: error without errcode: %s", path, body, out)
			}
		default:
			if _, ok := m["failures"]; !ok {
				t.Fatalf("%s %q: 200 without failures: %s", path, body, out)
			}
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			after, err := e.st.CurrentPosition(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Fatalf("%s %q: refused body moved the stream %d -> %d", path, body, before, after)
			}
		}
	})
}

// BenchmarkMSC2882PublicSignatureUpload measures POST
// /unstable/msc2882/keys/signatures/upload of one public signature (by the
// signer's PUSK over another user's master key): verify, the
// one-per-signer delete and the store. Compare with
// BenchmarkSignaturesUpload (a private signature on the v3 endpoint).
func BenchmarkMSC2882PublicSignatureUpload(b *testing.B) {
	e := newEnvB(b)
	var users []*acct
	var pusks []ed25519.PrivateKey
	for i := 0; i < 20; i++ {
		a := e.register(fmt.Sprintf("u%d", i))
		a.uploadDeviceKeys()
		a.crossSign()
		users = append(users, a)
		pusks = append(pusks, a.uploadPusk())
	}
	bodies := make([][][]byte, len(users))
	for i, a := range users {
		bodies[i] = make([][]byte, len(users))
		for j, o := range users {
			if i != j {
				js, _ := json.Marshal(map[string]any{"public": map[string]map[string]json.RawMessage{o.user: {pubB64(o.master): a.signOver(o.csObj("master", o.master), pusks[i])}}})
				bodies[i][j] = js
			}
		}
	}
	benchSignatureUploads(b, e.srv.URL+msc2882+"/keys/signatures/upload", users, bodies)
}
