package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"vouch/signedjson"
	"vouch/store"
)

// TestVerifyAll: whether the checks are verified one by one or in
// parallel, each gets the verdict of its own signature.
func TestVerifyAll(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, parallelVerifyMin - 1, parallelVerifyMin, 17, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			checks := make([]uploadCheck, n)
			wantErr := make([]error, n)
			for i := range checks {
				msg := []byte(fmt.Sprintf(`{"n":%d}`, i))
				sig := signedjson.EncodeBase64(ed25519.Sign(priv, msg))
				ck := uploadCheck{msg: msg, sigB64: sig, pub: pub, sig: store.Signature{SignerUser: "@a:x", SignerKeyID: "ed25519:k"}}
				switch i % 5 {
				case 1: // another message
					ck.msg = []byte("other")
					wantErr[i] = signedjson.ErrBadSignature
				case 2: // not base64
					ck.sigB64 = "!!"
					wantErr[i] = signedjson.ErrBadBase64
				case 3: // too short
					ck.sigB64 = signedjson.EncodeBase64(make([]byte, 63))
					wantErr[i] = signedjson.ErrBadSignature
				case 4: // a public key of the wrong size
					ck.pub = pub[:31]
					wantErr[i] = signedjson.ErrBadKey
				}
				checks[i] = ck
			}
			verifyAll(checks)
			for i, ck := range checks {
				if wantErr[i] == nil && ck.err != nil || wantErr[i] != nil && !errors.Is(ck.err, wantErr[i]) {
					t.Errorf("check %d: %v, want %v", i, ck.err, wantErr[i])
				}
			}
		})
	}
}

// BenchmarkVerifyAll16 verifies 16 signatures the way one batched upload
// does.
func BenchmarkVerifyAll16(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 300)
	sig := signedjson.EncodeBase64(ed25519.Sign(priv, msg))
	checks := make([]uploadCheck, 16)
	for b.Loop() {
		for i := range checks {
			checks[i] = uploadCheck{msg: msg, sigB64: sig, pub: pub}
		}
		verifyAll(checks)
		if checks[15].err != nil {
			b.Fatal(checks[15].err)
		}
	}
}
