package backup

// KeyBackupDataMeta is the cleartext metadata of a KeyBackupData (spec,
// "PUT /room_keys/keys"): what the server sees of a backed-up session and
// uses to decide which of two copies to keep.
type KeyBackupDataMeta struct {
	// FirstMessageIndex is the index of the first message the key can
	// decrypt.
	FirstMessageIndex int64 `json:"first_message_index"`
	// ForwardedCount is how many times the key was forwarded between
	// devices.
	ForwardedCount int64 `json:"forwarded_count"`
	// IsVerified says whether the uploading device verified the device the
	// key is from.
	IsVerified bool `json:"is_verified"`
}

// ShouldReplace reports whether an uploaded session (incoming) replaces the
// copy the server already stores for the same room and session (existing),
// following the spec's rule ("Server-side key backups") in its order:
//
//  1. if is_verified differs, keep the one with is_verified true;
//  2. else, if first_message_index differs, keep the lower one;
//  3. else, if forwarded_count differs, keep the lower one;
//  4. else (all three equal) keep the existing copy.
//
// is_verified comes first: a verified key wins even over an unverified key
// that decrypts earlier messages (Synapse compared first_message_index
// first, its issue #13704). The full tie keeps the existing copy because
// the spec's wording only ever chooses between different values, and not
// replacing spares the etag a needless change (docs/msc4048.md, decision 7).
func ShouldReplace(existing, incoming KeyBackupDataMeta) bool {
	if existing.IsVerified != incoming.IsVerified {
		return incoming.IsVerified
	}
	if existing.FirstMessageIndex != incoming.FirstMessageIndex {
		return incoming.FirstMessageIndex < existing.FirstMessageIndex
	}
	if existing.ForwardedCount != incoming.ForwardedCount {
		return incoming.ForwardedCount < existing.ForwardedCount
	}
	return false
}
