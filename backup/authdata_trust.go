package backup

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"

	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
)

// TrustPath is the reason auth_data is trusted.
type TrustPath int

// The ways auth_data can be trusted (spec, "Server-side key backups", and
// seed 003).
const (
	// TrustNone: auth_data is not trusted; keys must not be uploaded to the
	// backup and every restored key is unauthenticated.
	TrustNone TrustPath = iota
	// TrustMasterKey: auth_data is signed by the user's trusted master
	// signing key. The backup signing key, if any, may be used.
	TrustMasterKey
	// TrustOwnDevice: auth_data is signed by one of the user's own devices
	// that the viewer's cross-signing chain verifies. The backup signing
	// key, if any, may be used.
	TrustOwnDevice
	// TrustKnownPrivateKey: auth_data.public_key is the public half of a
	// backup private key the caller got from a trusted source (the user,
	// secret storage, secret sharing from a verified device, MSC4108).
	// Keys may be uploaded, but the backup signing key is IGNORED: the
	// private key proves nothing about the other members of auth_data,
	// which the server could have swapped (docs/msc4048.md, decision 3).
	TrustKnownPrivateKey
)

// String names p.
func (p TrustPath) String() string {
	switch p {
	case TrustNone:
		return "none"
	case TrustMasterKey:
		return "master_signing_key"
	case TrustOwnDevice:
		return "verified_own_device"
	case TrustKnownPrivateKey:
		return "known_private_key"
	}
	return fmt.Sprintf("trust_path(%d)", int(p))
}

// AuthDataTrust is TrustAuthData's answer: whether a backup version's
// auth_data is trusted, by which path, and which backup signing key (if
// any) may authenticate the sessions in it.
type AuthDataTrust struct {
	// UserID is the backup owner, the viewer.
	UserID string
	// Trusted is true when one path holds; only then may keys be uploaded.
	Trusted bool
	// Path is the path that made auth_data trusted (TrustNone if none).
	// Signature paths are tried first: master key, then devices in key ID
	// order, then the known private key.
	Path TrustPath
	// DeviceID is the signing device when Path is TrustOwnDevice.
	DeviceID string
	// Chain is the chain of keys from the viewer's master signing key to
	// the key that signed auth_data (for TrustOwnDevice: master,
	// self-signing key, device).
	Chain []trust.Step
	// AuthData is the parsed auth_data; nil when it was malformed.
	AuthData *AuthData
	// SigningKey is the backup signing key sessions are verified with: set
	// only when Path is TrustMasterKey or TrustOwnDevice and auth_data
	// names one. Otherwise nil, and every restored key is unauthenticated.
	SigningKey *SigningPublicKey
	// Reason says in words why auth_data is trusted or not.
	Reason string
	// Cause is nil when trusted, else wraps ErrAuthDataUntrusted,
	// ErrAuthDataMalformed or ErrAmbiguousSigningKey.
	Cause error
}

// TrustOption adds an input to TrustAuthData.
type TrustOption func(*trustInputs)

type trustInputs struct {
	privateKey *PrivateKey
}

// KnownPrivateKey tells TrustAuthData that the caller holds priv, a backup
// private key obtained from a trusted source (entered by the user, read
// from secret storage, received by secret sharing from a verified own
// device, or through MSC4108). If its public key equals
// auth_data.public_key, auth_data is trusted by TrustKnownPrivateKey.
func KnownPrivateKey(priv PrivateKey) TrustOption {
	return func(in *trustInputs) { in.privateKey = &priv }
}

// TrustAuthData decides whether authData, the auth_data of the viewer's own
// backup version, is trusted (spec, "Server-side key backups"; seeds 002
// and 003):
//
//   - signed by the viewer's trusted master signing key (viewer.TrustedMaster,
//     entity viewer.UserID, key ID "ed25519:<master key>"): TrustMasterKey;
//   - else signed by an own device that viewer.OwnDevice verifies (own MSK →
//     own SSK → device), with the device's published ed25519 key:
//     TrustOwnDevice;
//   - else, with the KnownPrivateKey option, public_key matches the
//     caller's private key: TrustKnownPrivateKey;
//   - else not trusted.
//
// Signatures by other users, by unverified devices, or by keys the viewer
// does not trust are ignored. The backup signing key is returned only for
// the two signature paths; for every other outcome it is ignored, and keys
// restored from the backup are unauthenticated. TrustAuthData never
// returns an error: a malformed auth_data is simply untrusted, with the
// reason in Cause.
func TrustAuthData(authData []byte, viewer trust.Viewer, opts ...TrustOption) AuthDataTrust {
	var in trustInputs
	for _, o := range opts {
		if o != nil {
			o(&in)
		}
	}
	res := AuthDataTrust{UserID: viewer.UserID}
	untrusted := func(cause error) AuthDataTrust {
		res.Trusted, res.Path, res.SigningKey = false, TrustNone, nil
		res.Cause = cause
		res.Reason = cause.Error()
		return res
	}
	if _, err := keys.ParseUserID(viewer.UserID); err != nil {
		return untrusted(fmt.Errorf("%w: %w: %w", ErrAuthDataUntrusted, ErrInvalidUserID, err))
	}
	ad, err := ParseAuthData(authData)
	if err != nil {
		return untrusted(err)
	}
	res.AuthData = ad
	signedBy := func(path TrustPath) AuthDataTrust {
		res.Trusted, res.Path, res.SigningKey = true, path, ad.SigningKey
		return res
	}

	var why []string
	// Path 1: the viewer's trusted master signing key.
	if viewer.TrustedMaster == "" {
		why = append(why, "no trusted master signing key")
	} else if err := verifyAuthDataSignature(ad, viewer.UserID, viewer.TrustedMaster, viewer.TrustedMaster); err != nil {
		why = append(why, "master signing key: "+err.Error())
	} else {
		res.Chain = []trust.Step{{UserID: viewer.UserID, Kind: trust.KindMaster, KeyID: "ed25519:" + viewer.TrustedMaster}}
		res.Reason = "auth_data is signed by your master signing key"
		return signedBy(TrustMasterKey)
	}

	// Path 2: a verified own device, in key ID order so the answer does not
	// depend on map iteration.
	var ids []string
	for keyID := range ad.Signatures[viewer.UserID] {
		ids = append(ids, keyID)
	}
	slices.Sort(ids)
	for _, keyID := range ids {
		alg, deviceID, ok := strings.Cut(keyID, ":")
		if !ok || alg != "ed25519" || deviceID == "" || deviceID == viewer.TrustedMaster {
			continue
		}
		d := viewer.OwnDevice(deviceID)
		if !d.Trusted {
			why = append(why, fmt.Sprintf("device %s is not verified (%s)", deviceID, d.Reason))
			continue
		}
		pub, err := viewer.Own.Devices[deviceID].Ed25519()
		if err != nil {
			why = append(why, fmt.Sprintf("device %s: %v", deviceID, err))
			continue
		}
		if err := signedjson.Verify(ad.Raw, viewer.UserID, keyID, pub); err != nil {
			why = append(why, fmt.Sprintf("device %s: %v", deviceID, err))
			continue
		}
		res.DeviceID = deviceID
		res.Chain = d.Path
		res.Reason = fmt.Sprintf("auth_data is signed by your verified device %s", deviceID)
		return signedBy(TrustOwnDevice)
	}
	if len(ids) == 0 {
		why = append(why, "no signature by your own user")
	}

	// Path 3: a private key from a trusted source. The signing key is
	// ignored on this path.
	if in.privateKey != nil {
		pub, err := in.privateKey.PublicKey()
		switch {
		case err != nil:
			why = append(why, "known private key: "+err.Error())
		case pub != ad.PublicKey:
			why = append(why, "known private key does not match public_key")
		default:
			res.Trusted, res.Path, res.SigningKey = true, TrustKnownPrivateKey, nil
			res.Reason = "auth_data.public_key matches the backup private key you hold; " +
				"its signing key is ignored because no trusted key signed auth_data"
			return res
		}
	}
	return untrusted(fmt.Errorf("%w: %s", ErrAuthDataUntrusted, strings.Join(why, "; ")))
}

// verifyAuthDataSignature checks auth_data's signature by userID's key
// "ed25519:<keyName>" with the unpadded base64 ed25519 key pubB64.
func verifyAuthDataSignature(ad *AuthData, userID, keyName, pubB64 string) error {
	pub, err := keys.DecodePublicKey(pubB64)
	if err != nil {
		return err
	}
	return signedjson.Verify(ad.Raw, userID, "ed25519:"+keyName, ed25519.PublicKey(pub))
}

// SigningKeyTrusted reports whether sessions may be authenticated with t:
// auth_data is trusted by a signature path and names a signing key.
func (t AuthDataTrust) SigningKeyTrusted() bool {
	return t.Trusted && t.SigningKey != nil && (t.Path == TrustMasterKey || t.Path == TrustOwnDevice)
}
