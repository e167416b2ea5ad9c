package graph_test

import (
	"fmt"
	"testing"

	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/trust"
	"vouch/trust/graph"
)

// organisation is an organisation account whose public user-signing key
// signs the master keys of n members; the member at index forged carries a
// signature under the organisation's key ID made by another key.
func organisation(t testing.TB, n, forged int) (*testidentity.Identity, map[string]*trust.UserKeys) {
	t.Helper()
	org := testidentity.New("@org:example.org", "O1")
	other := testidentity.NewKey("impostor")
	users := map[string]*trust.UserKeys{org.UserID: {
		UserID:            org.UserID,
		Master:            testidentity.MustParseCrossSigningKey(t, org.MasterKey()),
		PublicUserSigning: testidentity.MustParseCrossSigningKey(t, org.SubKey(keys.UsagePublicUserSigning)),
	}}
	for i := range n {
		m := testidentity.New(fmt.Sprintf("@member%03d:example.org", i))
		signer := org.PublicUserSig
		if i == forged {
			signer = other
		}
		master := sign(t, m.MasterKey(), org.UserID, org.PublicUserSig.KeyID(), signer)
		users[m.UserID] = &trust.UserKeys{UserID: m.UserID, Master: testidentity.MustParseCrossSigningKey(t, master)}
	}
	return org, users
}

// TestBuildOrganisation: a signer with many signatures in the graph is
// verified with a prepared key (above the threshold), and every verdict is
// still the one signedjson.Verify gives: the forged signature is invalid,
// the others valid. Below the threshold the plain path gives the same.
func TestBuildOrganisation(t *testing.T) {
	for _, n := range []int{3, 12, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			org, users := organisation(t, n, 1)
			g := graph.Build(org.UserID, users)
			valid, invalid := 0, 0
			for _, e := range g.Edges {
				from, to := g.Nodes[e.From], g.Nodes[e.To]
				if from.UserID != org.UserID || from.Kind != trust.KindPublicUserSigning || to.Kind != trust.KindMaster {
					continue
				}
				switch e.Status {
				case graph.Valid:
					valid++
				case graph.Invalid:
					invalid++
					if to.UserID != "@member001:example.org" {
						t.Errorf("the signature over %s is invalid", to.UserID)
					}
				default:
					t.Errorf("edge to %s: status %v", to.UserID, e.Status)
				}
			}
			if valid != n-1 || invalid != 1 {
				t.Fatalf("%d valid, %d invalid; want %d and 1", valid, invalid, n-1)
			}
		})
	}
}

// BenchmarkBuildOrganisation builds the graph of an organisation's key
// signing 200 members' master keys (201 verifications, 200 by one key).
func BenchmarkBuildOrganisation(b *testing.B) {
	org, users := organisation(b, 200, -1)
	for b.Loop() {
		graph.Build(org.UserID, users)
	}
}
