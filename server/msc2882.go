package server

import (
	"net/http"

	"vouch/api"
	"vouch/keys"
	"vouch/store"
)

// msc2882Prefix is the unstable prefix of MSC2882's endpoints ("The new
// endpoints will be prefixed with /unstable/msc2882").
const msc2882Prefix = "/_matrix/client/unstable/msc2882"

// publicPrivateSignaturesUpload answers POST
// /_matrix/client/unstable/msc2882/keys/signatures/upload: the signatures
// of the v3 endpoint, sorted by the uploader into "public" and "private".
// A signature's visibility is still decided by its key's kind
// (trust.SignatureVisible); a signature in the wrong section is refused in
// failures with M_INVALID_PARAM. The answer is the v3 endpoint's.
func (s *Server) publicPrivateSignaturesUpload(r *http.Request, c *caller) (any, error) {
	var req api.PublicPrivateSignaturesUpload
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	objs, err := s.uploadObjects(nil, req.Public, sectionPublic)
	if err != nil {
		return nil, err
	}
	if objs, err = s.uploadObjects(objs, req.Private, sectionPrivate); err != nil {
		return nil, err
	}
	return s.storeUploadedSignatures(r.Context(), c, objs)
}

// signaturesDelete answers POST
// /_matrix/client/unstable/msc2882/keys/signatures/delete, which MSC2882
// names without defining: body user ID → key or device ID → key IDs of the
// caller's keys whose signatures over that key are deleted. Only the
// caller's own signatures can be named (the signer is always the caller).
// The answer is {"failures": user → key → error}: M_INVALID_PARAM for a
// malformed key ID, M_FORBIDDEN for a key ID that is not one of the
// caller's current keys or names a device's self-signature, M_NOT_FOUND
// for a signature that does not exist. The others are deleted together.
func (s *Server) signaturesDelete(r *http.Request, c *caller) (any, error) {
	var req api.SignaturesDelete
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	n := 0
	for u, byKey := range req {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		for _, ids := range byKey {
			n += len(ids)
		}
	}
	if n > s.cfg.MaxSignaturesPerUpload {
		return nil, api.InvalidParam("more than %d signatures", s.cfg.MaxSignaturesPerUpload)
	}
	ctx := r.Context()
	cs, err := s.st.GetCrossSigningKeys(ctx, []string{c.UserID})
	if err != nil {
		return nil, err
	}
	devs, err := s.st.GetDeviceKeys(ctx, []string{c.UserID})
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{} // the caller's current key IDs
	for _, k := range cs[c.UserID] {
		mine["ed25519:"+k.PublicKey] = true
	}
	for _, d := range devs[c.UserID] {
		mine["ed25519:"+d.DeviceID] = true
	}
	resp := api.SignaturesUploadResponse{Failures: map[string]map[string]*api.Error{}}
	fail := func(u, id string, e *api.Error) {
		if resp.Failures[u] == nil {
			resp.Failures[u] = map[string]*api.Error{}
		}
		resp.Failures[u][id] = e
	}
	var refs []store.SignatureRef
	for _, u := range sortedKeys(req) {
		for _, id := range sortedKeys(req[u]) {
			var e *api.Error
			var these []store.SignatureRef
			if len(req[u][id]) == 0 {
				e = api.InvalidParam("no key IDs given for %s %s", u, id)
			}
			for _, kid := range req[u][id] {
				alg, name, ok := splitKeyID(kid)
				switch {
				case !ok || alg != "ed25519" || name == "":
					e = api.InvalidParam("%q is not a key ID ed25519:<key>", kid)
				case !mine[kid]:
					e = api.Forbidden("%s is not one of your keys: only your own signatures can be deleted", kid)
				case u == c.UserID && name == id:
					e = api.Forbidden("a device's signature of its own keys is part of them and cannot be deleted")
				}
				if e != nil {
					break
				}
				these = append(these, store.SignatureRef{TargetUser: u, TargetKey: id, SignerKeyID: kid})
			}
			if e != nil {
				fail(u, id, e)
				continue
			}
			refs = append(refs, these...)
		}
	}
	if len(refs) == 0 {
		return resp, nil
	}
	deleted, err := s.st.DeleteSignatures(ctx, c.UserID, refs)
	if err != nil {
		return nil, err
	}
	gone := make(map[store.SignatureRef]bool, len(deleted))
	for _, g := range deleted {
		gone[store.SignatureRef{TargetUser: g.TargetUser, TargetKey: g.TargetKey, SignerKeyID: g.SignerKeyID}] = true
	}
	for _, ref := range refs {
		if !gone[ref] {
			fail(ref.TargetUser, ref.TargetKey, api.NotFound("no signature by your key %s over %s %s", ref.SignerKeyID, ref.TargetUser, ref.TargetKey))
		}
	}
	s.notifySignatureChanges(ctx, c.UserID, deleted)
	return resp, nil
}
