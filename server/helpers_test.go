package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"vouch/internal/testserver"
	"vouch/server"
	"vouch/signedjson"
	"vouch/store"
)

// env is a running server over a temporary SQLite store.
type env struct {
	t   testing.TB
	srv *httptest.Server
	st  store.Store
	dir string
	ts  *testserver.Server
}

// testConfig is testserver.Config with rate limits off.
func testConfig() server.Config {
	cfg := testserver.Config()
	noRateLimit(&cfg)
	return cfg
}

// noRateLimit turns rate limits off, for testserver.
func noRateLimit(cfg *server.Config) { cfg.RateLimit = server.RateLimitConfig{} }

func newEnv(t *testing.T, mod ...func(*server.Config)) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	return startEnv(t, dir, mod...)
}

// newEnvB is newEnv for benchmarks.
func newEnvB(b *testing.B) *env {
	b.Helper()
	return startEnv(b, filepath.Join(b.TempDir(), "data"))
}

func startEnv(t testing.TB, dir string, mod ...func(*server.Config)) *env {
	t.Helper()
	ts := testserver.StartIn(t, dir, append([]func(*server.Config){noRateLimit}, mod...)...)
	return &env{t: t, srv: ts.HTTP, st: ts.Store, dir: dir, ts: ts}
}

// close stops the server and closes its store; it may be called again.
func (e *env) close() { e.ts.Close() }

// resp is a decoded answer.
type resp struct {
	Status int
	Body   []byte
}

func (r resp) code() string {
	var e struct {
		Code string `json:"errcode"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Code
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a request; body may be nil, a string (sent raw) or a value.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: b}
}

// ok sends a request and requires 200.
func (e *env) ok(method, path, token string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.Status != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

// want sends a request and requires an error status and errcode.
func (e *env) want(status int, code, method, path, token string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.Status != status || r.code() != code {
		e.t.Fatalf("%s %s: got %d %s, want %d %s", method, path, r.Status, r.Body, status, code)
	}
	return r
}

const v3 = "/_matrix/client/v3"

// acct is a registered user with one device and its keys.
type acct struct {
	e        *env
	user     string
	device   string
	token    string
	password string
	devPriv  ed25519.PrivateKey
	devKeys  []byte // signed device keys as uploaded
	master   ed25519.PrivateKey
	ssk      ed25519.PrivateKey
	usk      ed25519.PrivateKey
	csObjs   map[string][]byte // usage → signed object as uploaded
}

func newKey() ed25519.PrivateKey {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return priv
}

func pubB64(k ed25519.PrivateKey) string {
	return signedjson.EncodeBase64(k.Public().(ed25519.PublicKey))
}

func (e *env) register(local string) *acct {
	e.t.Helper()
	a := &acct{e: e, password: "pw-" + local, csObjs: map[string][]byte{}}
	r := e.ok("POST", v3+"/register", "", map[string]any{"username": local, "password": a.password, "initial_device_display_name": local + "-phone", "auth": map[string]string{"type": "m.login.dummy"}})
	var lr struct {
		UserID, AccessToken, DeviceID string
	}
	var raw map[string]string
	r.decode(e.t, &raw)
	lr.UserID, lr.AccessToken, lr.DeviceID = raw["user_id"], raw["access_token"], raw["device_id"]
	a.user, a.token, a.device = lr.UserID, lr.AccessToken, lr.DeviceID
	return a
}

func (a *acct) signed(obj map[string]any, keyID string, priv ed25519.PrivateKey) []byte {
	a.e.t.Helper()
	js, err := json.Marshal(obj)
	if err != nil {
		a.e.t.Fatal(err)
	}
	out, err := signedjson.Sign(js, a.user, keyID, priv)
	if err != nil {
		a.e.t.Fatal(err)
	}
	return out
}

func (a *acct) deviceKeysObj() map[string]any {
	return map[string]any{
		"user_id": a.user, "device_id": a.device,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys": map[string]string{
			"ed25519:" + a.device:    pubB64(a.devPriv),
			"curve25519:" + a.device: pubB64(newKey()),
		},
	}
}

// uploadDeviceKeys publishes a self-signed device key.
func (a *acct) uploadDeviceKeys() {
	a.e.t.Helper()
	a.devPriv = newKey()
	a.devKeys = a.signed(a.deviceKeysObj(), "ed25519:"+a.device, a.devPriv)
	a.e.ok("POST", v3+"/keys/upload", a.token, map[string]json.RawMessage{"device_keys": a.devKeys})
}

func (a *acct) csObj(usage string, k ed25519.PrivateKey) map[string]any {
	return map[string]any{"user_id": a.user, "usage": []string{usage}, "keys": map[string]string{"ed25519:" + pubB64(k): pubB64(k)}}
}

// crossSign uploads master, self-signing and user-signing keys.
func (a *acct) crossSign() {
	a.e.t.Helper()
	a.master, a.ssk, a.usk = newKey(), newKey(), newKey()
	mid := "ed25519:" + pubB64(a.master)
	a.csObjs["master"] = a.signed(a.csObj("master", a.master), "ed25519:"+a.device, a.devPriv) // carries a device signature (ignored on upload)
	a.csObjs["self_signing"] = a.signed(a.csObj("self_signing", a.ssk), mid, a.master)
	a.csObjs["user_signing"] = a.signed(a.csObj("user_signing", a.usk), mid, a.master)
	a.e.ok("POST", v3+"/keys/device_signing/upload", a.token, map[string]json.RawMessage{
		"master_key": a.csObjs["master"], "self_signing_key": a.csObjs["self_signing"], "user_signing_key": a.csObjs["user_signing"]})
}

// sigUpload posts /keys/signatures/upload and returns the failures.
func (a *acct) sigUpload(body map[string]map[string]json.RawMessage) map[string]map[string]map[string]string {
	a.e.t.Helper()
	r := a.e.ok("POST", v3+"/keys/signatures/upload", a.token, body)
	var out struct {
		Failures map[string]map[string]map[string]string `json:"failures"`
	}
	r.decode(a.e.t, &out)
	return out.Failures
}

// signDevice signs the own device with the self-signing key.
func (a *acct) signDevice() {
	a.e.t.Helper()
	obj := a.signed(a.deviceKeysObjFrom(a.devKeys), "ed25519:"+pubB64(a.ssk), a.ssk)
	if f := a.sigUpload(map[string]map[string]json.RawMessage{a.user: {a.device: obj}}); len(f) != 0 {
		a.e.t.Fatalf("failures %v", f)
	}
}

// deviceKeysObjFrom decodes uploaded keys without signatures.
func (a *acct) deviceKeysObjFrom(raw []byte) map[string]any {
	var m map[string]any
	json.Unmarshal(raw, &m)
	delete(m, "signatures")
	return m
}

// signOwnMaster signs the own master key with the device key.
func (a *acct) signOwnMaster() {
	a.e.t.Helper()
	obj := a.signed(a.csObj("master", a.master), "ed25519:"+a.device, a.devPriv)
	if f := a.sigUpload(map[string]map[string]json.RawMessage{a.user: {pubB64(a.master): obj}}); len(f) != 0 {
		a.e.t.Fatalf("failures %v", f)
	}
}

// signUser signs other's master key with the user-signing key.
func (a *acct) signUser(other *acct) {
	a.e.t.Helper()
	obj := other.csObj("master", other.master)
	js, _ := json.Marshal(obj)
	signed, err := signedjson.Sign(js, a.user, "ed25519:"+pubB64(a.usk), a.usk)
	if err != nil {
		a.e.t.Fatal(err)
	}
	if f := a.sigUpload(map[string]map[string]json.RawMessage{other.user: {pubB64(other.master): signed}}); len(f) != 0 {
		a.e.t.Fatalf("failures %v", f)
	}
}

// query runs /keys/query for users and returns the decoded answer.
func (a *acct) query(users ...string) queryResp {
	a.e.t.Helper()
	dk := map[string][]string{}
	for _, u := range users {
		dk[u] = []string{}
	}
	r := a.e.ok("POST", v3+"/keys/query", a.token, map[string]any{"device_keys": dk})
	var q queryResp
	r.decode(a.e.t, &q)
	return q
}

type keyObj struct {
	UserID     string                       `json:"user_id"`
	Signatures map[string]map[string]string `json:"signatures"`
	Unsigned   map[string]any               `json:"unsigned"`
	Keys       map[string]string            `json:"keys"`
}

type queryResp struct {
	DeviceKeys      map[string]map[string]keyObj `json:"device_keys"`
	MasterKeys      map[string]keyObj            `json:"master_keys"`
	SelfSigningKeys map[string]keyObj            `json:"self_signing_keys"`
	UserSigningKeys map[string]keyObj            `json:"user_signing_keys"`
}

// sigList flattens a query answer into "what<-signer" strings.
func (q queryResp) sigList(names map[string]string) []string {
	var out []string
	add := func(what string, o keyObj) {
		for u, ks := range o.Signatures {
			for kid := range ks {
				n := names[u+"|"+kid]
				if n == "" {
					n = u + "|" + kid
				}
				out = append(out, what+"<-"+n)
			}
		}
	}
	for u, devs := range q.DeviceKeys {
		for d, o := range devs {
			add(fmt.Sprintf("%s/dev:%s", names[u], names[u+"|dev:"+d]), o)
		}
	}
	for u, o := range q.MasterKeys {
		add(names[u]+"/msk", o)
	}
	for u, o := range q.SelfSigningKeys {
		add(names[u]+"/ssk", o)
	}
	for u, o := range q.UserSigningKeys {
		add(names[u]+"/usk", o)
	}
	return out
}
