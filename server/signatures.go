package server

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"sort"

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
	var good []store.Signature
	for _, u := range sortedKeys(req) {
		for _, id := range sortedKeys(req[u]) {
			sig, err := s.checkUploadedSignature(c, u, id, req[u][id], cs, own)
			if err != nil {
				fail(u, id, mapError(err))
				continue
			}
			good = append(good, sig)
		}
	}
	if len(good) > 0 {
		if err := s.st.PutSignatures(ctx, good); err != nil {
			return nil, err
		}
		notify := map[string]bool{}
		for _, g := range good {
			if g.SignerKind == store.KindUserSigning {
				s.notifier.Notify(c.UserID) // only the signer may see it
				continue
			}
			notify[g.TargetUser] = true
		}
		for u := range notify {
			s.notifyDeviceChange(ctx, u)
		}
	}
	return resp, nil
}

// checkUploadedSignature verifies one uploaded object and returns the
// signature to store.
func (s *Server) checkUploadedSignature(c *caller, user, id string, raw json.RawMessage,
	cs map[string]map[string]store.CrossSigningKeyRecord, own map[string]store.DeviceKeysRecord) (store.Signature, error) {
	canon, err := signedjson.SigningBytes(raw)
	if err != nil {
		return store.Signature{}, api.BadJSON("%v", err)
	}
	sigs, err := signedjson.SignaturesOf(raw)
	if err != nil {
		return store.Signature{}, err
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
			return store.Signature{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no self-signing key to sign device %s", id)
		}
		stored, targetKind, signerKind, signerID = own[id].KeyJSON, store.KindDevice, store.KindSelfSigning, "ed25519:"+ssk.PublicKey
		if signerPub, err = keys.DecodePublicKey(ssk.PublicKey); err != nil {
			return store.Signature{}, err
		}
	case user == c.UserID && hasMaster && master.PublicKey == id:
		// Own master key, signed by one of the caller's own devices.
		stored, targetKind, signerKind = master.KeyJSON, store.KindMaster, store.KindDevice
		for _, kid := range sortedKeys(sigs[c.UserID]) {
			alg, dev, _ := splitKeyID(kid)
			if d, ok := own[dev]; ok && alg == "ed25519" {
				dk, err := keys.ParseDeviceKeys(d.KeyJSON)
				if err != nil {
					return store.Signature{}, err
				}
				if signerPub, err = dk.Ed25519(); err != nil {
					return store.Signature{}, err
				}
				signerID = kid
				break
			}
		}
		if signerID == "" {
			return store.Signature{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no signature by one of your devices")
		}
	case user != c.UserID && hasMaster && master.PublicKey == id:
		// Another user's master key, signed by the own user-signing key.
		usk, ok := cs[c.UserID][store.UsageUserSigning]
		if !ok {
			return store.Signature{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "no user-signing key to sign %s", user)
		}
		stored, targetKind, signerKind, signerID = master.KeyJSON, store.KindMaster, store.KindUserSigning, "ed25519:"+usk.PublicKey
		if signerPub, err = keys.DecodePublicKey(usk.PublicKey); err != nil {
			return store.Signature{}, err
		}
	case user == c.UserID:
		if _, isCS := findCSKey(cs[user], id); isCS {
			return store.Signature{}, api.Forbidden("signatures over your %s key are not uploaded here", id)
		}
		return store.Signature{}, api.NotFound("unknown key %s", id)
	default:
		return store.Signature{}, api.Forbidden("only another user's master key may be signed")
	}
	if !bytes.Equal(canon, stored) {
		return store.Signature{}, api.InvalidParam("uploaded key does not match the stored key")
	}
	if err := signedjson.Verify(raw, c.UserID, signerID, signerPub); err != nil {
		return store.Signature{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%v", err)
	}
	sig, _ := sigs.Get(c.UserID, signerID)
	return store.Signature{TargetUser: user, TargetKey: id, TargetKind: targetKind,
		SignerUser: c.UserID, SignerKeyID: signerID, SignerKind: signerKind, Signature: sig}, nil
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
