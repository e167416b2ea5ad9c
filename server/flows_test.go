package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"vouch/server"
	"vouch/store"
)

func TestVersionsHealthMetrics(t *testing.T) {
	e := newEnv(t)
	r := e.ok("GET", "/_matrix/client/versions", "", nil)
	var v struct {
		Versions []string        `json:"versions"`
		Unstable map[string]bool `json:"unstable_features"`
	}
	r.decode(t, &v)
	if len(v.Versions) == 0 || !v.Unstable["org.matrix.e2e_cross_signing"] {
		t.Fatalf("versions %s", r.Body)
	}
	if r := e.ok("GET", "/health", "", nil); string(r.Body) != "OK" {
		t.Fatalf("health %q", r.Body)
	}
	m := e.ok("GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), `vouch_http_requests_total{route="/_matrix/client/versions",status="200"} 1`) {
		t.Fatalf("metrics:\n%s", m.Body)
	}
	// CORS preflight.
	if r := e.do("OPTIONS", v3+"/keys/query", "", nil); r.Status != 200 {
		t.Fatalf("OPTIONS: %d", r.Status)
	}
}

// TestWriterMetrics checks the store's write path on /metrics (the SQLite
// store under its cache and lock holder, found through store.Unwrapper):
// a write adds a write transaction and busy time, and nothing was rerun.
func TestWriterMetrics(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	jobs := metricValue(e, "vouch_store_write_transactions_total")
	batches := metricValue(e, "vouch_store_write_batches_total")
	busy := metricValue(e, "vouch_store_write_busy_seconds_total")
	if jobs < batches || batches < 1 || busy <= 0 {
		t.Fatalf("after registering: %v transactions in %v batches, %v s busy", jobs, batches, busy)
	}
	e.ok("PUT", v3+"/user/"+a.user+"/account_data/m.test", a.token, map[string]string{"k": "v"})
	if got := metricValue(e, "vouch_store_write_transactions_total"); got < jobs+1 {
		t.Errorf("write transactions %v after an account-data write, want at least %v", got, jobs+1)
	}
	if got := metricValue(e, "vouch_store_write_busy_seconds_total"); got <= busy {
		t.Errorf("busy seconds %v after a write, want more than %v", got, busy)
	}
	if got := metricValue(e, "vouch_store_write_reruns_total"); got != 0 {
		t.Errorf("reruns %v with no failing write, want 0", got)
	}
	if got := metricValue(e, "vouch_store_write_waiting"); got != 0 {
		t.Errorf("waiting %v on an idle server, want 0", got)
	}
}

func TestAccountsAndDevices(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	var who map[string]string
	e.ok("GET", v3+"/account/whoami", a.token, nil).decode(t, &who)
	if who["user_id"] != "@alice:localhost" || who["device_id"] != a.device {
		t.Fatalf("whoami %v", who)
	}
	// UIA registration: first call without auth gets the flows.
	r := e.want(401, "", "POST", v3+"/register", "", map[string]string{"username": "bob", "password": "p"})
	var uia struct {
		Flows   []struct{ Stages []string } `json:"flows"`
		Session string                      `json:"session"`
	}
	r.decode(t, &uia)
	if uia.Session == "" || len(uia.Flows) != 1 || uia.Flows[0].Stages[0] != "m.login.dummy" {
		t.Fatalf("uia %s", r.Body)
	}
	e.ok("POST", v3+"/register", "", map[string]any{"username": "bob", "password": "p", "auth": map[string]string{"type": "m.login.dummy", "session": uia.Session}})

	// Login gives a new device; login with device_id reuses it and revokes
	// its old token.
	var l1, l2 map[string]string
	e.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "identifier": map[string]string{"type": "m.id.user", "user": "@alice:localhost"}, "password": a.password}).decode(t, &l1)
	if l1["device_id"] == a.device || l1["access_token"] == "" {
		t.Fatalf("login %v", l1)
	}
	e.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": a.password, "device_id": l1["device_id"]}).decode(t, &l2)
	if l2["device_id"] != l1["device_id"] {
		t.Fatalf("device not reused: %v", l2)
	}
	e.want(401, "M_UNKNOWN_TOKEN", "GET", v3+"/account/whoami", l1["access_token"], nil)
	tok2 := l2["access_token"]

	// Devices: list, get, rename.
	var list struct{ Devices []map[string]string }
	e.ok("GET", v3+"/devices", a.token, nil).decode(t, &list)
	if len(list.Devices) != 2 {
		t.Fatalf("devices %v", list)
	}
	e.ok("PUT", v3+"/devices/"+a.device, a.token, map[string]string{"display_name": "laptop"})
	var dev map[string]string
	e.ok("GET", v3+"/devices/"+a.device, a.token, nil).decode(t, &dev)
	if dev["display_name"] != "laptop" {
		t.Fatalf("device %v", dev)
	}
	e.want(404, "M_NOT_FOUND", "GET", v3+"/devices/NOPE", a.token, nil)

	// Delete needs the password.
	r = e.want(401, "", "DELETE", v3+"/devices/"+l2["device_id"], a.token, nil)
	r.decode(t, &uia)
	wrong := map[string]any{"auth": map[string]any{"type": "m.login.password", "session": uia.Session, "identifier": map[string]string{"type": "m.id.user", "user": "alice"}, "password": "nope"}}
	e.want(401, "M_FORBIDDEN", "DELETE", v3+"/devices/"+l2["device_id"], a.token, wrong)
	right := map[string]any{"auth": map[string]any{"type": "m.login.password", "session": uia.Session, "identifier": map[string]string{"type": "m.id.user", "user": "alice"}, "password": a.password}}
	e.ok("DELETE", v3+"/devices/"+l2["device_id"], a.token, right)
	e.want(401, "M_UNKNOWN_TOKEN", "GET", v3+"/account/whoami", tok2, nil)

	// Logout deletes the device; logout/all every device.
	var l3 map[string]string
	e.ok("POST", v3+"/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": a.password}).decode(t, &l3)
	e.ok("POST", v3+"/logout", l3["access_token"], map[string]any{})
	e.want(401, "M_UNKNOWN_TOKEN", "GET", v3+"/account/whoami", l3["access_token"], nil)
	e.ok("POST", v3+"/logout/all", a.token, map[string]any{})
	e.want(401, "M_UNKNOWN_TOKEN", "GET", v3+"/account/whoami", a.token, nil)
}

func TestRegistrationClosed(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ServerName = "example.org" })
	e.want(403, "M_FORBIDDEN", "POST", v3+"/register", "", map[string]any{"username": "x", "auth": map[string]string{"type": "m.login.dummy"}})
}

func TestSharedSecretRegistration(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ServerName = "example.org"; c.Registration.SharedSecret = "s3cret" })
	reg := func(user, pw string, secret string) resp {
		var n map[string]string
		e.ok("GET", "/_synapse/admin/v1/register", "", nil).decode(t, &n)
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(n["nonce"] + "\x00" + user + "\x00" + pw + "\x00notadmin"))
		return e.do("POST", "/_synapse/admin/v1/register", "", map[string]any{"nonce": n["nonce"], "username": user, "password": pw, "mac": hex.EncodeToString(mac.Sum(nil))})
	}
	if r := reg("admin1", "pw", "wrong"); r.Status != 403 || r.code() != "M_FORBIDDEN" {
		t.Fatalf("bad mac: %d %s", r.Status, r.Body)
	}
	r := reg("admin1", "pw", "s3cret")
	if r.Status != 200 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var l map[string]string
	r.decode(t, &l)
	if l["user_id"] != "@admin1:example.org" {
		t.Fatalf("user %v", l)
	}
	// A nonce is single use.
	e.want(400, "M_INVALID_PARAM", "POST", "/_synapse/admin/v1/register", "", map[string]any{"nonce": "unknown", "username": "x", "password": "y", "mac": "00"})
}

func TestCrossSigningReplaceNeedsPassword(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	a.uploadDeviceKeys()
	a.crossSign()
	// Identical re-upload: no auth needed.
	e.ok("POST", v3+"/keys/device_signing/upload", a.token, map[string]json.RawMessage{"master_key": a.csObjs["master"], "self_signing_key": a.csObjs["self_signing"]})
	// New master: auth needed.
	newMaster := newKey()
	mobj, _ := json.Marshal(a.csObj("master", newMaster))
	ssk := a.signed(a.csObj("self_signing", newKey()), "ed25519:"+pubB64(newMaster), newMaster)
	body := map[string]any{"master_key": json.RawMessage(mobj), "self_signing_key": json.RawMessage(ssk)}
	r := e.want(401, "", "POST", v3+"/keys/device_signing/upload", a.token, body)
	var uia struct{ Session string }
	r.decode(t, &uia)
	if q := a.query(a.user); q.MasterKeys[a.user].Keys["ed25519:"+pubB64(a.master)] == "" {
		t.Fatal("master replaced without auth")
	}
	body["auth"] = map[string]any{"type": "m.login.password", "session": uia.Session, "user": "alice", "password": a.password}
	e.ok("POST", v3+"/keys/device_signing/upload", a.token, body)
	q := a.query(a.user)
	if q.MasterKeys[a.user].Keys["ed25519:"+pubB64(newMaster)] == "" {
		t.Fatalf("master not replaced: %v", q.MasterKeys)
	}
	// The old user-signing key lost its master signature.
	if len(q.UserSigningKeys[a.user].Signatures) != 0 {
		t.Fatalf("stale signatures on user-signing key: %v", q.UserSigningKeys[a.user].Signatures)
	}
}

func TestSignaturesPartialSuccess(t *testing.T) {
	e := newEnv(t)
	a, b := e.register("alice"), e.register("bob")
	for _, x := range []*acct{a, b} {
		x.uploadDeviceKeys()
		x.crossSign()
	}
	good := a.signed(a.deviceKeysObjFrom(a.devKeys), "ed25519:"+pubB64(a.ssk), a.ssk)
	bad := a.signed(b.csObj("master", b.master), "ed25519:"+pubB64(a.usk), newKey())
	f := a.sigUpload(map[string]map[string]json.RawMessage{a.user: {a.device: good}, b.user: {pubB64(b.master): bad}})
	if len(f) != 1 || f[b.user][pubB64(b.master)]["errcode"] != "M_INVALID_SIGNATURE" {
		t.Fatalf("failures %v", f)
	}
	q := a.query(a.user)
	if _, ok := q.DeviceKeys[a.user][a.device].Signatures[a.user]["ed25519:"+pubB64(a.ssk)]; !ok {
		t.Fatalf("valid signature not stored: %v", q.DeviceKeys[a.user][a.device].Signatures)
	}
}

func TestClaimAndCounts(t *testing.T) {
	e := newEnv(t)
	a, b := e.register("alice"), e.register("bob")
	a.uploadDeviceKeys()
	var up struct {
		Counts map[string]int `json:"one_time_key_counts"`
	}
	e.ok("POST", v3+"/keys/upload", a.token, map[string]any{
		"one_time_keys": map[string]any{"signed_curve25519:AAAA": map[string]any{"key": "k1"}, "signed_curve25519:AAAB": map[string]any{"key": "k2"}},
		"fallback_keys": map[string]any{"signed_curve25519:FFFF": map[string]any{"key": "f", "fallback": true}},
	}).decode(t, &up)
	if up.Counts["signed_curve25519"] != 2 {
		t.Fatalf("counts %v", up.Counts)
	}
	claim := map[string]any{"one_time_keys": map[string]any{a.user: map[string]string{a.device: "signed_curve25519"}}}
	var got []string
	for i := 0; i < 4; i++ {
		var c struct {
			OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
		}
		e.ok("POST", v3+"/keys/claim", b.token, claim).decode(t, &c)
		for id := range c.OneTimeKeys[a.user][a.device] {
			got = append(got, id)
		}
	}
	want := []string{"signed_curve25519:AAAA", "signed_curve25519:AAAB", "signed_curve25519:FFFF", "signed_curve25519:FFFF"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	var s struct {
		Counts   map[string]int `json:"device_one_time_keys_count"`
		Fallback []string       `json:"device_unused_fallback_key_types"`
	}
	e.ok("GET", v3+"/sync", a.token, nil).decode(t, &s)
	if s.Counts["signed_curve25519"] != 0 || len(s.Fallback) != 0 {
		t.Fatalf("sync counts %+v", s)
	}
}

type syncResp struct {
	NextBatch   string `json:"next_batch"`
	DeviceLists struct {
		Changed []string `json:"changed"`
	} `json:"device_lists"`
	ToDevice struct {
		Events []struct {
			Type    string          `json:"type"`
			Sender  string          `json:"sender"`
			Content json.RawMessage `json:"content"`
		} `json:"events"`
	} `json:"to_device"`
	AccountData struct {
		Events []struct {
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		} `json:"events"`
	} `json:"account_data"`
}

func (a *acct) sync(since string, timeoutMs int) syncResp {
	a.e.t.Helper()
	path := v3 + "/sync?timeout=" + fmt.Sprint(timeoutMs)
	if since != "" {
		path += "&since=" + since
	}
	var s syncResp
	a.e.ok("GET", path, a.token, nil).decode(a.e.t, &s)
	return s
}

func TestSyncDeviceListsAndWakeUp(t *testing.T) {
	e := newEnv(t)
	a, b, c := e.register("alice"), e.register("bob"), e.register("carol")
	a.query(b.user) // alice is now interested in bob, not carol
	s := a.sync("", 0)
	// Bob's new keys wake alice's long-poll.
	var wg sync.WaitGroup
	var woke syncResp
	var took time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		woke = a.sync(s.NextBatch, 10000)
		took = time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	c.uploadDeviceKeys() // not interesting to alice
	b.uploadDeviceKeys()
	wg.Wait()
	if !reflect.DeepEqual(woke.DeviceLists.Changed, []string{b.user}) {
		t.Fatalf("changed %v", woke.DeviceLists.Changed)
	}
	if took > 5*time.Second {
		t.Fatalf("long-poll took %v", took)
	}
	// Nothing new: a timed-out long-poll returns the same position.
	empty := a.sync(woke.NextBatch, 50)
	if len(empty.DeviceLists.Changed) != 0 || empty.NextBatch != woke.NextBatch {
		t.Fatalf("empty sync %+v", empty)
	}
	// A user-signing signature is announced to the signer only.
	a.uploadDeviceKeys()
	for _, x := range []*acct{a, b} {
		x.crossSign()
	}
	s2c := c.sync("", 0)
	c.query(b.user)
	s2a := a.sync("", 0)
	a.signUser(b)
	if got := a.sync(s2a.NextBatch, 0).DeviceLists.Changed; !reflect.DeepEqual(got, []string{b.user}) {
		t.Fatalf("signer's changed %v", got)
	}
	if got := c.sync(s2c.NextBatch, 0).DeviceLists.Changed; len(got) != 0 {
		t.Fatalf("carol sees alice's user-signing signature: %v", got)
	}
	// /keys/changes agrees.
	var ch struct{ Changed []string }
	e.ok("GET", v3+"/keys/changes?from="+s2a.NextBatch+"&to="+a.sync("", 0).NextBatch, a.token, nil).decode(t, &ch)
	if !reflect.DeepEqual(ch.Changed, []string{b.user}) {
		t.Fatalf("keys/changes %v", ch.Changed)
	}
}

func TestToDeviceAndAccountData(t *testing.T) {
	e := newEnv(t)
	a, b := e.register("alice"), e.register("bob")
	sb := b.sync("", 0)
	msg := map[string]any{"messages": map[string]any{b.user: map[string]any{"*": map[string]string{"hello": "bob"}}}}
	e.ok("PUT", v3+"/sendToDevice/m.test/txn1", a.token, msg)
	e.ok("PUT", v3+"/sendToDevice/m.test/txn1", a.token, msg) // replay: stored once
	got := b.sync(sb.NextBatch, 1000)
	if len(got.ToDevice.Events) != 1 || got.ToDevice.Events[0].Sender != a.user || got.ToDevice.Events[0].Type != "m.test" {
		t.Fatalf("to_device %+v", got.ToDevice)
	}
	// Not acknowledged yet: the same since gives it again; the next since deletes it.
	if again := b.sync(sb.NextBatch, 0); len(again.ToDevice.Events) != 1 {
		t.Fatalf("redelivery %+v", again.ToDevice)
	}
	if after := b.sync(got.NextBatch, 0); len(after.ToDevice.Events) != 0 {
		t.Fatalf("after ack %+v", after.ToDevice)
	}
	if n, _ := e.st.ToDeviceMessages(t.Context(), b.user, b.device, 0, 1<<40, 10); len(n) != 0 {
		t.Fatalf("acknowledged message not deleted: %v", n)
	}
	// Account data: own only, in sync.
	e.ok("PUT", v3+"/user/"+a.user+"/account_data/m.secret_storage.default_key", a.token, map[string]string{"key": "abc"})
	r := e.ok("GET", v3+"/user/"+a.user+"/account_data/m.secret_storage.default_key", a.token, nil)
	if string(r.Body) != `{"key":"abc"}` {
		t.Fatalf("account data %s", r.Body)
	}
	e.want(404, "M_NOT_FOUND", "GET", v3+"/user/"+a.user+"/account_data/m.none", a.token, nil)
	s := a.sync("", 0)
	if len(s.AccountData.Events) != 1 || s.AccountData.Events[0].Type != "m.secret_storage.default_key" {
		t.Fatalf("sync account data %+v", s.AccountData)
	}
}

func TestRestartKeepsSinceToken(t *testing.T) {
	dir := t.TempDir() + "/data"
	e := startEnv(t, dir)
	a, b := e.register("alice"), e.register("bob")
	a.query(b.user)
	s := a.sync("", 0)
	b.uploadDeviceKeys()
	e.close()

	e2 := startEnv(t, dir)
	a.e, b.e = e2, e2
	got := a.sync(s.NextBatch, 0)
	if !reflect.DeepEqual(got.DeviceLists.Changed, []string{b.user}) {
		t.Fatalf("after restart: changed %v", got.DeviceLists.Changed)
	}
	if q := a.query(b.user); len(q.DeviceKeys[b.user]) != 1 {
		t.Fatalf("keys lost: %+v", q.DeviceKeys)
	}
}

// panicStore makes one store call panic, to check the recovery middleware.
type panicStore struct{ store.Store }

func (panicStore) ListDevices(context.Context, string) ([]store.Device, error) {
	panic("boom")
}

func TestPanicBecomesUnknown(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	s, err := server.New(testConfig(), panicStore{e.st}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+v3+"/devices", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || !strings.Contains(string(body), `"M_UNKNOWN"`) {
		t.Fatalf("panic answered %d %s", res.StatusCode, body)
	}
}

// TestClaimOrderOverHTTP checks, over HTTP, that claims hand out the oldest
// upload's keys first (in key-ID order within an upload), byte for byte as
// canonicalized at upload, key IDs that need JSON escapes included; that an
// identical re-upload is accepted and not counted twice; and that a stored
// key ID with other content is refused with M_INVALID_PARAM and stores
// nothing.
func TestClaimOrderOverHTTP(t *testing.T) {
	e := newEnv(t)
	a, b := e.register("alice"), e.register("bob")
	a.uploadDeviceKeys()
	upload := func(keys string) map[string]int {
		var up struct {
			Counts map[string]int `json:"one_time_key_counts"`
		}
		e.ok("POST", v3+"/keys/upload", a.token, `{"one_time_keys":`+keys+`}`).decode(t, &up)
		return up.Counts
	}
	if c := upload(`{"signed_curve25519:zz": {"key": "z", "n": 1.0}, "signed_curve25519:q\"x": {"key": "q\u00e9"}}`); c["signed_curve25519"] != 2 {
		t.Fatalf("first upload counts %v", c)
	}
	if c := upload(`{"signed_curve25519:aa": {"key": "a"}}`); c["signed_curve25519"] != 3 {
		t.Fatalf("second upload counts %v", c)
	}
	if c := upload(`{"signed_curve25519:aa": {"key": "a"}}`); c["signed_curve25519"] != 3 {
		t.Fatalf("identical re-upload counts %v", c)
	}
	e.want(400, "M_INVALID_PARAM", "POST", v3+"/keys/upload", a.token, `{"one_time_keys":{"signed_curve25519:new":{"key":"n"},"signed_curve25519:aa":{"key":"other"}}}`)
	if c := upload(`{}`); c["signed_curve25519"] != 3 {
		t.Fatalf("counts after the refused upload %v, want 3", c)
	}
	claim := map[string]any{"one_time_keys": map[string]any{a.user: map[string]string{a.device: "signed_curve25519"}}}
	for _, want := range []struct{ id, js string }{
		{`signed_curve25519:q"x`, `{"key":"qé"}`},
		{"signed_curve25519:zz", `{"key":"z","n":1}`},
		{"signed_curve25519:aa", `{"key":"a"}`},
	} {
		r := e.ok("POST", v3+"/keys/claim", b.token, claim)
		var c struct {
			OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
		}
		r.decode(t, &c)
		got := c.OneTimeKeys[a.user][a.device]
		if len(got) != 1 || string(got[want.id]) != want.js {
			t.Fatalf("claim = %s, want %s: %s", r.Body, want.id, want.js)
		}
	}
	if c := upload(`{}`); c["signed_curve25519"] != 0 {
		t.Fatalf("counts after three claims %v", c)
	}
}

// TestUnclaimedOneTimeKeyLimit checks max_unclaimed_one_time_keys over HTTP:
// new keys beyond it get 400 M_INVALID_PARAM and are not stored, a claim
// makes room again.
func TestUnclaimedOneTimeKeyLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxUnclaimedOneTimeKeys = 2 })
	a, b := e.register("alice"), e.register("bob")
	a.uploadDeviceKeys()
	upload := func(keys string) resp {
		return e.do("POST", v3+"/keys/upload", a.token, `{"one_time_keys":`+keys+`}`)
	}
	if r := upload(`{"signed_curve25519:A":{"key":"a"},"signed_curve25519:B":{"key":"b"}}`); r.Status != 200 {
		t.Fatalf("two keys: %d %s", r.Status, r.Body)
	}
	e.want(400, "M_INVALID_PARAM", "POST", v3+"/keys/upload", a.token, `{"one_time_keys":{"signed_curve25519:C":{"key":"c"}}}`)
	var up struct {
		Counts map[string]int `json:"one_time_key_counts"`
	}
	e.ok("POST", v3+"/keys/upload", a.token, `{}`).decode(t, &up)
	if up.Counts["signed_curve25519"] != 2 {
		t.Fatalf("counts after the refused upload %v", up.Counts)
	}
	e.ok("POST", v3+"/keys/claim", b.token, map[string]any{"one_time_keys": map[string]any{a.user: map[string]string{a.device: "signed_curve25519"}}})
	if r := upload(`{"signed_curve25519:C":{"key":"c"}}`); r.Status != 200 {
		t.Fatalf("after a claim: %d %s", r.Status, r.Body)
	}
}
