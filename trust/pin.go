package trust

import (
	"errors"
	"fmt"
	"slices"

	"vouch/keys"
)

// PinVersion is the version of the Pin encoding written today. Stores keep
// it with each pin so that later versions can migrate old records.
const PinVersion = 1

// Pin is what a client remembers about another user's identity: the master
// signing key it has accepted for them (trust on first use, or approved by
// the user after a change), whether that identity ever changed, and whether
// the user was ever verified.
type Pin struct {
	Version int    `json:"version"`
	UserID  string `json:"user_id"`
	// Master is the pinned master signing key, unpadded base64; empty until
	// the first key is seen.
	Master string `json:"master"`
	// Changed is true once the user's master key has ever differed from the
	// first one seen, even if the new one was approved since.
	Changed bool `json:"changed"`
	// WasVerified is true once the viewer ever verified this user.
	WasVerified bool `json:"was_verified"`
}

// ChangeKind says what an observation of a master key meant for a pin.
type ChangeKind int

const (
	// NoChange means the key is the pinned one.
	NoChange ChangeKind = iota
	// FirstSeen means no key was pinned; this one is now.
	FirstSeen
	// IdentityChanged means the key differs from the pinned one. The client
	// must tell the user before communication continues; the pin stays on
	// the old key until [Pin.Approve].
	IdentityChanged
	// IdentityRemoved means the user published no master key any more.
	IdentityRemoved
)

var changeNames = [...]string{"none", "first_seen", "identity_changed", "identity_removed"}

// String returns the change's name.
func (c ChangeKind) String() string {
	if c < 0 || int(c) >= len(changeNames) {
		return "unknown"
	}
	return changeNames[c]
}

// MarshalText encodes the change kind as its name.
func (c ChangeKind) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// IdentityChange is the outcome of observing a user's current master key.
type IdentityChange struct {
	UserID string     `json:"user_id"`
	Kind   ChangeKind `json:"kind"`
	Old    string     `json:"old,omitempty"`
	New    string     `json:"new,omitempty"`
	// WasVerified is true when the user had been verified before the
	// change: the case a client must stress most, since verification is
	// now lost.
	WasVerified bool `json:"was_verified,omitempty"`
	// Verified is set by [Viewer.ObserveIdentities] when the viewer's own
	// user-signing key has signed New: the viewer approved it, so the pin
	// already holds it. The change is reported all the same.
	Verified bool `json:"verified,omitempty"`
}

// Observe records that userID currently publishes master (unpadded base64;
// "" for none) and returns the updated pin and what changed. A first key is
// pinned; a different key is reported and not pinned.
func (p Pin) Observe(userID, master string) (Pin, IdentityChange) {
	p.Version = PinVersion
	p.UserID = userID
	c := IdentityChange{UserID: userID, Old: p.Master, New: master, WasVerified: p.WasVerified}
	switch {
	case master == "" && p.Master == "":
		c.Kind = NoChange
	case master == "":
		c.Kind = IdentityRemoved
	case p.Master == "":
		p.Master = master
		c.Kind = FirstSeen
	case p.Master == master:
		c.Kind = NoChange
	default:
		c.Kind = IdentityChanged
	}
	return p, c
}

// Violation reports whether current (the master key the user publishes now)
// differs from the pinned one, so that the user must approve it.
func (p Pin) Violation(current string) bool {
	return p.Master != "" && current != p.Master
}

// Approve pins master after the user accepted an identity change.
func (p Pin) Approve(master string) Pin {
	if p.Master != "" && p.Master != master {
		p.Changed = true
	}
	p.Master = master
	p.Version = PinVersion
	return p
}

// MarkVerified records that the viewer verified the user with master,
// which also pins it (verification is the user's own approval).
func (p Pin) MarkVerified(master string) Pin {
	p = p.Approve(master)
	p.WasVerified = true
	return p
}

// VerificationViolation reports whether the user was verified once and is
// not now (verifiedNow is [Viewer.User]'s answer for their current master
// key): matrix-rust-sdk's "verification violation". The client should say
// so louder than for a user never verified, until the user verifies again
// or gives up on it with [Pin.WithdrawVerification].
func (p Pin) VerificationViolation(verifiedNow bool) bool {
	return p.WasVerified && !verifiedNow
}

// WithdrawVerification forgets that the user was ever verified: the user
// has seen the verification violation and accepts the unverified identity.
// The pinned key is not changed.
func (p Pin) WithdrawVerification() Pin {
	p.WasVerified = false
	p.Version = PinVersion
	return p
}

// ErrMigrationRefused means a master key may not be trusted through a
// device verification; the wrapped text says why.
var ErrMigrationRefused = errors.New("trust: migration from device verification refused")

// MigrateFromDeviceVerification decides whether the viewer may trust their
// user's master signing key because a device the viewer verified before
// cross-signing existed has signed it (seed 000, "Migrating from device
// verifications"). verifiedDevices maps device IDs the viewer verified to
// their ed25519 keys (unpadded base64) as they were when verified.
//
// To keep a stolen device from making the viewer trust a malicious master
// key, the migration is allowed only for the first master key ever seen for
// the user: the pin must hold exactly this key and must never have changed.
// After an identity change the user must verify again.
func MigrateFromDeviceVerification(pin Pin, their *UserKeys, verifiedDevices map[string]string) Decision {
	if their == nil || their.Master == nil {
		return broken(nil, fmt.Errorf("%w: %w", ErrMigrationRefused, ErrNoMasterKey))
	}
	m := their.Master
	if err := m.Validate(their.UserID, keys.UsageMaster); err != nil {
		return broken(nil, fmt.Errorf("%w: %w", ErrMigrationRefused, err))
	}
	_, current, err := m.PublicKey()
	if err != nil {
		return broken(nil, fmt.Errorf("%w: %w", ErrMigrationRefused, err))
	}
	if pin.UserID != "" && pin.UserID != their.UserID {
		return broken(nil, fmt.Errorf("%w: pin of %s given for %s", ErrMigrationRefused, pin.UserID, their.UserID))
	}
	if pin.Changed || pin.Master != current {
		return broken(nil, fmt.Errorf("%w: %s is not the first master key seen for %s", ErrMigrationRefused, current, their.UserID))
	}
	// Seed 002: a client MUST refuse to verify a user who has a device
	// named like a cross-signing key. Here it matters twice over: the
	// device's signature of the master key would sit in the same
	// "signatures" entry as a signature by the master key itself.
	if err := their.CheckNamespace(); err != nil {
		return broken(nil, fmt.Errorf("%w: %w", ErrMigrationRefused, err))
	}
	// Sorted, so that the path reported is the same on every run.
	ids := make([]string, 0, len(verifiedDevices))
	for id := range verifiedDevices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, deviceID := range ids {
		edKey := verifiedDevices[deviceID]
		d := their.Devices[deviceID]
		if d == nil {
			continue
		}
		// The device must still be the one that was verified, and its
		// keys must be its own, self-signed, for this user.
		if d.Keys[string(keys.Ed25519KeyID(deviceID))] != edKey {
			continue
		}
		if err := d.Validate(their.UserID, deviceID); err != nil {
			continue
		}
		pub, err := keys.DecodePublicKey(edKey)
		if err != nil {
			continue
		}
		if err := m.VerifySignedBy(their.UserID, pub, string(keys.Ed25519KeyID(deviceID))); err != nil {
			continue
		}
		path := []Step{deviceStep(their.UserID, deviceID), stepOf(m, KindMaster)}
		return trusted(path, fmt.Sprintf("%s's first master signing key is signed by device %s, which you verified", their.UserID, deviceID))
	}
	return broken(nil, fmt.Errorf("%w: no device you verified has signed %s's master signing key", ErrMigrationRefused, their.UserID))
}
