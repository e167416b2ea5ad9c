package server

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"vouch/api"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/store"
)

// signaturesUpload answers POST /keys/signatures/upload. It accepts the
// three kinds of signature the spec allows a user to upload:
//
//   - the caller's self-signing key over one of the caller's devices;
//   - one of the caller's devices over the caller's master key;
//   - the caller's user-signing key over another user's master key.
//
// Each uploaded object must equal the stored key apart from signatures and
// unsigned. Objects that fail get an entry in failures; the valid ones of the
// same request are stored together, in one transaction.
//
// The objects are checked in two passes: first everything but the
// signature (sequentially: map look-ups and one canonicalization each), then
// the ed25519 verifications, in parallel when a request carries
// parallelVerifyMin objects or more, since verification is most of an
// upload's work.
func (s *Server) signaturesUpload(r *http.Request, c *caller) (any, error) {
	var req api.SignaturesUpload
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	n := 0
	users := []string{c.UserID}
	for u, objs := range req {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		n += len(objs)
		if u != c.UserID {
			users = append(users, u)
		}
	}
	if n > s.cfg.MaxSignaturesPerUpload {
		return nil, api.InvalidParam("more than %d objects", s.cfg.MaxSignaturesPerUpload)
	}
	ctx := r.Context()
	cs, err := s.st.GetCrossSigningKeys(ctx, users)
	if err != nil {
		return nil, err
	}
	devs, err := s.st.GetDeviceKeys(ctx, []string{c.UserID})
	if err != nil {
		return nil, err
	}
	own := map[string]store.DeviceKeysRecord{}
	for _, d := range devs[c.UserID] {
		own[d.DeviceID] = d
	}
	resp := api.SignaturesUploadResponse{Failures: map[string]map[string]*api.Error{}}
	fail := func(u, id string, e *api.Error) {
		if resp.Failures[u] == nil {
			resp.Failures[u] = map[string]*api.Error{}
		}
		resp.Failures[u][id] = e
	}
	pubs := map[string]ed25519.PublicKey{} // decoded cross-signing keys of this request
	var checks []uploadCheck
	for _, u := range sortedKeys(req) {
		for _, id := range sortedKeys(req[u]) {
			ck, err := s.checkUploadedSignature(c, u, id, req[u][id], cs, own, pubs)
			if err != nil {
				fail(u, id, mapError(err))
				continue
			}
			checks = append(checks, ck)
		}
	}
	verifyAll(checks)
	good := make([]store.Signature, 0, len(checks))
	for _, ck := range checks {
		if ck.err != nil {
			fail(ck.sig.TargetUser, ck.sig.TargetKey, mapError(api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%v", ck.err)))
			continue
		}
		good = append(good, ck.sig)
	}
	if len(good) > 0 {
		if err := s.st.PutSignatures(ctx, good); err != nil {
			return nil, err
		}
		notify := map[string]bool{}
		signerOnly := false
		for _, g := range good {
			if g.SignerKind == store.KindUserSigning {
				signerOnly = true // only the signer may see it
				continue
			}
			notify[g.TargetUser] = true
		}
		if signerOnly {
			s.notifier.Notify(c.UserID)
		}
		for u := range notify {
			s.notifyDeviceChange(ctx, u)
		}
	}
	return resp, nil
}

// uploadCheck is one uploaded object that passed every check but its
// signature: the signing bytes, the signature and the key to verify it
// with, and the signature to store if it verifies.
type uploadCheck struct {
	msg    []byte
	sigB64 string
	pub    ed25519.PublicKey
	sig    store.Signature
	err    error // set by verify
}

// verify checks the signature the way signedjson.Verify does (strict
// base64, 64 bytes, ed25519), over signing bytes computed once.
func (ck *uploadCheck) verify() {
	if len(ck.pub) != ed25519.PublicKeySize { // ed25519.Verify would panic
		ck.err = fmt.Errorf("%w: public key is %d bytes, want %d", signedjson.ErrBadKey, len(ck.pub), ed25519.PublicKeySize)
		return
	}
	sig, err := signedjson.DecodeBase64(ck.sigB64)
	switch {
	case err != nil:
		ck.err = fmt.Errorf("signature %s %s: %w", ck.sig.SignerUser, ck.sig.SignerKeyID, err)
	case len(sig) != ed25519.SignatureSize:
		ck.err = fmt.Errorf("%w: signature %s %s is %d bytes, want %d", signedjson.ErrBadSignature, ck.sig.SignerUser, ck.sig.SignerKeyID, len(sig), ed25519.SignatureSize)
	case !ed25519.Verify(ck.pub, ck.msg, sig):
		ck.err = fmt.Errorf("%w: %s %s", signedjson.ErrBadSignature, ck.sig.SignerUser, ck.sig.SignerKeyID)
	}
}

// parallelVerifyMin is the number of signatures from which one upload's
// verifications are spread over GOMAXPROCS goroutines; below it the
// goroutines would cost more than they save.
const parallelVerifyMin = 4

// verifyAll verifies every check, in parallel when there are many.
func verifyAll(checks []uploadCheck) {
	workers := min(runtime.GOMAXPROCS(0), len(checks)/2)
	if len(checks) < parallelVerifyMin || workers < 2 {
		for i := range checks {
			checks[i].verify()
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(checks) {
					return
				}
				checks[i].verify()
			}
		})
	}
	wg.Wait()
}

// checkUploadedSignature checks one uploaded object, all but its
// signature, and returns what verifying the signature needs. pubs caches
// the request's decoded cross-signing public keys.
func (s *Server) checkUploadedSignature(c *caller, user, id string, raw json.RawMessage,
	cs map[string]map[string]store.CrossSigningKeyRecord, own map[string]store.DeviceKeysRecord,
	pubs map[string]ed25519.PublicKey) (uploadCheck, error) {
	canon, err := signedjson.SigningBytes(raw)
	if err != nil {
		return uploadCheck{}, api.BadJSON("%v", err)
	}
	sigs, err := signedjson.SignaturesOf(raw)
	if err != nil {
		return uploadCheck{}, err
	}
	decodeCS := func(b64 string) (ed25519.PublicKey, error) {
		if pub, ok := pubs[b64]; ok {
			return pub, nil
		}
		pub, err := keys.DecodePublicKey(b64)
		if err != nil {
			return nil, err
		}
		pubs[b64] = pub
		return pub, nil
	}
	var (
		stored     []byte
		targetKind store.KeyKind
		signerKind store.KeyKind
		signerID   string
		signerPub  ed25519.PublicKey
	)
	master, hasMaster := cs[user][store.UsageMaster]
	switch {
	case user == c.UserID && own[id].KeyJSON != nil:
		// Own device, signed by the own self-signing key.
		ssk, ok := cs[c.UserID][store.UsageSelfSigning]
		if !ok {
			return uploadCheck{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no self-signing key to sign device %s", id)
		}
		stored, targetKind, signerKind, signerID = own[id].KeyJSON, store.KindDevice, store.KindSelfSigning, "ed25519:"+ssk.PublicKey
		if signerPub, err = decodeCS(ssk.PublicKey); err != nil {
			return uploadCheck{}, err
		}
	case user == c.UserID && hasMaster && master.PublicKey == id:
		// Own master key, signed by one of the caller's own devices.
		stored, targetKind, signerKind = master.KeyJSON, store.KindMaster, store.KindDevice
		for _, kid := range sortedKeys(sigs[c.UserID]) {
			alg, dev, _ := splitKeyID(kid)
			if d, ok := own[dev]; ok && alg == "ed25519" {
				dk, err := keys.ParseDeviceKeys(d.KeyJSON)
				if err != nil {
					return uploadCheck{}, err
				}
				if signerPub, err = dk.Ed25519(); err != nil {
					return uploadCheck{}, err
				}
				signerID = kid
				break
			}
		}
		if signerID == "" {
			return uploadCheck{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no signature by one of your devices")
		}
	case user != c.UserID && hasMaster && master.PublicKey == id:
		// Another user's master key, signed by the own user-signing key.
		usk, ok := cs[c.UserID][store.UsageUserSigning]
		if !ok {
			return uploadCheck{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no user-signing key to sign %s", user)
		}
		stored, targetKind, signerKind, signerID = master.KeyJSON, store.KindMaster, store.KindUserSigning, "ed25519:"+usk.PublicKey
		if signerPub, err = decodeCS(usk.PublicKey); err != nil {
			return uploadCheck{}, err
		}
	case user == c.UserID:
		if _, isCS := findCSKey(cs[user], id); isCS {
			return uploadCheck{}, api.Forbidden("signatures over your %s key are not uploaded here", id)
		}
		return uploadCheck{}, api.NotFound("unknown key %s", id)
	default:
		return uploadCheck{}, api.Forbidden("only another user's master key may be signed")
	}
	if !bytes.Equal(canon, stored) {
		return uploadCheck{}, api.InvalidParam("uploaded key does not match the stored key")
	}
	sig, ok := sigs.Get(c.UserID, signerID)
	if !ok {
		return uploadCheck{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%v",
			fmt.Errorf("%w: %s %s", signedjson.ErrMissingSignature, c.UserID, signerID))
	}
	return uploadCheck{msg: canon, sigB64: sig, pub: signerPub, sig: store.Signature{TargetUser: user, TargetKey: id, TargetKind: targetKind,
		SignerUser: c.UserID, SignerKeyID: signerID, SignerKind: signerKind, Signature: sig}}, nil
}

func findCSKey(m map[string]store.CrossSigningKeyRecord, pub string) (string, bool) {
	for usage, k := range m {
		if k.PublicKey == pub {
			return usage, true
		}
	}
	return "", false
}

func splitKeyID(kid string) (alg, id string, ok bool) {
	for i := 0; i < len(kid); i++ {
		if kid[i] == ':' {
			return kid[:i], kid[i+1:], true
		}
	}
	return "", "", false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
