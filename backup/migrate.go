package backup

import (
	"context"
	"fmt"
	"io"
)

// Migration moves every key of an existing backup version into a new
// version whose auth_data carries a backup signing key, re-signing each key
// on the way (seed 003, "Potential issues": "As the AuthData is changed, a
// new backup version will need to be created. A client will need to
// download all existing keys and re-upload them.").
//
// It is a state machine with no I/O of its own: a caller-supplied
// MigrationIO talks to the homeserver. Every Step performs one transition;
// after each successful Step the caller persists Checkpoint() (it is plain
// JSON), and after a crash or an error it calls ResumeMigration with the
// last checkpoint saved. A Step that fails leaves the checkpoint as it was,
// so the failed transition is simply tried again:
//
//	MigrationStart --CreateVersion--> MigrationVersionCreated
//	MigrationVersionCreated / MigrationCopying --ListSessions+PutSessions--> MigrationCopying (cursor moves)
//	MigrationCopying --ListSessions returns nothing--> MigrationCopied
//	MigrationCopied --SwitchVersion--> MigrationSwitched (done)
//
// Re-running a copy step is harmless: the new version's server keeps one
// copy per session (ShouldReplace), and the copies carry the same content.
// A CreateVersion whose response was lost cannot be recognised here; the
// resumed run creates another version and the first stays orphaned (the
// caller may delete versions it does not switch to).
type Migration struct {
	cfg    MigrationConfig
	newPub PublicKey
	cp     MigrationCheckpoint
}

// MigrationState is the progress of a Migration.
type MigrationState int

// The states of a Migration, in order.
const (
	// MigrationStart: nothing done yet.
	MigrationStart MigrationState = iota
	// MigrationVersionCreated: the new version exists; no key copied yet.
	MigrationVersionCreated
	// MigrationCopying: keys up to and including the checkpoint's cursor
	// are in the new version.
	MigrationCopying
	// MigrationCopied: every key is in the new version; not switched yet.
	MigrationCopied
	// MigrationSwitched: the new version is the one in use. Done.
	MigrationSwitched
)

// migrationStateName returns the MarshalText name of s.
func migrationStateName(s MigrationState) (string, bool) {
	switch s {
	case MigrationStart:
		return "start", true
	case MigrationVersionCreated:
		return "version_created", true
	case MigrationCopying:
		return "copying", true
	case MigrationCopied:
		return "copied", true
	case MigrationSwitched:
		return "switched", true
	}
	return "", false
}

// String names s.
func (s MigrationState) String() string {
	if n, ok := migrationStateName(s); ok {
		return n
	}
	return fmt.Sprintf("migration_state(%d)", int(s))
}

// MarshalText writes s as its name.
func (s MigrationState) MarshalText() ([]byte, error) {
	n, ok := migrationStateName(s)
	if !ok {
		return nil, fmt.Errorf("%w: unknown state %d", ErrMigration, int(s))
	}
	return []byte(n), nil
}

// UnmarshalText reads a name written by MarshalText.
func (s *MigrationState) UnmarshalText(b []byte) error {
	for st := MigrationStart; st <= MigrationSwitched; st++ {
		if n, _ := migrationStateName(st); n == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("%w: unknown state %q", ErrMigration, b)
}

// Cursor is a position in a backup: keys are ordered by room ID, then
// session ID, comparing bytes. The zero Cursor is before every key.
type Cursor struct {
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id"`
}

// Less reports whether c comes before o.
func (c Cursor) Less(o Cursor) bool {
	if c.RoomID != o.RoomID {
		return c.RoomID < o.RoomID
	}
	return c.SessionID < o.SessionID
}

// BackedUpKey is one key of a backup version as the key backup API carries
// it: where it is, its cleartext metadata and its session_data.
type BackedUpKey struct {
	// RoomID and SessionID place the key in the backup.
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id"`
	// KeyBackupDataMeta is first_message_index, forwarded_count and
	// is_verified.
	KeyBackupDataMeta
	// SessionData is the encrypted session.
	SessionData EncryptedSessionData `json:"session_data"`
}

// Cursor returns the position of k.
func (k BackedUpKey) Cursor() Cursor { return Cursor{RoomID: k.RoomID, SessionID: k.SessionID} }

// MigrationIO is what a Migration needs from the homeserver. The client
// library implements it over HTTP; tests implement it in memory.
type MigrationIO interface {
	// CreateVersion creates a backup version with algorithm
	// m.megolm_backup.v1.curve25519-aes-sha2 and the given auth_data, and
	// returns its version string.
	CreateVersion(ctx context.Context, authData []byte) (version string, err error)
	// ListSessions returns at most limit keys of version strictly after
	// cursor after, in Cursor order. An empty result means there are no
	// more keys.
	ListSessions(ctx context.Context, version string, after Cursor, limit int) ([]BackedUpKey, error)
	// PutSessions uploads batch to version (the server applies
	// ShouldReplace per key).
	PutSessions(ctx context.Context, version string, batch []BackedUpKey) error
	// SwitchVersion makes newVersion the version the client uses from now
	// on (and may delete oldVersion). It must be safe to call twice.
	SwitchVersion(ctx context.Context, oldVersion, newVersion string) error
}

// DefaultMigrationBatch is the number of keys copied per Step when
// MigrationConfig.BatchSize is 0.
const DefaultMigrationBatch = 100

// MaxMigrationBatch bounds MigrationConfig.BatchSize.
const MaxMigrationBatch = 10000

// MigrationConfig is what a Migration needs besides the I/O. None of it is
// in the checkpoint: private keys stay with the caller.
type MigrationConfig struct {
	// UserID is the backup owner.
	UserID string
	// OldVersion is the version being migrated from.
	OldVersion string
	// OldKey is the old version's backup private key.
	OldKey PrivateKey
	// OldTrust is TrustAuthData's answer for the old version's auth_data:
	// it decides which old keys count as authenticated (for an old
	// backup without a signing key: none).
	OldTrust AuthDataTrust
	// NewAuthData is the new version's auth_data, already signed
	// (NewAuthData then SignAuthData). It must name SigningKey's public
	// key.
	NewAuthData []byte
	// SigningKey is the backup signing key every copied key is signed with.
	SigningKey SigningKey
	// BatchSize is the number of keys per Step; 0 means
	// DefaultMigrationBatch.
	BatchSize int
	// Rand is the source of ephemeral keys; nil means crypto/rand.Reader.
	Rand io.Reader
}

// MigrationCheckpointVersion is the format version of MigrationCheckpoint.
const MigrationCheckpointVersion = 1

// MigrationCheckpoint is the serialisable progress of a Migration. It holds
// no key material.
type MigrationCheckpoint struct {
	// Format is MigrationCheckpointVersion.
	Format int `json:"format"`
	// State is the last state reached.
	State MigrationState `json:"state"`
	// OldVersion is the version migrated from.
	OldVersion string `json:"old_version"`
	// NewVersion is the version created (empty in MigrationStart).
	NewVersion string `json:"new_version,omitempty"`
	// Cursor is the last key copied (MigrationCopying and later).
	Cursor Cursor `json:"cursor"`
	// Copied counts the keys uploaded to the new version.
	Copied int `json:"copied"`
	// Authenticated counts the copied keys that restored as authenticated
	// and so were re-signed as authenticated.
	Authenticated int `json:"authenticated"`
	// Skipped counts the old keys that could not be opened (wrong key,
	// tampered, malformed) and were left behind.
	Skipped int `json:"skipped"`
}

// NewMigration starts a migration of cfg.OldVersion.
func NewMigration(cfg MigrationConfig) (*Migration, error) {
	return ResumeMigration(cfg, MigrationCheckpoint{Format: MigrationCheckpointVersion, OldVersion: cfg.OldVersion})
}

// ResumeMigration continues a migration from a checkpoint saved by the
// caller. The checkpoint must be for cfg.OldVersion and consistent with its
// state.
func ResumeMigration(cfg MigrationConfig, cp MigrationCheckpoint) (*Migration, error) {
	if cfg.OldVersion == "" {
		return nil, fmt.Errorf("%w: no old version", ErrMigration)
	}
	switch {
	case cfg.BatchSize == 0:
		cfg.BatchSize = DefaultMigrationBatch
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxMigrationBatch:
		return nil, fmt.Errorf("%w: batch size %d not in 1..%d", ErrMigration, cfg.BatchSize, MaxMigrationBatch)
	}
	if cfg.OldTrust.UserID != "" && cfg.OldTrust.UserID != cfg.UserID {
		return nil, fmt.Errorf("%w: %w", ErrMigration, ErrUserMismatch)
	}
	if cfg.OldTrust.AuthData != nil {
		pub, err := cfg.OldKey.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: old key: %w", ErrMigration, err)
		}
		if pub != cfg.OldTrust.AuthData.PublicKey {
			return nil, fmt.Errorf("%w: old version: %w", ErrMigration, ErrWrongBackupKey)
		}
	}
	ad, err := ParseAuthData(cfg.NewAuthData)
	if err != nil {
		return nil, fmt.Errorf("%w: new auth_data: %w", ErrMigration, err)
	}
	if ad.SigningKey == nil || *ad.SigningKey != cfg.SigningKey.PublicKey() {
		return nil, fmt.Errorf("%w: new auth_data does not name the signing key %s", ErrMigration, cfg.SigningKey.PublicKey().Encode())
	}
	if err := checkCheckpoint(cp, cfg.OldVersion); err != nil {
		return nil, err
	}
	return &Migration{cfg: cfg, newPub: ad.PublicKey, cp: cp}, nil
}

// checkCheckpoint refuses a checkpoint that cannot have been written by a
// Migration of oldVersion.
func checkCheckpoint(cp MigrationCheckpoint, oldVersion string) error {
	bad := func(why string) error { return fmt.Errorf("%w: checkpoint: %s", ErrMigration, why) }
	switch {
	case cp.Format != MigrationCheckpointVersion:
		return bad(fmt.Sprintf("format %d, want %d", cp.Format, MigrationCheckpointVersion))
	case cp.OldVersion != oldVersion:
		return bad(fmt.Sprintf("for version %q, not %q", cp.OldVersion, oldVersion))
	case cp.State < MigrationStart || cp.State > MigrationSwitched:
		return bad("unknown state")
	case (cp.State == MigrationStart) != (cp.NewVersion == ""):
		return bad("new version does not match the state")
	case cp.NewVersion == cp.OldVersion:
		return bad("new version equals the old one")
	case cp.Copied < 0 || cp.Skipped < 0 || cp.Authenticated < 0 || cp.Authenticated > cp.Copied:
		return bad("negative or inconsistent counters")
	case cp.State <= MigrationVersionCreated && (cp.Cursor != Cursor{} || cp.Copied != 0 || cp.Skipped != 0):
		return bad("progress recorded before copying started")
	}
	return nil
}

// Checkpoint returns the progress to persist after each Step.
func (m *Migration) Checkpoint() MigrationCheckpoint { return m.cp }

// Done reports whether the migration has switched to the new version.
func (m *Migration) Done() bool { return m.cp.State == MigrationSwitched }

// Step performs one transition (see Migration). On error the checkpoint is
// unchanged and Step may be called again. Calling Step when Done does
// nothing.
func (m *Migration) Step(ctx context.Context, mio MigrationIO) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	next := m.cp
	switch m.cp.State {
	case MigrationStart:
		v, err := mio.CreateVersion(ctx, m.cfg.NewAuthData)
		if err != nil {
			return fmt.Errorf("backup: migration: creating the new version: %w", err)
		}
		if v == "" || v == m.cp.OldVersion {
			return fmt.Errorf("%w: server returned version %q for the new backup", ErrMigration, v)
		}
		next.NewVersion, next.State = v, MigrationVersionCreated
	case MigrationVersionCreated, MigrationCopying:
		var err error
		if next, err = m.copyBatch(ctx, mio); err != nil {
			return err
		}
	case MigrationCopied:
		if err := mio.SwitchVersion(ctx, m.cp.OldVersion, m.cp.NewVersion); err != nil {
			return fmt.Errorf("backup: migration: switching to version %s: %w", m.cp.NewVersion, err)
		}
		next.State = MigrationSwitched
	case MigrationSwitched:
		return nil
	}
	m.cp = next
	return nil
}

// copyBatch reads the next batch of the old version, re-signs and
// re-encrypts it, and uploads it to the new version. It returns the
// checkpoint after the batch.
func (m *Migration) copyBatch(ctx context.Context, mio MigrationIO) (MigrationCheckpoint, error) {
	next := m.cp
	batch, err := mio.ListSessions(ctx, m.cp.OldVersion, m.cp.Cursor, m.cfg.BatchSize)
	if err != nil {
		return next, fmt.Errorf("backup: migration: listing keys after %v: %w", m.cp.Cursor, err)
	}
	if len(batch) == 0 {
		next.State = MigrationCopied
		return next, nil
	}
	if len(batch) > m.cfg.BatchSize {
		return next, fmt.Errorf("%w: asked for %d keys, got %d", ErrMigration, m.cfg.BatchSize, len(batch))
	}
	opener, err := NewOpener(m.cfg.OldKey, m.cfg.OldTrust, m.cfg.UserID)
	if err != nil {
		return next, fmt.Errorf("%w: %w", ErrMigration, err)
	}
	out := make([]BackedUpKey, 0, len(batch))
	prev := m.cp.Cursor
	for _, k := range batch {
		// Refuse an out-of-order answer: it would make the cursor skip keys
		// or loop forever.
		if !prev.Less(k.Cursor()) {
			return next, fmt.Errorf("%w: key %v listed after %v", ErrMigration, k.Cursor(), prev)
		}
		prev = k.Cursor()
		r, err := opener.Open(k.SessionData)
		if err != nil {
			// A key that cannot be opened is left behind rather than
			// blocking the migration: anyone who knows the old public key
			// could plant one.
			next.Skipped++
			continue
		}
		sd, err := EncryptSignedSession(m.newPub, r.Plaintext, m.cfg.UserID, m.cfg.SigningKey, r.Provenance(), m.cfg.Rand)
		if err != nil {
			next.Skipped++
			continue
		}
		meta := k.KeyBackupDataMeta
		// is_verified claims the uploader verified the key's sender; a key
		// we could not authenticate cannot keep that claim.
		meta.IsVerified = meta.IsVerified && r.Authenticated
		out = append(out, BackedUpKey{RoomID: k.RoomID, SessionID: k.SessionID, KeyBackupDataMeta: meta, SessionData: sd})
		if r.Authenticated {
			next.Authenticated++
		}
	}
	if len(out) > 0 {
		if err := mio.PutSessions(ctx, m.cp.NewVersion, out); err != nil {
			return m.cp, fmt.Errorf("backup: migration: uploading %d keys to version %s: %w", len(out), m.cp.NewVersion, err)
		}
	}
	next.Copied += len(out)
	next.Cursor = prev
	next.State = MigrationCopying
	return next, nil
}

// Run calls Step until the migration is done or fails. After every
// successful Step it calls saved (when not nil) with the new checkpoint, so
// the caller can persist it and draw progress; an error from saved stops
// the run.
func (m *Migration) Run(ctx context.Context, mio MigrationIO, saved func(MigrationCheckpoint) error) error {
	for !m.Done() {
		if err := m.Step(ctx, mio); err != nil {
			return err
		}
		if saved != nil {
			if err := saved(m.cp); err != nil {
				return fmt.Errorf("backup: migration: saving checkpoint: %w", err)
			}
		}
	}
	return nil
}
