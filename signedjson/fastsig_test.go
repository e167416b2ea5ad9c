package signedjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameAsEncodingJSON fails unless fastSignatures either declines raw or
// gives exactly what json.Unmarshal into Signatures gives, and reports
// whether it accepted.
func sameAsEncodingJSON(t *testing.T, raw []byte) bool {
	t.Helper()
	got, ok := fastSignatures(raw)
	if !ok {
		return false
	}
	var want Signatures
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%q: fastSignatures took what encoding/json refuses: %v", raw, err)
	}
	if want == nil {
		want = Signatures{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fastSignatures %#v, encoding/json %#v", raw, got, want)
	}
	return true
}

func TestFastSignatures(t *testing.T) {
	cases := []struct {
		raw    string
		wantOK bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"@a:x":{}}`, true},
		{`{"@a:x":{"ed25519:K":"sig"}}`, true},
		{"{ \"@a:x\" : { \"ed25519:K\" : \"s\" , \"ed25519:L\" : \"t\" } ,\n\"@b:x\":{\"ed25519:M\":\"u\"}}", true},
		{`{"@a:x":{"k":"s~\u007f"}}`, false},   // an escape: encoding/json decides
		{"{\"@a:x\":{\"k\":\"s\x7f\"}}", true}, // DEL is a plain character
		{`{"@a:x":null}`, false},               // encoding/json stores a nil map
		{`{"@a:x":{"k":null}}`, false},         // and an empty string
		{`null`, false},
		{`{"@a:x":{"k":"s"},"@a:x":{"l":"t"}}`, false}, // repeated entity
		{`{"@a:x":{"k":"s","k":"t"}}`, false},          // repeated key ID
		{`{"@a:x":{"k":1}}`, false},                    // wrong type: encoding/json's error
		{`{"@a:x":["s"]}`, false},
		{`{"@a:x":"s"}`, false},
		{`[]`, false},
		{"{\"@\xc3\xa9:x\":{\"k\":\"s\"}}", false}, // non-ASCII: encoding/json decides
		{"{\"@a:x\":{\"k\":\"\xff\"}}", false},     // invalid UTF-8: encoding/json makes it U+FFFD
		{"{\"@a:x\":{\"k\":\"a\tb\"}}", false},     // control character: invalid JSON
		{`{"@a:x":{"k":"s"}`, false},               // truncated
		{`{"@a:x":{"k":"s"}} x`, false},
		{`{"@a:x":{"k":"s"},}`, false},
		{``, false},
	}
	for _, c := range cases {
		if ok := sameAsEncodingJSON(t, []byte(c.raw)); ok != c.wantOK {
			t.Errorf("%q: accepted %v, want %v", c.raw, ok, c.wantOK)
		}
	}
	// What parseSignatures returns is encoding/json's answer either way,
	// errors included.
	for _, c := range cases {
		got, err := parseSignatures([]byte(c.raw))
		var want Signatures
		werr := json.Unmarshal([]byte(c.raw), &want)
		if (err != nil) != (werr != nil) {
			t.Errorf("%q: parseSignatures error %v, encoding/json %v", c.raw, err, werr)
			continue
		}
		if werr == nil {
			if want == nil {
				want = Signatures{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q: parseSignatures %#v, encoding/json %#v", c.raw, got, want)
			}
		}
	}
}

// FuzzFastSignatures: whatever fastSignatures accepts, encoding/json
// decodes to the same value.
func FuzzFastSignatures(f *testing.F) {
	f.Add([]byte(`{"@alice:example.org":{"ed25519:ALICEDEV":"GGEfVLBd+QpjGLEyTuaKEoQqnSasYDMVQCh5MSscVE2sMtLryEPlKS3f0a8yM2kYP736zjYNEAYAygGrKufPCQ"}}`))
	f.Add([]byte(`{"@a:x":{"k":"s","l":"t"},"@b:x":{}}`))
	f.Add([]byte(`{"@a:x":{"k":"s\u0041"}}`))
	f.Add([]byte(`{"@a:x":null,"@b:x":{"k":null}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameAsEncodingJSON(t, raw)
	})
}

// BenchmarkParseSignatures compares parseSignatures with json.Unmarshal on
// a one-signature block and a three-entity, two-key block.
func BenchmarkParseSignatures(b *testing.B) {
	blocks := map[string][]byte{
		"1x1": []byte(`{"@alice:example.org":{"ed25519:ALICEDEV":"GGEfVLBd+QpjGLEyTuaKEoQqnSasYDMVQCh5MSscVE2sMtLryEPlKS3f0a8yM2kYP736zjYNEAYAygGrKufPCQ"}}`),
		"3x2": []byte(`{"@a:x":{"ed25519:A":"GGEfVLBd+QpjGLEyTuaKEoQqnSasYDMVQCh5MSscVE2sMtLryEPlKS3f0a8yM2kYP736zjYNEAYAygGrKufPCQ","ed25519:B":"GGEfVLBd+QpjGLEyTuaKEoQqnSasYDMVQCh5MSscVE2sMtLryEPlKS3f0a8yM2kYP736zjYNEAYAygGrKufPCQ"},"@b:x":{"ed25519:C":"x","ed25519:D":"y"},"@c:x":{"ed25519:E":"z","ed25519:F":"w"}}`),
	}
	for name, raw := range blocks {
		b.Run(name+"/parseSignatures", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseSignatures(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var s Signatures
				if err := json.Unmarshal(raw, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
