package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"vouch/api"
)

// plainSlow is the byte-at-a-time definition isPlainJSON must match.
func plainSlow(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

func TestIsPlainJSON(t *testing.T) {
	sig := "dGhpcyBpcyBhIHNpZ25hdHVyZSBvZiBzaXh0eS1mb3VyIGJ5dGVzIGVuY29kZWQgYXMgdW5wYWRkZWQgYmFzZTY0"
	cases := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"ed25519:DEVICEID", true},
		{sig, true},
		{"@alice:example.org", true},
		{" ~!#$%&'()*+,-./", true},
		{"0123456\x1f", false},
		{"01234567\x1f", false},
		{"0123456789abcde\"", false},
		{"0123456789abcdef\\", false},
		{"0123456\x7f89", false},
		{"0123456\x80", false},
		{"é0123456789", false},
		{"\x00", false},
		{"01234567\x00", false},
		{strings.Repeat("a", 64) + "\n", false},
		{strings.Repeat("\x20", 16), true},
		{strings.Repeat("\x7e", 16), true},
		{"\xff\xff\xff\xff\xff\xff\xff\xff", false},
		{"\x21\x21\x21\x21\x21\x21\x21\x1f", false},
		{"\x1f\x21\x21\x21\x21\x21\x21\x21", false},
	}
	for _, c := range cases {
		if got := isPlainJSON(c.in); got != c.want {
			t.Errorf("isPlainJSON(%q) = %v, want %v", c.in, got, c.want)
		}
		if got := plainSlow(c.in); got != c.want {
			t.Errorf("plainSlow(%q) = %v, want %v (bad case)", c.in, got, c.want)
		}
	}
	// Every byte value in every lane of an otherwise plain word.
	for pos := 0; pos < 9; pos++ {
		for b := 0; b < 256; b++ {
			in := []byte("abcdefghi")
			in[pos] = byte(b)
			if got, want := isPlainJSON(string(in)), plainSlow(string(in)); got != want {
				t.Fatalf("isPlainJSON(%q) = %v, want %v", in, got, want)
			}
		}
	}
}

// FuzzAppendJSONString checks that the fast test agrees with the byte loop
// and that the appended string decodes back to the input (for valid UTF-8,
// which encoding/json does not replace).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "ed25519:ABCDEFGH", "a\"b", "tab\there", "é", "\x7f\x80", strings.Repeat("x", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if isPlainJSON(s) != plainSlow(s) {
			t.Fatalf("isPlainJSON(%q) disagrees with the byte loop", s)
		}
		out := appendJSONString([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatal("prefix lost")
		}
		var back string
		if err := json.Unmarshal(out[1:], &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, out[1:], err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	sig := "dGhpcyBpcyBhIHNpZ25hdHVyZSBvZiBzaXh0eS1mb3VyIGJ5dGVzIGVuY29kZWQgYXMgdW5wYWRkZWQgYmFzZTY0"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(sig)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], sig)
	}
}

func TestFastKeysQuery(t *testing.T) {
	cases := []struct {
		in   string
		want map[string][]string // nil: left to encoding/json
	}{
		{`{"device_keys":{"@a:x":[],"@b:x":["D1","D2"]}}`, map[string][]string{"@a:x": {}, "@b:x": {"D1", "D2"}}},
		{" \n{ \"device_keys\" : { } }\t", map[string][]string{}},
		{`{"device_keys":{"@a:x":[ "D1" , "D2" ]}}`, map[string][]string{"@a:x": {"D1", "D2"}}},
		{`{"device_keys":{"@a:x":[],"@a:x":["D"]}}`, nil}, // repeated user
		{`{"device_keys":{"@a:x":null}}`, nil},
		{`{"device_keys":{"@a:x":["D"]},"timeout":10}`, nil},
		{`{"Device_Keys":{}}`, nil}, // encoding/json matches it case-insensitively
		{`{"device_keys":{"@\u0061:x":[]}}`, nil},
		{`{"device_keys":{"@Ã©:x":[]}}`, nil},
		{`{"device_keys":{"@a:x":[]}`, nil},
		{`{"device_keys":{"@a:x":[]}} x`, nil},
		{`{"device_keys":{"@a:x":[],}}`, nil},
		{`{"device_keys":{"@a:x":["D",]}}`, nil},
		{`{"device_keys":[]}`, nil},
		{`[]`, nil},
		{``, nil},
	}
	for _, c := range cases {
		got := fastKeysQuery([]byte(c.in))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("fastKeysQuery(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

// FuzzFastKeysQuery checks that whatever the fast /keys/query decoder
// accepts, encoding/json accepts too, with the same result.
func FuzzFastKeysQuery(f *testing.F) {
	for _, s := range []string{
		`{"device_keys":{"@a:x":[],"@b:x":["D1","D2"]}}`,
		`{"device_keys":{}}`,
		`{"device_keys":{"@a:x":["D"]},"timeout":10}`,
		`{"device_keys":{"@a:x":null}}`,
		` {"device_keys" : {"@a:x" : [ "D" ] } } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := fastKeysQuery(b)
		if got == nil {
			return
		}
		var ref api.KeysQueryRequest
		if err := decodeBytes(b, &ref); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", b, err)
		}
		if ref.Timeout != 0 || !reflect.DeepEqual(got, ref.DeviceKeys) {
			t.Fatalf("fast path decoded %q as %#v, encoding/json as %#v", b, got, ref)
		}
	})
}

// BenchmarkDecodeKeysQuery compares the fast /keys/query decoder with
// encoding/json on the bench's body shape (10 users, all devices).
func BenchmarkDecodeKeysQuery(b *testing.B) {
	dk := map[string][]string{}
	for i := 0; i < 10; i++ {
		dk["@bench-user-"+strings.Repeat("x", i)+":localhost"] = []string{}
	}
	body, err := json.Marshal(map[string]any{"device_keys": dk})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if fastKeysQuery(body) == nil {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var req api.KeysQueryRequest
			if err := decodeBytes(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
