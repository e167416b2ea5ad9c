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
