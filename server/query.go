package server

import (
	"encoding/json"
	"net/http"

	"vouch/api"
	"vouch/keys"
	"vouch/store"
	"vouch/trust"
)

// trustKind maps a stored key kind to the trust package's.
func trustKind(k store.KeyKind) trust.KeyKind {
	switch k {
	case store.KindDevice:
		return trust.KindDevice
	case store.KindMaster:
		return trust.KindMaster
	case store.KindSelfSigning:
		return trust.KindSelfSigning
	case store.KindUserSigning:
		return trust.KindUserSigning
	}
	return trust.KindUnknown
}

// keysQuery answers POST /keys/query. Every key carries only the signatures
// the caller may see (trust.SignatureVisible); user-signing keys are returned
// to their owner only. The caller becomes interested in the queried users'
// device-list changes. All users are read in three queries.
func (s *Server) keysQuery(r *http.Request, c *caller) (any, error) {
	var req api.KeysQueryRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.DeviceKeys) > s.cfg.MaxQueryUsers {
		return nil, api.InvalidParam("more than %d users", s.cfg.MaxQueryUsers)
	}
	users := make([]string, 0, len(req.DeviceKeys))
	for u := range req.DeviceKeys {
		if _, err := keys.ParseUserID(u); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	ctx := r.Context()
	devs, err := s.st.GetDeviceKeys(ctx, users)
	if err != nil {
		return nil, err
	}
	cs, err := s.st.GetCrossSigningKeys(ctx, users)
	if err != nil {
		return nil, err
	}
	sigs, err := s.st.GetSignatures(ctx, users)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddInterest(ctx, c.UserID, users); err != nil {
		return nil, err
	}
	// target user → target key → visible signatures.
	visible := map[string]map[string]signedSet{}
	for _, g := range sigs {
		if !trust.SignatureVisible(c.UserID, g.TargetUser, trustKind(g.TargetKind), g.SignerUser, trustKind(g.SignerKind)) {
			continue
		}
		if visible[g.TargetUser] == nil {
			visible[g.TargetUser] = map[string]signedSet{}
		}
		set := visible[g.TargetUser][g.TargetKey]
		if set == nil {
			set = signedSet{}
			visible[g.TargetUser][g.TargetKey] = set
		}
		if set[g.SignerUser] == nil {
			set[g.SignerUser] = map[string]string{}
		}
		set[g.SignerUser][g.SignerKeyID] = g.Signature
	}
	resp := api.KeysQueryResponse{
		Failures:        map[string]json.RawMessage{},
		DeviceKeys:      make(map[string]map[string]json.RawMessage, len(users)),
		MasterKeys:      map[string]json.RawMessage{},
		SelfSigningKeys: map[string]json.RawMessage{},
		UserSigningKeys: map[string]json.RawMessage{},
	}
	for u, wanted := range req.DeviceKeys {
		out := map[string]json.RawMessage{}
		for _, d := range devs[u] {
			if len(wanted) > 0 && !contains(wanted, d.DeviceID) {
				continue
			}
			out[d.DeviceID] = withSignatures(d.KeyJSON, visible[u][d.DeviceID], d.DisplayName)
		}
		resp.DeviceKeys[u] = out
		for usage, k := range cs[u] {
			obj := withSignatures(k.KeyJSON, visible[u][k.PublicKey], "")
			switch usage {
			case store.UsageMaster:
				resp.MasterKeys[u] = obj
			case store.UsageSelfSigning:
				resp.SelfSigningKeys[u] = obj
			case store.UsageUserSigning:
				if u == c.UserID {
					resp.UserSigningKeys[u] = obj
				}
			}
		}
	}
	return encodeQueryResponse(&resp), nil
}

// encodeQueryResponse writes the /keys/query answer by hand: the key objects
// are already JSON, and encoding/json would re-validate and compact each of
// them (a tenth of the request's CPU time).
func encodeQueryResponse(r *api.KeysQueryResponse) []byte {
	size := 128
	for _, devs := range r.DeviceKeys {
		for _, o := range devs {
			size += len(o) + 40
		}
	}
	for _, m := range []map[string]json.RawMessage{r.MasterKeys, r.SelfSigningKeys, r.UserSigningKeys} {
		for _, o := range m {
			size += len(o) + 40
		}
	}
	out := make([]byte, 0, size)
	out = append(out, `{"failures":{},"device_keys":{`...)
	first := true
	for u, devs := range r.DeviceKeys {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendJSONString(out, u)
		out = appendRawMap(append(out, ':'), devs)
	}
	out = append(out, `},"master_keys":`...)
	out = appendRawMap(out, r.MasterKeys)
	out = append(out, `,"self_signing_keys":`...)
	out = appendRawMap(out, r.SelfSigningKeys)
	out = append(out, `,"user_signing_keys":`...)
	out = appendRawMap(out, r.UserSigningKeys)
	return append(out, '}')
}

func appendRawMap(out []byte, m map[string]json.RawMessage) []byte {
	out = append(out, '{')
	first := true
	for k, v := range m {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendJSONString(out, k)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}')
}

// signedSet is a "signatures" member: signer user → key ID → signature.
type signedSet map[string]map[string]string

// withSignatures appends "signatures" (and "unsigned" with the device display
// name) to a stored key object, which is canonical JSON without them. The
// result is valid JSON; its members after the stored ones are not sorted,
// which JSON does not require and verifiers re-canonicalize anyway.
func withSignatures(keyJSON []byte, sigs signedSet, displayName string) json.RawMessage {
	if len(keyJSON) < 2 || keyJSON[len(keyJSON)-1] != '}' {
		return keyJSON
	}
	out := make([]byte, 0, len(keyJSON)+128*len(sigs)+len(displayName)+64)
	out = append(out, keyJSON[:len(keyJSON)-1]...)
	if len(keyJSON) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"signatures":{`...)
	for i, u := range sortedKeys(sigs) {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, u)
		out = append(out, `:{`...)
		for j, kid := range sortedKeys(sigs[u]) {
			if j > 0 {
				out = append(out, ',')
			}
			out = appendJSONString(out, kid)
			out = append(out, ':')
			out = appendJSONString(out, sigs[u][kid])
		}
		out = append(out, '}')
	}
	out = append(out, '}')
	if displayName != "" {
		out = append(out, `,"unsigned":{"device_display_name":`...)
		out = appendJSONString(out, displayName)
		out = append(out, '}')
	}
	return append(out, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, err := json.Marshal(s)
	if err != nil { // cannot happen for a string
		return append(dst, `""`...)
	}
	return append(dst, b...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
