package keybackup

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"vouch/backup"
	"vouch/client"
	"vouch/client/device"
	"vouch/client/secrets"
	"vouch/trust"
)

// httpMigrationIO is backup.MigrationIO over the room-key backup API. The
// API cannot list keys after a cursor, so a version's keys are downloaded
// once and paged from memory.
type httpMigrationIO struct {
	a         *API
	deleteOld bool
	cache     map[string][]backup.BackedUpKey
}

var _ backup.MigrationIO = (*httpMigrationIO)(nil)

// CreateVersion implements backup.MigrationIO.
func (m *httpMigrationIO) CreateVersion(ctx context.Context, authData []byte) (string, error) {
	return m.a.CreateVersion(ctx, authData)
}

// ListSessions implements backup.MigrationIO.
func (m *httpMigrationIO) ListSessions(ctx context.Context, version string, after backup.Cursor, limit int) ([]backup.BackedUpKey, error) {
	keys, ok := m.cache[version]
	if !ok {
		var err error
		if keys, _, err = m.a.Keys(ctx, version); err != nil {
			return nil, err
		}
		m.cache[version] = keys
	}
	i := sort.Search(len(keys), func(i int) bool { return after.Less(keys[i].Cursor()) })
	return keys[i:min(i+limit, len(keys))], nil
}

// PutSessions implements backup.MigrationIO.
func (m *httpMigrationIO) PutSessions(ctx context.Context, version string, batch []backup.BackedUpKey) error {
	_, err := m.a.PutKeys(ctx, version, batch)
	return err
}

// SwitchVersion implements backup.MigrationIO: the new version became the
// current one when it was created; this checks it still is, and deletes
// the old version when asked to. Safe to call twice.
func (m *httpMigrationIO) SwitchVersion(ctx context.Context, oldVersion, newVersion string) error {
	cur, err := m.a.Version(ctx, "")
	if err != nil {
		return err
	}
	if cur.Version != newVersion {
		return fmt.Errorf("%w: the current backup is version %s, not the migrated %s (another client created a backup meanwhile)", backup.ErrMigration, cur.Version, newVersion)
	}
	if m.deleteOld {
		if err := m.a.DeleteVersion(ctx, oldVersion); err != nil && !client.IsCode(err, client.CodeNotFound) {
			return err
		}
	}
	return nil
}

// checkpointFile is the migration checkpoint as saved on disk: the state
// machine's checkpoint and the new auth_data, which must be the same on
// resume. It holds no private key.
type checkpointFile struct {
	Checkpoint  backup.MigrationCheckpoint `json:"checkpoint"`
	NewAuthData json.RawMessage            `json:"new_auth_data"`
	Total       int                        `json:"total"`
}

// loadCheckpoint reads the checkpoint file; ok is false when there is none.
func loadCheckpoint(path string) (cf checkpointFile, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cf, false, nil
	}
	if err != nil {
		return cf, false, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		return cf, false, fmt.Errorf("%w: %s is damaged (%v); delete it to start over", ErrCheckpoint, path, err)
	}
	if len(cf.NewAuthData) == 0 {
		return cf, false, fmt.Errorf("%w: %s has no new auth_data; delete it to start over", ErrCheckpoint, path)
	}
	return cf, true, nil
}

// saveCheckpoint writes the checkpoint file atomically, mode 0600.
func saveCheckpoint(path string, cf checkpointFile) error {
	b, err := json.Marshal(cf)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	return secrets.WriteFileAtomic(path, b)
}

// MigrateOptions configure Migrate.
type MigrateOptions struct {
	// Viewer decides trust in the old version's auth_data (see Viewer).
	Viewer trust.Viewer
	// Master signs the new auth_data, with Device when not nil.
	Master ed25519.PrivateKey
	Device *device.Device
	// OldKey is the old version's decryption key; the new version uses the
	// same key, so m.megolm_backup.v1 stays valid for both.
	OldKey backup.PrivateKey
	// Signing is the backup signing key to use; nil means: on a fresh start
	// generate one and store it in secret storage, on resume read it from
	// secret storage.
	Signing *backup.SigningKey
	// Secrets and SecretKey are secret storage (required unless Signing is
	// given).
	Secrets   *secrets.Store
	SecretKey *secrets.Key
	// CheckpointPath is the checkpoint file (0600); a run resumes from it
	// when it exists, and it is removed when the migration is done.
	CheckpointPath string
	// BatchSize is keys per step; 0 means backup.DefaultMigrationBatch.
	BatchSize int
	// DeleteOld deletes the old version after switching.
	DeleteOld bool
	// Force migrates even a version whose signing key is already trusted.
	Force bool
	// Rand is the randomness source (crypto/rand.Reader in production).
	Rand io.Reader
	// Progress, when not nil, is called after every saved step with the
	// checkpoint and the number of keys in the old version.
	Progress func(cp backup.MigrationCheckpoint, total int)
}

// MigrateResult is the outcome of Migrate.
type MigrateResult struct {
	// OldVersion and NewVersion are the versions migrated from and to.
	OldVersion string `json:"old_version"`
	NewVersion string `json:"new_version"`
	// Copied, Authenticated and Skipped are the checkpoint's counters.
	Copied        int `json:"copied"`
	Authenticated int `json:"authenticated"`
	Skipped       int `json:"skipped"`
	// Resumed is true when the run continued from a checkpoint file.
	Resumed bool `json:"resumed"`
	// Signing is the new version's backup signing key.
	Signing backup.SigningKey `json:"-"`
}

// Migrate moves the current backup (or, when a checkpoint exists, the one
// being migrated) into a new version whose auth_data names a backup
// signing key, re-signing every key (backup.Migration over HTTP), saving
// the checkpoint after every step so that an interrupted run resumes.
func Migrate(ctx context.Context, a *API, o MigrateOptions) (*MigrateResult, error) {
	if o.CheckpointPath == "" {
		return nil, fmt.Errorf("%w: no checkpoint path", ErrCheckpoint)
	}
	if o.Rand == nil {
		return nil, fmt.Errorf("keybackup: no randomness source")
	}
	cf, resumed, err := loadCheckpoint(o.CheckpointPath)
	if err != nil {
		return nil, err
	}
	res := &MigrateResult{Resumed: resumed}
	var oldVersion string
	if resumed {
		oldVersion = cf.Checkpoint.OldVersion
	}
	old, err := GetStatus(ctx, a, oldVersion, o.Viewer, &o.OldKey)
	if err != nil {
		return nil, fmt.Errorf("keybackup: migration: reading the old version: %w", err)
	}
	if old.Algorithm != backup.Algorithm {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, old.Algorithm)
	}
	if !old.Trusted {
		return nil, fmt.Errorf("%w: version %s: %s", ErrUntrusted, old.Version, old.Reason)
	}
	if !resumed && old.SigningKeyTrusted && !o.Force {
		return nil, fmt.Errorf("%w (version %s)", ErrAlreadySigned, old.Version)
	}

	var signing backup.SigningKey
	switch {
	case o.Signing != nil:
		signing = *o.Signing
	case resumed:
		k, has, err := LoadKeys(ctx, o.Secrets, o.SecretKey)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, fmt.Errorf("%w: the backup signing key of the interrupted migration is not in secret storage", ErrMissingKey)
		}
		signing = k.Signing
	default:
		if signing, err = backup.GenerateSigningKey(o.Rand); err != nil {
			return nil, err
		}
		if err := StoreKeys(ctx, o.Secrets, o.SecretKey, Keys{Private: o.OldKey, Signing: signing}, o.Rand); err != nil {
			return nil, err
		}
	}
	if !resumed {
		ad, err := newSignedAuthData(Keys{Private: o.OldKey, Signing: signing}, o.Viewer.UserID, o.Master, o.Device)
		if err != nil {
			return nil, err
		}
		cf = checkpointFile{NewAuthData: ad, Total: old.Count}
	}
	cfg := backup.MigrationConfig{
		UserID: o.Viewer.UserID, OldVersion: old.Version, OldKey: o.OldKey, OldTrust: old.Trust,
		NewAuthData: cf.NewAuthData, SigningKey: signing, BatchSize: o.BatchSize, Rand: o.Rand,
	}
	var m *backup.Migration
	if resumed {
		m, err = backup.ResumeMigration(cfg, cf.Checkpoint)
	} else {
		m, err = backup.NewMigration(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if !resumed {
		cf.Checkpoint = m.Checkpoint()
		if err := saveCheckpoint(o.CheckpointPath, cf); err != nil {
			return nil, err
		}
	}
	mio := &httpMigrationIO{a: a, deleteOld: o.DeleteOld, cache: map[string][]backup.BackedUpKey{}}
	err = m.Run(ctx, mio, func(cp backup.MigrationCheckpoint) error {
		cf.Checkpoint = cp
		if err := saveCheckpoint(o.CheckpointPath, cf); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(cp, cf.Total)
		}
		return nil
	})
	cp := m.Checkpoint()
	res.OldVersion, res.NewVersion = cp.OldVersion, cp.NewVersion
	res.Copied, res.Authenticated, res.Skipped = cp.Copied, cp.Authenticated, cp.Skipped
	res.Signing = signing
	if err != nil {
		return res, err
	}
	if err := os.Remove(o.CheckpointPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("%w: removing %s: %w", ErrCheckpoint, o.CheckpointPath, err)
	}
	return res, nil
}
