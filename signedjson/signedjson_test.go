package signedjson_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"vouch/signedjson"
)

type signVector struct {
	Name              string          `json:"name"`
	Seed              string          `json:"seed"`
	PublicKey         string          `json:"public_key"`
	Entity            string          `json:"entity"`
	KeyID             string          `json:"key_id"`
	Input             json.RawMessage `json:"input"`
	SignedBytes       string          `json:"signed_bytes"`
	Signature         string          `json:"signature"`
	ExpectedCanonical string          `json:"expected_canonical"`
}

type verifyVector struct {
	Name      string          `json:"name"`
	PublicKey string          `json:"public_key"`
	Entity    string          `json:"entity"`
	KeyID     string          `json:"key_id"`
	Input     json.RawMessage `json:"input"`
	Valid     bool            `json:"valid"`
}

func loadVectors(t testing.TB) (signs []signVector, verifies []verifyVector) {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors/signing.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Sign   []signVector   `json:"sign"`
		Verify []verifyVector `json:"verify"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Sign) == 0 || len(f.Verify) == 0 {
		t.Fatal("no vectors loaded")
	}
	return f.Sign, f.Verify
}

func mustKey(t testing.TB, seedB64 string) ed25519.PrivateKey {
	t.Helper()
	seed, err := signedjson.DecodeBase64(seedB64)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("bad seed %q: %v", seedB64, err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func TestSignVectors(t *testing.T) {
	signs, _ := loadVectors(t)
	for _, v := range signs {
		t.Run(v.Name, func(t *testing.T) {
			priv := mustKey(t, v.Seed)
			if got := signedjson.EncodeBase64(priv.Public().(ed25519.PublicKey)); got != v.PublicKey {
				t.Fatalf("public key %s, want %s", got, v.PublicKey)
			}
			msg, err := signedjson.SigningBytes(v.Input)
			if err != nil {
				t.Fatal(err)
			}
			if string(msg) != v.SignedBytes {
				t.Errorf("signing bytes\n got %s\nwant %s", msg, v.SignedBytes)
			}
			sig, err := signedjson.Signature(v.Input, priv)
			if err != nil {
				t.Fatal(err)
			}
			if sig != v.Signature {
				t.Errorf("signature %s, want %s", sig, v.Signature)
			}
			out, err := signedjson.Sign(v.Input, v.Entity, v.KeyID, priv)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != v.ExpectedCanonical {
				t.Errorf("signed object\n got %s\nwant %s", out, v.ExpectedCanonical)
			}
			if err := signedjson.Verify(out, v.Entity, v.KeyID, priv.Public().(ed25519.PublicKey)); err != nil {
				t.Errorf("own signature does not verify: %v", err)
			}
		})
	}
}

func TestVerifyVectors(t *testing.T) {
	_, verifies := loadVectors(t)
	for _, v := range verifies {
		t.Run(v.Name, func(t *testing.T) {
			pub, err := signedjson.DecodeBase64(v.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			err = signedjson.Verify(v.Input, v.Entity, v.KeyID, pub)
			if v.Valid && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !v.Valid && err == nil {
				t.Fatal("want an error, signature verified")
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	signed, err := signedjson.Sign([]byte(`{"a":1,"unsigned":{"x":1}}`), "@u:x", "ed25519:K", priv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		obj   string
		pub   ed25519.PublicKey
		keyID string
		want  error
	}{
		{"good", string(signed), pub, "ed25519:K", nil},
		{"short public key", string(signed), pub[:31], "ed25519:K", signedjson.ErrBadKey},
		{"missing key id", string(signed), pub, "ed25519:L", signedjson.ErrMissingSignature},
		{"not json", `{"a":`, pub, "ed25519:K", signedjson.ErrNotObject},
		{"array", `[1]`, pub, "ed25519:K", signedjson.ErrNotObject},
		{"duplicate keys", `{"a":1,"a":2}`, pub, "ed25519:K", signedjson.ErrNotObject},
		{"no signatures", `{"a":1}`, pub, "ed25519:K", signedjson.ErrMissingSignature},
		{"signatures not object", `{"a":1,"signatures":[]}`, pub, "ed25519:K", signedjson.ErrMalformedSignatures},
		{"signature not string", `{"a":1,"signatures":{"@u:x":{"ed25519:K":5}}}`, pub, "ed25519:K", signedjson.ErrMalformedSignatures},
		{"signature not base64", `{"a":1,"signatures":{"@u:x":{"ed25519:K":"!!"}}}`, pub, "ed25519:K", signedjson.ErrBadBase64},
		{"signature wrong length", `{"a":1,"signatures":{"@u:x":{"ed25519:K":"AAAA"}}}`, pub, "ed25519:K", signedjson.ErrBadSignature},
		{"changed value", `{"a":2,"signatures":` + sigsOf(t, signed) + `}`, pub, "ed25519:K", signedjson.ErrBadSignature},
		{"unsigned changed", `{"a":1,"unsigned":"anything","signatures":` + sigsOf(t, signed) + `}`, pub, "ed25519:K", nil},
		{"garbage under other entity", `{"a":1,"signatures":{"@o:x":5,"@u:x":` + entitySigs(t, signed) + `}}`, pub, "ed25519:K", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signedjson.Verify([]byte(tt.obj), "@u:x", tt.keyID, tt.pub)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func sigsOf(t *testing.T, obj []byte) string {
	var m struct {
		Signatures json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return string(m.Signatures)
}

func entitySigs(t *testing.T, obj []byte) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sigsOf(t, obj)), &m); err != nil {
		t.Fatal(err)
	}
	return string(m["@u:x"])
}

func TestSignKeepsOtherSignatures(t *testing.T) {
	k1 := ed25519.NewKeyFromSeed(make([]byte, 32))
	seed2 := make([]byte, 32)
	seed2[0] = 1
	k2 := ed25519.NewKeyFromSeed(seed2)
	obj := []byte(`{"b":[1,2],"a":"x"}`)
	once, err := signedjson.Sign(obj, "@u:x", "ed25519:ONE", k1)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := signedjson.Sign(once, "@u:x", "ed25519:TWO", k2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id  string
		key ed25519.PrivateKey
	}{{"ed25519:ONE", k1}, {"ed25519:TWO", k2}} {
		if err := signedjson.Verify(twice, "@u:x", c.id, c.key.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("%s: %v", c.id, err)
		}
	}
	sigs, err := signedjson.SignaturesOf(twice)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs["@u:x"]) != 2 {
		t.Fatalf("want 2 signatures, got %v", sigs)
	}
}

func TestSignRejects(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	if _, err := signedjson.Sign([]byte(`{}`), "@u:x", "nocolon", priv); !errors.Is(err, signedjson.ErrBadKeyID) {
		t.Errorf("bad key id: got %v", err)
	}
	if _, err := signedjson.Sign([]byte(`{}`), "", "ed25519:K", priv); err == nil {
		t.Error("empty entity accepted")
	}
	if _, err := signedjson.Sign([]byte(`{}`), "@u:x", "ed25519:K", priv[:10]); !errors.Is(err, signedjson.ErrBadKey) {
		t.Errorf("short private key: got %v", err)
	}
	if _, err := signedjson.Sign([]byte(`[]`), "@u:x", "ed25519:K", priv); !errors.Is(err, signedjson.ErrNotObject) {
		t.Errorf("array: got %v", err)
	}
}

func TestDecodeBase64(t *testing.T) {
	for _, s := range []string{"AAEC", "AAE", "AAE=", "AA=="} {
		if _, err := signedjson.DecodeBase64(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"AA-_", "A", "!!", "AAE=A"} {
		if _, err := signedjson.DecodeBase64(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzVerify(f *testing.F) {
	signs, verifies := loadVectors(f)
	for _, v := range signs {
		f.Add([]byte(v.ExpectedCanonical), v.Entity, v.KeyID)
	}
	for _, v := range verifies {
		f.Add([]byte(v.Input), v.Entity, v.KeyID)
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, obj []byte, entity, keyID string) {
		_ = signedjson.Verify(obj, entity, keyID, pub)
		signed, err := signedjson.Sign(obj, "@f:x", "ed25519:F", priv)
		if err != nil {
			return
		}
		// Adding a signature never changes what is signed.
		before, err := signedjson.SigningBytes(obj)
		if err != nil {
			t.Fatalf("Sign accepted what SigningBytes refuses: %v", err)
		}
		after, err := signedjson.SigningBytes(signed)
		if err != nil || string(before) != string(after) {
			t.Fatalf("signing bytes changed by Sign: %v\n%s\n%s", err, before, after)
		}
		// A signature that verified before still verifies after.
		if signedjson.Verify(obj, entity, keyID, pub) == nil && (entity != "@f:x" || keyID != "ed25519:F") {
			if err := signedjson.Verify(signed, entity, keyID, pub); err != nil {
				t.Fatalf("Sign broke another signature: %v", err)
			}
		}
		// Whatever was signed must verify, and signing is stable.
		if err := signedjson.Verify(signed, "@f:x", "ed25519:F", pub); err != nil {
			t.Fatalf("fresh signature does not verify: %v", err)
		}
		again, err := signedjson.Sign(signed, "@f:x", "ed25519:F", priv)
		if err != nil || string(again) != string(signed) {
			t.Fatalf("re-signing changed the object: %v\n%s\n%s", err, signed, again)
		}
	})
}

func TestDecodeBase64Strict(t *testing.T) {
	tests := []struct {
		in   string
		want string // hex of the decoded bytes; "" with ok false for refusals
		ok   bool
	}{
		{"", "", true},
		{"AAEC", "000102", true},
		{"AAE", "0001", true},
		{"AAE=", "0001", true},
		{"AA", "00", true},
		{"AA==", "00", true},
		// Wrong padding: more or fewer '=' than the length needs.
		{"AAAA=", "", false},
		{"AAAA==", "", false},
		{"AA=", "", false},
		{"AAE==", "", false},
		{"=", "", false},
		{"==", "", false},
		// Line breaks are skipped by Go's decoder even in strict mode.
		{"AA\nEC", "", false},
		{"AAEC\r\n", "", false},
		{"\nAAEC", "", false},
		// Non-zero trailing bits: "AAF" would decode to the same bytes as "AAE".
		{"AAF", "", false},
		{"AB", "", false},
		{"AA-_", "", false},
		{"AA EC", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, err := signedjson.DecodeBase64(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tt.ok, err)
			}
			if err != nil {
				if !errors.Is(err, signedjson.ErrBadBase64) {
					t.Fatalf("error %v does not wrap ErrBadBase64", err)
				}
				return
			}
			if got := fmt.Sprintf("%x", b); got != tt.want {
				t.Fatalf("decoded %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSignKeepsEverythingElse checks that Sign changes nothing but the one
// signature it adds: other entities' signatures, the entity's other key IDs
// (even malformed ones, which are not Sign's to judge) and "unsigned" come
// out as they went in, in canonical form.
func TestSignKeepsEverythingElse(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	sig, err := signedjson.Signature([]byte(`{"a":1}`), priv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"no signatures",
			`{"a":1}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"` + sig + `"}}}`},
		{"other entity kept",
			`{"a":1,"signatures":{"@o:x":{"ed25519:O":"c2ln"}}}`,
			`{"a":1,"signatures":{"@o:x":{"ed25519:O":"c2ln"},"@u:x":{"ed25519:K":"` + sig + `"}}}`},
		{"same entity other key kept",
			`{"a":1,"signatures":{"@u:x":{"ed25519:A":"c2ln"}}}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:A":"c2ln","ed25519:K":"` + sig + `"}}}`},
		{"same key replaced",
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"b2xk"}}}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"` + sig + `"}}}`},
		{"null signature of another key kept as null",
			`{"a":1,"signatures":{"@u:x":{"ed25519:N":null}}}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"` + sig + `","ed25519:N":null}}}`},
		{"garbage of another entity kept",
			`{"a":1,"signatures":{"@o:x":[1,{"b":null}],"@p:x":5}}`,
			`{"a":1,"signatures":{"@o:x":[1,{"b":null}],"@p:x":5,"@u:x":{"ed25519:K":"` + sig + `"}}}`},
		{"unsigned kept",
			`{"unsigned":{"z":[3,"é\u00e9"],"a":null},"a":1}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"` + sig + `"}},"unsigned":{"a":null,"z":[3,"éé"]}}`},
		{"escaped keys canonicalised",
			`{"\u0061":1,"signatures":{"@\u00fc:x":{"ed25519:\u0041":"c2ln"}}}`,
			`{"a":1,"signatures":{"@u:x":{"ed25519:K":"` + sig + `"},"@ü:x":{"ed25519:A":"c2ln"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := signedjson.Sign([]byte(tt.in), "@u:x", "ed25519:K", priv)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("\n got %s\nwant %s", out, tt.want)
			}
			if err := signedjson.Verify(out, "@u:x", "ed25519:K", pub); err != nil {
				t.Fatalf("new signature does not verify: %v", err)
			}
		})
	}
	for _, bad := range []string{
		`{"a":1,"signatures":[]}`,
		`{"a":1,"signatures":null}`,
		`{"a":1,"signatures":"x"}`,
		`{"a":1,"signatures":{"@u:x":null}}`,
		`{"a":1,"signatures":{"@u:x":["ed25519:K"]}}`,
	} {
		if _, err := signedjson.Sign([]byte(bad), "@u:x", "ed25519:K", priv); !errors.Is(err, signedjson.ErrMalformedSignatures) {
			t.Errorf("%s: got %v, want ErrMalformedSignatures", bad, err)
		}
	}
}

// edVerifier is crypto/ed25519 as a Verifier.
type edVerifier ed25519.PublicKey

func (v edVerifier) Verify(msg, sig []byte) bool {
	return ed25519.Verify(ed25519.PublicKey(v), msg, sig)
}

// TestVerifyWithMatchesVerify: VerifyWith gives Verify's answer and error
// for a good signature, a bad one, a missing one, malformed signatures and
// a non-object.
func TestVerifyWithMatchesVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	good, err := signedjson.Sign([]byte(`{"a":1}`), "@u:x", "ed25519:K", priv)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	cases := map[string]struct {
		obj []byte
		pub ed25519.PublicKey
	}{
		"good":              {good, pub},
		"other key":         {good, other},
		"missing":           {[]byte(`{"a":1}`), pub},
		"not base64":        {[]byte(`{"a":1,"signatures":{"@u:x":{"ed25519:K":"!!"}}}`), pub},
		"short":             {[]byte(`{"a":1,"signatures":{"@u:x":{"ed25519:K":"AAAA"}}}`), pub},
		"not a string":      {[]byte(`{"a":1,"signatures":{"@u:x":{"ed25519:K":1}}}`), pub},
		"signatures broken": {[]byte(`{"a":1,"signatures":[]}`), pub},
		"not an object":     {[]byte(`[1]`), pub},
	}
	for name, c := range cases {
		want := signedjson.Verify(c.obj, "@u:x", "ed25519:K", c.pub)
		got := signedjson.VerifyWith(c.obj, "@u:x", "ed25519:K", edVerifier(c.pub))
		if (want == nil) != (got == nil) || want != nil && want.Error() != got.Error() {
			t.Errorf("%s: VerifyWith %v, Verify %v", name, got, want)
		}
		if name == "good" && got != nil {
			t.Errorf("good signature refused: %v", got)
		}
	}
}
