package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"vouch/api"
	"vouch/canonicaljson"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/store"
)

// notifyDeviceChange wakes the /sync of user and of everyone watching user.
func (s *Server) notifyDeviceChange(ctx context.Context, user string) {
	watchers, err := s.st.Watchers(ctx, user)
	if err != nil {
		s.log.Warn("cannot list watchers", "user_id", user, "err", err)
	}
	s.notifier.Notify(append(watchers, user)...)
}

// keysUpload answers POST /keys/upload.
func (s *Server) keysUpload(r *http.Request, c *caller) (any, error) {
	body, err := requestBody(r)
	if err != nil {
		return nil, err
	}
	req, ok := decodeKeysUpload(body)
	if !ok {
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
	}
	if len(req.OneTimeKeys)+len(req.FallbackKeys) > s.cfg.MaxOneTimeKeysPerUpload {
		return nil, api.InvalidParam("more than %d one-time keys", s.cfg.MaxOneTimeKeysPerUpload)
	}
	up := store.KeysUpload{UserID: c.UserID, DeviceID: c.DeviceID, MaxUnclaimed: s.cfg.MaxUnclaimedOneTimeKeys}
	if len(req.DeviceKeys) > 0 && string(req.DeviceKeys) != "null" {
		dk, err := keys.ParseDeviceKeys(req.DeviceKeys)
		if err != nil {
			return nil, err
		}
		if err := dk.Validate(c.UserID, c.DeviceID); err != nil {
			return nil, err
		}
		keyJSON, err := signedjson.SigningBytes(req.DeviceKeys)
		if err != nil {
			return nil, api.BadJSON("device_keys: %v", err)
		}
		kid := "ed25519:" + c.DeviceID
		sig, _ := dk.Signatures.Get(c.UserID, kid)
		up.DeviceKeys = &store.DeviceKeysRecord{UserID: c.UserID, DeviceID: c.DeviceID, KeyJSON: keyJSON}
		up.SelfSignature = &store.Signature{TargetUser: c.UserID, TargetKey: c.DeviceID, TargetKind: store.KindDevice,
			SignerUser: c.UserID, SignerKeyID: kid, SignerKind: store.KindDevice, Signature: sig}
	}
	if up.OneTimeKeys, err = parseOneTimeKeys(req.OneTimeKeys, false); err != nil {
		return nil, err
	}
	if up.FallbackKeys, err = parseOneTimeKeys(req.FallbackKeys, true); err != nil {
		return nil, err
	}
	counts, err := s.st.UploadKeys(r.Context(), up)
	if err != nil {
		return nil, err
	}
	if up.DeviceKeys != nil {
		s.notifyDeviceChange(r.Context(), c.UserID)
	}
	if _, ok := counts["signed_curve25519"]; !ok {
		counts["signed_curve25519"] = 0
	}
	return api.KeysUploadResponse{OneTimeKeyCounts: counts}, nil
}

// parseOneTimeKeys checks "algorithm:id" key IDs and that each value is a
// string or an object, and canonicalizes it. A fallback upload holds at most
// one key per algorithm.
func parseOneTimeKeys(in map[string]json.RawMessage, fallback bool) ([]store.OneTimeKey, error) {
	ids := make([]string, 0, len(in))
	for id := range in {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]store.OneTimeKey, 0, len(in))
	seen := map[string]bool{}
	for _, id := range ids {
		alg, kid, ok := strings.Cut(id, ":")
		if !ok || alg == "" || kid == "" || len(id) > 255 {
			return nil, api.InvalidParam("one-time key ID %q is not algorithm:id", id)
		}
		raw := in[id]
		canon, err := canonicaljson.Canonicalize(raw)
		if err != nil {
			return nil, api.BadJSON("one-time key %q: %v", id, err)
		}
		if c := canon[0]; c != '"' && c != '{' {
			return nil, api.BadJSON("one-time key %q must be a string or an object", id)
		}
		if fallback {
			if seen[alg] {
				return nil, api.InvalidParam("more than one fallback key for %s", alg)
			}
			seen[alg] = true
		}
		out = append(out, store.OneTimeKey{KeyID: id, Algorithm: alg, JSON: canon})
	}
	return out, nil
}

// keysClaim answers POST /keys/claim.
func (s *Server) keysClaim(r *http.Request, _ *caller) (any, error) {
	var req api.KeysClaimRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	n := 0
	for u, devs := range req.OneTimeKeys {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		n += len(devs)
	}
	if n > s.cfg.MaxQueryUsers {
		return nil, api.InvalidParam("more than %d devices", s.cfg.MaxQueryUsers)
	}
	got, err := s.st.ClaimKeys(r.Context(), req.OneTimeKeys)
	if err != nil {
		return nil, err
	}
	out := api.KeysClaimResponse{Failures: map[string]json.RawMessage{}, OneTimeKeys: map[string]map[string]map[string]json.RawMessage{}}
	for u, devs := range got {
		out.OneTimeKeys[u] = map[string]map[string]json.RawMessage{}
		for d, ks := range devs {
			out.OneTimeKeys[u][d] = map[string]json.RawMessage{}
			for id, js := range ks {
				out.OneTimeKeys[u][d][id] = js
			}
		}
	}
	return out, nil
}

// keysChanges answers GET /keys/changes?from=&to=.
func (s *Server) keysChanges(r *http.Request, c *caller) (any, error) {
	q := r.URL.Query()
	from, err := parseToken(q.Get("from"))
	if err != nil {
		return nil, err
	}
	to, err := parseToken(q.Get("to"))
	if err != nil {
		return nil, err
	}
	changed, err := s.st.ChangedUsers(r.Context(), c.UserID, from, to)
	if err != nil {
		return nil, err
	}
	if changed == nil {
		changed = []string{}
	}
	return api.KeyChanges{Changed: changed, Left: []string{}}, nil
}
