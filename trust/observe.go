package trust

import (
	"maps"
	"slices"

	"vouch/keys"
)

// ObserveIdentities is identity-change detection over one /keys/query
// result: for every user in result (user ID → that user's parsed keys) it
// observes the published master signing key against the user's pin, as
// [Pin.Observe] does, and returns the updated pins and the changes, sorted
// by user ID. It is pure: pins is not modified, and the same inputs give
// the same outputs.
//
// The returned map holds every pin of pins plus one for each user seen for
// the first time. Users missing from result keep their pins untouched, so
// pass only users whose keys the server actually returned; a user present
// with nil keys, no master key or a master key that is not a valid master
// key of that user publishes none (IdentityRemoved if one was pinned).
//
// Only real events are listed: FirstSeen, IdentityChanged and
// IdentityRemoved, never NoChange. A changed key is reported on every call
// until it is approved ([Pin.Approve]): it is never accepted silently.
//
// This function knows nothing of the viewer's verifications; see
// [Viewer.ObserveIdentities] for the variant in which a user-signing-key
// signature on the current key counts as approval.
func ObserveIdentities(pins map[string]Pin, result map[string]*UserKeys) (map[string]Pin, []IdentityChange) {
	return observe(nil, pins, result)
}

// ObserveIdentities is [ObserveIdentities] for the viewer v, with two
// differences. A user whose current master key v's own user-signing key has
// signed (v.User is trusted) is verified: that signature is the viewer's
// own approval, so the key is pinned ([Pin.MarkVerified]) even after a
// change, and the change is still reported, with Verified set. And v's own
// user is skipped: v.TrustedMaster, not a pin, is the viewer's own anchor.
func (v Viewer) ObserveIdentities(pins map[string]Pin, result map[string]*UserKeys) (map[string]Pin, []IdentityChange) {
	return observe(&v, pins, result)
}

func observe(v *Viewer, pins map[string]Pin, result map[string]*UserKeys) (map[string]Pin, []IdentityChange) {
	out := maps.Clone(pins)
	if out == nil {
		out = make(map[string]Pin, len(result))
	}
	var changes []IdentityChange
	for _, userID := range slices.Sorted(maps.Keys(result)) {
		if v != nil && userID == v.UserID {
			continue
		}
		their := result[userID]
		current := currentMaster(userID, their)
		p, c := out[userID].Observe(userID, current)
		if v != nil && current != "" {
			u := *their
			u.UserID = userID
			if v.User(&u).Trusted {
				p = p.MarkVerified(current)
				c.Verified = true
			}
		}
		out[userID] = p
		if c.Kind != NoChange {
			changes = append(changes, c)
		}
	}
	return out, changes
}

// currentMaster is the unpadded base64 master key that userID publishes in
// their, or "" when there is none or it is not a valid master key of
// userID (a server that hands out someone else's key publishes none).
func currentMaster(userID string, their *UserKeys) string {
	if their == nil || their.Master == nil {
		return ""
	}
	if err := their.Master.Validate(userID, keys.UsageMaster); err != nil {
		return ""
	}
	_, pub, err := their.Master.PublicKey()
	if err != nil {
		return ""
	}
	return pub
}
