package tempered_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"vouch/canonicaljson"
	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
	"vouch/trust/tempered"
)

const (
	me    = "@me:v"
	alice = "@alice:a"
	bob   = "@bob:b"
	carol = "@carol:c"
	erin  = "@erin:e"
	ivan  = "@ivan:example.org"
	judy  = "@judy:matrix.org"
)

func target(i int) string {
	if i < 5 {
		return fmt.Sprintf("@t%d:example.org", i)
	}
	return fmt.Sprintf("@t%d:matrix.org", i)
}

// testWorld: the viewer, four vouchers (carol not verified), two
// intermediates and ten targets on two servers.
//
//	alice → t0, t1                 alice ⇒ (none)
//	bob   → t5, t6                 bob ⇒ ivan
//	carol → t4                     erin ⇒ ivan
//	ivan  → t2, t5                 ivan ⇒ judy
//	judy  → t8, t9
//	viewer verified alice, bob, erin and t7.
//
// (→ signs a master key, ⇒ signs a PUSK.)
func testWorld(t testing.TB) *world {
	w := newWorld(t, me)
	for _, u := range []string{alice, bob, carol, erin, ivan, judy} {
		w.add(u)
	}
	for i := range 10 {
		w.add(target(i))
	}
	for _, u := range []string{alice, bob, erin, target(7)} {
		w.verify(u)
	}
	w.vouch(alice, target(0))
	w.vouch(alice, target(1))
	w.vouch(bob, target(5))
	w.vouch(bob, target(6))
	w.vouch(carol, target(4))
	w.vouch(ivan, target(2))
	w.vouch(ivan, target(5))
	w.vouch(judy, target(8))
	w.vouch(judy, target(9))
	w.vouchKey(bob, ivan)
	w.vouchKey(erin, ivan)
	w.vouchKey(ivan, judy)
	return w
}

func testPolicy(bobDepth int) tempered.Policy {
	return tempered.Policy{Vouchers: map[string]tempered.Rule{
		alice: {For: []string{"*:example.org"}, Except: []string{target(1)}, Depth: 1},
		bob:   {For: []string{"*"}, Except: []string{target(6)}, Depth: bobDepth},
		carol: {For: []string{"*"}, Depth: 3},
		erin:  {For: []string{target(9), ivan, judy}, Depth: 3},
	}}
}

type want struct {
	trusted bool
	cause   error
	path    string
	reason  string
}

const (
	viewerChain = "@me:v/master > @me:v/user_signing"
)

func chain(voucher string, rest ...string) string {
	s := viewerChain + " > " + voucher + "/master > " + voucher + "/public_user_signing"
	for _, r := range rest {
		s += " > " + r
	}
	return s
}

func TestEvaluateWorld(t *testing.T) {
	w := testWorld(t)
	v := w.viewerOf()
	users := w.users()
	depth2 := map[string]want{
		target(0): {true, nil, chain(alice, target(0)+"/master"), "vouched for by @alice:a (policy: *:example.org)"},
		target(1): {false, tempered.ErrExcepted, "", `@t1:example.org is excepted from @alice:a by "@t1:example.org"`},
		target(2): {true, nil, chain(bob, ivan+"/public_user_signing", target(2)+"/master"),
			"vouched for by @bob:b (policy: *), through @ivan:example.org"},
		target(3): {false, tempered.ErrNotVouched, chain(alice), "no public signature from the chain of @alice:a"},
		target(4): {false, tempered.ErrVoucherNotVerified, viewerChain, "voucher not verified: @carol:c"},
		target(5): {true, nil, chain(bob, target(5)+"/master"), "vouched for by @bob:b (policy: *)"},
		target(6): {false, tempered.ErrExcepted, "", "excepted from @bob:b"},
		target(7): {true, nil, viewerChain + " > " + target(7) + "/master", "your user-signing key signed"},
		target(8): {false, tempered.ErrDepthExceeded,
			chain(bob, ivan+"/public_user_signing", judy+"/public_user_signing", target(8)+"/master"),
			"@t8:matrix.org is 3 hops from @bob:b, whose depth is"},
		target(9): {true, nil, chain(erin, ivan+"/public_user_signing", judy+"/public_user_signing", target(9)+"/master"),
			"vouched for by @erin:e (policy: @t9:matrix.org), through @ivan:example.org → @judy:matrix.org"},
	}
	depth3 := map[string]want{}
	for k, v := range depth2 {
		depth3[k] = v
	}
	depth3[target(8)] = want{true, nil, chain(bob, ivan+"/public_user_signing", judy+"/public_user_signing", target(8)+"/master"),
		"vouched for by @bob:b (policy: *), through @ivan:example.org → @judy:matrix.org"}
	depth3[target(9)] = want{true, nil, chain(bob, ivan+"/public_user_signing", judy+"/public_user_signing", target(9)+"/master"),
		"vouched for by @bob:b (policy: *), through @ivan:example.org → @judy:matrix.org"}
	depth1 := map[string]want{}
	for k, v := range depth2 {
		depth1[k] = v
	}
	// With bob at depth 1, ivan's signature on t2 is two hops too far.
	depth1[target(2)] = want{false, tempered.ErrDepthExceeded,
		chain(bob, ivan+"/public_user_signing", target(2)+"/master"), "@t2:example.org is 2 hops from @bob:b, whose depth is 1"}

	for _, tc := range []struct {
		name  string
		depth int
		want  map[string]want
	}{{"bob depth 1", 1, depth1}, {"bob depth 2", 2, depth2}, {"bob depth 3", 3, depth3}} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy(tc.depth)
			for _, tgt := range slices.Sorted(maps.Keys(tc.want)) {
				wt := tc.want[tgt]
				d, st := tempered.Evaluator{}.Evaluate(v, p, users, tgt)
				if d.Trusted != wt.trusted {
					t.Errorf("%s: trusted %v (%s), want %v", tgt, d.Trusted, d.Reason, wt.trusted)
					continue
				}
				if wt.cause != nil && !errors.Is(d.Cause, wt.cause) {
					t.Errorf("%s: cause %v, want %v", tgt, d.Cause, wt.cause)
				}
				if wt.trusted && d.Cause != nil {
					t.Errorf("%s: trusted with cause %v", tgt, d.Cause)
				}
				if got := kinds(d.Path); got != wt.path {
					t.Errorf("%s: path\n got %s\nwant %s", tgt, got, wt.path)
				}
				if !strings.Contains(d.Reason, wt.reason) {
					t.Errorf("%s: reason %q, want it to contain %q", tgt, d.Reason, wt.reason)
				}
				if st.Exhausted || st.Verifications == 0 || st.Verifications > 40 {
					t.Errorf("%s: stats %+v", tgt, st)
				}
			}
		})
	}
}

func TestEvaluateStepsNameKeys(t *testing.T) {
	w := testWorld(t)
	d := tempered.Evaluate(w.viewerOf(), testPolicy(2), w.users(), target(2))
	if !d.Trusted {
		t.Fatal(d.Reason)
	}
	wantIDs := []string{
		w.viewer.Master.KeyID(), w.viewer.UserSigning.KeyID(),
		w.ids[bob].Master.KeyID(), w.ids[bob].PublicUserSig.KeyID(),
		w.ids[ivan].PublicUserSig.KeyID(), w.ids[target(2)].Master.KeyID(),
	}
	for i, s := range d.Path {
		if s.KeyID != wantIDs[i] {
			t.Errorf("step %d: %s, want key %s", i, s, wantIDs[i])
		}
	}
}

func TestEvaluateSpecialTargets(t *testing.T) {
	w := testWorld(t)
	v := w.viewerOf()
	tests := []struct {
		name    string
		policy  tempered.Policy
		target  string
		trusted bool
		cause   error
	}{
		{"viewer themselves", testPolicy(2), me, true, nil},
		{"invalid target", testPolicy(2), "carol", false, tempered.ErrInvalidUserID},
		{"unknown target", testPolicy(2), "@nobody:x", false, trust.ErrNoMasterKey},
		{"empty policy", tempered.Policy{}, target(0), false, tempered.ErrNoVoucher},
		{"invalid policy", tempered.Policy{Vouchers: map[string]tempered.Rule{alice: {}}}, target(0), false, tempered.ErrMissingField},
		{"out of scope", tempered.Policy{Vouchers: map[string]tempered.Rule{alice: {For: []string{"*:nowhere"}}}}, target(0), false, tempered.ErrOutOfScope},
		{"voucher unknown", tempered.Policy{Vouchers: map[string]tempered.Rule{"@ghost:g": {For: []string{"*"}}}}, target(0), false, tempered.ErrVoucherNotVerified},
		{"voucher is target", tempered.Policy{Vouchers: map[string]tempered.Rule{target(3): {For: []string{"*"}}}}, target(3), false, tempered.ErrNotVouched},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tempered.Evaluate(v, tc.policy, w.users(), tc.target)
			if d.Trusted != tc.trusted || (tc.cause != nil && !errors.Is(d.Cause, tc.cause)) {
				t.Fatalf("trusted %v cause %v (%s); want %v %v", d.Trusted, d.Cause, d.Reason, tc.trusted, tc.cause)
			}
		})
	}
}

// The viewer's own voucher: their own PUSK counts like a verified voucher's.
func TestEvaluateOwnPUSK(t *testing.T) {
	w := testWorld(t)
	w.vouch(me, target(3))
	p := tempered.Policy{Vouchers: map[string]tempered.Rule{me: {For: []string{"*:example.org"}}}}
	d := tempered.Evaluate(w.viewerOf(), p, w.users(), target(3))
	if !d.Trusted || kinds(d.Path) != "@me:v/master > @me:v/public_user_signing > @t3:example.org/master" {
		t.Fatalf("%v %s %s", d.Trusted, d.Reason, kinds(d.Path))
	}
}

func resign(t testing.TB, obj []byte, entity, keyID string, k testidentity.Key) []byte {
	t.Helper()
	out, err := signedjson.Sign(obj, entity, keyID, k.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostile: a server that controls every key it hands out, but holds no
// private key of the viewer or the vouchers, must not produce trust.
func TestHostile(t *testing.T) {
	policy := tempered.Policy{Vouchers: map[string]tempered.Rule{
		alice: {For: []string{"*"}, Depth: 3},
		bob:   {For: []string{"*"}, Depth: 1},
	}}
	t0 := target(0)
	tests := []struct {
		name   string
		target string
		setup  func(w *world, u map[string]*trust.UserKeys)
		cause  error
	}{
		{"PUSK not signed by its owner's MSK", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.pusk[alice] = w.ids[alice].CrossSigningKeyUnsigned(keys.UsagePublicUserSigning)
			w.vouch(alice, t0)
		}, tempered.ErrBadSignature},
		{"PUSK signed by the server instead of the MSK", t0, func(w *world, u map[string]*trust.UserKeys) {
			srv := testidentity.NewKey("server")
			w.pusk[alice] = resign(t, w.ids[alice].CrossSigningKeyUnsigned(keys.UsagePublicUserSigning), alice, w.ids[alice].Master.KeyID(), srv)
			w.vouch(alice, t0)
		}, tempered.ErrBadSignature},
		{"server's PUSK replacing the voucher's", t0, func(w *world, u map[string]*trust.UserKeys) {
			// A key the server made, signing the target; its own "master"
			// signature is by a key that is not alice's master key.
			srv := testidentity.NewKey("server pusk")
			obj, _ := canonicaljson.Marshal(map[string]any{"user_id": alice, "usage": []string{"public-user"}, "keys": map[string]string{srv.KeyID(): srv.B64}})
			w.pusk[alice] = resign(t, obj, alice, srv.KeyID(), srv)
			w.master[t0] = resign(t, w.master[t0], alice, srv.KeyID(), srv)
		}, tempered.ErrBadSignature},
		{"PUSK with two usages", t0, func(w *world, u map[string]*trust.UserKeys) {
			a := w.ids[alice]
			obj, _ := canonicaljson.Marshal(map[string]any{"user_id": alice, "usage": []string{"public-user", "self_signing"}, "keys": map[string]string{a.PublicUserSig.KeyID(): a.PublicUserSig.B64}})
			w.pusk[alice] = resign(t, obj, alice, a.Master.KeyID(), a.Master)
			w.vouch(alice, t0)
		}, tempered.ErrBadSignature},
		{"signature over an old MSK of the target", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.vouch(alice, t0) // alice vouched for the old identity
			signedOld := w.master[t0]
			// The target's identity is reset; the server copies alice's
			// signature onto the new master key.
			fresh := testidentity.NewGeneration(t0, "reset")
			w.ids[t0] = fresh
			sigs, err := signedjson.SignaturesOf(signedOld)
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := sigs.Get(alice, w.ids[alice].PublicUserSig.KeyID())
			w.master[t0], err = signedjson.AddSignature(fresh.MasterKey(), alice, w.ids[alice].PublicUserSig.KeyID(), sig)
			if err != nil {
				t.Fatal(err)
			}
			w.pusk[t0] = fresh.SubKey(keys.UsagePublicUserSigning)
		}, tempered.ErrBadSignature},
		{"old MSK given alongside as the target's", t0, func(w *world, u map[string]*trust.UserKeys) {
			// The current MSK is unsigned; the signed old one is not the
			// target's current key, so nothing vouches for the current one.
			w.vouch(alice, t0)
			fresh := testidentity.NewGeneration(t0, "reset")
			w.ids[t0] = fresh
			w.master[t0] = fresh.MasterKey()
			w.pusk[t0] = fresh.SubKey(keys.UsagePublicUserSigning)
		}, tempered.ErrNotVouched},
		{"voucher's PUSK key ID collides with a device ID", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.vouch(alice, t0) // even a genuine signature does not count
		}, keys.ErrNamespaceCollision},
		{"device named after the PUSK signs the target", t0, func(w *world, u map[string]*trust.UserKeys) {
			dev := testidentity.NewKey("server device")
			w.master[t0] = resign(t, w.master[t0], alice, w.ids[alice].PublicUserSig.KeyID(), dev)
		}, tempered.ErrBadSignature},
		{"signature filed under another user", t0, func(w *world, u map[string]*trust.UserKeys) {
			a := w.ids[alice].PublicUserSig
			w.master[t0] = resign(t, w.master[t0], "@mallory:m", a.KeyID(), a)
		}, tempered.ErrNotVouched},
		{"alice's signature filed under bob", t0, func(w *world, u map[string]*trust.UserKeys) {
			a := w.ids[alice].PublicUserSig
			w.master[t0] = resign(t, w.master[t0], bob, a.KeyID(), a)
		}, tempered.ErrNotVouched},
		{"bob's key filed as bob's but signed by alice's", t0, func(w *world, u map[string]*trust.UserKeys) {
			a := w.ids[alice].PublicUserSig
			w.master[t0] = resign(t, w.master[t0], bob, w.ids[bob].PublicUserSig.KeyID(), a)
		}, tempered.ErrBadSignature},
		{"mallory's PUSK claiming to be alice's", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.add("@mallory:m")
			w.pusk[alice] = w.pusk["@mallory:m"] // user_id @mallory:m
			w.vouch("@mallory:m", t0)
		}, tempered.ErrBadSignature},
		{"mallory's keys filed under alice", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.add("@mallory:m")
			w.vouch("@mallory:m", t0)
		}, tempered.ErrNotVouched},
		{"hop signed by a user other than the signer", t0, func(w *world, u map[string]*trust.UserKeys) {
			// ivan signs t0; the server files ivan's own signature on
			// ivan's PUSK as alice's.
			w.vouch(ivan, t0)
			i := w.ids[ivan].PublicUserSig
			w.pusk[ivan] = resign(t, w.pusk[ivan], alice, w.ids[alice].PublicUserSig.KeyID(), i)
		}, tempered.ErrBadSignature},
		{"intermediate PUSK not signed by its MSK", t0, func(w *world, u map[string]*trust.UserKeys) {
			w.pusk[ivan] = w.ids[ivan].CrossSigningKeyUnsigned(keys.UsagePublicUserSigning)
			w.vouchKey(alice, ivan)
			w.vouch(ivan, t0)
		}, tempered.ErrBadSignature},
		{"target equal to the viewer, new MSK vouched for", me, func(w *world, u map[string]*trust.UserKeys) {
			fresh := testidentity.NewGeneration(me, "server")
			w.master[me] = fresh.MasterKey()
			w.vouch(alice, me)
		}, tempered.ErrOwnIdentity},
		{"target equal to the viewer, new MSK vouched for by own PUSK", me, func(w *world, u map[string]*trust.UserKeys) {
			fresh := testidentity.NewGeneration(me, "server")
			w.master[me] = fresh.MasterKey()
			w.vouch(me, me)
		}, tempered.ErrOwnIdentity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, me)
			for _, u := range []string{alice, bob, ivan, target(0)} {
				w.add(u)
			}
			w.verify(alice)
			w.verify(bob)
			tc.setup(w, nil)
			users := w.users()
			v := w.viewerOf()
			if tc.target == me {
				// The viewer's trusted master key stays the original one.
				v.TrustedMaster = testidentity.New(me).Master.B64
				v.Own = users[me]
			}
			switch tc.name {
			case "voucher's PUSK key ID collides with a device ID":
				dev := testidentity.NewKey("server device")
				obj, _ := canonicaljson.Marshal(map[string]any{
					"user_id": alice, "device_id": w.ids[alice].PublicUserSig.B64,
					"algorithms": []string{"m.olm.v1.curve25519-aes-sha2"},
					"keys":       map[string]string{"ed25519:" + w.ids[alice].PublicUserSig.B64: dev.B64},
				})
				obj = resign(t, obj, alice, "ed25519:"+w.ids[alice].PublicUserSig.B64, dev)
				dk, err := keys.ParseDeviceKeys(obj)
				if err != nil {
					t.Fatal(err)
				}
				users[alice].Devices[w.ids[alice].PublicUserSig.B64] = dk
			case "mallory's keys filed under alice":
				users[alice] = users["@mallory:m"]
			}
			d, st := tempered.Evaluator{}.Evaluate(v, policy, users, tc.target)
			if d.Trusted {
				t.Fatalf("trusted: %s (%s)", d.Reason, kinds(d.Path))
			}
			if !errors.Is(d.Cause, tc.cause) {
				t.Fatalf("cause %v, want %v", d.Cause, tc.cause)
			}
			if errors.Is(d.Cause, tempered.ErrBadSignature) && !errors.Is(d.Cause, trust.ErrBrokenLink) {
				t.Fatalf("bad signature does not wrap trust.ErrBrokenLink: %v", d.Cause)
			}
			if st.Exhausted {
				t.Fatalf("exhausted: %+v", st)
			}
		})
	}
}

// TestHostileControl: the hostile world without the attack does trust, so
// that each hostile case fails for its own reason.
func TestHostileControl(t *testing.T) {
	w := newWorld(t, me)
	for _, u := range []string{alice, bob, ivan, target(0)} {
		w.add(u)
	}
	w.verify(alice)
	w.vouchKey(alice, ivan)
	w.vouch(ivan, target(0))
	p := tempered.Policy{Vouchers: map[string]tempered.Rule{alice: {For: []string{"*"}, Depth: 3}}}
	if d := tempered.Evaluate(w.viewerOf(), p, w.users(), target(0)); !d.Trusted {
		t.Fatalf("control not trusted: %s", d.Reason)
	}
	w.vouch(alice, target(0))
	if d := tempered.Evaluate(w.viewerOf(), p, w.users(), target(0)); !d.Trusted || len(d.Path) != 5 {
		t.Fatalf("direct vouch not preferred: %s %s", d.Reason, kinds(d.Path))
	}
}

func TestEvaluateCycle(t *testing.T) {
	w := newWorld(t, me)
	const a, b, c = "@a:x", "@b:x", "@c:x"
	for _, u := range []string{a, b, c, target(0)} {
		w.add(u)
	}
	w.verify(a)
	w.vouchKey(a, b)
	w.vouchKey(b, a)
	w.vouchKey(b, c)
	w.vouchKey(c, b)
	w.vouchKey(c, a)
	p := tempered.Policy{Vouchers: map[string]tempered.Rule{a: {For: []string{"*"}, Depth: 3}}}
	d, st := tempered.Evaluator{}.Evaluate(w.viewerOf(), p, w.users(), target(0))
	if d.Trusted || !errors.Is(d.Cause, tempered.ErrNotVouched) {
		t.Fatalf("cycle: %v %v", d.Trusted, d.Cause)
	}
	// a's PUSK by MSK, b's and c's likewise, hops a⇒b, b⇒c (b⇒a and c⇒b,
	// c⇒a lead to visited users and are never verified), two direct
	// checks of two signatures each.
	if st.Verifications > 10 {
		t.Fatalf("cycle cost %d verifications", st.Verifications)
	}
	// Closing the cycle through the target does not help either: c vouches
	// for the target at level 3, within depth.
	w.vouch(c, target(0))
	if d := tempered.Evaluate(w.viewerOf(), p, w.users(), target(0)); !d.Trusted || !strings.Contains(d.Reason, "through @b:x → @c:x") {
		t.Fatalf("after closing: %v %s", d.Trusted, d.Reason)
	}
}

// TestSearchBound: a server claiming signatures everywhere cannot make a
// decision cost more than the bound.
func TestSearchBound(t *testing.T) {
	w := newWorld(t, me)
	w.add(alice)
	w.add(target(0))
	w.verify(alice)
	var others []string
	for i := range 60 {
		u := fmt.Sprintf("@u%02d:x", i)
		w.add(u)
		others = append(others, u)
	}
	// Every user's PUSK carries a claimed, bogus signature from alice and
	// from every other user; the target's master key from everyone.
	bogus := testidentity.NewKey("bogus")
	users := w.users()
	for _, u := range others {
		raw := w.pusk[u]
		for _, s := range append([]string{alice}, others...) {
			raw = resign(t, raw, s, w.ids[s].PublicUserSig.KeyID(), bogus)
		}
		users[u].PublicUserSigning = testidentity.MustParseCrossSigningKey(t, raw)
	}
	raw := w.master[target(0)]
	for _, s := range append([]string{alice}, others...) {
		raw = resign(t, raw, s, w.ids[s].PublicUserSig.KeyID(), bogus)
	}
	users[target(0)].Master = testidentity.MustParseCrossSigningKey(t, raw)
	p := tempered.Policy{Vouchers: map[string]tempered.Rule{alice: {For: []string{"*"}, Depth: 3}}}
	for _, bound := range []int{1, 10, 100} {
		d, st := tempered.Evaluator{MaxVerifications: bound}.Evaluate(w.viewerOf(), p, users, target(0))
		if d.Trusted || !errors.Is(d.Cause, tempered.ErrSearchBound) || !st.Exhausted || st.Verifications > bound {
			t.Fatalf("bound %d: %v %v %+v", bound, d.Trusted, d.Cause, st)
		}
	}
	// With the default bound it finishes: every bogus signature fails, so
	// nothing past alice is expanded. Cost: two direct checks (2 each),
	// alice's PUSK, her signature on the target, and for each of the 60
	// users their PUSK and alice's claimed signature on it.
	d, st := tempered.Evaluator{}.Evaluate(w.viewerOf(), p, users, target(0))
	if d.Trusted || st.Exhausted || !errors.Is(d.Cause, tempered.ErrBadSignature) {
		t.Fatalf("default bound: %v %v %+v", d.Trusted, d.Cause, st)
	}
	if st.Verifications != 2+2+1+1+60+60 {
		t.Fatalf("%d verifications", st.Verifications)
	}
}
