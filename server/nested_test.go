package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// nestedBody is a 16-signature upload body as clients send it.
func nestedBody() []byte {
	m := map[string]map[string]json.RawMessage{}
	for i := range 16 {
		key := fmt.Sprintf("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%02d", i)
		obj := fmt.Sprintf(`{"keys":{"ed25519:%s":"%s"},"signatures":{"@me:localhost":{"ed25519:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC":"FLWxXqGbwrb8SM3Y795eB6OA8bwBcoMZFXBqnTn58AYWZSqiD45tlBVcDa2L7RwdKXebW/VzDlnfVJ+9jok1Bw"}},"usage":["master"],"user_id":"@user-%d:localhost"}`, key, key, i)
		m[fmt.Sprintf("@user-%d:localhost", i)] = map[string]json.RawMessage{key: json.RawMessage(obj)}
	}
	b, _ := json.Marshal(m)
	return b
}

// TestDecodeNested checks that decodeNested either gives exactly what
// encoding/json gives or declines, and that it takes the common shapes.
func TestDecodeNested(t *testing.T) {
	cases := []struct {
		body   string
		wantOK bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"@a:x":{}}`, true},
		{`{"@a:x":{"K":{"a":1}},"@b:x":{"L":{"b":[1,{"c":"}"}]},"M":"s"}}`, true},
		{"\n{ \"@a:x\" : { \"K\" : { \"a\" : \"\\\"}\" } } }\n", true},
		{`{"@a:x":{"K":1,"L":true,"M":-2.5e3}}`, true},
		{`{"@a:x":{"K":null}}`, false},               // null: encoding/json's own rules
		{`{"@a:x":null}`, false},                     // idem
		{`{"@a:x":{"K":{}},"@a:x":{"L":{}}}`, false}, // repeated name
		{`{"@a:x":{"K":{},"K":{}}}`, false},          // repeated inner name
		{`{"\u0040a:x":{"K":{}}}`, false},            // escaped name
		{`{"@a:x":{"K\n":{}}}`, false},               // escaped inner name
		{"{\"@b\xfa:x\":{\"K\":{}}}", false},         // invalid UTF-8: encoding/json makes it U+FFFD
		{"{\"@b:x\":{\"K\xbb\":{}}}", false},         // idem, in an inner name
		{`{"@a:x":[]}`, false},                       // not an object
		{`{"@a:x":"s"}`, false},
		{`[]`, false},
		{`"s"`, false},
		{`{"@a:x":{"K":{}}`, false}, // invalid JSON
		{`{"@a:x":{"K":{}}} x`, false},
		{``, false},
	}
	for _, c := range cases {
		got, ok := decodeNested([]byte(c.body))
		if ok != c.wantOK {
			t.Errorf("%q: ok %v, want %v", c.body, ok, c.wantOK)
			continue
		}
		if ok {
			checkSameAsEncodingJSON(t, []byte(c.body), got)
		}
	}
	b := nestedBody()
	got, ok := decodeNested(b)
	if !ok || len(got) != 16 {
		t.Fatalf("a 16-signature body: ok %v, %d users", ok, len(got))
	}
	checkSameAsEncodingJSON(t, b, got)
}

func checkSameAsEncodingJSON(t *testing.T, body []byte, got map[string]map[string]json.RawMessage) {
	t.Helper()
	var want map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("%q: decodeNested took what encoding/json refuses: %v", body, err)
	}
	if want == nil {
		want = map[string]map[string]json.RawMessage{}
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d users, encoding/json %d", body, len(got), len(want))
	}
	for u, objs := range want {
		if len(got[u]) != len(objs) || got[u] == nil {
			t.Fatalf("%q: user %q: %v, encoding/json %v", body, u, got[u], objs)
		}
		for k, raw := range objs {
			if !bytes.Equal(got[u][k], raw) {
				t.Fatalf("%q: %q %q = %q, encoding/json %q", body, u, k, got[u][k], raw)
			}
		}
	}
	if !reflect.DeepEqual(keysOf(got), keysOf(want)) {
		t.Fatalf("%q: users differ", body)
	}
}

func keysOf(m map[string]map[string]json.RawMessage) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// FuzzDecodeNested: whatever decodeNested accepts, encoding/json decodes to
// the same users, key IDs and raw values.
func FuzzDecodeNested(f *testing.F) {
	f.Add(nestedBody())
	f.Add([]byte(`{"@a:x":{"K":{"a":1}},"@b:x":{"L":{"b":[1,{"c":"}"}]},"M":"s"}}`))
	f.Add([]byte(`{"@a:x":{"K":null}}`))
	f.Add([]byte(` {"a" : {"b" : "\"" } } `))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeNested(body)
		if ok {
			checkSameAsEncodingJSON(t, body, got)
		}
	})
}

// BenchmarkDecodeNested compares decodeNested with encoding/json on a
// 16-signature upload body.
func BenchmarkDecodeNested(b *testing.B) {
	body := nestedBody()
	b.Run("decodeNested", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeNested(body); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
