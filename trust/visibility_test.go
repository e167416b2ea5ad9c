package trust_test

import (
	"testing"

	"vouch/trust"
)

func TestSignatureVisible(t *testing.T) {
	const a, b, c = "@alice:x", "@bob:x", "@carol:x"
	D, M, S, U, P := trust.KindDevice, trust.KindMaster, trust.KindSelfSigning, trust.KindUserSigning, trust.KindPublicUserSigning
	tests := []struct {
		name          string
		viewer, owner string
		target        trust.KeyKind
		signer        string
		signerKind    trust.KeyKind
		want          bool
	}{
		// The viewer's own master, self-signing and user-signing keys.
		{"own MSK over own SSK", a, a, S, a, M, true},
		{"own MSK over own USK", a, a, U, a, M, true},
		{"own SSK over own device", a, a, D, a, S, true},
		{"own USK over bob MSK", a, b, M, a, U, true},
		// Own devices about the own master key.
		{"own device over own MSK", a, a, M, a, D, true},
		// Other users' SSK about their devices, MSK about their SSK, devices about their MSK.
		{"bob SSK over bob device", a, b, D, b, S, true},
		{"bob MSK over bob SSK", a, b, S, b, M, true},
		{"bob device over bob MSK", a, b, M, b, D, true},
		{"bob device self-signature", a, b, D, b, D, true},
		// User-signing signatures: only the signer sees them.
		{"bob USK over alice MSK, seen by alice", a, a, M, b, U, false},
		{"bob USK over carol MSK, seen by alice", a, c, M, b, U, false},
		{"bob USK over carol MSK, seen by carol", c, c, M, b, U, false},
		{"bob USK over carol MSK, seen by bob", b, c, M, b, U, true},
		// Others' master key over their USK: the USK itself is private.
		{"bob MSK over bob USK", a, b, U, b, M, false},
		// Master over public user-signing key, and PUSK signatures: public.
		{"bob MSK over bob PUSK", a, b, P, b, M, true},
		{"bob PUSK over carol MSK", a, c, M, b, P, true},
		// Seed 000: "other users' master or self-signing keys about their
		// own devices"; key self-signatures say nothing about anyone else.
		{"bob MSK over bob device", a, b, D, b, M, true},
		{"bob MSK self-signature", a, b, M, b, M, true},
		{"bob SSK over bob USK", a, b, U, b, S, false},
		{"bob SSK over bob MSK", a, b, M, b, S, false},
		{"bob device over bob USK", a, b, U, b, D, false},
		{"bob USK over bob device", a, b, D, b, U, false},
		{"bob USK over bob MSK", a, b, M, b, U, false},
		{"alice USK over bob MSK, seen by bob", b, b, M, a, U, false},
		{"alice device self-signature, seen by alice", a, a, D, a, D, true},
		// Cross-user signatures by other kinds are not visible.
		{"bob SSK over carol device", a, c, D, b, S, false},
		{"bob MSK over carol SSK", a, c, S, b, M, false},
		{"bob device over carol MSK", a, c, M, b, D, false},
		{"bob device over bob SSK", a, b, S, b, D, false},
		{"unknown signer kind", a, a, M, a, trust.KindUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trust.SignatureVisible(tt.viewer, tt.owner, tt.target, tt.signer, tt.signerKind); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSignatureVisibleInvariants checks the two rules the whole table must
// keep, over every combination of viewer, owner, signer and kinds: nobody
// but its owner ever sees a user-signing-key signature, and a device's
// self-signature (a device signing its own device keys) is visible to all.
// Signatures by the viewer's own cross-signing keys are always visible.
func TestSignatureVisibleInvariants(t *testing.T) {
	users := []string{"@alice:x", "@bob:x", "@carol:x"}
	allKinds := []trust.KeyKind{trust.KindUnknown, trust.KindDevice, trust.KindMaster, trust.KindSelfSigning, trust.KindUserSigning, trust.KindPublicUserSigning}
	for _, viewer := range users {
		for _, owner := range users {
			for _, signer := range users {
				for _, target := range allKinds {
					for _, sk := range allKinds {
						got := trust.SignatureVisible(viewer, owner, target, signer, sk)
						if sk == trust.KindUserSigning && got != (viewer == signer) {
							t.Errorf("USK signature by %s on %s's %s seen by %s: %v", signer, owner, target, viewer, got)
						}
						if sk == trust.KindDevice && target == trust.KindDevice && signer == owner && !got {
							t.Errorf("device self-signature of %s hidden from %s", owner, viewer)
						}
						if viewer == signer && (sk == trust.KindMaster || sk == trust.KindSelfSigning || sk == trust.KindUserSigning) && !got {
							t.Errorf("%s cannot see their own %s signature on %s's %s", viewer, sk, owner, target)
						}
						if sk == trust.KindUnknown && got {
							t.Errorf("unknown signer kind visible")
						}
					}
				}
			}
		}
	}
}
