package tempered_test

import (
	"fmt"
	"testing"

	"vouch/trust/tempered"
)

// benchWorld: the viewer, three verified vouchers and 1,000 users on two
// servers. Each voucher publicly signs 10 users' PUSKs and 30 master keys;
// each of those intermediates signs 10 more master keys and one more
// PUSK, whose owner signs 5 master keys. About half the users are vouched for
// under the policy; the others are not, which costs the most (the search
// runs to MaxDepth to tell "depth exceeded" from "not vouched").
func benchWorld(tb testing.TB) (*world, tempered.Policy, []string) {
	w := newWorld(tb, me)
	vouchers := []string{"@v0:s0", "@v1:s1", "@v2:s0"}
	for _, v := range vouchers {
		w.add(v)
		w.verify(v)
	}
	var users []string
	for i := range 1000 {
		u := fmt.Sprintf("@u%04d:s%d", i, i%2)
		w.add(u)
		users = append(users, u)
	}
	n := 0
	next := func() string { n = (n + 7) % len(users); return users[n] }
	for _, v := range vouchers {
		for range 10 {
			mid := next()
			w.vouchKey(v, mid)
			for range 10 {
				w.vouch(mid, next())
			}
			far := next()
			w.vouchKey(mid, far)
			for range 5 {
				w.vouch(far, next())
			}
		}
		for range 30 {
			w.vouch(v, next())
		}
	}
	p := tempered.Policy{Vouchers: map[string]tempered.Rule{
		"@v0:s0": {For: []string{"*:s0"}, Depth: 1},
		"@v1:s1": {For: []string{"*"}, Except: []string{"@u0001:s1"}, Depth: 2},
		"@v2:s0": {For: []string{"*:s0", "*:s1"}, Depth: 3},
	}}
	return w, p, users
}

// BenchmarkEvaluate decides, in turn, every user of a 1,000-user world.
// verifications/op is signature verifications per decision.
func BenchmarkEvaluate(b *testing.B) {
	w, p, users := benchWorld(b)
	v, uk := w.viewerOf(), w.users()
	trusted, total, i := 0, 0, 0
	for b.Loop() {
		d, st := tempered.Evaluator{}.Evaluate(v, p, uk, users[i%len(users)])
		i++
		total += st.Verifications
		if d.Trusted {
			trusted++
		}
	}
	b.ReportMetric(float64(total)/float64(i), "verifications/op")
	b.ReportMetric(float64(trusted)/float64(i), "trusted/op")
}

// BenchmarkVerifyFloor is the baseline: one signature verification of a
// master key by a PUSK, as Evaluate makes them. Evaluate's ns/op divided by
// this times verifications/op says how much the search itself costs.
func BenchmarkVerifyFloor(b *testing.B) {
	w := newWorld(b, me)
	w.add(alice)
	w.add(bob)
	w.vouch(alice, bob)
	u := w.users()
	k := u[alice].PublicUserSigning
	pub, b64, _ := k.PublicKey()
	m := u[bob].Master
	for b.Loop() {
		if err := m.VerifySignedBy(alice, pub, "ed25519:"+b64); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchWorldShape keeps the benchmark honest: its world mixes trusted
// and untrusted targets, and trusted ones at every depth.
func TestBenchWorldShape(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1,000 identities")
	}
	w, p, users := benchWorld(t)
	v, uk := w.viewerOf(), w.users()
	byLen := map[int]int{}
	untrusted := 0
	for i := 0; i < len(users); i += 4 { // a quarter of them, for time
		u := users[i]
		d, st := tempered.Evaluator{}.Evaluate(v, p, uk, u)
		if st.Exhausted {
			t.Fatalf("%s: bound reached", u)
		}
		if d.Trusted {
			byLen[len(d.Path)]++
		} else {
			untrusted++
		}
	}
	// Path lengths 5, 6, 7 are depths 1, 2, 3.
	if byLen[5] == 0 || byLen[6] == 0 || byLen[7] == 0 || untrusted == 0 {
		t.Fatalf("trusted by path length %v, untrusted %d", byLen, untrusted)
	}
}
