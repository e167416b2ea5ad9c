package bench

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"

	"vouch/signedjson"
)

// TestSignaturesUploadBatchPlan checks the batch bodies themselves: each
// request carries exactly K signatures, over K distinct other users' master
// keys (never the caller's own), each by the caller's user-signing key and
// valid; over the caller's cycle every other user is signed equally often.
func TestSignaturesUploadBatchPlan(t *testing.T) {
	tests := []struct{ users, clients, k int }{
		{6, 3, 4},   // 5 others, gcd(5,4)=1: a cycle of 5 requests
		{7, 2, 3},   // 6 others, gcd(6,3)=3: a cycle of 2 requests
		{5, 8, 4},   // more clients than users: workers share callers
		{3, 1, 1},   // one signature per request
		{17, 2, 16}, // the default K with its minimum of users
	}
	for _, tt := range tests {
		p, err := syntheticPopulation(tt.users, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Bodies built up front (the default here) and assembled per request.
		for _, limit := range []int{maxPrebuiltBatchBytes, 0} {
			pl, err := signaturesUploadBatchPlanUpTo(p, tt.clients, tt.k, limit)
			if err != nil {
				t.Fatalf("%+v: %v", tt, err)
			}
			n := tt.users
			others := n - 1
			cycle := others / gcd(others, tt.k)
			for w := range tt.clients {
				caller := p.users[w%n]
				pub, err := signedjson.DecodeBase64(caller.usk.b64)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]int{}
				var scratch []byte // bodies are assembled here, as in the load loop
				for seq := range cycle {
					rq, ok, err := pl.next(w, seq, &scratch)
					if err != nil || !ok || rq.path != pathSigsUpload || rq.token != caller.devices[0].token {
						t.Fatalf("%+v worker %d request %d: %+v %v %v", tt, w, seq, rq, ok, err)
					}
					var body map[string]map[string]json.RawMessage
					if err := json.Unmarshal(rq.body, &body); err != nil {
						t.Fatal(err)
					}
					if len(body) != tt.k {
						t.Fatalf("%+v: %d users in a request, want %d", tt, len(body), tt.k)
					}
					for uid, objs := range body {
						if uid == caller.id {
							t.Fatalf("%+v: %s signs its own master key", tt, uid)
						}
						if len(objs) != 1 {
							t.Fatalf("%+v: %d objects for %s", tt, len(objs), uid)
						}
						for _, obj := range objs {
							if err := signedjson.Verify(obj, caller.id, caller.usk.keyID(), ed25519.PublicKey(pub)); err != nil {
								t.Fatalf("%+v: signature over %s: %v", tt, uid, err)
							}
						}
						seen[uid]++
					}
				}
				if len(seen) != others {
					t.Fatalf("%+v: a cycle signs %d users, want all %d others", tt, len(seen), others)
				}
				for uid, c := range seen {
					if c != cycle*tt.k/others {
						t.Errorf("%+v: %s signed %d times in a cycle, want %d", tt, uid, c, cycle*tt.k/others)
					}
				}
				// After the cycle the same requests come again.
				a, _, _ := pl.next(w, 0, &scratch)
				first := string(a.body)
				b, _, _ := pl.next(w, cycle, &scratch)
				if first != string(b.body) {
					t.Errorf("%+v: request %d is not request 0 again", tt, cycle)
				}
			}
		}
	}
	p, err := syntheticPopulation(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 4, 5} {
		if _, err := signaturesUploadBatchPlan(p, 2, k); !errors.Is(err, ErrConfig) {
			t.Errorf("4 users, K=%d: %v, want ErrConfig", k, err)
		}
	}
}

func TestGCD(t *testing.T) {
	for _, tt := range []struct{ a, b, want int }{{99, 16, 1}, {6, 3, 3}, {12, 18, 6}, {5, 5, 5}, {7, 1, 1}} {
		if got := gcd(tt.a, tt.b); got != tt.want {
			t.Errorf("gcd(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
