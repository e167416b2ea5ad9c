package tempered_test

import (
	"bytes"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
	"vouch/trust/tempered"
)

// FuzzParse: Parse never panics; whatever it accepts is within the limits,
// marshals, and reparses to the same policy whose canonical form is a fixed
// point (one policy, one encoding).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		examplePolicy,
		`{"vouchers":{}}`,
		`{"v":2,"vouchers":{"@a:x":{"for":["*:[::1]:8448","*"],"except":["@b:x"],"depth":3,"room":{"id":"!r:x"}}}}`,
		`{"vouchers":{"@a:x":{"for":["*"],"dept\u0068":2}}}`,
		`{"vouchers":{"@a:x":{"for":["*:x"],"except":["*:x"]}}}`,
		`{"vouchers":{"@a:x":{"for":["*"],"depth":1.0}}}`,
		`{"vouchers":{"@a:x":{"for":["@*:x"]}}}`,
		`{"vouchers":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := tempered.Parse(in)
		if err != nil {
			return
		}
		if len(p.Vouchers) > tempered.MaxVouchers {
			t.Fatalf("%d vouchers", len(p.Vouchers))
		}
		for uid, r := range p.Vouchers {
			if len(r.For) == 0 || r.Depth < 1 || r.Depth > tempered.MaxDepth {
				t.Fatalf("%s: accepted rule %+v", uid, r)
			}
			if _, err := keys.ParseUserID(uid); err != nil {
				t.Fatalf("accepted voucher %q", uid)
			}
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed policy: %v", err)
		}
		q, err := tempered.Parse(out)
		if err != nil {
			t.Fatalf("reparse of %s: %v", out, err)
		}
		if !q.Equal(p) {
			t.Fatalf("round trip changed the policy: %s", out)
		}
		again, err := q.Marshal()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("canonical form not a fixed point: %s vs %s (%v)", out, again, err)
		}
	})
}

// FuzzEvaluate builds a world in which the attacker (the server) holds
// every private key except the viewer's and the voucher alice's, and lets
// the fuzzer add any signatures it can make, filed under any user and key
// ID, plus arbitrary bytes as signatures. Alice's PUSK never signs
// anything, so no chain can start: the target is never trusted.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0, 1, 0, 0, 1, 2, 1, 2, 2, 3, 1})
	f.Add([]byte{2, 3, 0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 7, 7, 7, 7})
	f.Add(bytes.Repeat([]byte{0xff, 0x11, 0x22, 0x33}, 16))

	w := newWorld(f, me)
	const mallory = "@mallory:m"
	for _, u := range []string{alice, ivan, judy, mallory, target(0)} {
		w.add(u)
	}
	w.verify(alice)
	base := w.users()
	v := w.viewerOf()
	// Objects the attacker may sign, and keys it holds.
	objects := []string{"target", ivan, judy, mallory, alice}
	signers := []testidentity.Key{
		w.ids[ivan].PublicUserSig, w.ids[judy].PublicUserSig, w.ids[mallory].PublicUserSig,
		w.ids[mallory].Master, w.ids[ivan].Master, testidentity.NewKey("server"),
	}
	entities := []string{alice, ivan, judy, mallory, target(0), me}
	keyIDs := []string{
		w.ids[alice].PublicUserSig.KeyID(), w.ids[ivan].PublicUserSig.KeyID(),
		w.ids[judy].PublicUserSig.KeyID(), w.ids[alice].Master.KeyID(), "ed25519:DEVICE",
	}
	policy := tempered.Policy{Vouchers: map[string]tempered.Rule{alice: {For: []string{"*"}, Depth: 3}}}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4*24 {
			data = data[:4*24]
		}
		raw := map[string][]byte{
			"target": w.master[target(0)],
			ivan:     w.pusk[ivan], judy: w.pusk[judy], mallory: w.pusk[mallory], alice: w.pusk[alice],
		}
		for ; len(data) >= 4; data = data[4:] {
			obj := objects[int(data[0])%len(objects)]
			entity := entities[int(data[2])%len(entities)]
			keyID := keyIDs[int(data[3])%len(keyIDs)]
			var out []byte
			var err error
			if data[1] >= 0xf0 {
				// Garbage in place of a signature.
				out, err = signedjson.AddSignature(raw[obj], entity, keyID, signedjson.EncodeBase64(bytes.Repeat(data[:4], 16)))
			} else {
				out, err = signedjson.Sign(raw[obj], entity, keyID, signers[int(data[1])%len(signers)].Priv)
			}
			if err != nil {
				t.Fatal(err)
			}
			raw[obj] = out
		}
		users := map[string]*trust.UserKeys{}
		for uid, uk := range base {
			c := *uk
			users[uid] = &c
		}
		users[target(0)].Master = testidentity.MustParseCrossSigningKey(t, raw["target"])
		for _, u := range []string{ivan, judy, mallory, alice} {
			users[u].PublicUserSigning = testidentity.MustParseCrossSigningKey(t, raw[u])
		}
		d, st := tempered.Evaluator{}.Evaluate(v, policy, users, target(0))
		if d.Trusted {
			t.Fatalf("trusted without alice's key: %s (%s)", d.Reason, kinds(d.Path))
		}
		if d.Cause == nil || st.Verifications > tempered.DefaultMaxVerifications {
			t.Fatalf("cause %v, stats %+v", d.Cause, st)
		}
	})
}
