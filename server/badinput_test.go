package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"vouch/server"
)

// snapshot is everything a refused request must leave unchanged.
type snapshot struct {
	pos     int64
	queries string
	counts  string
	data    string
}

func takeSnapshot(t *testing.T, e *env, alice, bob *acct) snapshot {
	t.Helper()
	pos, err := e.st.CurrentPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	qa := e.ok("POST", v3+"/keys/query", alice.token, map[string]any{"device_keys": map[string][]string{alice.user: {}, bob.user: {}}})
	qb := e.ok("POST", v3+"/keys/query", bob.token, map[string]any{"device_keys": map[string][]string{alice.user: {}, bob.user: {}}})
	c, _ := e.st.OneTimeKeyCounts(context.Background(), alice.user, alice.device)
	cj, _ := json.Marshal(c)
	d, _ := e.st.AccountDataSince(context.Background(), bob.user, 0, pos)
	dj, _ := json.Marshal(d)
	return snapshot{pos: pos, queries: sorted(t, qa.Body) + sorted(t, qb.Body), counts: string(cj), data: string(dj)}
}

// sorted re-encodes JSON with sorted object keys, so that two answers can be
// compared as strings.
func sorted(t *testing.T, js []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestBadInputs sends refused requests and checks the errcode and that
// nothing was stored.
func TestBadInputs(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	for _, a := range []*acct{alice, bob} {
		a.uploadDeviceKeys()
		a.crossSign()
		a.signDevice()
	}
	forger := newKey()
	mid := "ed25519:" + pubB64(alice.master)

	// A device key signed by a key other than its own.
	forged := alice.signed(alice.deviceKeysObj(), "ed25519:"+alice.device, forger)
	// Bob's keys uploaded by alice.
	bobKeys := bob.deviceKeysObj()
	otherUser := alice.signed(bobKeys, "ed25519:"+alice.device, alice.devPriv)
	// A device_id that is not the caller's.
	wrongDev := alice.deviceKeysObj()
	wrongDev["device_id"] = "OTHER"
	wrongDev["keys"] = map[string]string{"ed25519:OTHER": pubB64(alice.devPriv)}
	mismatched := alice.signed(wrongDev, "ed25519:OTHER", alice.devPriv)
	// New identity keys for an existing device, plus one-time keys that must
	// not be stored either.
	changed := alice.signed(alice.deviceKeysObj(), "ed25519:"+alice.device, alice.devPriv)
	// Self-signing key signed by a forged master.
	badSSK := alice.signed(alice.csObj("self_signing", newKey()), mid, forger)
	bobSSK := bob.csObj("self_signing", newKey())
	bobSSKSigned := alice.signed(bobSSK, mid, alice.master)
	// A user-signing signature of bob's master made with the wrong key.
	bobMaster, _ := json.Marshal(bob.csObj("master", bob.master))
	forgedSig := alice.signed(mustMap(bobMaster), "ed25519:"+pubB64(alice.usk), forger)
	// The right signer over an object that is not bob's stored master.
	tampered := mustMap(bobMaster)
	tampered["extra"] = "x"
	tamperedSig := alice.signed(tampered, "ed25519:"+pubB64(alice.usk), alice.usk)
	// Alice trying to sign bob's device with her self-signing key.
	bobDevSig := alice.signed(alice.deviceKeysObjFrom(bob.devKeys), "ed25519:"+pubB64(alice.ssk), alice.ssk)

	big := `{"one_time_keys":{"curve25519:A":"` + strings.Repeat("A", 2<<20) + `"}}`
	otks := map[string]string{"curve25519:AAAA": "a"}

	tests := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		code         string
		failures     map[string]string // for 200 answers: "user|key" → errcode
	}{
		{"malformed JSON", "POST", "/keys/upload", alice.token, `{"device_keys":`, 400, "M_NOT_JSON", nil},
		{"not an object", "POST", "/keys/upload", alice.token, `[1]`, 400, "M_BAD_JSON", nil},
		{"wrong types", "POST", "/keys/upload", alice.token, `{"one_time_keys":5}`, 400, "M_BAD_JSON", nil},
		{"one-time key not string or object", "POST", "/keys/upload", alice.token, `{"one_time_keys":{"curve25519:A":5}}`, 400, "M_BAD_JSON", nil},
		{"one-time key ID without algorithm", "POST", "/keys/upload", alice.token, `{"one_time_keys":{"nocolon":"a"}}`, 400, "M_INVALID_PARAM", nil},
		{"oversized body", "POST", "/keys/upload", alice.token, big, 413, "M_TOO_LARGE", nil},
		{"forged self-signature", "POST", "/keys/upload", alice.token, map[string]any{"device_keys": json.RawMessage(forged), "one_time_keys": otks}, 400, "M_INVALID_SIGNATURE", nil},
		{"another user's device keys", "POST", "/keys/upload", alice.token, map[string]any{"device_keys": json.RawMessage(otherUser)}, 403, "M_FORBIDDEN", nil},
		{"mismatched device_id", "POST", "/keys/upload", alice.token, map[string]any{"device_keys": json.RawMessage(mismatched)}, 400, "M_INVALID_PARAM", nil},
		{"changed identity keys", "POST", "/keys/upload", alice.token, map[string]any{"device_keys": json.RawMessage(changed), "one_time_keys": otks}, 400, "M_INVALID_PARAM", nil},
		{"self-signing key with forged master signature", "POST", "/keys/device_signing/upload", alice.token, map[string]any{"self_signing_key": json.RawMessage(badSSK)}, 400, "M_INVALID_SIGNATURE", nil},
		{"another user's cross-signing key", "POST", "/keys/device_signing/upload", alice.token, map[string]any{"self_signing_key": json.RawMessage(bobSSKSigned)}, 403, "M_FORBIDDEN", nil},
		{"cross-signing key wrong type", "POST", "/keys/device_signing/upload", alice.token, `{"master_key":"x"}`, 400, "M_INVALID_PARAM", nil},
		{"forged user-signing signature", "POST", "/keys/signatures/upload", alice.token, map[string]any{bob.user: map[string]any{pubB64(bob.master): json.RawMessage(forgedSig)}}, 200, "", map[string]string{bob.user + "|" + pubB64(bob.master): "M_INVALID_SIGNATURE"}},
		{"signature over a different object", "POST", "/keys/signatures/upload", alice.token, map[string]any{bob.user: map[string]any{pubB64(bob.master): json.RawMessage(tamperedSig)}}, 200, "", map[string]string{bob.user + "|" + pubB64(bob.master): "M_INVALID_PARAM"}},
		{"signing another user's device", "POST", "/keys/signatures/upload", alice.token, map[string]any{bob.user: map[string]any{bob.device: json.RawMessage(bobDevSig)}}, 200, "", map[string]string{bob.user + "|" + bob.device: "M_FORBIDDEN"}},
		{"signing an unknown key", "POST", "/keys/signatures/upload", alice.token, map[string]any{alice.user: map[string]any{"NOPE": json.RawMessage(`{"user_id":"x"}`)}}, 200, "", map[string]string{alice.user + "|NOPE": "M_NOT_FOUND"}},
		{"signatures upload invalid user ID", "POST", "/keys/signatures/upload", alice.token, `{"not-a-user":{}}`, 400, "M_INVALID_PARAM", nil},
		{"query invalid user ID", "POST", "/keys/query", alice.token, `{"device_keys":{"bob":[]}}`, 400, "M_INVALID_PARAM", nil},
		{"claim invalid user ID", "POST", "/keys/claim", alice.token, `{"one_time_keys":{"@:x":{}}}`, 400, "M_INVALID_PARAM", nil},
		{"unknown token", "POST", "/keys/upload", "vch_nope", `{}`, 401, "M_UNKNOWN_TOKEN", nil},
		{"missing token", "POST", "/keys/upload", "", `{}`, 401, "M_MISSING_TOKEN", nil},
		{"another user's account data (put)", "PUT", "/user/" + bob.user + "/account_data/m.secret", alice.token, `{"k":1}`, 403, "M_FORBIDDEN", nil},
		{"another user's account data (get)", "GET", "/user/" + bob.user + "/account_data/m.secret", alice.token, nil, 403, "M_FORBIDDEN", nil},
		{"account data not an object", "PUT", "/user/" + bob.user + "/account_data/m.secret", bob.token, `"s"`, 400, "M_BAD_JSON", nil},
		{"to-device invalid user ID", "PUT", "/sendToDevice/m.test/t1", alice.token, `{"messages":{"bob":{"*":{}}}}`, 400, "M_INVALID_PARAM", nil},
		{"to-device content not an object", "PUT", "/sendToDevice/m.test/t2", alice.token, `{"messages":{"` + bob.user + `":{"*":[]}}}`, 400, "M_BAD_JSON", nil},
		{"sync bad token", "GET", "/sync?since=garbage", alice.token, nil, 400, "M_INVALID_PARAM", nil},
		{"register invalid username", "POST", "/register", "", `{"username":"Bad Name!","password":"p","auth":{"type":"m.login.dummy"}}`, 400, "M_INVALID_USERNAME", nil},
		{"register taken username", "POST", "/register", "", `{"username":"bob","password":"p","auth":{"type":"m.login.dummy"}}`, 400, "M_USER_IN_USE", nil},
		{"login wrong password", "POST", "/login", "", `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bob"},"password":"wrong"}`, 403, "M_FORBIDDEN", nil},
		{"login unknown user", "POST", "/login", "", `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},"password":"x"}`, 403, "M_FORBIDDEN", nil},
		{"unknown endpoint", "GET", "/nothing/here", alice.token, nil, 404, "M_UNRECOGNIZED", nil},
		{"wrong method", "GET", "/keys/upload", alice.token, nil, 405, "M_UNRECOGNIZED", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := takeSnapshot(t, e, alice, bob)
			r := e.do(tc.method, v3+tc.path, tc.token, tc.body)
			if r.Status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, trim(r.Body), tc.status, tc.code)
			}
			if tc.failures != nil {
				var out struct {
					Failures map[string]map[string]struct{ Errcode string }
				}
				r.decode(t, &out)
				got := map[string]string{}
				for u, m := range out.Failures {
					for k, f := range m {
						got[u+"|"+k] = f.Errcode
					}
				}
				if len(got) != len(tc.failures) {
					t.Fatalf("failures %v, want %v", got, tc.failures)
				}
				for k, v := range tc.failures {
					if got[k] != v {
						t.Fatalf("failures %v, want %v", got, tc.failures)
					}
				}
			}
			if after := takeSnapshot(t, e, alice, bob); after != before {
				t.Fatalf("state changed:\nbefore %s\nafter  %s", trim([]byte(fmt.Sprintf("%+v", before))), trim([]byte(fmt.Sprintf("%+v", after))))
			}
		})
	}
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func mustMap(js []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		panic(err)
	}
	return m
}

// TestDeviceIDCollision checks both directions of the device ID /
// cross-signing key namespace rule.
func TestDeviceIDCollision(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	a.uploadDeviceKeys()
	a.crossSign()
	// A device may not be named after a cross-signing public key.
	e.want(400, "M_INVALID_PARAM", "POST", v3+"/login", "", map[string]string{"type": "m.login.password", "user": "alice", "password": a.password, "device_id": pubB64(a.ssk)})
	// A cross-signing key may not equal an existing device ID.
	k := newKey()
	r := e.ok("POST", v3+"/login", "", map[string]string{"type": "m.login.password", "user": "alice", "password": a.password, "device_id": pubB64(k)})
	_ = r
	ssk := a.signed(a.csObj("self_signing", k), "ed25519:"+pubB64(a.master), a.master)
	e.want(400, "M_INVALID_PARAM", "POST", v3+"/keys/device_signing/upload", a.token, map[string]json.RawMessage{"self_signing_key": ssk})
	q := a.query(a.user)
	if _, ok := q.SelfSigningKeys[a.user].Keys["ed25519:"+pubB64(a.ssk)]; !ok {
		t.Fatalf("self-signing key replaced: %v", q.SelfSigningKeys)
	}
}

// TestLimits checks the body cap (also without Content-Length) and rate limits.
func TestLimits(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.RateLimit.PerUserPerSecond, c.RateLimit.PerUserBurst = 0.001, 3
	})
	a := e.register("alice")
	// Chunked body over the limit.
	req, _ := http.NewRequest("POST", e.srv.URL+v3+"/keys/upload", struct{ *bytes.Reader }{bytes.NewReader([]byte(`{"x":"` + strings.Repeat("a", 1<<20) + `"}`))})
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("chunked oversized body: %d", res.StatusCode)
	}
	// The upload above took one token; two more pass, then the limit.
	e.ok("GET", v3+"/account/whoami", a.token, nil)
	e.ok("GET", v3+"/account/whoami", a.token, nil)
	r := e.want(429, "M_LIMIT_EXCEEDED", "GET", v3+"/account/whoami", a.token, nil)
	var body struct {
		RetryAfterMs int64 `json:"retry_after_ms"`
	}
	r.decode(t, &body)
	if body.RetryAfterMs <= 0 {
		t.Fatalf("retry_after_ms %d", body.RetryAfterMs)
	}
}

// TestPerIPLimit: the per-IP bucket applies before authentication.
func TestPerIPLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.RateLimit.PerIPPerSecond, c.RateLimit.PerIPBurst = 0.001, 2
	})
	e.ok("GET", "/_matrix/client/versions", "", nil)
	e.ok("GET", "/_matrix/client/versions", "", nil)
	r := e.want(429, "M_LIMIT_EXCEEDED", "GET", v3+"/account/whoami", "vch_unknown", nil)
	var body struct {
		RetryAfterMs int64 `json:"retry_after_ms"`
	}
	r.decode(t, &body)
	if body.RetryAfterMs <= 0 {
		t.Fatalf("retry_after_ms %d", body.RetryAfterMs)
	}
}

// TestPerIPLimitBehindTrustedProxy: behind a trusted proxy each client
// named by X-Forwarded-For has its own bucket; without the setting the
// header is ignored and all requests share the proxy's bucket.
func TestPerIPLimitBehindTrustedProxy(t *testing.T) {
	send := func(e *env, xff string) int {
		req, err := http.NewRequest("GET", e.srv.URL+"/_matrix/client/versions", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", xff)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	limit := func(c *server.Config) { c.RateLimit.PerIPPerSecond, c.RateLimit.PerIPBurst = 0.001, 2 }

	behind := newEnv(t, limit, func(c *server.Config) { c.TrustedProxies = []string{"127.0.0.1", "::1"} })
	for _, client := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		for i := range 2 {
			if code := send(behind, client); code != 200 {
				t.Fatalf("client %s request %d: %d, want 200 (own bucket)", client, i, code)
			}
		}
		if code := send(behind, "9.9.9.9, "+client); code != 429 {
			t.Fatalf("client %s third request with a forged entry: %d, want 429", client, code)
		}
	}

	direct := newEnv(t, limit)
	send(direct, "203.0.113.1")
	send(direct, "203.0.113.2")
	if code := send(direct, "203.0.113.3"); code != 429 {
		t.Fatalf("without trusted_proxies the header chose the bucket: %d, want 429", code)
	}
}
