package signedjson

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestMember(t *testing.T) {
	obj := []byte(` { "a" : 1 , "b\u0022c":[1,{"x":"}"}], "c": "v\"w" ,"d":{"e":null} } `)
	tests := []struct {
		key   string
		want  string
		found bool
	}{
		{"a", "1", true},
		{`b"c`, `[1,{"x":"}"}]`, true},
		{"c", `"v\"w"`, true},
		{"d", `{"e":null}`, true},
		{"e", "", false},
	}
	for _, tt := range tests {
		raw, found, err := member(obj, tt.key)
		if err != nil || found != tt.found || string(raw) != tt.want {
			t.Errorf("%q: got %q %v %v", tt.key, raw, found, err)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{"a"`, `{"a":}`, `{"a":1 "b":2}`, ``} {
		if _, _, err := member([]byte(bad), "b"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzMember checks member against encoding/json on every valid object.
func FuzzMember(f *testing.F) {
	f.Add([]byte(`{"signatures":{"@a:x":{"ed25519:A":"sig"}}}`), "signatures")
	f.Add([]byte(`{"a\\/b":[1,2,{"c":"d"}],"e":true}`), "a/b")
	f.Fuzz(func(t *testing.T, obj []byte, key string) {
		var m map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(obj))
		if dec.Decode(&m) != nil || m == nil || dec.More() {
			return
		}
		// encoding/json replaces invalid UTF-8 with U+FFFD, so it is no
		// oracle for such input; canonicaljson refuses it before member
		// is ever reached.
		if !utf8.Valid(obj) {
			return
		}
		raw, found, err := member(obj, key)
		if err != nil {
			t.Fatalf("valid object refused: %v", err)
		}
		want, ok := m[key]
		// encoding/json keeps the last duplicate; canonical JSON refuses
		// duplicates before member is ever used, so only compare when the
		// key is not repeated.
		if bytes.Count(obj, []byte(key)) > 1 {
			return
		}
		if found != ok || (ok && !bytes.Equal(bytes.TrimSpace(raw), bytes.TrimSpace(want))) {
			t.Fatalf("key %q: got %q %v, want %q %v", key, raw, found, want, ok)
		}
	})
}

// BenchmarkVerifyOverhead is everything Verify does besides ed25519 itself:
// canonicalising without signatures/unsigned and finding the signature.
// Its ratio to BenchmarkBareEd25519Verify is signedjson's cost on top of
// the cryptography, measured without the noise of the curve arithmetic.
func BenchmarkVerifyOverhead(b *testing.B) {
	obj := []byte(`{"algorithms":["m.olm.v1.curve25519-aes-sha2","m.megolm.v1.aes-sha2"],"device_id":"JLAFKJWSCS","keys":{"curve25519:JLAFKJWSCS":"3C5BFWi2Y8MaVvjM8M22DBmh24PmgR0nPvJOIArzgyI","ed25519:JLAFKJWSCS":"lEuiRJBit0IG6nUf5pUzWTUEsRVVe/HJkoKuEww9ULI"},"signatures":{"@alice:example.com":{"ed25519:JLAFKJWSCS":"dSO80A01XiigH3uBiDVx/EjzaoycHcjq9lfQX0uWsqxl2giMIiSPR8a4d291W1ihKJL/a+myXS367WT6NAIcBA"}},"user_id":"@alice:example.com"}`)
	b.ReportAllocs()
	var scratch [1024]byte
	for b.Loop() {
		_, raw, err := signingInput(scratch[:0], obj)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lookupSignature(raw, "@alice:example.com", "ed25519:JLAFKJWSCS"); err != nil {
			b.Fatal(err)
		}
	}
}
