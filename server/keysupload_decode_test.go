package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"vouch/api"
)

// keysUploadBody is an upload of five signed one-time keys as clients send
// it.
func keysUploadBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"one_time_keys":{`)
	for i := range 5 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"signed_curve25519:AAAAA%d":{"key":"zKbLg+NrIjpnagy+pIY6uPL4ZwEG2v+8F9lmgsnlZzs","signatures":{"@u:localhost":{"ed25519:DEV":"FLWxXqGbwrb8SM3Y795eB6OA8bwBcoMZFXBqnTn58AYWZSqiD45tlBVcDa2L7RwdKXebW/VzDlnfVJ+9jok1Bw"}}}`, i)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// TestDecodeKeysUpload checks that decodeKeysUpload either gives exactly
// what encoding/json gives or declines, and that it takes the common
// shapes.
func TestDecodeKeysUpload(t *testing.T) {
	cases := []struct {
		body   string
		wantOK bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"one_time_keys":{}}`, true},
		{`{"one_time_keys":{"a:1":"k","a:2":{"key":"x"}},"fallback_keys":{"a:3":{"key":"y","fallback":true}}}`, true},
		{`{"device_keys":{"user_id":"@u:x","keys":{"ed25519:D":"k"}},"one_time_keys":{"a:1":"k"}}`, true},
		{`{"device_keys":[1,2]}`, true},                            // any value: the handler judges it
		{`{"other":{"x":[1,{"y":"}"}]},"one_time_keys":{}}`, true}, // unknown member: ignored
		{`{"other":1,"other":2}`, true},                            // repeated unknown member: ignored
		{"\n{ \"one_time_keys\" : { \"a:1\" : \"\\\"}\" } }\n", true},
		{`{"device_keys":null}`, false},                             // null: encoding/json's own rules
		{`{"one_time_keys":null}`, false},                           // idem
		{`{"one_time_keys":{"a:1":null}}`, false},                   // idem
		{`{"one_time_keys":{},"one_time_keys":{"a:1":"k"}}`, false}, // repeated: encoding/json merges
		{`{"one_time_keys":{"a:1":"k","a:1":"l"}}`, false},          // repeated key ID
		{`{"ONE_TIME_KEYS":{"a:1":"k"}}`, false},                    // encoding/json matches case-insensitively
		{`{"Device_Keys":{}}`, false},
		{`{"one_time_key\u0073":{"a:1":"k"}}`, false}, // escaped name
		{`{"one_time_keys":{"a\u003a1":"k"}}`, false}, // escaped key ID
		{"{\"one_time_keys\":{\"a:\xff\":\"k\"}}", false},
		{`{"one_time_keys":[]}`, false}, // not an object: encoding/json's error
		{`{"one_time_keys":"s"}`, false},
		{`[]`, false},
		{`{"one_time_keys":{}`, false}, // invalid JSON
		{`{} x`, false},
		{``, false},
	}
	for _, c := range cases {
		got, ok := decodeKeysUpload([]byte(c.body))
		if ok != c.wantOK {
			t.Errorf("%q: ok %v, want %v", c.body, ok, c.wantOK)
			continue
		}
		if ok {
			checkKeysUploadAsEncodingJSON(t, []byte(c.body), got)
		}
	}
	b := keysUploadBody()
	got, ok := decodeKeysUpload(b)
	if !ok || len(got.OneTimeKeys) != 5 {
		t.Fatalf("a five-key upload: ok %v, %d keys", ok, len(got.OneTimeKeys))
	}
	checkKeysUploadAsEncodingJSON(t, b, got)
}

func checkKeysUploadAsEncodingJSON(t *testing.T, body []byte, got api.KeysUploadRequest) {
	t.Helper()
	var want api.KeysUploadRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("%q: decodeKeysUpload took what encoding/json refuses: %v", body, err)
	}
	if !bytes.Equal(got.DeviceKeys, want.DeviceKeys) {
		t.Fatalf("%q: device_keys %q, encoding/json %q", body, got.DeviceKeys, want.DeviceKeys)
	}
	for name, pair := range map[string][2]map[string]json.RawMessage{
		"one_time_keys": {got.OneTimeKeys, want.OneTimeKeys},
		"fallback_keys": {got.FallbackKeys, want.FallbackKeys},
	} {
		g, w := pair[0], pair[1]
		if (g == nil) != (w == nil) || !reflect.DeepEqual(rawKeys(g), rawKeys(w)) {
			t.Fatalf("%q: %s %v, encoding/json %v", body, name, g, w)
		}
		for id, raw := range w {
			if !bytes.Equal(g[id], raw) {
				t.Fatalf("%q: %s %q = %q, encoding/json %q", body, name, id, g[id], raw)
			}
		}
	}
}

func rawKeys(m map[string]json.RawMessage) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// FuzzDecodeKeysUpload: whatever decodeKeysUpload accepts, encoding/json
// decodes to the same device keys, key IDs and raw values.
func FuzzDecodeKeysUpload(f *testing.F) {
	f.Add(keysUploadBody())
	f.Add([]byte(`{"device_keys":{"a":1},"one_time_keys":{"a:1":"k"},"fallback_keys":{"b:2":{"k":[1,"}"]}},"x":null}`))
	f.Add([]byte(`{"One_time_keys":{"a:1":"k"}}`))
	f.Add([]byte(`{"one_time_keys":{"a:1":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeKeysUpload(body)
		if ok {
			checkKeysUploadAsEncodingJSON(t, body, got)
		}
	})
}

// BenchmarkDecodeKeysUpload compares decodeKeysUpload with encoding/json on
// a five-key upload.
func BenchmarkDecodeKeysUpload(b *testing.B) {
	body := keysUploadBody()
	b.Run("decodeKeysUpload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeKeysUpload(body); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req api.KeysUploadRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
