package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"vouch/api"
	"vouch/internal/edcomb"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/store"
)

// signaturesUpload answers POST /keys/signatures/upload. It accepts the
// kinds of signature the spec allows a user to upload:
//
//   - the caller's self-signing key over one of the caller's devices;
//   - one of the caller's devices over the caller's master key;
//   - the caller's user-signing key over another user's master key;
//
// and those MSC2882 adds:
//
//   - the caller's public user-signing key over another user's master key
//     or public user-signing key;
//   - the caller's master key over the caller's public user-signing key.
//
// Each uploaded object must equal the stored key apart from signatures and
// unsigned. Objects that fail get an entry in failures; the valid ones of the
// same request are stored together, in one transaction.
func (s *Server) signaturesUpload(r *http.Request, c *caller) (any, error) {
	body, err := requestBody(r)
	if err != nil {
		return nil, err
	}
	// The common body decoded without reflection (nested.go); anything
	// else through encoding/json, for its answers and errors.
	req, ok := decodeNested(body)
	if !ok {
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
	}
	objs, err := s.uploadObjects(nil, req, sectionAny)
	if err != nil {
		return nil, err
	}
	return s.storeUploadedSignatures(r.Context(), c, objs)
}

// sigSection is the section of an MSC2882 upload an object came in, which
// must match the visibility of the signature's kind.
type sigSection int

const (
	// sectionAny is the v3 endpoint's: visibility follows the key's kind.
	sectionAny sigSection = iota
	// sectionPublic holds signatures everyone (or, per the spec's list,
	// the target's viewers) may see: by self-signing, master, device and
	// public user-signing keys.
	sectionPublic
	// sectionPrivate holds signatures only their maker sees: by the
	// user-signing key.
	sectionPrivate
)

func (sec sigSection) String() string {
	switch sec {
	case sectionPublic:
		return "public"
	case sectionPrivate:
		return "private"
	}
	return "any"
}

// uploadObject is one signed object of an upload.
type uploadObject struct {
	user, id string
	raw      json.RawMessage
	section  sigSection
}

// uploadObjects appends req's objects to objs in user and key order,
// refusing a malformed user ID and more objects, in all, than the
// server's per-request cap.
func (s *Server) uploadObjects(objs []uploadObject, req api.SignaturesUpload, sec sigSection) ([]uploadObject, error) {
	for _, u := range sortedKeys(req) {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		for _, id := range sortedKeys(req[u]) {
			objs = append(objs, uploadObject{user: u, id: id, raw: req[u][id], section: sec})
			if len(objs) > s.cfg.MaxSignaturesPerUpload {
				return nil, api.InvalidParam("more than %d objects", s.cfg.MaxSignaturesPerUpload)
			}
		}
	}
	return objs, nil
}

// storeUploadedSignatures checks every object and stores the signatures of
// those that pass, answering with the failures of the others.
//
// The objects are checked in two passes: first everything but the
// signature (sequentially: map look-ups and one canonicalization each), then
// the ed25519 verifications, in parallel when a request carries
// parallelVerifyMin signatures or more, since verification is most of an
// upload's work. An object carrying several signatures of the caller's
// (say by the user-signing and the public user-signing key) is stored
// whole or not at all.
func (s *Server) storeUploadedSignatures(ctx context.Context, c *caller, objs []uploadObject) (any, error) {
	users := []string{c.UserID}
	for _, o := range objs {
		if o.user != c.UserID && !slices.Contains(users, o.user) {
			users = append(users, o.user)
		}
	}
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
	for i, o := range objs {
		cks, err := s.checkUploadedSignature(c, o, cs, own, pubs)
		if err != nil {
			fail(o.user, o.id, mapError(err))
			continue
		}
		for _, ck := range cks {
			ck.obj = i
			checks = append(checks, ck)
		}
	}
	verifyAll(checks, &s.prepared)
	bad := map[int]bool{}
	for _, ck := range checks {
		if ck.err != nil && !bad[ck.obj] {
			bad[ck.obj] = true
			fail(ck.sig.TargetUser, ck.sig.TargetKey, mapError(api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%v", ck.err)))
		}
	}
	good := make([]store.Signature, 0, len(checks))
	for _, ck := range checks {
		if !bad[ck.obj] {
			good = append(good, ck.sig)
		}
	}
	if len(good) > 0 {
		if err := s.st.PutSignatures(ctx, good); err != nil {
			return nil, err
		}
		s.notifySignatureChanges(ctx, c.UserID, good)
	}
	return resp, nil
}

// notifySignatureChanges wakes the /sync long-polls that the stored or
// deleted signatures concern: the signer alone for user-signing-key
// signatures (nobody else may see them), everyone interested in the target
// user for the others.
func (s *Server) notifySignatureChanges(ctx context.Context, signer string, sigs []store.Signature) {
	notify := map[string]bool{}
	signerOnly := false
	for _, g := range sigs {
		if g.SignerKind == store.KindUserSigning {
			signerOnly = true // only the signer may see it
			continue
		}
		notify[g.TargetUser] = true
	}
	if signerOnly {
		s.notifier.Notify(signer)
	}
	for _, u := range sortedKeys(notify) {
		s.notifyDeviceChange(ctx, u)
	}
}

// uploadCheck is one uploaded object that passed every check but its
// signature: the signing bytes, the signature and the key to verify it
// with, and the signature to store if it verifies.
type uploadCheck struct {
	obj    int // index of the uploaded object
	msg    []byte
	sigB64 string
	pub    ed25519.PublicKey
	sig    store.Signature
	// prepared, when set, is pub prepared for verifying many signatures
	// (verifyAll sets it for a key with many signatures in the upload).
	prepared *edcomb.PublicKey
	err      error // set by verify
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
	case ck.prepared != nil && !ck.prepared.Verify(ck.msg, sig),
		ck.prepared == nil && !ed25519.Verify(ck.pub, ck.msg, sig):
		ck.err = fmt.Errorf("%w: %s %s", signedjson.ErrBadSignature, ck.sig.SignerUser, ck.sig.SignerKeyID)
	}
}

// parallelVerifyMin is the number of signatures from which one upload's
// verifications are spread over GOMAXPROCS goroutines; below it the
// goroutines would cost more than they save.
const parallelVerifyMin = 4

// verifyAll verifies every check, in parallel when there are many. A key
// with at least preparedVerifyMin signatures among the checks, or one kept
// prepared from an earlier upload, is verified with its prepared form
// (edcomb), which gives the same answers as ed25519.Verify in about 0.44
// of the time.
func verifyAll(checks []uploadCheck, prepared *preparedKeys) {
	perKey := map[string]int{}
	for i := range checks {
		perKey[string(checks[i].pub)]++
	}
	keys := make(map[string]*edcomb.PublicKey, len(perKey))
	for pub, n := range perKey {
		keys[pub] = prepared.get(ed25519.PublicKey(pub), n >= preparedVerifyMin)
	}
	for i := range checks {
		checks[i].prepared = keys[string(checks[i].pub)]
	}
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

// maxSignatureLen bounds one signature value of an uploaded object
// (MSC2882: "~1KB should be sufficient per signature"). An ed25519
// signature is 86 characters; anything longer than this is refused with
// M_TOO_LARGE before it is decoded.
const maxSignatureLen = 1024

// signerCandidate is one of the caller's keys that may sign a given target.
type signerCandidate struct {
	keyID string
	kind  store.KeyKind
	pub   string // unpadded base64 cross-signing key; "" for a device
}

// checkUploadedSignature checks one uploaded object, all but its
// signatures, and returns what verifying each of the caller's signatures
// on it needs. pubs caches the request's decoded cross-signing public keys.
func (s *Server) checkUploadedSignature(c *caller, o uploadObject,
	cs map[string]map[string]store.CrossSigningKeyRecord, own map[string]store.DeviceKeysRecord,
	pubs map[string]ed25519.PublicKey) ([]uploadCheck, error) {
	user, id := o.user, o.id
	canon, sigs, err := signedjson.SigningBytesAndSignatures(o.raw)
	switch {
	case errors.Is(err, signedjson.ErrMalformedSignatures):
		return nil, err
	case err != nil:
		return nil, api.BadJSON("%v", err)
	}
	for kid, v := range sigs[c.UserID] {
		if len(v) > maxSignatureLen {
			return nil, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "signature %s is %d bytes, at most %d", kid, len(v), maxSignatureLen)
		}
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
	ownKey := func(usage string, kind store.KeyKind) []signerCandidate {
		k, ok := cs[c.UserID][usage]
		if !ok {
			return nil
		}
		return []signerCandidate{{keyID: "ed25519:" + k.PublicKey, kind: kind, pub: k.PublicKey}}
	}
	var (
		stored     []byte
		targetKind store.KeyKind
		cands      []signerCandidate
		none       string // why no key of the caller's can sign the target
	)
	master, hasMaster := cs[user][store.UsageMaster]
	userPusk, hasPusk := cs[user][store.UsagePublicUserSigning]
	switch {
	case user == c.UserID && own[id].KeyJSON != nil:
		// Own device, signed by the own self-signing key.
		stored, targetKind = own[id].KeyJSON, store.KindDevice
		cands, none = ownKey(store.UsageSelfSigning, store.KindSelfSigning), "no self-signing key to sign device "+id
	case user == c.UserID && hasMaster && master.PublicKey == id:
		// Own master key, signed by one of the caller's own devices.
		stored, targetKind, none = master.KeyJSON, store.KindMaster, "no signature by one of your devices"
		for _, kid := range sortedKeys(sigs[c.UserID]) {
			alg, dev, _ := splitKeyID(kid)
			if _, ok := own[dev]; ok && alg == "ed25519" {
				cands = []signerCandidate{{keyID: kid, kind: store.KindDevice}}
				break
			}
		}
	case user == c.UserID && hasPusk && userPusk.PublicKey == id:
		// MSC2882: own public user-signing key, (re-)signed by the master key.
		stored, targetKind = userPusk.KeyJSON, store.KindPublicUserSigning
		cands, none = ownKey(store.UsageMaster, store.KindMaster), "no master key to sign your public user-signing key"
	case user != c.UserID && hasMaster && master.PublicKey == id:
		// Another user's master key, signed by the own user-signing key
		// (privately) or, MSC2882, public user-signing key (publicly).
		stored, targetKind = master.KeyJSON, store.KindMaster
		cands = append(ownKey(store.UsageUserSigning, store.KindUserSigning), ownKey(store.UsagePublicUserSigning, store.KindPublicUserSigning)...)
		none = "no user-signing key to sign " + user
	case user != c.UserID && hasPusk && userPusk.PublicKey == id:
		// MSC2882: another user's public user-signing key, signed by the
		// own public user-signing key.
		stored, targetKind = userPusk.KeyJSON, store.KindPublicUserSigning
		cands, none = ownKey(store.UsagePublicUserSigning, store.KindPublicUserSigning), "no public user-signing key to sign "+user+"'s"
	case user == c.UserID:
		if _, isCS := findCSKey(cs[user], id); isCS {
			return nil, api.Forbidden("signatures over your %s key are not uploaded here", id)
		}
		return nil, api.NotFound("unknown key %s", id)
	default:
		return nil, api.Forbidden("only another user's master key or public user-signing key may be signed")
	}
	if len(cands) == 0 {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%s", none)
	}
	if !bytes.Equal(canon, stored) {
		return nil, api.InvalidParam("uploaded key does not match the stored key")
	}
	var out []uploadCheck
	for _, cand := range cands {
		sig, ok := sigs.Get(c.UserID, cand.keyID)
		if !ok {
			continue
		}
		if err := sectionAllows(o.section, cand.kind); err != nil {
			return nil, err
		}
		var pub ed25519.PublicKey
		if cand.kind == store.KindDevice {
			_, dev, _ := splitKeyID(cand.keyID)
			dk, err := keys.ParseDeviceKeys(own[dev].KeyJSON)
			if err != nil {
				return nil, err
			}
			if pub, err = dk.Ed25519(); err != nil {
				return nil, err
			}
		} else if pub, err = decodeCS(cand.pub); err != nil {
			return nil, err
		}
		out = append(out, uploadCheck{msg: canon, sigB64: sig, pub: pub, sig: store.Signature{TargetUser: user, TargetKey: id, TargetKind: targetKind,
			SignerUser: c.UserID, SignerKeyID: cand.keyID, SignerKind: cand.kind, Signature: sig}})
	}
	if len(out) == 0 {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%v",
			fmt.Errorf("%w: %s %s", signedjson.ErrMissingSignature, c.UserID, cands[0].keyID))
	}
	return out, nil
}

// sectionAllows checks that a signature by a key of kind was uploaded in
// the section of its visibility: signatures by the user-signing key are
// private, all others public. A user-signing-key signature in "public"
// is refused rather than quietly kept private, so that a client's mistake
// is seen and the social graph is never published by one.
func sectionAllows(sec sigSection, kind store.KeyKind) error {
	switch {
	case sec == sectionPublic && kind == store.KindUserSigning:
		return api.InvalidParam("signatures by your user-signing key are private: upload them in \"private\"")
	case sec == sectionPrivate && kind != store.KindUserSigning:
		return api.InvalidParam("signatures by your %s key are public: upload them in \"public\"", kindName(kind))
	}
	return nil
}

// kindName names a key kind in error messages.
func kindName(k store.KeyKind) string {
	switch k {
	case store.KindDevice:
		return "device"
	case store.KindMaster:
		return "master"
	case store.KindSelfSigning:
		return "self-signing"
	case store.KindUserSigning:
		return "user-signing"
	case store.KindPublicUserSigning:
		return "public user-signing"
	}
	return "unknown"
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
