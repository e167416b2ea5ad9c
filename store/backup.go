package store

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors of the room-key backup area, returned (possibly wrapped)
// by every backend.
var (
	// ErrWrongBackupVersion reports a write to a backup version that is not
	// the user's current one. The error is a *WrongBackupVersionError, which
	// names the current version.
	ErrWrongBackupVersion = errors.New("store: not the current backup version")
	// ErrBackupAlgorithm reports an auth_data update whose algorithm differs
	// from the backup version's.
	ErrBackupAlgorithm = errors.New("store: backup algorithm does not match")
)

// WrongBackupVersionError is the error of a write to a backup version that
// is not the current one. It matches ErrWrongBackupVersion with errors.Is.
type WrongBackupVersionError struct {
	// Given is the version the caller named.
	Given string
	// Current is the user's current backup version.
	Current string
}

// Error says which version was given and which one is current.
func (e *WrongBackupVersionError) Error() string {
	return fmt.Sprintf("%v: %q given, current is %q", ErrWrongBackupVersion, e.Given, e.Current)
}

// Is makes errors.Is(err, ErrWrongBackupVersion) true.
func (e *WrongBackupVersionError) Is(target error) bool { return target == ErrWrongBackupVersion }

// BackupVersion is one backup version of a user (GET /room_keys/version).
type BackupVersion struct {
	// Version is the version ID: a decimal integer, increasing per user and
	// never reused, even after a deletion.
	Version string
	// Algorithm is the backup algorithm as the client named it.
	Algorithm string
	// AuthData is the compact JSON object of the version's auth_data.
	AuthData []byte
	// Etag changes whenever the stored sessions of this version change.
	Etag string
	// Count is the number of sessions stored in this version.
	Count int
}

// BackupSessionMeta is the cleartext metadata of a backed-up session: what
// the replacement rule looks at.
type BackupSessionMeta struct {
	FirstMessageIndex int64
	ForwardedCount    int64
	IsVerified        bool
}

// BackupSession is one backed-up room key (KeyBackupData) with its place.
type BackupSession struct {
	RoomID    string
	SessionID string
	BackupSessionMeta
	// SessionData is the compact JSON object of session_data (encrypted by
	// the client; the server never interprets it).
	SessionData []byte
}

// ReplaceFunc decides whether an uploaded session replaces the stored copy
// of the same room and session. The store calls it; it never reimplements
// the rule itself.
type ReplaceFunc func(existing, incoming BackupSessionMeta) bool

// Backups stores server-side room-key backups. Every method acts on one
// user's backups only. A version is named by its decimal string; a string
// that names no version of the user (including one that is not a decimal
// integer) gives ErrNotFound, except where noted.
type Backups interface {
	// CreateBackupVersion stores a new version, which becomes the current
	// one, and returns its ID (one more than the highest the user ever had).
	CreateBackupVersion(ctx context.Context, userID, algorithm string, authData []byte) (string, error)
	// GetBackupVersion returns a version with its etag and count: the
	// current one (the highest not deleted) when version is "", or
	// ErrNotFound when there is none or the version was deleted.
	GetBackupVersion(ctx context.Context, userID, version string) (BackupVersion, error)
	// UpdateBackupAuthData replaces the auth_data of a version that is not
	// deleted. ErrBackupAlgorithm when algorithm differs from the stored one.
	// It does not change the etag.
	UpdateBackupAuthData(ctx context.Context, userID, version, algorithm string, authData []byte) error
	// DeleteBackupVersion deletes a version and every session in it, in one
	// transaction. Deleting an already deleted version succeeds; a version
	// that never existed gives ErrNotFound. The highest remaining version,
	// if any, becomes current.
	DeleteBackupVersion(ctx context.Context, userID, version string) error
	// PutBackupSessions stores sessions in the user's current version, in
	// one transaction: a session not stored yet is added; a stored one is
	// replaced when replace(existing, incoming) says so, else kept. It
	// returns the version's etag (changed only if a session was written)
	// and its session count. ErrNotFound when the user has no current
	// version; a *WrongBackupVersionError when version is not the current
	// one. On any error nothing is stored.
	PutBackupSessions(ctx context.Context, userID, version string, sessions []BackupSession, replace ReplaceFunc) (etag string, count int, err error)
	// GetBackupSessions returns the sessions of a version that is not
	// deleted, in no particular order: all of them when roomID is "", a
	// room's when sessionID is "", else at most the one session. No
	// matching session gives an empty slice, not an error.
	GetBackupSessions(ctx context.Context, userID, version, roomID, sessionID string) ([]BackupSession, error)
	// DeleteBackupSessions deletes sessions of a version that is not deleted
	// (selected as in GetBackupSessions) in one transaction and returns the
	// etag (changed only if a session was deleted) and the remaining count.
	// It does not require the version to be the current one.
	DeleteBackupSessions(ctx context.Context, userID, version, roomID, sessionID string) (etag string, count int, err error)
}
