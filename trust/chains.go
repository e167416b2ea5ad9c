package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"vouch/keys"
)

// Reasons a chain does not hold. A Decision that is not trusted carries one
// of these in Cause, wrapped with the detail.
var (
	// ErrNoMasterKey means the user has published no master signing key.
	ErrNoMasterKey = errors.New("trust: no master signing key")
	// ErrOwnMasterNotTrusted means the viewer's own published master key is
	// not the one the viewer trusts (or the viewer trusts none).
	ErrOwnMasterNotTrusted = errors.New("trust: own master signing key is not the trusted one")
	// ErrNoSelfSigningKey means the user has published no self-signing key.
	ErrNoSelfSigningKey = errors.New("trust: no self-signing key")
	// ErrNoUserSigningKey means the viewer has no user-signing key.
	ErrNoUserSigningKey = errors.New("trust: no user-signing key")
	// ErrUnknownDevice means the user has no device with that ID.
	ErrUnknownDevice = errors.New("trust: unknown device")
	// ErrBrokenLink means a key in the chain is malformed or its signature
	// from the previous key is missing or does not verify.
	ErrBrokenLink = errors.New("trust: signature chain broken")
	// ErrNotVerified means the viewer's user-signing key has not signed the
	// user's current master signing key.
	ErrNotVerified = errors.New("trust: user not verified")
)

// UserKeys is what a viewer knows of one user's published keys, typically
// from /keys/query. Nil fields are keys the user has not published (or the
// viewer may not see).
type UserKeys struct {
	UserID            string
	Master            *keys.CrossSigningKey
	SelfSigning       *keys.CrossSigningKey
	UserSigning       *keys.CrossSigningKey
	PublicUserSigning *keys.CrossSigningKey
	Devices           map[string]*keys.DeviceKeys
}

// Step is one key in a chain of trust.
type Step struct {
	UserID string  `json:"user_id"`
	Kind   KeyKind `json:"kind"`
	// KeyID is "ed25519:<device id>" for a device and
	// "ed25519:<public key>" for a cross-signing key.
	KeyID string `json:"key_id"`
}

// String renders the step as "@user:server master ed25519:…".
func (s Step) String() string { return s.UserID + " " + s.Kind.String() + " " + s.KeyID }

// MarshalText encodes the kind as its name.
func (k KeyKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name written by MarshalText.
func (k *KeyKind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = KeyKind(i)
			return nil
		}
	}
	return fmt.Errorf("trust: unknown key kind %q", b)
}

// Decision is the answer to one trust question with what justifies it.
type Decision struct {
	// Trusted is true only when every link of Path verified.
	Trusted bool `json:"trusted"`
	// Path is the chain from the viewer's master key to the key in
	// question; when not trusted, the links that did hold.
	Path []Step `json:"path"`
	// Reason says in words why the chain holds or where it broke.
	Reason string `json:"reason"`
	// Cause is nil when trusted, else wraps one of the Err* sentinels.
	Cause error `json:"-"`
}

func trusted(path []Step, reason string) Decision {
	return Decision{Trusted: true, Path: path, Reason: reason}
}

func broken(path []Step, cause error) Decision {
	return Decision{Path: path, Reason: cause.Error(), Cause: cause}
}

// Viewer is the user asking: their ID, the master signing key they trust as
// their own (unpadded base64; empty when they trust none yet) and their own
// published keys.
type Viewer struct {
	UserID        string
	TrustedMaster string
	Own           *UserKeys
}

func stepOf(k *keys.CrossSigningKey, kind KeyKind) Step {
	return Step{UserID: k.UserID, Kind: kind, KeyID: string(k.KeyID())}
}

// ownMaster checks the first link every chain starts with: the viewer's
// published master key is the one they trust.
func (v Viewer) ownMaster() ([]Step, error) {
	if v.Own == nil || v.Own.Master == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoMasterKey, v.UserID)
	}
	if v.Own.UserID != v.UserID {
		return nil, fmt.Errorf("%w: keys of %q given as the own keys of %s", ErrBrokenLink, v.Own.UserID, v.UserID)
	}
	m := v.Own.Master
	if err := m.Validate(v.UserID, keys.UsageMaster); err != nil {
		return nil, fmt.Errorf("%w: own master key: %w", ErrBrokenLink, err)
	}
	_, pub, err := m.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: own master key: %w", ErrBrokenLink, err)
	}
	if v.TrustedMaster == "" || pub != v.TrustedMaster {
		return nil, fmt.Errorf("%w: published %s, trusted %q", ErrOwnMasterNotTrusted, pub, v.TrustedMaster)
	}
	return []Step{stepOf(m, KindMaster)}, nil
}

// signedByMaster checks that sub is the usage key of master's user, signed by master.
func signedByMaster(master, sub *keys.CrossSigningKey, usage keys.Usage, missing error) error {
	if sub == nil {
		return fmt.Errorf("%w: %s", missing, master.UserID)
	}
	if err := sub.Validate(master.UserID, usage); err != nil {
		return fmt.Errorf("%w: %s key of %s: %w", ErrBrokenLink, usage, master.UserID, err)
	}
	if err := sub.VerifySignedByMaster(master); err != nil {
		return fmt.Errorf("%w: %w", ErrBrokenLink, err)
	}
	return nil
}

// deviceSignedBy checks that the device deviceID of ssk's user is valid,
// self-signed, signed by ssk and not in the namespace of u's cross-signing
// keys.
func deviceSignedBy(u *UserKeys, ssk *keys.CrossSigningKey, deviceID string) (*keys.DeviceKeys, error) {
	d := u.Devices[deviceID]
	if d == nil {
		return nil, fmt.Errorf("%w: %s %s", ErrUnknownDevice, u.UserID, deviceID)
	}
	// The device must belong to the user whose self-signing key is asked
	// to vouch for it, whatever UserKeys.UserID says.
	if err := d.Validate(ssk.UserID, deviceID); err != nil {
		return nil, fmt.Errorf("%w: device %s: %w", ErrBrokenLink, deviceID, err)
	}
	if err := u.checkDeviceNamespace(d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBrokenLink, err)
	}
	pub, b64, err := ssk.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBrokenLink, err)
	}
	if err := verifyDeviceSignedBy(d, ssk.UserID, pub, string(keys.Ed25519KeyID(b64))); err != nil {
		return nil, err
	}
	return d, nil
}

// crossSigningKeys returns u's published cross-signing keys that parsed.
func (u *UserKeys) crossSigningKeys() []*keys.CrossSigningKey {
	var out []*keys.CrossSigningKey
	for _, k := range []*keys.CrossSigningKey{u.Master, u.SelfSigning, u.UserSigning, u.PublicUserSigning} {
		if k != nil {
			if _, _, err := k.PublicKey(); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// checkDeviceNamespace refuses a device whose ID is one of u's
// cross-signing public keys, or whose ed25519 key is one of them. Device
// key IDs ("ed25519:<device ID>") and cross-signing key IDs
// ("ed25519:<public key>") share one namespace; with such a device a single
// entry of "signatures" could count both as the device's self-signature and
// as a cross-signing key's signature.
func (u *UserKeys) checkDeviceNamespace(d *keys.DeviceKeys) error {
	ed := d.Keys[string(keys.Ed25519KeyID(d.DeviceID))]
	for _, k := range u.crossSigningKeys() {
		_, pub, _ := k.PublicKey()
		if d.DeviceID == pub {
			return fmt.Errorf("%w: device %s of %s is named after its %s key", keys.ErrNamespaceCollision, d.DeviceID, u.UserID, usageOf(k))
		}
		if ed == pub {
			return fmt.Errorf("%w: device %s of %s uses its %s key as device key", keys.ErrNamespaceCollision, d.DeviceID, u.UserID, usageOf(k))
		}
	}
	return nil
}

func usageOf(k *keys.CrossSigningKey) string {
	if len(k.Usage) == 0 {
		return "cross-signing"
	}
	return string(k.Usage[0])
}

// CheckNamespace returns an error wrapping [keys.ErrNamespaceCollision]
// when one of u's devices has the ID of one of u's cross-signing public
// keys or uses one of them as its ed25519 key. The spec (seed 002) says a
// client MUST refuse to verify a user in that state, which only a
// malicious server can produce: call it before starting a verification.
// [Viewer.Device] and [MigrateFromDeviceVerification] apply it themselves.
// Devices are checked in sorted order, so the error is deterministic.
func (u *UserKeys) CheckNamespace() error {
	if u == nil {
		return nil
	}
	ids := make([]string, 0, len(u.Devices))
	for id := range u.Devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d := u.Devices[id]
		if d == nil {
			continue
		}
		if err := u.checkDeviceNamespace(d); err != nil {
			return err
		}
		for _, k := range u.crossSigningKeys() {
			if _, pub, _ := k.PublicKey(); id == pub {
				return fmt.Errorf("%w: device listed as %s of %s is named after its %s key", keys.ErrNamespaceCollision, id, u.UserID, usageOf(k))
			}
		}
	}
	return nil
}

func deviceStep(userID, deviceID string) Step {
	return Step{UserID: userID, Kind: KindDevice, KeyID: string(keys.Ed25519KeyID(deviceID))}
}

// OwnDevice decides whether one of the viewer's own devices is trusted:
// own MSK → own SSK → device.
func (v Viewer) OwnDevice(deviceID string) Decision {
	path, err := v.ownMaster()
	if err != nil {
		return broken(path, err)
	}
	m := v.Own.Master
	if err := signedByMaster(m, v.Own.SelfSigning, keys.UsageSelfSigning, ErrNoSelfSigningKey); err != nil {
		return broken(path, err)
	}
	path = append(path, stepOf(v.Own.SelfSigning, KindSelfSigning))
	if _, err := deviceSignedBy(v.Own, v.Own.SelfSigning, deviceID); err != nil {
		return broken(path, err)
	}
	path = append(path, deviceStep(v.UserID, deviceID))
	return trusted(path, fmt.Sprintf("device %s is signed by your self-signing key, which your master signing key signed", deviceID))
}

// User decides whether another user's identity (their current master signing
// key) is verified: own MSK → own USK → their MSK. For the viewer's own user
// ID it checks that their published master key is the trusted one.
func (v Viewer) User(their *UserKeys) Decision {
	path, err := v.ownMaster()
	if err != nil {
		return broken(path, err)
	}
	if their == nil || their.Master == nil {
		uid := ""
		if their != nil {
			uid = their.UserID
		}
		return broken(path, fmt.Errorf("%w: %s", ErrNoMasterKey, uid))
	}
	if their.UserID == v.UserID {
		// The keys asked about may be another copy of the viewer's own
		// (a fresh /keys/query): it is their master key that must be the
		// trusted one, not v.Own's.
		own := Viewer{UserID: v.UserID, TrustedMaster: v.TrustedMaster, Own: their}
		if path, err := own.ownMaster(); err != nil {
			return broken(path, err)
		}
		return trusted(path, "this is your own master signing key")
	}
	m := v.Own.Master
	if err := signedByMaster(m, v.Own.UserSigning, keys.UsageUserSigning, ErrNoUserSigningKey); err != nil {
		return broken(path, err)
	}
	usk := v.Own.UserSigning
	path = append(path, stepOf(usk, KindUserSigning))
	tm := their.Master
	if err := tm.Validate(their.UserID, keys.UsageMaster); err != nil {
		return broken(path, fmt.Errorf("%w: master key of %s: %w", ErrBrokenLink, their.UserID, err))
	}
	uskPub, uskB64, err := usk.PublicKey()
	if err != nil {
		return broken(path, fmt.Errorf("%w: %w", ErrBrokenLink, err))
	}
	if err := tm.VerifySignedBy(v.UserID, uskPub, string(keys.Ed25519KeyID(uskB64))); err != nil {
		return broken(path, fmt.Errorf("%w: %s: %w", ErrNotVerified, their.UserID, err))
	}
	path = append(path, stepOf(tm, KindMaster))
	return trusted(path, fmt.Sprintf("your user-signing key signed %s's master signing key", their.UserID))
}

// Device decides whether another user's device is trusted:
// own MSK → own USK → their MSK → their SSK → their device. For the viewer's
// own user ID it is [Viewer.OwnDevice] evaluated over their (the keys asked
// about), anchored at v.TrustedMaster.
//
// A device whose ID is one of the user's cross-signing public keys, or
// whose ed25519 key is one of them, is never trusted (the cause wraps
// [keys.ErrNamespaceCollision]; see [UserKeys.CheckNamespace]).
func (v Viewer) Device(their *UserKeys, deviceID string) Decision {
	if their != nil && their.UserID == v.UserID {
		// Decide about the device in their, checked against the viewer's
		// trusted master key, not about a device of the same ID in v.Own.
		return Viewer{UserID: v.UserID, TrustedMaster: v.TrustedMaster, Own: their}.OwnDevice(deviceID)
	}
	d := v.User(their)
	if !d.Trusted {
		return d
	}
	path := d.Path
	if err := signedByMaster(their.Master, their.SelfSigning, keys.UsageSelfSigning, ErrNoSelfSigningKey); err != nil {
		return broken(path, err)
	}
	path = append(path, stepOf(their.SelfSigning, KindSelfSigning))
	if _, err := deviceSignedBy(their, their.SelfSigning, deviceID); err != nil {
		return broken(path, err)
	}
	path = append(path, deviceStep(their.UserID, deviceID))
	return trusted(path, fmt.Sprintf("you verified %s, whose self-signing key signed device %s", their.UserID, deviceID))
}

// MarshalJSON writes the decision with Cause omitted (Reason says it).
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	p := plain(d)
	if p.Path == nil {
		p.Path = []Step{}
	}
	return json.Marshal(p)
}
