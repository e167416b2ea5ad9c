package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"vouch/internal/testserver"
	"vouch/internal/testvectors"
	"vouch/server"
)

const (
	roomKeys        = v3 + "/room_keys/keys"
	roomKeysVersion = v3 + "/room_keys/version"
	backupAlg       = "m.megolm_backup.v1.curve25519-aes-sha2"
)

// backupVersionInfo is GET /room_keys/version.
type backupVersionInfo struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Count     int             `json:"count"`
	Etag      string          `json:"etag"`
	Version   string          `json:"version"`
}

type backupUpdate struct {
	Etag  string `json:"etag"`
	Count int    `json:"count"`
}

func (a *acct) createBackup(authData string) string {
	a.e.t.Helper()
	r := a.e.ok("POST", roomKeysVersion, a.token, `{"algorithm":"`+backupAlg+`","auth_data":`+authData+`}`)
	var v struct{ Version string }
	r.decode(a.e.t, &v)
	return v.Version
}

func (a *acct) backupInfo(version string) backupVersionInfo {
	a.e.t.Helper()
	path := roomKeysVersion
	if version != "" {
		path += "/" + version
	}
	var info backupVersionInfo
	a.e.ok("GET", path, a.token, nil).decode(a.e.t, &info)
	return info
}

func kbd(fmi, fc int, verified bool, data string) string {
	return fmt.Sprintf(`{"first_message_index":%d,"forwarded_count":%d,"is_verified":%t,"session_data":{"ciphertext":%q}}`, fmi, fc, verified, data)
}

func keysPath(version string, parts ...string) string {
	p := roomKeys
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p + "?version=" + url.QueryEscape(version)
}

func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %s: %v", s, err)
	}
	return b.String()
}

func TestBackupVersionLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	e.want(404, "M_NOT_FOUND", "GET", roomKeysVersion, a.token, nil)
	e.want(401, "M_MISSING_TOKEN", "GET", roomKeysVersion, "", nil)
	e.want(401, "M_MISSING_TOKEN", "POST", roomKeysVersion, "", `{"algorithm":"a","auth_data":{}}`)

	v1 := a.createBackup(`{"public_key":"pk1", "signatures": {}}`)
	if v1 != "1" {
		t.Fatalf("first version %q", v1)
	}
	info := a.backupInfo("")
	if info.Version != "1" || info.Algorithm != backupAlg || string(info.AuthData) != `{"public_key":"pk1","signatures":{}}` || info.Count != 0 || info.Etag == "" {
		t.Fatalf("current version %+v", info)
	}
	if got := a.backupInfo("1"); got.Version != "1" || got.Etag != info.Etag {
		t.Fatalf("version 1 %+v", got)
	}
	v2 := a.createBackup(`{"public_key":"pk2"}`)
	if v2 != "2" || a.backupInfo("").Version != "2" {
		t.Fatalf("second version %q, current %+v", v2, a.backupInfo(""))
	}
	// r0 paths serve the same backup.
	var r0 backupVersionInfo
	e.ok("GET", "/_matrix/client/r0/room_keys/version", a.token, nil).decode(t, &r0)
	if r0.Version != "2" {
		t.Fatalf("r0 current %+v", r0)
	}

	// PUT may change auth_data only.
	e.ok("PUT", roomKeysVersion+"/2", a.token, `{"algorithm":"`+backupAlg+`","auth_data":{"public_key":"pk2","x":1}}`)
	e.ok("PUT", roomKeysVersion+"/2", a.token, `{"algorithm":"`+backupAlg+`","auth_data":{"public_key":"pk2","x":2},"version":"2"}`)
	if got := a.backupInfo("2"); string(got.AuthData) != `{"public_key":"pk2","x":2}` {
		t.Fatalf("auth_data after update %s", got.AuthData)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"other algorithm", "/2", `{"algorithm":"other","auth_data":{}}`, 400, "M_INVALID_PARAM"},
		{"body version differs", "/2", `{"algorithm":"` + backupAlg + `","auth_data":{},"version":"1"}`, 400, "M_INVALID_PARAM"},
		{"body version not a string", "/2", `{"algorithm":"` + backupAlg + `","auth_data":{},"version":2}`, 400, "M_BAD_JSON"},
		{"missing algorithm", "/2", `{"auth_data":{}}`, 400, "M_BAD_JSON"},
		{"missing auth_data", "/2", `{"algorithm":"` + backupAlg + `"}`, 400, "M_BAD_JSON"},
		{"auth_data array", "/2", `{"algorithm":"` + backupAlg + `","auth_data":[]}`, 400, "M_BAD_JSON"},
		{"not JSON", "/2", `{"algorithm":`, 400, "M_NOT_JSON"},
		{"unknown version", "/9", `{"algorithm":"` + backupAlg + `","auth_data":{}}`, 404, "M_NOT_FOUND"},
		{"non-decimal version", "/02", `{"algorithm":"` + backupAlg + `","auth_data":{}}`, 404, "M_NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.want(tc.status, tc.code, "PUT", roomKeysVersion+tc.path, a.token, tc.body)
		})
	}
	if got := a.backupInfo("2"); string(got.AuthData) != `{"public_key":"pk2","x":2}` {
		t.Fatalf("auth_data after refused updates %s", got.AuthData)
	}

	// DELETE: the version goes, a repeat succeeds, an unknown one is 404,
	// and the highest remaining version is current again.
	e.ok("DELETE", roomKeysVersion+"/2", a.token, nil)
	e.ok("DELETE", roomKeysVersion+"/2", a.token, nil)
	e.want(404, "M_NOT_FOUND", "DELETE", roomKeysVersion+"/7", a.token, nil)
	e.want(404, "M_NOT_FOUND", "GET", roomKeysVersion+"/2", a.token, nil)
	if got := a.backupInfo(""); got.Version != "1" {
		t.Fatalf("current after deleting 2: %+v", got)
	}
	if v3 := a.createBackup(`{}`); v3 != "3" {
		t.Fatalf("version after a deleted one %q, want 3 (never reused)", v3)
	}
	// Wrong methods are refused by the route.
	e.want(405, "M_UNRECOGNIZED", "DELETE", roomKeysVersion, a.token, nil)
	e.want(405, "M_UNRECOGNIZED", "POST", roomKeysVersion+"/1", a.token, `{}`)
}

func TestBackupCreateBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not JSON", `{"algorithm"`, 400, "M_NOT_JSON"},
		{"array", `[]`, 400, "M_BAD_JSON"},
		{"missing algorithm", `{"auth_data":{}}`, 400, "M_BAD_JSON"},
		{"algorithm number", `{"algorithm":1,"auth_data":{}}`, 400, "M_BAD_JSON"},
		{"algorithm null", `{"algorithm":null,"auth_data":{}}`, 400, "M_BAD_JSON"},
		{"algorithm empty", `{"algorithm":"","auth_data":{}}`, 400, "M_INVALID_PARAM"},
		{"algorithm too long", `{"algorithm":"` + strings.Repeat("a", 256) + `","auth_data":{}}`, 400, "M_INVALID_PARAM"},
		{"algorithm in other case", `{"ALGORITHM":"x","auth_data":{}}`, 400, "M_BAD_JSON"},
		{"missing auth_data", `{"algorithm":"x"}`, 400, "M_BAD_JSON"},
		{"auth_data string", `{"algorithm":"x","auth_data":"{}"}`, 400, "M_BAD_JSON"},
		{"auth_data null", `{"algorithm":"x","auth_data":null}`, 400, "M_BAD_JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.want(tc.status, tc.code, "POST", roomKeysVersion, a.token, tc.body)
		})
	}
	e.want(404, "M_NOT_FOUND", "GET", roomKeysVersion, a.token, nil)
	// A non-spec algorithm is stored as given: the server does not
	// interpret backups.
	a.createBackup(`{}`)
}

func TestBackupKeysRoundTrip(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	e.want(404, "M_NOT_FOUND", "PUT", keysPath("1", "!r:x", "s"), a.token, kbd(0, 0, false, "c"))
	v := a.createBackup(`{}`)
	etag0 := a.backupInfo(v).Etag
	var empty struct {
		Rooms map[string]any `json:"rooms"`
	}
	e.ok("GET", keysPath(v), a.token, nil).decode(t, &empty)
	if empty.Rooms == nil || len(empty.Rooms) != 0 {
		t.Fatalf("empty backup: %+v", empty)
	}

	// One session, one room, several rooms. The session ID has the '/' and
	// '+' of standard base64, percent-encoded in the path.
	sid := "a/b+c"
	var up backupUpdate
	e.ok("PUT", keysPath(v, "!r1:x", sid), a.token, kbd(3, 0, true, "one")).decode(t, &up)
	if up.Count != 1 || up.Etag == etag0 {
		t.Fatalf("after one session: %+v (etag before %q)", up, etag0)
	}
	e.ok("PUT", keysPath(v, "!r1:x"), a.token, `{"sessions":{"s2":`+kbd(0, 1, false, "two")+`}}`).decode(t, &up)
	if up.Count != 2 {
		t.Fatalf("after a room: %+v", up)
	}
	e.ok("PUT", keysPath(v), a.token, `{"rooms":{"!r2:x":{"sessions":{"s3":`+kbd(0, 0, false, "three")+`}},"!r3:x":{"sessions":{}}}}`).decode(t, &up)
	if up.Count != 3 {
		t.Fatalf("after several rooms: %+v", up)
	}
	if info := a.backupInfo(""); info.Count != 3 || info.Etag != up.Etag {
		t.Fatalf("version info %+v, last update %+v", info, up)
	}

	r := e.ok("GET", keysPath(v, "!r1:x", sid), a.token, nil)
	if got, want := string(r.Body), compactJSON(t, kbd(3, 0, true, "one")); got != want {
		t.Fatalf("session: %s, want %s", got, want)
	}
	r = e.ok("GET", keysPath(v, "!r1:x"), a.token, nil)
	if got, want := string(r.Body), compactJSON(t, `{"sessions":{"a/b+c":`+kbd(3, 0, true, "one")+`,"s2":`+kbd(0, 1, false, "two")+`}}`); got != want {
		t.Fatalf("room: %s, want %s", got, want)
	}
	r = e.ok("GET", keysPath(v), a.token, nil)
	want := compactJSON(t, `{"rooms":{"!r1:x":{"sessions":{"a/b+c":`+kbd(3, 0, true, "one")+`,"s2":`+kbd(0, 1, false, "two")+`}},"!r2:x":{"sessions":{"s3":`+kbd(0, 0, false, "three")+`}}}}`)
	if string(r.Body) != want {
		t.Fatalf("all: %s, want %s", r.Body, want)
	}
	// r0 serves the same keys.
	r = e.ok("GET", strings.Replace(keysPath(v), v3, "/_matrix/client/r0", 1), a.token, nil)
	if string(r.Body) != want {
		t.Fatalf("r0 all: %s", r.Body)
	}
	// A room without keys is an empty sessions object; a missing session
	// is 404.
	r = e.ok("GET", keysPath(v, "!none:x"), a.token, nil)
	if string(r.Body) != `{"sessions":{}}` {
		t.Fatalf("missing room: %s", r.Body)
	}
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v, "!r1:x", "nope"), a.token, nil)
	// Unknown versions and a missing version parameter.
	for _, bad := range []string{"9", "0", "01", "x"} {
		e.want(404, "M_NOT_FOUND", "GET", keysPath(bad), a.token, nil)
		e.want(404, "M_NOT_FOUND", "DELETE", keysPath(bad, "!r1:x"), a.token, nil)
	}
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		e.want(400, "M_MISSING_PARAM", m, roomKeys, a.token, `{"rooms":{}}`)
		e.want(400, "M_MISSING_PARAM", m, roomKeys+"/!r1:x?version=", a.token, `{"sessions":{}}`)
	}

	// DELETE: one session, a room, everything; the etag moves only when
	// something went.
	before := a.backupInfo(v)
	e.ok("DELETE", keysPath(v, "!r1:x", "nope"), a.token, nil).decode(t, &up)
	if up.Etag != before.Etag || up.Count != 3 {
		t.Fatalf("deleting nothing: %+v, before %+v", up, before)
	}
	e.ok("DELETE", keysPath(v, "!r1:x", sid), a.token, nil).decode(t, &up)
	if up.Etag == before.Etag || up.Count != 2 {
		t.Fatalf("deleting a session: %+v", up)
	}
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v, "!r1:x", sid), a.token, nil)
	e.ok("DELETE", keysPath(v, "!r2:x"), a.token, nil).decode(t, &up)
	if up.Count != 1 {
		t.Fatalf("deleting a room: %+v", up)
	}
	e.ok("DELETE", keysPath(v), a.token, nil).decode(t, &up)
	if up.Count != 0 {
		t.Fatalf("deleting all: %+v", up)
	}
	if info := a.backupInfo(v); info.Count != 0 || info.Etag != up.Etag {
		t.Fatalf("after deleting all: %+v", info)
	}

	// Deleting a version deletes its keys.
	e.ok("PUT", keysPath(v, "!r1:x", "s"), a.token, kbd(0, 0, false, "x"))
	e.ok("DELETE", roomKeysVersion+"/"+v, a.token, nil)
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v), a.token, nil)
	e.want(404, "M_NOT_FOUND", "PUT", keysPath(v, "!r1:x", "s"), a.token, kbd(0, 0, false, "x"))
}

func TestBackupWrongVersion(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	v1 := a.createBackup(`{}`)
	e.ok("PUT", keysPath(v1, "!r:x", "s"), a.token, kbd(0, 0, false, "old"))
	v2 := a.createBackup(`{}`)
	for _, tc := range []struct {
		name, path, body string
	}{
		{"session", keysPath(v1, "!r:x", "s2"), kbd(0, 0, false, "x")},
		{"room", keysPath(v1, "!r:x"), `{"sessions":{"s2":` + kbd(0, 0, false, "x") + `}}`},
		{"all", keysPath(v1), `{"rooms":{"!r:x":{"sessions":{"s2":` + kbd(0, 0, false, "x") + `}}}}`},
		{"future version", keysPath("3"), `{"rooms":{}}`},
		{"non-decimal version", keysPath("two"), `{"rooms":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.want(403, "M_WRONG_ROOM_KEYS_VERSION", "PUT", tc.path, a.token, tc.body)
			var body struct {
				Current string `json:"current_version"`
			}
			r.decode(t, &body)
			if body.Current != v2 {
				t.Fatalf("current_version %q, want %q (%s)", body.Current, v2, r.Body)
			}
		})
	}
	// Nothing was written to either version.
	if got := a.backupInfo(v1); got.Count != 1 {
		t.Fatalf("old version count %d", got.Count)
	}
	if got := a.backupInfo(v2); got.Count != 0 {
		t.Fatalf("current version count %d", got.Count)
	}
	// The old version stays readable and prunable: only writes of keys
	// need the current version.
	e.ok("GET", keysPath(v1, "!r:x", "s"), a.token, nil)
	var up backupUpdate
	e.ok("DELETE", keysPath(v1, "!r:x", "s"), a.token, nil).decode(t, &up)
	if up.Count != 0 {
		t.Fatalf("delete from old version: %+v", up)
	}
}

// TestBackupReplacementRule runs the spec's rule end to end: a stored
// session is replaced only by a better copy.
func TestBackupReplacementRule(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	v := a.createBackup(`{}`)
	type meta struct {
		fmi, fc  int
		verified bool
	}
	for i, tc := range []struct {
		name             string
		existing, upload meta
		replaced         bool
	}{
		{"verified beats unverified with a lower index (Synapse #13704)", meta{0, 0, false}, meta{5, 3, true}, true},
		{"unverified never replaces verified", meta{5, 3, true}, meta{0, 0, false}, false},
		{"lower first_message_index wins", meta{5, 0, false}, meta{2, 9, false}, true},
		{"higher first_message_index loses", meta{2, 0, true}, meta{5, 0, true}, false},
		{"lower forwarded_count wins on equal index", meta{2, 4, true}, meta{2, 1, true}, true},
		{"higher forwarded_count loses", meta{2, 1, false}, meta{2, 4, false}, false},
		{"identical metadata keeps the stored copy", meta{2, 1, true}, meta{2, 1, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid := fmt.Sprintf("s%d", i)
			e.ok("PUT", keysPath(v, "!r:x", sid), a.token, kbd(tc.existing.fmi, tc.existing.fc, tc.existing.verified, "stored"))
			before := a.backupInfo(v)
			var up backupUpdate
			e.ok("PUT", keysPath(v, "!r:x", sid), a.token, kbd(tc.upload.fmi, tc.upload.fc, tc.upload.verified, "uploaded")).decode(t, &up)
			r := e.ok("GET", keysPath(v, "!r:x", sid), a.token, nil)
			want, data := kbd(tc.existing.fmi, tc.existing.fc, tc.existing.verified, "stored"), "stored"
			if tc.replaced {
				want, data = kbd(tc.upload.fmi, tc.upload.fc, tc.upload.verified, "uploaded"), "uploaded"
			}
			if string(r.Body) != compactJSON(t, want) {
				t.Fatalf("kept %s, want the %s copy", r.Body, data)
			}
			if (up.Etag != before.Etag) != tc.replaced || up.Count != before.Count {
				t.Fatalf("update %+v, before %+v, replaced %v", up, before, tc.replaced)
			}
		})
	}
	// The rule applies per session inside one bulk upload too.
	e.ok("PUT", keysPath(v), a.token, `{"rooms":{"!r:x":{"sessions":{"s0":`+kbd(9, 9, false, "worse")+`,"s1":`+kbd(0, 0, true, "better")+`}}}}`)
	var room struct {
		Sessions map[string]struct {
			SessionData struct{ Ciphertext string } `json:"session_data"`
		} `json:"sessions"`
	}
	e.ok("GET", keysPath(v, "!r:x"), a.token, nil).decode(t, &room)
	if got := room.Sessions["s0"].SessionData.Ciphertext + "," + room.Sessions["s1"].SessionData.Ciphertext; got != "uploaded,better" {
		t.Fatalf("bulk upload kept %s", got)
	}
}

func TestBackupKeysBadInput(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxBackupBodyBytes = 64 << 10 })
	a := e.register("alice")
	v := a.createBackup(`{}`)
	e.ok("PUT", keysPath(v, "!r:x", "keep"), a.token, kbd(0, 0, false, "keep"))
	before := a.backupInfo(v)
	good := kbd(0, 0, false, "x")
	session := func(s string) string { return `{"rooms":{"!r:x":{"sessions":{"good":` + good + `,"bad":` + s + `}}}}` }
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"not JSON", keysPath(v), `{"rooms":`, 400, "M_NOT_JSON"},
		{"empty body", keysPath(v), ``, 400, "M_NOT_JSON"},
		{"array body", keysPath(v), `[]`, 400, "M_BAD_JSON"},
		{"missing rooms", keysPath(v), `{}`, 400, "M_BAD_JSON"},
		{"rooms a string", keysPath(v), `{"rooms":"x"}`, 400, "M_BAD_JSON"},
		{"session null", keysPath(v), session(`null`), 400, "M_BAD_JSON"},
		{"room null", keysPath(v), `{"rooms":{"!r:x":null}}`, 400, "M_BAD_JSON"},
		{"session body null", keysPath(v, "!r:x", "s"), `null`, 400, "M_BAD_JSON"},
		{"room body sessions array", keysPath(v, "!r:x"), `{"sessions":[]}`, 400, "M_BAD_JSON"},
		{"rooms array", keysPath(v), `{"rooms":[]}`, 400, "M_BAD_JSON"},
		{"rooms null", keysPath(v), `{"rooms":null}`, 400, "M_BAD_JSON"},
		{"room not an object", keysPath(v), `{"rooms":{"!r:x":1}}`, 400, "M_BAD_JSON"},
		{"room without sessions", keysPath(v), `{"rooms":{"!r:x":{}}}`, 400, "M_BAD_JSON"},
		{"sessions null", keysPath(v), `{"rooms":{"!r:x":{"sessions":null}}}`, 400, "M_BAD_JSON"},
		{"room ID without sigil", keysPath(v), `{"rooms":{"r:x":{"sessions":{}}}}`, 400, "M_INVALID_PARAM"},
		{"room ID only the sigil", keysPath(v), `{"rooms":{"!":{"sessions":{}}}}`, 400, "M_INVALID_PARAM"},
		{"room ID with a space", keysPath(v), `{"rooms":{"!r x":{"sessions":{}}}}`, 400, "M_INVALID_PARAM"},
		{"room ID with a control character", keysPath(v), `{"rooms":{"!r\u0000x":{"sessions":{}}}}`, 400, "M_INVALID_PARAM"},
		{"room ID too long", keysPath(v), `{"rooms":{"!` + strings.Repeat("r", 255) + `":{"sessions":{}}}}`, 400, "M_INVALID_PARAM"},
		{"session ID empty", keysPath(v), `{"rooms":{"!r:x":{"sessions":{"":` + good + `}}}}`, 400, "M_INVALID_PARAM"},
		{"session ID too long", keysPath(v), `{"rooms":{"!r:x":{"sessions":{"` + strings.Repeat("s", 256) + `":` + good + `}}}}`, 400, "M_INVALID_PARAM"},
		{"session ID not ASCII", keysPath(v), `{"rooms":{"!r:x":{"sessions":{"sé":` + good + `}}}}`, 400, "M_INVALID_PARAM"},
		{"session not an object", keysPath(v), session(`"x"`), 400, "M_BAD_JSON"},
		{"missing first_message_index", keysPath(v), session(`{"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index in other case", keysPath(v), session(`{"First_Message_Index":0,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index string", keysPath(v), session(`{"first_message_index":"0","forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index fraction", keysPath(v), session(`{"first_message_index":1.5,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index exponent", keysPath(v), session(`{"first_message_index":1e2,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index null", keysPath(v), session(`{"first_message_index":null,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"first_message_index negative", keysPath(v), session(`{"first_message_index":-1,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_INVALID_PARAM"},
		{"first_message_index over 2^53-1", keysPath(v), session(`{"first_message_index":9007199254740992,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_INVALID_PARAM"},
		{"first_message_index over int64", keysPath(v), session(`{"first_message_index":99999999999999999999,"forwarded_count":0,"is_verified":false,"session_data":{}}`), 400, "M_INVALID_PARAM"},
		{"missing forwarded_count", keysPath(v), session(`{"first_message_index":0,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"forwarded_count bool", keysPath(v), session(`{"first_message_index":0,"forwarded_count":true,"is_verified":false,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"forwarded_count negative", keysPath(v), session(`{"first_message_index":0,"forwarded_count":-3,"is_verified":false,"session_data":{}}`), 400, "M_INVALID_PARAM"},
		{"missing is_verified", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"is_verified number", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":1,"session_data":{}}`), 400, "M_BAD_JSON"},
		{"is_verified string", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":"true","session_data":{}}`), 400, "M_BAD_JSON"},
		{"missing session_data", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":false}`), 400, "M_BAD_JSON"},
		{"session_data string", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":false,"session_data":"x"}`), 400, "M_BAD_JSON"},
		{"session_data array", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":false,"session_data":[]}`), 400, "M_BAD_JSON"},
		{"session_data null", keysPath(v), session(`{"first_message_index":0,"forwarded_count":0,"is_verified":false,"session_data":null}`), 400, "M_BAD_JSON"},
		{"room body without sessions", keysPath(v, "!r:x"), `{"rooms":{}}`, 400, "M_BAD_JSON"},
		{"room path without sigil", keysPath(v, "r:x"), `{"sessions":{}}`, 400, "M_INVALID_PARAM"},
		{"room path too long", keysPath(v, "!"+strings.Repeat("r", 255)), `{"sessions":{}}`, 400, "M_INVALID_PARAM"},
		{"session path with a space", keysPath(v, "!r:x", "a b"), good, 400, "M_INVALID_PARAM"},
		{"session body is a room", keysPath(v, "!r:x", "s"), `{"sessions":{}}`, 400, "M_BAD_JSON"},
		{"session body array", keysPath(v, "!r:x", "s"), `[` + good + `]`, 400, "M_BAD_JSON"},
		{"over the backup body limit", keysPath(v), `{"rooms":{"!r:x":{"sessions":{"s":` + kbd(0, 0, false, strings.Repeat("c", 70<<10)) + `}}}}`, 413, "M_TOO_LARGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.want(tc.status, tc.code, "PUT", tc.path, a.token, tc.body)
			if after := a.backupInfo(v); after.Etag != before.Etag || after.Count != before.Count {
				t.Fatalf("backup changed by a refused upload: %+v, before %+v", after, before)
			}
		})
	}
	// Path IDs are checked on reads and deletions too.
	e.want(400, "M_INVALID_PARAM", "GET", keysPath(v, "nosigil"), a.token, nil)
	e.want(400, "M_INVALID_PARAM", "DELETE", keysPath(v, "!r:x", strings.Repeat("s", 256)), a.token, nil)
	// The larger limit is for key uploads only: other bodies keep
	// max_body_bytes.
	e.want(413, "M_TOO_LARGE", "POST", roomKeysVersion, a.token, `{"algorithm":"x","auth_data":{"k":"`+strings.Repeat("a", 2<<20)+`"}}`)
}

func TestBackupOwnerOnly(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	v := alice.createBackup(`{"public_key":"alice"}`)
	e.ok("PUT", keysPath(v, "!r:x", "s"), alice.token, kbd(0, 0, false, "alice's"))
	aliceBefore := alice.backupInfo(v)

	// Bob sees no backup, and cannot read, write, update or delete Alice's.
	e.want(404, "M_NOT_FOUND", "GET", roomKeysVersion, bob.token, nil)
	e.want(404, "M_NOT_FOUND", "GET", roomKeysVersion+"/"+v, bob.token, nil)
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v), bob.token, nil)
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v, "!r:x", "s"), bob.token, nil)
	e.want(404, "M_NOT_FOUND", "PUT", keysPath(v, "!r:x", "s"), bob.token, kbd(0, 0, true, "bob's"))
	e.want(404, "M_NOT_FOUND", "PUT", roomKeysVersion+"/"+v, bob.token, `{"algorithm":"`+backupAlg+`","auth_data":{"public_key":"bob"}}`)
	e.want(404, "M_NOT_FOUND", "DELETE", keysPath(v), bob.token, nil)
	e.want(404, "M_NOT_FOUND", "DELETE", roomKeysVersion+"/"+v, bob.token, nil)
	// A user ID in the query changes nothing: there is no way to name
	// another user.
	e.want(404, "M_NOT_FOUND", "GET", keysPath(v)+"&user_id="+url.QueryEscape(alice.user), bob.token, nil)

	// Bob's own backup has the same version ID and is separate.
	if bv := bob.createBackup(`{"public_key":"bob"}`); bv != v {
		t.Fatalf("bob's first version %q", bv)
	}
	e.ok("PUT", keysPath(v, "!r:x", "s"), bob.token, kbd(0, 0, true, "bob's"))
	e.ok("DELETE", keysPath(v), bob.token, nil)
	e.ok("DELETE", roomKeysVersion+"/"+v, bob.token, nil)

	if got := alice.backupInfo(v); string(got.AuthData) != `{"public_key":"alice"}` || got.Count != 1 || got.Etag != aliceBefore.Etag {
		t.Fatalf("alice's backup after bob: %+v", got)
	}
	r := e.ok("GET", keysPath(v, "!r:x", "s"), alice.token, nil)
	if string(r.Body) != compactJSON(t, kbd(0, 0, false, "alice's")) {
		t.Fatalf("alice's session after bob: %s", r.Body)
	}
	// An unknown token is refused before anything else.
	e.want(401, "M_UNKNOWN_TOKEN", "GET", keysPath(v), "not-a-token", nil)
}

// realisticSessionData is the size of a real session_data: the encrypted
// BackedUpSessionData of a megolm session (about 520 bytes of JSON, so 704
// base64 characters of ciphertext), a Curve25519 ephemeral key and an
// 8-byte MAC.
func realisticSessionData(i int) string {
	ct := make([]byte, 528)
	rand.Read(ct)
	eph := make([]byte, 32)
	rand.Read(eph)
	return fmt.Sprintf(`{"ciphertext":%q,"ephemeral":%q,"mac":%q,"i":%d}`,
		base64.RawStdEncoding.EncodeToString(ct), base64.RawStdEncoding.EncodeToString(eph), base64.RawStdEncoding.EncodeToString(ct[:8]), i)
}

// bigUpload is a PUT /room_keys/keys body of n realistic sessions spread
// over rooms.
func bigUpload(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"rooms":{`)
	rooms := n / 50
	if rooms == 0 {
		rooms = 1
	}
	for r := 0; r < rooms; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"!room%04d:example.org":{"sessions":{`, r)
		first := true
		for i := r; i < n; i += rooms {
			if !first {
				b.WriteByte(',')
			}
			first = false
			sid := make([]byte, 32)
			rand.Read(sid)
			fmt.Fprintf(&b, `"%s":{"first_message_index":%d,"forwarded_count":0,"is_verified":true,"session_data":%s}`,
				base64.RawStdEncoding.EncodeToString(sid), i%100, realisticSessionData(i))
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

func TestBackupLargeUpload(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	v := a.createBackup(`{}`)
	const n = 10000
	body := bigUpload(n)
	if len(body) <= int(testConfig().MaxBodyBytes) {
		t.Fatalf("upload of %d bytes fits the ordinary body limit; the test would prove nothing", len(body))
	}
	t.Logf("10,000 realistic sessions: %d bytes", len(body))
	var up backupUpdate
	e.ok("PUT", keysPath(v), a.token, body).decode(t, &up)
	if up.Count != n {
		t.Fatalf("count %d, want %d", up.Count, n)
	}
	var all struct {
		Rooms map[string]struct {
			Sessions map[string]json.RawMessage `json:"sessions"`
		} `json:"rooms"`
	}
	e.ok("GET", keysPath(v), a.token, nil).decode(t, &all)
	var sent struct {
		Rooms map[string]struct {
			Sessions map[string]json.RawMessage `json:"sessions"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	got := 0
	for rid, room := range sent.Rooms {
		for sid, s := range room.Sessions {
			if string(all.Rooms[rid].Sessions[sid]) != string(s) {
				t.Fatalf("session %s/%s: got %s, want %s", rid, sid, all.Rooms[rid].Sessions[sid], s)
			}
			got++
		}
	}
	if got != n {
		t.Fatalf("compared %d sessions", got)
	}
}

// benchServer is a server over a fresh SQLite store with one user and a
// backup version; it returns the base URL, the user's token and the version.
func benchServer(b *testing.B) (*httptest.Server, string, string) {
	b.Helper()
	ts := testserver.Start(b, noRateLimit).HTTP
	var login struct {
		Token string `json:"access_token"`
	}
	benchDo(b, ts, "POST", v3+"/register", "", []byte(`{"username":"bench","password":"pw","auth":{"type":"m.login.dummy"}}`), &login)
	var created struct{ Version string }
	benchDo(b, ts, "POST", roomKeysVersion, login.Token, []byte(`{"algorithm":"`+backupAlg+`","auth_data":{}}`), &created)
	return ts, login.Token, created.Version
}

func benchDo(b *testing.B, ts *httptest.Server, method, path, token string, body []byte, out any) int {
	b.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	if res.StatusCode != 200 {
		b.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
	return len(data)
}

// BenchmarkBackupUpload10k uploads 10,000 new realistic sessions in one
// PUT /room_keys/keys per iteration (each iteration into a fresh version,
// so every session is an insert).
func BenchmarkBackupUpload10k(b *testing.B) {
	ts, token, _ := benchServer(b)
	body := bigUpload(10000)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var created struct{ Version string }
		benchDo(b, ts, "POST", roomKeysVersion, token, []byte(`{"algorithm":"`+backupAlg+`","auth_data":{}}`), &created)
		b.StartTimer()
		var up backupUpdate
		benchDo(b, ts, "PUT", keysPath(created.Version), token, body, &up)
		if up.Count != 10000 {
			b.Fatalf("count %d", up.Count)
		}
	}
}

// BenchmarkBackupReupload10k uploads the same 10,000 sessions again: every
// one is already stored, so the store looks up all the stored metadata and
// the rule keeps every stored copy (the path a resumed upload takes).
func BenchmarkBackupReupload10k(b *testing.B) {
	ts, token, v := benchServer(b)
	body := bigUpload(10000)
	var first backupUpdate
	benchDo(b, ts, "PUT", keysPath(v), token, body, &first)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var up backupUpdate
		benchDo(b, ts, "PUT", keysPath(v), token, body, &up)
		if up.Count != 10000 || up.Etag != first.Etag {
			b.Fatalf("re-upload changed the backup: %+v, first %+v", up, first)
		}
	}
}

// BenchmarkBackupDownload10k is a restore: GET /room_keys/keys of a backup
// of 10,000 realistic sessions, decoded by the client.
func BenchmarkBackupDownload10k(b *testing.B) {
	ts, token, v := benchServer(b)
	benchDo(b, ts, "PUT", keysPath(v), token, bigUpload(10000), nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var all struct {
			Rooms map[string]struct {
				Sessions map[string]json.RawMessage `json:"sessions"`
			} `json:"rooms"`
		}
		n := benchDo(b, ts, "GET", keysPath(v), token, nil, &all)
		b.SetBytes(int64(n))
		count := 0
		for _, r := range all.Rooms {
			count += len(r.Sessions)
		}
		if count != 10000 {
			b.Fatalf("restored %d sessions", count)
		}
	}
}

// loadBackupVectors returns the session_data objects of backup.json, valid
// and invalid (the server must store both unchanged: it never decrypts).
func loadBackupVectors(tb testing.TB) []json.RawMessage {
	tb.Helper()
	v := testvectors.LoadBackup(tb)
	var out []json.RawMessage
	for _, s := range v.Sessions {
		out = append(out, s.SessionData)
	}
	for _, s := range v.Invalid {
		out = append(out, s.SessionData)
	}
	if len(out) == 0 {
		tb.Fatal("no vectors")
	}
	return out
}

// TestBackupVectorsStoredUnchanged stores every session_data of the backup
// vectors, valid and invalid, and reads each back byte for byte (compact).
func TestBackupVectorsStoredUnchanged(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	v := a.createBackup(`{}`)
	vectors := loadBackupVectors(t)
	for i, sd := range vectors {
		sid := fmt.Sprintf("vector%d", i)
		body := `{"first_message_index":0,"forwarded_count":0,"is_verified":false,"session_data":` + string(sd) + `}`
		e.ok("PUT", keysPath(v, "!r:x", sid), a.token, body)
		var got struct {
			SessionData json.RawMessage `json:"session_data"`
		}
		e.ok("GET", keysPath(v, "!r:x", sid), a.token, nil).decode(t, &got)
		if string(got.SessionData) != compactJSON(t, string(sd)) {
			t.Fatalf("vector %d: stored %s, uploaded %s", i, got.SessionData, sd)
		}
	}
	if info := a.backupInfo(v); info.Count != len(vectors) {
		t.Fatalf("count %d, want %d", info.Count, len(vectors))
	}
}

// refKeyBackupData is an independent strict reading of a KeyBackupData for
// the fuzz target: exact member names, integers as decimal digits only.
func refKeyBackupData(body []byte) (fmi, fc int64, verified bool, sessionData string, ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return 0, 0, false, "", false
	}
	if _, err := d.Token(); err != io.EOF {
		return 0, 0, false, "", false
	}
	count := func(v any) (int64, bool) {
		n, isNum := v.(json.Number)
		if !isNum || strings.ContainsAny(string(n), ".eE-") {
			return 0, false
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil && i <= 1<<53-1
	}
	var ok1, ok2, ok3 bool
	fmi, ok1 = count(m["first_message_index"])
	fc, ok2 = count(m["forwarded_count"])
	verified, ok3 = m["is_verified"].(bool)
	sd, ok4 := m["session_data"].(map[string]any)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, 0, false, "", false
	}
	js, err := json.Marshal(sd)
	if err != nil {
		return 0, 0, false, "", false
	}
	return fmi, fc, verified, string(js), true
}

// FuzzBackupKeyUpload sends arbitrary bodies to PUT
// /room_keys/keys/{roomId}/{sessionId} through the server's handler. The
// server must accept exactly the bodies an independent strict reading
// accepts, answer every other one 400 without storing anything, never fail
// with 500, and give back an accepted session with the same values.
func FuzzBackupKeyUpload(f *testing.F) {
	for _, sd := range loadBackupVectors(f) {
		f.Add([]byte(`{"first_message_index":3,"forwarded_count":1,"is_verified":true,"session_data":` + string(sd) + `}`))
	}
	for _, s := range []string{
		kbd(0, 0, false, "x"), `{}`, `[]`, `null`, `{"first_message_index":-1}`,
		`{"first_message_index":1e3,"forwarded_count":0,"is_verified":false,"session_data":{}}`,
		`{"first_message_index":1,"forwarded_count":0,"is_verified":false,"session_data":{},"First_Message_Index":9}`,
		`{"first_message_index":9007199254740991,"forwarded_count":0,"is_verified":false,"session_data":{"a":[1,{"b":null}]}}`,
	} {
		f.Add([]byte(s))
	}
	h := testserver.Handler(f, noRateLimit)
	call := func(t testing.TB, method, path, token string, body []byte) (int, []byte) {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	status, body := call(f, "POST", v3+"/register", "", []byte(`{"username":"fuzz","auth":{"type":"m.login.dummy"}}`))
	var login struct {
		Token string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(body, &login) != nil {
		f.Fatalf("register: %d %s", status, body)
	}
	if status, body := call(f, "POST", roomKeysVersion, login.Token, []byte(`{"algorithm":"a","auth_data":{}}`)); status != 200 {
		f.Fatalf("create backup: %d %s", status, body)
	}
	n := 0
	f.Fuzz(func(t *testing.T, in []byte) {
		n++
		sid := fmt.Sprintf("s%d", n)
		status, body := call(t, "PUT", keysPath("1", "!r:x", sid), login.Token, in)
		fmi, fc, verified, sd, ok := refKeyBackupData(in)
		if !ok {
			if status != 400 && status != 413 {
				t.Fatalf("strictly invalid body %q answered %d %s", in, status, body)
			}
			if status, _ := call(t, "GET", keysPath("1", "!r:x", sid), login.Token, nil); status != 404 {
				t.Fatalf("refused body %q was stored (%d)", in, status)
			}
			return
		}
		if status != 200 {
			t.Fatalf("valid body %q answered %d %s", in, status, body)
		}
		status, body = call(t, "GET", keysPath("1", "!r:x", sid), login.Token, nil)
		var got struct {
			FirstMessageIndex int64           `json:"first_message_index"`
			ForwardedCount    int64           `json:"forwarded_count"`
			IsVerified        bool            `json:"is_verified"`
			SessionData       json.RawMessage `json:"session_data"`
		}
		if status != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("read back: %d %s", status, body)
		}
		var gotSD any
		d := json.NewDecoder(bytes.NewReader(got.SessionData))
		d.UseNumber()
		if err := d.Decode(&gotSD); err != nil {
			t.Fatal(err)
		}
		gotJS, _ := json.Marshal(gotSD)
		if got.FirstMessageIndex != fmi || got.ForwardedCount != fc || got.IsVerified != verified || string(gotJS) != sd {
			t.Fatalf("body %q read back as %s", in, body)
		}
	})
}

// FuzzBackupVersionCreate sends arbitrary bodies to POST /room_keys/version.
// A version is created exactly when an independent strict reading accepts
// the body (algorithm a string of 1 to 255 bytes, auth_data an object, exact
// member names), and it reads back with the same algorithm and auth_data;
// any other body is a 400 that creates nothing.
func FuzzBackupVersionCreate(f *testing.F) {
	for _, s := range []string{
		`{"algorithm":"` + backupAlg + `","auth_data":{"public_key":"abc","signatures":{"@a:x":{"ed25519:D":"sig"}}}}`,
		`{"algorithm":"","auth_data":{}}`, `{"algorithm":1,"auth_data":{}}`, `{"Algorithm":"a","auth_data":{}}`,
		`{"algorithm":"a","auth_data":[]}`, `{"algorithm":"a","auth_data":null}`, `{"algorithm":"\u00e9","auth_data":{"x":1e999}}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	h := testserver.Handler(f, noRateLimit)
	call := func(method, path, token string, body []byte) (int, []byte) {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	status, body := call("POST", v3+"/register", "", []byte(`{"username":"fuzz","auth":{"type":"m.login.dummy"}}`))
	var login struct {
		Token string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(body, &login) != nil {
		f.Fatalf("register: %d %s", status, body)
	}
	current := func(t *testing.T) string {
		status, body := call("GET", roomKeysVersion, login.Token, nil)
		if status == 404 {
			return ""
		}
		var v struct{ Version string }
		if status != 200 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("current version: %d %s", status, body)
		}
		return v.Version
	}
	canonical := func(raw []byte) (string, bool) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return "", false
		}
		js, err := json.Marshal(v)
		return string(js), err == nil
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		before := current(t)
		status, body := call("POST", roomKeysVersion, login.Token, in)
		// The reference reading.
		var m map[string]json.RawMessage
		ok := json.Valid(in) && json.Unmarshal(in, &m) == nil && m != nil
		var alg string
		var wantAuth string
		if ok {
			a, isStr := m["algorithm"]
			ok = isStr && len(a) > 0 && a[0] == '"' && json.Unmarshal(a, &alg) == nil && alg != "" && len(alg) <= 255
			auth := m["auth_data"]
			ok = ok && len(auth) > 0 && auth[0] == '{'
			if ok {
				wantAuth, ok = canonical(auth)
			}
		}
		if !ok {
			if status != 400 {
				t.Fatalf("invalid body %q answered %d %s", in, status, body)
			}
			if after := current(t); after != before {
				t.Fatalf("invalid body %q created version %q", in, after)
			}
			return
		}
		var created struct{ Version string }
		if status != 200 || json.Unmarshal(body, &created) != nil {
			t.Fatalf("valid body %q answered %d %s", in, status, body)
		}
		status, body = call("GET", roomKeysVersion+"/"+created.Version, login.Token, nil)
		var got struct {
			Algorithm string          `json:"algorithm"`
			AuthData  json.RawMessage `json:"auth_data"`
		}
		if status != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("read back: %d %s", status, body)
		}
		if gotAuth, _ := canonical(got.AuthData); got.Algorithm != alg || gotAuth != wantAuth {
			t.Fatalf("body %q read back as %s", in, body)
		}
	})
}

// TestBackupEscapedIDs stores keys under room and session IDs with the
// characters JSON must escape and reads them back at every level.
func TestBackupEscapedIDs(t *testing.T) {
	e := newEnv(t)
	a := e.register("alice")
	v := a.createBackup(`{}`)
	room, session := `!a"b\c<&>:x`, `s"\/+=`
	e.ok("PUT", keysPath(v, room, session), a.token, kbd(1, 2, true, "esc"))
	var all struct {
		Rooms map[string]struct {
			Sessions map[string]struct {
				FirstMessageIndex int `json:"first_message_index"`
			} `json:"sessions"`
		} `json:"rooms"`
	}
	e.ok("GET", keysPath(v), a.token, nil).decode(t, &all)
	if len(all.Rooms) != 1 || all.Rooms[room].Sessions[session].FirstMessageIndex != 1 {
		t.Fatalf("all rooms: %+v", all)
	}
	r := e.ok("GET", keysPath(v, room), a.token, nil)
	var one struct {
		Sessions map[string]json.RawMessage `json:"sessions"`
	}
	r.decode(t, &one)
	if string(one.Sessions[session]) != compactJSON(t, kbd(1, 2, true, "esc")) {
		t.Fatalf("room: %s", r.Body)
	}
}
