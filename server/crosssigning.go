package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"vouch/api"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/store"
)

// parsedCSKey is an uploaded cross-signing key after parsing and validation.
type parsedCSKey struct {
	key    *keys.CrossSigningKey
	pub    string
	record store.CrossSigningKeyRecord
}

func parseCSKey(raw json.RawMessage, userID string, usage keys.Usage) (*parsedCSKey, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	k, err := keys.ParseCrossSigningKey(raw)
	if err != nil {
		return nil, err
	}
	if err := k.Validate(userID, usage); err != nil {
		return nil, err
	}
	_, pub, err := k.PublicKey()
	if err != nil {
		return nil, err
	}
	canon, err := signedjson.SigningBytes(raw)
	if err != nil {
		return nil, api.BadJSON("%s key: %v", usage, err)
	}
	return &parsedCSKey{key: k, pub: pub, record: store.CrossSigningKeyRecord{UserID: userID, Usage: storeUsage(usage), PublicKey: pub, KeyJSON: canon}}, nil
}

// storeUsage is the store's name of a usage: the same, but for MSC2882's
// "public-user", stored as store.UsagePublicUserSigning.
func storeUsage(u keys.Usage) string {
	if u == keys.UsagePublicUserSigning {
		return store.UsagePublicUserSigning
	}
	return string(u)
}

// deviceSigningUpload answers POST /keys/device_signing/upload.
//
// Replacing an existing master key needs the password (user-interactive
// auth); the first upload and an identical re-upload do not (MSC3967).
// Self-signing, user-signing and (MSC2882) public user-signing keys must be
// signed by the master key of the request, else by the current one; they
// need no user-interactive auth of their own. The signatures checked here are the only
// ones stored from the upload.
func (s *Server) deviceSigningUpload(r *http.Request, c *caller) (any, error) {
	var req api.DeviceSigningUpload
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	ctx := r.Context()
	master, err := parseCSKey(req.MasterKey, c.UserID, keys.UsageMaster)
	if err != nil {
		return nil, err
	}
	ssk, err := parseCSKey(req.SelfSigningKey, c.UserID, keys.UsageSelfSigning)
	if err != nil {
		return nil, err
	}
	usk, err := parseCSKey(req.UserSigningKey, c.UserID, keys.UsageUserSigning)
	if err != nil {
		return nil, err
	}
	pusk, err := parseCSKey(req.PublicUserSigningKey, c.UserID, keys.UsagePublicUserSigning)
	if err != nil {
		return nil, err
	}
	if master == nil && ssk == nil && usk == nil && pusk == nil {
		return api.Empty{}, nil
	}
	current, err := s.st.GetCrossSigningKeys(ctx, []string{c.UserID})
	if err != nil {
		return nil, err
	}
	cur := current[c.UserID]
	curMaster, hasMaster := cur[store.UsageMaster]

	signer := master
	if master != nil && hasMaster && !bytes.Equal(curMaster.KeyJSON, master.record.KeyJSON) {
		if err := s.requirePassword(ctx, c, req.Auth); err != nil {
			return nil, err
		}
	}
	if signer == nil && hasMaster {
		k, err := keys.ParseCrossSigningKey(curMaster.KeyJSON)
		if err != nil {
			return nil, err
		}
		_, pub, err := k.PublicKey()
		if err != nil {
			return nil, err
		}
		signer = &parsedCSKey{key: k, pub: pub}
	}
	up := store.CrossSigningUpdate{UserID: c.UserID, ExpectMaster: curMaster.PublicKey}
	pubs := map[string]bool{}
	for _, k := range []*parsedCSKey{master, ssk, usk, pusk} {
		if k == nil {
			continue
		}
		if pubs[k.pub] {
			return nil, api.InvalidParam("the same public key is used for two cross-signing keys")
		}
		pubs[k.pub] = true
		// Nor may it be one of the user's other stored keys that this
		// request keeps (one key, one role).
		for usage, rec := range cur {
			if rec.PublicKey == k.pub && usage != k.record.Usage && !uploaded(usage, master, ssk, usk, pusk) {
				return nil, api.InvalidParam("the %s key's public key is already your %s key", k.record.Usage, usage)
			}
		}
		if k != master {
			if signer == nil {
				return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidSignature, "%s key needs a master key to sign it", k.record.Usage)
			}
			if err := k.key.VerifySignedByMaster(signer.key); err != nil {
				return nil, err
			}
			mkid := "ed25519:" + signer.pub
			sig, _ := k.key.Signatures.Get(c.UserID, mkid)
			kind := store.KindSelfSigning
			switch k {
			case usk:
				kind = store.KindUserSigning
			case pusk:
				kind = store.KindPublicUserSigning
			}
			up.Signatures = append(up.Signatures, store.Signature{TargetUser: c.UserID, TargetKey: k.pub, TargetKind: kind,
				SignerUser: c.UserID, SignerKeyID: mkid, SignerKind: store.KindMaster, Signature: sig})
		}
		up.Keys = append(up.Keys, k.record)
	}
	changed, err := s.st.PutCrossSigningKeys(ctx, up)
	if err != nil {
		return nil, err
	}
	if changed {
		s.notifyDeviceChange(ctx, c.UserID)
		s.log.Info("cross-signing keys updated", "user_id", c.UserID)
	}
	return api.Empty{}, nil
}

// uploaded reports whether one of ks (nil for absent) is of the stored usage.
func uploaded(usage string, ks ...*parsedCSKey) bool {
	for _, k := range ks {
		if k != nil && k.record.Usage == usage {
			return true
		}
	}
	return false
}
