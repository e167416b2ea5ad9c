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
	warm := &preparedKeys{}
	warm.get(pub, true)
	for _, n := range []int{0, 1, parallelVerifyMin - 1, parallelVerifyMin, preparedVerifyMin - 1, preparedVerifyMin, 17, 64} {
		for _, kept := range []*preparedKeys{{}, warm} {
			t.Run(fmt.Sprint(n, "/warm=", kept == warm), func(t *testing.T) {
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
				fullSize := 0
				for _, ck := range checks {
					if len(ck.pub) == ed25519.PublicKeySize {
						fullSize++
					}
				}
				verifyAll(checks, kept)
				for i, ck := range checks {
					if wantErr[i] == nil && ck.err != nil || wantErr[i] != nil && !errors.Is(ck.err, wantErr[i]) {
						t.Errorf("check %d: %v, want %v", i, ck.err, wantErr[i])
					}
					// The full-size key is prepared when it signs enough of the
					// checks or was kept from before; never otherwise.
					wantPrepared := len(ck.pub) == ed25519.PublicKeySize && (kept == warm || fullSize >= preparedVerifyMin)
					if (ck.prepared != nil) != wantPrepared {
						t.Errorf("check %d: prepared = %v, want %v", i, ck.prepared != nil, wantPrepared)
					}
				}
			})
		}
	}
}

// TestPreparedKeysBound: the kept prepared keys never exceed their cap,
// the oldest goes first, and a key asked for without prepare is not added.
func TestPreparedKeysBound(t *testing.T) {
	var p preparedKeys
	pubs := make([]ed25519.PublicKey, preparedKeyCap+3)
	for i := range pubs {
		pubs[i], _, _ = ed25519.GenerateKey(rand.Reader)
	}
	if p.get(pubs[0], false) != nil || len(p.byKey) != 0 {
		t.Fatal("a key asked for without prepare was prepared")
	}
	for _, pub := range pubs {
		if p.get(pub, true) == nil {
			t.Fatal("a valid key could not be prepared")
		}
	}
	if len(p.byKey) != preparedKeyCap || len(p.order) != preparedKeyCap {
		t.Fatalf("kept %d keys (order %d), want %d", len(p.byKey), len(p.order), preparedKeyCap)
	}
	if p.get(pubs[0], false) != nil || p.get(pubs[len(pubs)-1], false) == nil {
		t.Fatal("eviction is not oldest-first")
	}
	if p.get(ed25519.PublicKey(make([]byte, 31)), true) != nil {
		t.Fatal("a 31-byte key was prepared")
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
		verifyAll(checks, &preparedKeys{})
		if checks[15].err != nil {
			b.Fatal(checks[15].err)
		}
	}
}
