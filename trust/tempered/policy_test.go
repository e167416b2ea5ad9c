package tempered_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"vouch/keys"
	"vouch/ssss"
	"vouch/trust/tempered"
)

const examplePolicy = `{"vouchers": {"@alice:example.com": {"for": ["@carol:matrix.org", "*:example.org"], "except": ["@dave:example.org"], "depth": 1}}}`

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		canon string
	}{
		{"brief example", examplePolicy,
			`{"vouchers":{"@alice:example.com":{"depth":1,"except":["@dave:example.org"],"for":["@carol:matrix.org","*:example.org"]}}}`},
		{"depth defaults to 1", `{"vouchers":{"@a:x":{"for":["*"]}}}`,
			`{"vouchers":{"@a:x":{"depth":1,"for":["*"]}}}`},
		{"depth 3", `{"vouchers":{"@a:x":{"for":["*"],"depth":3}}}`,
			`{"vouchers":{"@a:x":{"depth":3,"for":["*"]}}}`},
		{"no vouchers", `{"vouchers":{}}`, `{"vouchers":{}}`},
		{"empty except dropped", `{"vouchers":{"@a:x":{"for":["*"],"except":[]}}}`,
			`{"vouchers":{"@a:x":{"depth":1,"for":["*"]}}}`},
		{"unknown members kept", `{"v":2,"vouchers":{"@a:x":{"for":["*:[::1]:8448"],"room":{"id":"!r:x"}}}}`,
			`{"v":2,"vouchers":{"@a:x":{"depth":1,"for":["*:[::1]:8448"],"room":{"id":"!r:x"}}}}`},
		{"server with port", `{"vouchers":{"@a:x":{"for":["*:example.org:8448","@b:1.2.3.4"]}}}`,
			`{"vouchers":{"@a:x":{"depth":1,"for":["*:example.org:8448","@b:1.2.3.4"]}}}`},
		{"escaped key equal to plain", `{"vouchers":{"@a:x":{"for":["*"],"dept\u0068":2}}}`,
			`{"vouchers":{"@a:x":{"depth":2,"for":["*"]}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tempered.Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out, err := p.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(out) != tc.canon {
				t.Fatalf("canonical form\n got %s\nwant %s", out, tc.canon)
			}
			again, err := tempered.Parse(out)
			if err != nil || !again.Equal(p) {
				t.Fatalf("round trip: %v, equal %v", err, again.Equal(p))
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	long := `{"vouchers":{"@a:x":{"for":["*"],"pad":"` + strings.Repeat("a", tempered.MaxPolicySize) + `"}}}`
	var many strings.Builder
	many.WriteString(`{"vouchers":{`)
	for i := range tempered.MaxVouchers + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"@u` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + itoa(i) + `:x":{"for":["*"]}`)
	}
	many.WriteString(`}}`)
	var pats strings.Builder
	pats.WriteString(`{"vouchers":{"@a:x":{"for":[`)
	for i := range tempered.MaxPatterns + 1 {
		if i > 0 {
			pats.WriteString(",")
		}
		pats.WriteString(`"@u` + itoa(i) + `:x"`)
	}
	pats.WriteString(`]}}}`)

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not JSON", `{"vouchers":`, tempered.ErrMalformed},
		{"not an object", `[]`, tempered.ErrMalformed},
		{"trailing data", `{"vouchers":{}} {}`, tempered.ErrMalformed},
		{"duplicate top key", `{"vouchers":{},"vouchers":{}}`, tempered.ErrMalformed},
		{"duplicate voucher", `{"vouchers":{"@a:x":{"for":["*"]},"@a:x":{"for":["*"]}}}`, tempered.ErrMalformed},
		{"duplicate voucher by escape", `{"vouchers":{"@a:x":{"for":["*"]},"\u0040a:x":{"for":["*"]}}}`, tempered.ErrMalformed},
		{"float depth", `{"vouchers":{"@a:x":{"for":["*"],"depth":1.5}}}`, tempered.ErrMalformed},
		{"invalid UTF-8", "{\"vouchers\":{\"@a:x\":{\"for\":[\"\xff\"]}}}", tempered.ErrMalformed},
		{"missing vouchers", `{}`, tempered.ErrMissingField},
		{"vouchers null", `{"vouchers":null}`, tempered.ErrMalformed},
		{"vouchers array", `{"vouchers":[]}`, tempered.ErrMalformed},
		{"entry not object", `{"vouchers":{"@a:x":["*"]}}`, tempered.ErrMalformed},
		{"missing for", `{"vouchers":{"@a:x":{"except":["@b:x"]}}}`, tempered.ErrMissingField},
		{"empty for", `{"vouchers":{"@a:x":{"for":[]}}}`, tempered.ErrMissingField},
		{"for null", `{"vouchers":{"@a:x":{"for":null}}}`, tempered.ErrMalformed},
		{"for string", `{"vouchers":{"@a:x":{"for":"*"}}}`, tempered.ErrMalformed},
		{"for number entry", `{"vouchers":{"@a:x":{"for":[1]}}}`, tempered.ErrMalformed},
		{"except null", `{"vouchers":{"@a:x":{"for":["*"],"except":null}}}`, tempered.ErrMalformed},
		{"voucher not a user ID", `{"vouchers":{"alice":{"for":["*"]}}}`, tempered.ErrInvalidUserID},
		{"voucher bad server", `{"vouchers":{"@a:ex ample":{"for":["*"]}}}`, keys.ErrInvalidUserID},
		{"pattern not a user", `{"vouchers":{"@a:x":{"for":["carol"]}}}`, tempered.ErrInvalidPattern},
		{"pattern sub-domain glob", `{"vouchers":{"@a:x":{"for":["*.example.org"]}}}`, tempered.ErrInvalidPattern},
		{"pattern star server empty", `{"vouchers":{"@a:x":{"for":["*:"]}}}`, tempered.ErrInvalidPattern},
		{"pattern star localpart glob", `{"vouchers":{"@a:x":{"for":["@*:example.org"]}}}`, tempered.ErrInvalidPattern},
		{"star in except", `{"vouchers":{"@a:x":{"for":["*:x"],"except":["*"]}}}`, tempered.ErrInvalidPattern},
		{"bad except", `{"vouchers":{"@a:x":{"for":["*"],"except":["@:x"]}}}`, tempered.ErrInvalidPattern},
		{"duplicate for", `{"vouchers":{"@a:x":{"for":["*:x","*:x"]}}}`, tempered.ErrDuplicate},
		{"duplicate except", `{"vouchers":{"@a:x":{"for":["*"],"except":["@b:x","@b:x"]}}}`, tempered.ErrDuplicate},
		{"for and except", `{"vouchers":{"@a:x":{"for":["*:x"],"except":["*:x"]}}}`, tempered.ErrConflict},
		{"depth 0", `{"vouchers":{"@a:x":{"for":["*"],"depth":0}}}`, tempered.ErrDepth},
		{"depth 4", `{"vouchers":{"@a:x":{"for":["*"],"depth":4}}}`, tempered.ErrDepth},
		{"depth negative", `{"vouchers":{"@a:x":{"for":["*"],"depth":-1}}}`, tempered.ErrDepth},
		{"depth huge", `{"vouchers":{"@a:x":{"for":["*"],"depth":9007199254740991}}}`, tempered.ErrDepth},
		{"depth string", `{"vouchers":{"@a:x":{"for":["*"],"depth":"1"}}}`, tempered.ErrMalformed},
		{"depth null", `{"vouchers":{"@a:x":{"for":["*"],"depth":null}}}`, tempered.ErrMalformed},
		{"depth bool", `{"vouchers":{"@a:x":{"for":["*"],"depth":true}}}`, tempered.ErrMalformed},
		{"too large", long, tempered.ErrTooLarge},
		{"too many vouchers", many.String(), tempered.ErrTooLarge},
		{"too many patterns", pats.String(), tempered.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tempered.Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", p, err, tc.want)
			}
		})
	}
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

func TestMarshalRefusesInvalidGoPolicy(t *testing.T) {
	tests := []struct {
		name string
		p    tempered.Policy
		want error
	}{
		{"empty for", tempered.Policy{Vouchers: map[string]tempered.Rule{"@a:x": {}}}, tempered.ErrMissingField},
		{"bad voucher", tempered.Policy{Vouchers: map[string]tempered.Rule{"a": {For: []string{"*"}}}}, tempered.ErrInvalidUserID},
		{"depth 7", tempered.Policy{Vouchers: map[string]tempered.Rule{"@a:x": {For: []string{"*"}, Depth: 7}}}, tempered.ErrDepth},
		{"extra shadows for", tempered.Policy{Vouchers: map[string]tempered.Rule{"@a:x": {For: []string{"*"}, Extra: map[string]json.RawMessage{"for": []byte(`[]`)}}}}, tempered.ErrMalformed},
		{"extra shadows vouchers", tempered.Policy{Extra: map[string]json.RawMessage{"vouchers": []byte(`{}`)}}, tempered.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.p.Marshal(); !errors.Is(err, tc.want) {
				t.Fatalf("Marshal: %v, want %v", err, tc.want)
			}
			if err := tc.p.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestScope(t *testing.T) {
	r := tempered.Rule{For: []string{"*", "*:example.org", "@carol:matrix.org"}, Except: []string{"@dave:example.org", "*:evil.org"}}
	tests := []struct {
		user    string
		scope   tempered.Scope
		pattern string
	}{
		{"@carol:matrix.org", tempered.InScope, "@carol:matrix.org"},
		{"@bob:example.org", tempered.InScope, "*:example.org"},
		{"@bob:sub.example.org", tempered.InScope, "*"},
		{"@dave:example.org", tempered.Excepted, "@dave:example.org"},
		{"@eve:evil.org", tempered.Excepted, "*:evil.org"},
	}
	for _, tc := range tests {
		s, p := r.Scope(tc.user)
		if s != tc.scope || p != tc.pattern {
			t.Errorf("Scope(%s) = %v %q, want %v %q", tc.user, s, p, tc.scope, tc.pattern)
		}
	}
	narrow := tempered.Rule{For: []string{"*:example.org"}}
	for _, u := range []string{"@bob:sub.example.org", "@bob:example.org:8448", "@bob:example.orgx", "@bob:EXAMPLE.ORG"} {
		if s, _ := narrow.Scope(u); s != tempered.OutOfScope {
			t.Errorf("*:example.org covers %s", u)
		}
	}
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, ssss.KeySize) }

func TestSealOpen(t *testing.T) {
	p, err := tempered.Parse([]byte(`{"x":1,"vouchers":{"@alice:example.com":{"for":["*:example.org"],"depth":2,"note":"hi"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(7)
	sealed, err := tempered.Seal(p, key, "KEYID")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("alice")) {
		t.Fatalf("sealed content shows the policy: %s", sealed)
	}
	got, err := tempered.Open(sealed, key, "KEYID")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !got.Equal(p) {
		t.Fatalf("round trip lost data")
	}
	// The secret really is encrypted under the event type as secret name.
	var c ssss.SecretContent
	if err := jsonUnmarshal(sealed, &c); err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decrypt("KEYID", key, tempered.EventType)
	if err != nil {
		t.Fatalf("ssss decrypt under %s: %v", tempered.EventType, err)
	}
	want, _ := p.Marshal()
	if !bytes.Equal(plain, want) {
		t.Fatalf("plaintext %s, want %s", plain, want)
	}

	// Another secret's name (another HKDF info) does not open it.
	if _, err := c.Decrypt("KEYID", key, ssss.SecretMegolmBackup); !errors.Is(err, ssss.ErrMACMismatch) {
		t.Fatalf("decrypt under another name: %v", err)
	}

	enc := c.Encrypted["KEYID"]
	tamper := []struct {
		name    string
		content func() []byte
		key     []byte
		keyID   string
		want    error
	}{
		{"wrong key", func() []byte { return sealed }, testKey(8), "KEYID", ssss.ErrMACMismatch},
		{"wrong key ID", func() []byte { return sealed }, key, "OTHER", ssss.ErrNotEncryptedForKey},
		{"flipped ciphertext byte", func() []byte {
			e := enc
			e.Ciphertext = flipB64(t, e.Ciphertext, 3)
			return contentOf(t, e)
		}, key, "KEYID", ssss.ErrMACMismatch},
		{"flipped MAC byte", func() []byte {
			e := enc
			e.MAC = flipB64(t, e.MAC, 0)
			return contentOf(t, e)
		}, key, "KEYID", ssss.ErrMACMismatch},
		{"not JSON", func() []byte { return []byte(`{"encrypted":`) }, key, "KEYID", ssss.ErrMalformed},
		{"bad base64", func() []byte {
			e := enc
			e.MAC = "!!!"
			return contentOf(t, e)
		}, key, "KEYID", ssss.ErrMalformed},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tempered.Open(tc.content(), tc.key, tc.keyID)
			if !errors.Is(err, tempered.ErrSealed) || !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v and %v", err, tempered.ErrSealed, tc.want)
			}
		})
	}
	// Every single byte flip of the sealed content is refused (or, for a
	// byte of the IV, which the MAC does not cover, garbles the JSON).
	for i := range sealed {
		mut := bytes.Clone(sealed)
		mut[i] ^= 0x01
		if got, err := tempered.Open(mut, key, "KEYID"); err == nil && !got.Equal(p) {
			t.Fatalf("flip of byte %d (%q) gave another policy", i, sealed[i])
		}
	}
}

func TestSealRefuses(t *testing.T) {
	good := tempered.Policy{Vouchers: map[string]tempered.Rule{"@a:x": {For: []string{"*"}}}}
	if _, err := tempered.Seal(good, testKey(1), ""); !errors.Is(err, tempered.ErrSealed) {
		t.Fatalf("empty key ID: %v", err)
	}
	if _, err := tempered.Seal(good, []byte("short"), "K"); !errors.Is(err, ssss.ErrKeyLength) {
		t.Fatalf("short key: %v", err)
	}
	bad := tempered.Policy{Vouchers: map[string]tempered.Rule{"@a:x": {}}}
	if _, err := tempered.Seal(bad, testKey(1), "K"); !errors.Is(err, tempered.ErrMissingField) {
		t.Fatalf("invalid policy: %v", err)
	}
	if _, err := tempered.SealRand(good, testKey(1), "K", bytes.NewReader(nil)); !errors.Is(err, ssss.ErrRandom) {
		t.Fatalf("failing random: %v", err)
	}
}
