package server_test

import (
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"vouch/signedjson"
)

// trio builds alice, bob and carol, each with a device, cross-signing keys,
// the device signed by the self-signing key and the master signed by the
// device; then alice signs bob, bob signs alice and carol signs bob with
// their user-signing keys.
func trio(t *testing.T) (*env, *acct, *acct, *acct, map[string]string) {
	e := newEnv(t)
	names := map[string]string{}
	var as []*acct
	for _, n := range []string{"alice", "bob", "carol"} {
		a := e.register(n)
		a.uploadDeviceKeys()
		a.crossSign()
		a.signDevice()
		a.signOwnMaster()
		names[a.user] = n
		names[a.user+"|dev:"+a.device] = "d"
		names[a.user+"|ed25519:"+a.device] = n + ".dev"
		names[a.user+"|ed25519:"+pubB64(a.master)] = n + ".msk"
		names[a.user+"|ed25519:"+pubB64(a.ssk)] = n + ".ssk"
		names[a.user+"|ed25519:"+pubB64(a.usk)] = n + ".usk"
		as = append(as, a)
	}
	alice, bob, carol := as[0], as[1], as[2]
	alice.signUser(bob)
	bob.signUser(alice)
	carol.signUser(bob)
	return e, alice, bob, carol, names
}

// TestVisibility checks, for each viewer, the exact set of signatures
// /keys/query returns (seed 002: "To avoid leaking of social graphs…").
func TestVisibility(t *testing.T) {
	_, alice, bob, carol, names := trio(t)
	common := []string{
		"alice/dev:d<-alice.dev", "alice/dev:d<-alice.ssk", "alice/msk<-alice.dev", "alice/ssk<-alice.msk",
		"bob/dev:d<-bob.dev", "bob/dev:d<-bob.ssk", "bob/msk<-bob.dev", "bob/ssk<-bob.msk",
		"carol/dev:d<-carol.dev", "carol/dev:d<-carol.ssk", "carol/msk<-carol.dev", "carol/ssk<-carol.msk",
	}
	tests := []struct {
		viewer *acct
		extra  []string
	}{
		// Alice sees her own user-signing key (signed by her master) and her
		// signature of bob, but not bob's signature of her nor carol's of bob.
		{alice, []string{"alice/usk<-alice.msk", "bob/msk<-alice.usk"}},
		{bob, []string{"bob/usk<-bob.msk", "alice/msk<-bob.usk"}},
		{carol, []string{"carol/usk<-carol.msk", "bob/msk<-carol.usk"}},
	}
	for _, tc := range tests {
		t.Run(names[tc.viewer.user], func(t *testing.T) {
			got := tc.viewer.query(alice.user, bob.user, carol.user).sigList(names)
			want := append(append([]string{}, common...), tc.extra...)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("viewer %s\n got %v\nwant %v", names[tc.viewer.user], got, want)
			}
		})
	}
	// Only the owner gets the user-signing key itself.
	q := alice.query(alice.user, bob.user)
	if _, ok := q.UserSigningKeys[bob.user]; ok || len(q.UserSigningKeys) != 1 {
		t.Fatalf("user_signing_keys %v", q.UserSigningKeys)
	}
	if len(q.DeviceKeys[bob.user][bob.device].Keys) != 2 {
		t.Fatal("bob's device keys missing")
	}
}

// TestQueryReturnsVerifiableObjects checks that a stored key plus its
// returned signatures verifies with the signer's key.
func TestQueryReturnsVerifiableObjects(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	a.uploadDeviceKeys()
	a.crossSign()
	a.signDevice()
	r := e.ok("POST", v3+"/keys/query", a.token, map[string]any{"device_keys": map[string][]string{a.user: {}}})
	var q struct {
		DeviceKeys map[string]map[string]json.RawMessage `json:"device_keys"`
		SelfSigned map[string]json.RawMessage            `json:"self_signing_keys"`
	}
	r.decode(t, &q)
	dev := q.DeviceKeys[a.user][a.device]
	if err := signedjson.Verify(dev, a.user, "ed25519:"+a.device, a.devPriv.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("self-signature: %v", err)
	}
	if err := signedjson.Verify(dev, a.user, "ed25519:"+pubB64(a.ssk), a.ssk.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("ssk signature: %v", err)
	}
	if err := signedjson.Verify(q.SelfSigned[a.user], a.user, "ed25519:"+pubB64(a.master), a.master.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("master over ssk: %v", err)
	}
	if !strings.Contains(string(dev), `"device_display_name"`) {
		t.Errorf("no display name in %s", dev)
	}
}

// TestQueryDeviceFilterAndUnknownUsers: a device list restricts the answer;
// users without keys come back empty, not as errors.
func TestQueryDeviceFilterAndUnknownUsers(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	a.uploadDeviceKeys()
	var l map[string]string
	e.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": a.password}).decode(t, &l)
	second := &acct{e: e, user: a.user, device: l["device_id"], token: l["access_token"], password: a.password, csObjs: map[string][]byte{}}
	second.uploadDeviceKeys()
	var q struct {
		DeviceKeys map[string]map[string]json.RawMessage `json:"device_keys"`
		MasterKeys map[string]json.RawMessage            `json:"master_keys"`
	}
	e.ok("POST", v3+"/keys/query", a.token, map[string]any{"device_keys": map[string][]string{a.user: {second.device}, "@nobody:localhost": {}}}).decode(t, &q)
	if len(q.DeviceKeys[a.user]) != 1 || q.DeviceKeys[a.user][second.device] == nil {
		t.Fatalf("filtered devices %v", q.DeviceKeys[a.user])
	}
	if got, ok := q.DeviceKeys["@nobody:localhost"]; !ok || len(got) != 0 {
		t.Fatalf("unknown user %v", q.DeviceKeys)
	}
	e.ok("POST", v3+"/keys/query", a.token, map[string]any{"device_keys": map[string][]string{a.user: {}}}).decode(t, &q)
	if len(q.DeviceKeys[a.user]) != 2 || len(q.MasterKeys) != 0 {
		t.Fatalf("all devices %v, masters %v", q.DeviceKeys[a.user], q.MasterKeys)
	}
}
