package signedjson_test

import (
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"maunium.net/go/mautrix/crypto/goolm/pk"
	"maunium.net/go/mautrix/crypto/signatures"
	"maunium.net/go/mautrix/id"

	"vouch/signedjson"
)

// Differential tests against mautrix-go's crypto/signatures (v0.26.0, a
// test-only dependency): an independent implementation of the same
// appendix. Where the two disagree the case must be named below.

// mautrixVerify is mautrix's answer to "does signatures[entity][keyID]
// verify with pub", keyID being "ed25519:<name>".
func mautrixVerify(t testing.TB, obj []byte, entity, keyID string, pub ed25519.PublicKey) bool {
	t.Helper()
	name, ok := strings.CutPrefix(keyID, "ed25519:")
	if !ok {
		t.Fatalf("key ID %q is not ed25519", keyID)
	}
	good, err := signatures.VerifySignatureJSON(json.RawMessage(obj), id.UserID(entity), name, id.Ed25519(signedjson.EncodeBase64(pub)))
	return good && err == nil
}

func mautrixSignature(t testing.TB, obj []byte, seed []byte) string {
	t.Helper()
	s, err := pk.NewSigningFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignJSON(json.RawMessage(obj))
	if err != nil {
		t.Fatalf("mautrix SignJSON: %v", err)
	}
	return sig
}

func TestMautrixVectors(t *testing.T) {
	signs, verifies := loadVectors(t)
	for _, v := range signs {
		t.Run("sign/"+v.Name, func(t *testing.T) {
			priv := mustKey(t, v.Seed)
			ours, err := signedjson.Signature(v.Input, priv)
			if err != nil {
				t.Fatal(err)
			}
			if theirs := mautrixSignature(t, v.Input, priv.Seed()); theirs != ours {
				t.Fatalf("signature: ours %s, mautrix %s", ours, theirs)
			}
			signed, err := signedjson.Sign(v.Input, v.Entity, v.KeyID, priv)
			if err != nil {
				t.Fatal(err)
			}
			if !mautrixVerify(t, signed, v.Entity, v.KeyID, priv.Public().(ed25519.PublicKey)) {
				t.Fatal("mautrix refuses our signed object")
			}
		})
	}
	for _, v := range verifies {
		t.Run("verify/"+v.Name, func(t *testing.T) {
			pub, err := signedjson.DecodeBase64(v.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			ours := signedjson.Verify(v.Input, v.Entity, v.KeyID, pub) == nil
			theirs := mautrixVerify(t, v.Input, v.Entity, v.KeyID, pub)
			if ours != theirs || ours != v.Valid {
				t.Fatalf("ours %v, mautrix %v, vector %v", ours, theirs, v.Valid)
			}
		})
	}
}

// genObject builds a random signed-JSON-like object: nested members with
// ASCII and non-ASCII keys and strings, safe integers, booleans and nulls,
// an "unsigned" member and signatures of a few entities. It stays inside
// what both implementations agree on (see canonicaljson's differential
// test for the named divergences: no control characters, no number
// spellings other than plain integers, no duplicates).
func genObject(r *rand.Rand) map[string]any {
	obj := genMembers(r, 0)
	if r.IntN(2) == 0 {
		obj["unsigned"] = genValue(r, 1)
	}
	if r.IntN(3) > 0 {
		sigs := map[string]any{}
		for range r.IntN(3) {
			ks := map[string]any{}
			for range 1 + r.IntN(2) {
				ks["ed25519:"+genKey(r)] = signedjson.EncodeBase64(randBytes(r, 64))
			}
			sigs["@"+genKey(r)+":example.org"] = ks
		}
		obj["signatures"] = sigs
	}
	return obj
}

var keyRunes = []rune("abcxyzABZ019_-.:/+=é中\U0001F600 \"\\")

func genKey(r *rand.Rand) string {
	n := 1 + r.IntN(8)
	var b strings.Builder
	for range n {
		b.WriteRune(keyRunes[r.IntN(len(keyRunes))])
	}
	return b.String()
}

func genMembers(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range r.IntN(6) {
		m[genKey(r)] = genValue(r, depth+1)
	}
	return m
}

func genValue(r *rand.Rand, depth int) any {
	k := r.IntN(8)
	if depth > 3 && k >= 6 {
		k = r.IntN(6)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.Int64N(1<<53-1) - r.Int64N(1<<53-1)
	case 3:
		return r.IntN(1000)
	case 4, 5:
		return genKey(r) + genKey(r)
	case 6:
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = genValue(r, depth+1)
		}
		return a
	default:
		return genMembers(r, depth)
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestMautrixGenerated signs and verifies generated objects both ways: our
// signature equals mautrix's, each verifies the other's signed object, and
// after a change to a signed member both refuse.
func TestMautrixGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 500
	if testing.Short() {
		n = 50
	}
	for i := range n {
		seed := randBytes(r, 32)
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		entity := "@" + strings.Trim(genKey(r), " ") + "u.v:example.org"
		keyID := "ed25519:DEV" + strconv.Itoa(i)
		obj, err := json.Marshal(genObject(r))
		if err != nil {
			t.Fatal(err)
		}
		ours, err := signedjson.Signature(obj, priv)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if theirs := mautrixSignature(t, obj, seed); theirs != ours {
			t.Fatalf("%s: signature ours %s, mautrix %s", obj, ours, theirs)
		}
		signed, err := signedjson.Sign(obj, entity, keyID, priv)
		if err != nil {
			t.Fatal(err)
		}
		if !mautrixVerify(t, signed, entity, keyID, pub) {
			t.Fatalf("mautrix refuses our signed object %s", signed)
		}
		// mautrix's signature, merged by us, verifies with us.
		merged, err := signedjson.AddSignature(obj, entity, keyID, mautrixSignature(t, obj, seed))
		if err != nil {
			t.Fatal(err)
		}
		if err := signedjson.Verify(merged, entity, keyID, pub); err != nil {
			t.Fatalf("our Verify refuses mautrix's signature on %s: %v", merged, err)
		}
		// Changing a signed member breaks both; changing unsigned breaks neither.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(signed, &m); err != nil {
			t.Fatal(err)
		}
		m["zz-added"] = json.RawMessage(`1`)
		tampered, _ := json.Marshal(m)
		if signedjson.Verify(tampered, entity, keyID, pub) == nil || mautrixVerify(t, tampered, entity, keyID, pub) {
			t.Fatalf("tampered object accepted: %s", tampered)
		}
		delete(m, "zz-added")
		m["unsigned"] = json.RawMessage(`{"age":` + strconv.Itoa(i) + `}`)
		relabelled, _ := json.Marshal(m)
		if signedjson.Verify(relabelled, entity, keyID, pub) != nil || !mautrixVerify(t, relabelled, entity, keyID, pub) {
			t.Fatalf("changed unsigned refused: %s", relabelled)
		}
	}
}
