package signedjson_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"vouch/signedjson"
)

// TestVerifyEscapedNames checks that the signature scanner finds the
// entity and the key ID however the JSON spells them: \u escapes, \/,
// surrogate pairs and insignificant whitespace are the same names after
// decoding, as every JSON parser reads them.
func TestVerifyEscapedNames(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub := priv.Public().(ed25519.PublicKey)
	tests := []struct {
		name          string
		entity, keyID string
		// spelled replaces the entity and key ID in the signed object.
		spelledEntity, spelledKeyID string
	}{
		{"plain", "@u:x", "ed25519:K", `"@u:x"`, `"ed25519:K"`},
		{"unicode escape", "@ü:x", "ed25519:K", `"@\u00fc:x"`, `"ed25519:\u004b"`},
		{"upper-case hex escape", "@ü:x", "ed25519:K", `"@\u00FC:x"`, `"ed25519:K"`},
		{"solidus escape", "@a/b:x", "ed25519:a/b", `"@a\/b:x"`, `"ed25519:a\/b"`},
		{"surrogate pair", "@\U0001F600:x", "ed25519:K", `"@\ud83d\ude00:x"`, `"ed25519:K"`},
		{"escaped quote and backslash", `@a"b\c:x`, "ed25519:K", `"@a\"b\\c:x"`, `"ed25519:K"`},
		{"escaped control", "@a\tb:x", "ed25519:K", `"@a\tb:x"`, `"ed25519:K"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := signedjson.Signature([]byte(`{"a":1}`), priv)
			if err != nil {
				t.Fatal(err)
			}
			obj := `{ "a" : 1 , "signatures" : { "@z:x" : { "k" : "}" } , ` + tt.spelledEntity +
				` : { "other" : [ "\"" ] , ` + tt.spelledKeyID + ` : "` + sig + `" } } }`
			if err := signedjson.Verify([]byte(obj), tt.entity, tt.keyID, pub); err != nil {
				t.Fatalf("%s: %v", obj, err)
			}
			// A name that differs by one byte is another name.
			if err := signedjson.Verify([]byte(obj), tt.entity+"x", tt.keyID, pub); !errors.Is(err, signedjson.ErrMissingSignature) {
				t.Fatalf("other entity: %v", err)
			}
			if err := signedjson.Verify([]byte(obj), tt.entity, tt.keyID+"x", pub); !errors.Is(err, signedjson.ErrMissingSignature) {
				t.Fatalf("other key ID: %v", err)
			}
		})
	}
}

// TestVerifyHostileShapes runs Verify over inputs a hostile server or peer
// can send. Each must end in the named sentinel, never in a panic or a
// success.
func TestVerifyHostileShapes(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	deep := strings.Repeat("[", canonicalMaxDepth) + strings.Repeat("]", canonicalMaxDepth)
	tests := []struct {
		name, obj string
		want      error
	}{
		{"empty", ``, signedjson.ErrNotObject},
		{"whitespace", ` `, signedjson.ErrNotObject},
		{"null", `null`, signedjson.ErrNotObject},
		{"string", `"signatures"`, signedjson.ErrNotObject},
		{"trailing data", `{"a":1} {}`, signedjson.ErrNotObject},
		{"truncated", `{"signatures":{"@u:x":{"ed25519:K":"AAAA`, signedjson.ErrNotObject},
		{"float elsewhere", `{"a":1.5,"signatures":{}}`, signedjson.ErrNotObject},
		{"duplicate signatures member", `{"signatures":{},"signatures":{"@u:x":{"ed25519:K":"AAAA"}}}`, signedjson.ErrNotObject},
		{"duplicate entity", `{"signatures":{"@u:x":{},"@u:x":{"ed25519:K":"AAAA"}}}`, signedjson.ErrNotObject},
		{"duplicate entity by escape", `{"signatures":{"@u:x":{},"\u0040u:x":{"ed25519:K":"AAAA"}}}`, signedjson.ErrNotObject},
		{"lone surrogate in entity", `{"signatures":{"\ud800":{}}}`, signedjson.ErrNotObject},
		{"invalid UTF-8 in signature", "{\"signatures\":{\"@u:x\":{\"ed25519:K\":\"\xff\"}}}", signedjson.ErrNotObject},
		{"too deep under signatures", `{"signatures":{"@o:x":` + deep + `}}`, signedjson.ErrNotObject},
		{"signatures null", `{"signatures":null}`, signedjson.ErrMalformedSignatures},
		{"signatures array", `{"signatures":[{"@u:x":{"ed25519:K":"AAAA"}}]}`, signedjson.ErrMalformedSignatures},
		{"signatures string", `{"signatures":"@u:x"}`, signedjson.ErrMalformedSignatures},
		{"signatures number", `{"signatures":1}`, signedjson.ErrMalformedSignatures},
		{"entity null", `{"signatures":{"@u:x":null}}`, signedjson.ErrMalformedSignatures},
		{"entity array", `{"signatures":{"@u:x":["ed25519:K","AAAA"]}}`, signedjson.ErrMalformedSignatures},
		{"entity string", `{"signatures":{"@u:x":"ed25519:K"}}`, signedjson.ErrMalformedSignatures},
		{"signature null", `{"signatures":{"@u:x":{"ed25519:K":null}}}`, signedjson.ErrMalformedSignatures},
		{"signature object", `{"signatures":{"@u:x":{"ed25519:K":{"sig":"AAAA"}}}}`, signedjson.ErrMalformedSignatures},
		{"signature array", `{"signatures":{"@u:x":{"ed25519:K":["AAAA"]}}}`, signedjson.ErrMalformedSignatures},
		{"signature true", `{"signatures":{"@u:x":{"ed25519:K":true}}}`, signedjson.ErrMalformedSignatures},
		{"signature empty", `{"signatures":{"@u:x":{"ed25519:K":""}}}`, signedjson.ErrBadSignature},
		{"signature escaped base64", `{"signatures":{"@u:x":{"ed25519:K":"\u0041\u0041\u0041\u0041"}}}`, signedjson.ErrBadSignature},
		{"signature with line break", `{"signatures":{"@u:x":{"ed25519:K":"AA\nAA"}}}`, signedjson.ErrBadBase64},
		{"signature url-safe", `{"signatures":{"@u:x":{"ed25519:K":"-_-_"}}}`, signedjson.ErrBadBase64},
		{"signature of 64 zero bytes", `{"signatures":{"@u:x":{"ed25519:K":"` + strings.Repeat("A", 86) + `"}}}`, signedjson.ErrBadSignature},
		{"key ID matched case-sensitively", `{"signatures":{"@u:x":{"ED25519:K":"AAAA"}}}`, signedjson.ErrMissingSignature},
		{"signature only in unsigned", `{"unsigned":{"signatures":{"@u:x":{"ed25519:K":"AAAA"}}}}`, signedjson.ErrMissingSignature},
		{"signature nested deeper", `{"x":{"signatures":{"@u:x":{"ed25519:K":"AAAA"}}}}`, signedjson.ErrMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signedjson.Verify([]byte(tt.obj), "@u:x", "ed25519:K", pub)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			// The sentinels are disjoint: an error is one kind of failure.
			n := 0
			for _, s := range []error{signedjson.ErrNotObject, signedjson.ErrMalformedSignatures, signedjson.ErrMissingSignature, signedjson.ErrBadBase64, signedjson.ErrBadSignature, signedjson.ErrBadKey} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%v matches %d sentinels", err, n)
			}
		})
	}
}

// canonicalMaxDepth is one more level than canonicaljson accepts once the
// two enclosing objects are counted.
const canonicalMaxDepth = 127

// TestVerifyHugeInputs checks that size alone changes nothing: a large
// "unsigned", many other entities before the wanted one and a long string
// all verify, and the wanted signature is still found.
func TestVerifyHugeInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	pub := priv.Public().(ed25519.PublicKey)
	var others strings.Builder
	others.WriteString(`{"signatures":{`)
	for i := range 50000 {
		others.WriteString(`"@o` + strings.Repeat("a", i%7) + itoa(i) + `:x":{"ed25519:K":"AAAA"},`)
	}
	others.WriteString(`"@u:x":{}},"a":"` + strings.Repeat("é", 1<<20) + `"}`)
	tests := []struct {
		name string
		obj  string
	}{
		{"50k other entities and a 2 MB string", others.String()},
		{"4 MB unsigned", `{"a":1,"unsigned":{"junk":"` + strings.Repeat("x", 4<<20) + `"}}`},
		{"100k members", `{` + manyMembers(100000) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed, err := signedjson.Sign([]byte(tt.obj), "@u:x", "ed25519:K", priv)
			if err != nil {
				t.Fatal(err)
			}
			if err := signedjson.Verify(signed, "@u:x", "ed25519:K", pub); err != nil {
				t.Fatal(err)
			}
			if err := signedjson.Verify(signed, "@u:x", "ed25519:L", pub); !errors.Is(err, signedjson.ErrMissingSignature) {
				t.Fatalf("missing key ID: %v", err)
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m` + itoa(i) + `":[` + itoa(i) + `]`)
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
