package trust

import "vouch/keys"

// KeyKind is the kind of key that signs or is signed.
type KeyKind int

// The kinds of key in the cross-signing graph.
const (
	// KindUnknown is no valid kind.
	KindUnknown KeyKind = iota
	// KindDevice is a device's ed25519 key.
	KindDevice
	// KindMaster is a master signing key.
	KindMaster
	// KindSelfSigning is a self-signing key.
	KindSelfSigning
	// KindUserSigning is a user-signing key.
	KindUserSigning
	// KindPublicUserSigning is an MSC2882 public user-signing key.
	KindPublicUserSigning
)

var kindNames = [...]string{"unknown", "device", "master", "self_signing", "user_signing", "public_user_signing"}

// String returns the kind's name as used in vouch's output.
func (k KeyKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// KindOfUsage maps a cross-signing usage to its kind.
func KindOfUsage(u keys.Usage) KeyKind {
	switch u {
	case keys.UsageMaster:
		return KindMaster
	case keys.UsageSelfSigning:
		return KindSelfSigning
	case keys.UsageUserSigning:
		return KindUserSigning
	case keys.UsagePublicUserSigning:
		return KindPublicUserSigning
	}
	return KindUnknown
}

// SignatureVisible reports whether viewer may see a signature on targetOwner's
// key of kind target, made by signerUser's key of kind signer. It is the list
// of the spec ("To avoid leaking of social graphs, servers will only allow
// users to see…"), extended by MSC2882's public signatures:
//
//   - signatures made by the viewer's own master signing, self-signing or
//     user-signing keys (on anything);
//   - signatures made by the viewer's own devices about the viewer's own
//     master signing key;
//   - signatures made by other users' self-signing keys about their own
//     devices;
//   - signatures made by other users' master signing keys about their own
//     self-signing key (and, MSC2882, their own public user-signing key,
//     which everyone must be able to check);
//   - signatures made by other users' master signing keys about their own
//     devices (seed 000 lists "other users' master or self-signing keys
//     about their own devices") and about their own master key (a key's
//     self-signature, like a device's, says nothing about anyone else);
//   - signatures made by other users' devices about their own master signing
//     keys;
//   - a device's signature of its own device keys (the self-signature);
//   - MSC2882: signatures made by anyone's public user-signing key, which
//     exist to be public.
//
// Everything else is hidden; in particular nobody but its owner ever sees a
// signature made by a user-signing key, not even the user whose key it signs.
func SignatureVisible(viewer, targetOwner string, target KeyKind, signerUser string, signer KeyKind) bool {
	own := signerUser == viewer
	aboutSelf := signerUser == targetOwner
	switch signer {
	case KindMaster:
		return own || (aboutSelf && (target == KindSelfSigning || target == KindPublicUserSigning || target == KindDevice || target == KindMaster))
	case KindSelfSigning:
		return own || (aboutSelf && target == KindDevice)
	case KindUserSigning:
		return own
	case KindDevice:
		// Devices sign themselves and their owner's master key; both are
		// visible to all. A device's signature on anything else is not a
		// kind of signature the server accepts, and is shown to nobody else.
		return aboutSelf && (target == KindDevice || target == KindMaster)
	case KindPublicUserSigning:
		return true
	}
	return false
}
