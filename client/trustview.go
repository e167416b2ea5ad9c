package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"vouch/keys"
	"vouch/trust"
)

// ParseUserKeys turns one user's part of a /keys/query response into the
// trust package's UserKeys. Malformed keys are left out and reported in
// problems, as are devices whose ID collides with a cross-signing public key
// (a malicious server could make one; seed 002). Signatures are not checked
// here: package trust does that when it decides.
func ParseUserKeys(resp *KeysQueryResponse, userID string) (u *trust.UserKeys, problems []string) {
	u = &trust.UserKeys{UserID: userID, Devices: map[string]*keys.DeviceKeys{}}
	if resp == nil {
		return u, []string{"no /keys/query response"}
	}
	if server := keys.UserID(userID).ServerName(); server != "" {
		if f, ok := resp.Failures[server]; ok {
			problems = append(problems, fmt.Sprintf("the homeserver could not get keys from %s: %s", server, f))
		}
	}
	csk := func(m map[string]json.RawMessage, name string) *keys.CrossSigningKey {
		raw, ok := m[userID]
		if !ok {
			return nil
		}
		k, err := keys.ParseCrossSigningKey(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s key of %s ignored: %v", name, userID, err))
			return nil
		}
		return k
	}
	u.Master = csk(resp.MasterKeys, "master")
	u.SelfSigning = csk(resp.SelfSigningKeys, "self-signing")
	u.UserSigning = csk(resp.UserSigningKeys, "user-signing")
	u.PublicUserSigning = csk(resp.PublicUserSigningKeys, "public user-signing")
	var csPubs []string
	for _, k := range []*keys.CrossSigningKey{u.Master, u.SelfSigning, u.UserSigning, u.PublicUserSigning} {
		if k != nil {
			_, pub, _ := k.PublicKey()
			csPubs = append(csPubs, pub)
		}
	}
	for id, raw := range resp.DeviceKeys[userID] {
		d, err := keys.ParseDeviceKeys(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("device %s of %s ignored: %v", id, userID, err))
			continue
		}
		if d.DeviceID != id || d.UserID != userID {
			problems = append(problems, fmt.Sprintf("device %s of %s ignored: listed as %s of %s", d.DeviceID, d.UserID, id, userID))
			continue
		}
		if err := keys.CheckNamespace([]string{id}, csPubs); err != nil {
			problems = append(problems, fmt.Sprintf("device %s of %s ignored: %v", id, userID, err))
			continue
		}
		u.Devices[id] = d
	}
	sort.Strings(problems)
	return u, problems
}

// TrustInputs is what the viewer remembers: who they are, the master key
// they trust as their own, their pins of other users and the devices they
// verified the old way (user → device → ed25519 key).
type TrustInputs struct {
	UserID          string
	OwnMaster       string
	Pins            map[string]trust.Pin
	VerifiedDevices map[string]map[string]string
}

// DeviceReport is the trust state of one device.
type DeviceReport struct {
	DeviceID   string         `json:"device_id"`
	Ed25519    string         `json:"ed25519"`
	Curve25519 string         `json:"curve25519,omitempty"`
	Trusted    bool           `json:"trusted"`
	Decision   trust.Decision `json:"decision"`
}

// UserReport is the trust state of one user's identity and devices.
type UserReport struct {
	UserID string `json:"user_id"`
	// Master is the published master signing key ("" if none).
	Master      string `json:"master_key"`
	Fingerprint string `json:"fingerprint"`
	// Verified is the decision of trust.Viewer.User, which requires the
	// viewer's user-signing key to have signed the current master key.
	Verified bool           `json:"verified"`
	Decision trust.Decision `json:"decision"`
	// Pin is the pin after observing Master; callers store it.
	Pin trust.Pin `json:"pin"`
	// Change is what observing Master meant for the pin.
	Change trust.IdentityChange `json:"change"`
	// NeedsApproval is true while the published master key differs from
	// the pinned one and is not verified: the client must tell the user and
	// wait for `vouch identity approve` (or a new verification).
	NeedsApproval bool `json:"needs_approval"`
	// Migration is set when the user is not verified but a device the
	// viewer verified the old way signed this (first) master key.
	Migration *trust.Decision `json:"migration,omitempty"`
	Devices   []DeviceReport  `json:"devices"`
	Problems  []string        `json:"problems,omitempty"`
}

// TrustView is the viewer's picture of a set of users.
type TrustView struct {
	Own   *trust.UserKeys
	Users map[string]*UserReport
}

// EvaluateTrust decides, without I/O, the trust state of users from a
// /keys/query response that includes the viewer's own keys. Every decision
// is trust's: Viewer.User and Viewer.Device for chains, Pin.Observe and
// Pin.Violation for identity changes, MigrateFromDeviceVerification for
// the migration from device verification.
func EvaluateTrust(resp *KeysQueryResponse, in TrustInputs, users []string) *TrustView {
	own, _ := ParseUserKeys(resp, in.UserID)
	viewer := trust.Viewer{UserID: in.UserID, TrustedMaster: in.OwnMaster, Own: own}
	tv := &TrustView{Own: own, Users: make(map[string]*UserReport, len(users))}
	for _, userID := range users {
		uk, problems := own, []string(nil)
		if userID != in.UserID {
			uk, problems = ParseUserKeys(resp, userID)
		}
		r := &UserReport{UserID: userID, Problems: problems}
		if uk.Master != nil {
			_, r.Master, _ = uk.Master.PublicKey()
			r.Fingerprint = FormatFingerprint(r.Master)
		}
		r.Decision = explained(viewer.User(uk), in.UserID, userID, "")
		r.Verified = r.Decision.Trusted
		pin := in.Pins[userID]
		if pin.UserID == "" {
			pin.UserID = userID
		}
		if userID == in.UserID {
			// Our own identity is not pinned: OwnMaster plays that part.
			r.Pin = pin
			r.Change = trust.IdentityChange{UserID: userID, Kind: trust.NoChange}
			r.NeedsApproval = in.OwnMaster != "" && r.Master != in.OwnMaster
		} else {
			r.Pin, r.Change = pin.Observe(userID, r.Master)
			switch {
			case r.Verified:
				// Verification beats pinning: our own user-signing key
				// signed this master key, so it is our own decision.
				r.Pin = r.Pin.MarkVerified(r.Master)
			case r.Pin.Violation(r.Master):
				r.NeedsApproval = true
				r.Decision.Reason = fmt.Sprintf("%s's identity changed (master key %s, pinned %s); not verified until you approve or verify the new one", userID, r.Master, r.Pin.Master)
			}
			if !r.Verified && r.Master != "" && len(in.VerifiedDevices[userID]) > 0 {
				m := trust.MigrateFromDeviceVerification(r.Pin, uk, in.VerifiedDevices[userID])
				if m.Trusted {
					r.Migration = &m
				}
			}
		}
		ids := make([]string, 0, len(uk.Devices))
		for id := range uk.Devices {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			d := uk.Devices[id]
			ed, _ := d.Ed25519()
			dr := DeviceReport{DeviceID: id, Curve25519: d.Curve25519(), Decision: explained(viewer.Device(uk, id), in.UserID, userID, id)}
			if ed != nil {
				dr.Ed25519 = d.Keys["ed25519:"+id]
			}
			dr.Trusted = dr.Decision.Trusted
			r.Devices = append(r.Devices, dr)
		}
		if r.Devices == nil {
			r.Devices = []DeviceReport{}
		}
		tv.Users[userID] = r
	}
	return tv
}

// explained replaces the reason of an untrusted decision by a sentence for
// people when the cause is a common one; Cause keeps the detail.
func explained(d Decision, viewerID, userID, deviceID string) Decision {
	if d.Trusted || d.Cause == nil {
		return d
	}
	what := userID
	if deviceID != "" {
		what = "device " + deviceID + " of " + userID
	}
	switch {
	case errors.Is(d.Cause, trust.ErrOwnMasterNotTrusted):
		d.Reason = "this device does not trust your own cross-signing identity yet (compare your fingerprint with a device that trusts it, then vouch verify user " + viewerID + " --fingerprint FP)"
	case errors.Is(d.Cause, trust.ErrNoMasterKey) && len(d.Path) == 0:
		d.Reason = "you have no cross-signing identity yet (run vouch bootstrap)"
	case errors.Is(d.Cause, trust.ErrNoMasterKey):
		d.Reason = userID + " has no cross-signing identity"
	case errors.Is(d.Cause, trust.ErrNoUserSigningKey):
		d.Reason = "you have no user-signing key to verify others with"
	case errors.Is(d.Cause, trust.ErrNotVerified):
		d.Reason = "you have not verified " + userID + "'s current master signing key (compare fingerprints, then vouch verify user " + userID + " --fingerprint FP)"
	case errors.Is(d.Cause, trust.ErrNoSelfSigningKey):
		d.Reason = userID + " has no self-signing key, so " + what + " cannot be signed"
	case errors.Is(d.Cause, trust.ErrBrokenLink) && deviceID != "":
		d.Reason = what + " is not signed by " + userID + "'s self-signing key"
	}
	return d
}

// Decision is trust's verdict with the reason and path behind it.
type Decision = trust.Decision

// BuildTrustView queries the viewer's and users' keys and evaluates them.
func BuildTrustView(ctx context.Context, c *Client, in TrustInputs, users ...string) (*TrustView, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: client", ErrNilArgument)
	}
	q := append([]string{in.UserID}, users...)
	resp, err := c.QueryKeys(ctx, dedupe(q)...)
	if err != nil {
		return nil, err
	}
	return EvaluateTrust(resp, in, users), nil
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// RefreshTrustView re-evaluates, in tv, the users that a /sync response
// lists in device_lists.changed (those tv does not cover are added), and
// returns the reports that were refreshed. The caller's in must carry the
// pins as stored; the refreshed reports carry the updated pins to store.
func RefreshTrustView(ctx context.Context, c *Client, in TrustInputs, tv *TrustView, sync *SyncResponse) ([]*UserReport, error) {
	if sync == nil || len(sync.DeviceLists.Changed) == 0 {
		return nil, nil
	}
	if tv == nil {
		return nil, fmt.Errorf("%w: trust view", ErrNilArgument)
	}
	changed := dedupe(sync.DeviceLists.Changed)
	fresh, err := BuildTrustView(ctx, c, in, changed...)
	if err != nil {
		return nil, err
	}
	if tv.Users == nil {
		tv.Users = map[string]*UserReport{}
	}
	tv.Own = fresh.Own
	out := make([]*UserReport, 0, len(changed))
	for _, u := range changed {
		tv.Users[u] = fresh.Users[u]
		out = append(out, fresh.Users[u])
	}
	return out, nil
}
