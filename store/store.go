// Package store defines the storage interfaces of the vouch key server: plain
// Go types, one interface per area and the sentinel errors every backend
// returns.
//
// The package holds no SQL and no HTTP logic. Backends (store/sqlite, and
// store/postgres later) implement [Store]; store/storetest is the conformance
// suite each backend runs. Every method that must change several things at
// once (for example replacing cross-signing keys together with the signatures
// they invalidate and the device-list change they cause) is one method that a
// backend runs as one transaction, so callers never see a half-done write and
// no *sql.Tx leaks into the interface.
//
// Stored key objects never carry signatures: signatures live in their own
// records ([Signature]) so that the server can return to each viewer only the
// signatures that viewer may see. Only verified signatures may be stored; the
// store does not verify anything itself.
package store

import (
	"context"
	"errors"
)

// Sentinel errors returned (possibly wrapped) by every backend.
var (
	// ErrNotFound reports that the requested record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrUserExists reports that an account with this user ID already exists.
	ErrUserExists = errors.New("store: user already exists")
	// ErrDeviceIDCollision reports that a device ID equals one of the user's
	// cross-signing public keys, or a cross-signing public key equals one of
	// the user's device IDs.
	ErrDeviceIDCollision = errors.New("store: device ID collides with a cross-signing key")
	// ErrKeysChanged reports an attempt to change a device's identity keys.
	ErrKeysChanged = errors.New("store: device identity keys may not change")
	// ErrOneTimeKeyExists reports a one-time key ID that is already stored
	// with different content.
	ErrOneTimeKeyExists = errors.New("store: one-time key already exists with other content")
	// ErrTooManyOneTimeKeys reports an upload that would leave a device more
	// unclaimed one-time keys than KeysUpload.MaxUnclaimed.
	ErrTooManyOneTimeKeys = errors.New("store: too many unclaimed one-time keys")
	// ErrConflict reports that state checked by the caller changed before the
	// write (for example the current master key was replaced concurrently).
	ErrConflict = errors.New("store: concurrent modification")
)

// Store is everything the key server persists. Backends implement all areas.
type Store interface {
	Accounts
	Devices
	DeviceKeys
	OneTimeKeys
	CrossSigning
	Signatures
	DeviceLists
	ToDevice
	AccountData
	UIASessions
	RegistrationNonces
	Expiry
	Backups
	// Close releases the backend's resources.
	Close() error
}

// WriterStats is what a store's write path has done since it opened, for
// metrics: backends that group-commit their write transactions (both SQL
// backends) report it through [WriterStatsReporter].
type WriterStats struct {
	// Batches counts the database transactions that committed (or failed)
	// groups of write transactions; Jobs counts the write transactions in
	// them, so Jobs/Batches is the mean group size.
	Batches, Jobs uint64
	// Reruns counts the groups run a second time, with a savepoint per
	// write transaction, because one of them failed.
	Reruns uint64
	// QueueSeconds is the time write transactions spent waiting for the
	// writer, summed; BatchSeconds the time the writer spent on groups.
	QueueSeconds, BatchSeconds float64
	// Waiting is the number of write transactions waiting for the writer
	// now.
	Waiting int
}

// WriterStatsReporter is implemented by stores that report WriterStats.
type WriterStatsReporter interface {
	WriterStats() WriterStats
}

// Unwrapper is implemented by stores that wrap another store (a read
// cache, a holder of the data directory's lock) and pass every call on.
type Unwrapper interface {
	Unwrap() Store
}

// WriterStatsOf returns the WriterStats of s, or of the first store under
// its wrappers that reports them, and whether one does.
func WriterStatsOf(s Store) (WriterStats, bool) {
	for s != nil {
		if r, ok := s.(WriterStatsReporter); ok {
			return r.WriterStats(), true
		}
		u, ok := s.(Unwrapper)
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	return WriterStats{}, false
}

// Account is a local user.
type Account struct {
	UserID       string
	PasswordHash string // encoded KDF output; empty means no password login
	Admin        bool
	CreatedMs    int64
}

// Device is one of a user's devices (a login session).
type Device struct {
	UserID      string
	DeviceID    string
	DisplayName string
	CreatedMs   int64
}

// Accounts stores user accounts.
type Accounts interface {
	// CreateAccount stores a new account; ErrUserExists if the ID is taken.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account or ErrNotFound.
	GetAccount(ctx context.Context, userID string) (Account, error)
}

// Devices stores devices and their access tokens. Tokens are stored and
// looked up by their hash only.
type Devices interface {
	// LoginDevice creates the device if it does not exist (appending a
	// device-list change) or keeps it, revokes the device's previous tokens
	// and stores tokenHash for it, all at once. ErrDeviceIDCollision if the
	// device ID equals one of the user's cross-signing public keys.
	LoginDevice(ctx context.Context, d Device, tokenHash []byte) (created bool, err error)
	// LookupToken returns the owner of an access token hash, or ErrNotFound.
	LookupToken(ctx context.Context, tokenHash []byte) (userID, deviceID string, err error)
	// GetDevice returns one device or ErrNotFound.
	GetDevice(ctx context.Context, userID, deviceID string) (Device, error)
	// ListDevices returns the user's devices ordered by device ID.
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// RenameDevice sets a device's display name; ErrNotFound if absent.
	RenameDevice(ctx context.Context, userID, deviceID, name string) error
	// DeleteDevices deletes the listed devices (all the user's devices when
	// deviceIDs is nil) with their tokens, device keys, one-time and fallback
	// keys, signatures made by or over them and pending to-device messages,
	// and appends one device-list change, in one transaction. Unknown device
	// IDs are ignored. It returns the number of devices deleted.
	DeleteDevices(ctx context.Context, userID string, deviceIDs []string) (int, error)
}

// DeviceKeysRecord is a device's identity keys as stored: the canonical JSON
// of the uploaded device_keys object without "signatures" and "unsigned".
type DeviceKeysRecord struct {
	UserID      string
	DeviceID    string
	KeyJSON     []byte
	DisplayName string // from the device, filled in by GetDeviceKeys
}

// OneTimeKey is a one-time or fallback key: its full key ID
// ("signed_curve25519:AAAAHQ") and its JSON value as uploaded.
type OneTimeKey struct {
	KeyID     string
	Algorithm string // the part of KeyID before ':'
	JSON      []byte
}

// KeysUpload is one /keys/upload request after validation.
type KeysUpload struct {
	UserID   string
	DeviceID string
	// DeviceKeys, when not nil, is stored unless identical keys are already
	// there; different existing keys give ErrKeysChanged.
	DeviceKeys *DeviceKeysRecord
	// SelfSignature is the device's verified signature over DeviceKeys.
	SelfSignature *Signature
	OneTimeKeys   []OneTimeKey
	// FallbackKeys replace the device's fallback key of the same algorithm.
	FallbackKeys []OneTimeKey
	// MaxUnclaimed, when positive, is the most unclaimed one-time keys (all
	// algorithms together) the device may have after the upload: an upload
	// of new keys beyond it fails with ErrTooManyOneTimeKeys and stores
	// nothing.
	MaxUnclaimed int
}

// DeviceKeys stores device identity keys.
type DeviceKeys interface {
	// UploadKeys stores a /keys/upload in one transaction and returns the
	// device's unclaimed one-time key counts by algorithm.
	UploadKeys(ctx context.Context, u KeysUpload) (map[string]int, error)
	// GetDeviceKeys returns the device keys of the given users, keyed by user
	// ID, in one query.
	GetDeviceKeys(ctx context.Context, userIDs []string) (map[string][]DeviceKeysRecord, error)
}

// OneTimeKeys stores one-time and fallback keys.
type OneTimeKeys interface {
	// OneTimeKeyCounts returns the device's unclaimed one-time key counts.
	OneTimeKeyCounts(ctx context.Context, userID, deviceID string) (map[string]int, error)
	// UnusedFallbackKeyTypes returns the algorithms of the device's fallback
	// keys that were not claimed yet, sorted.
	UnusedFallbackKeyTypes(ctx context.Context, userID, deviceID string) ([]string, error)
	// ClaimKeys takes, for every user → device → algorithm, one one-time key
	// (deleting it) or else the fallback key (marking it used), in one
	// transaction. Devices without a key are absent from the result, which
	// maps user → device → key ID → key JSON.
	ClaimKeys(ctx context.Context, req map[string]map[string]string) (map[string]map[string]map[string][]byte, error)
}

// Cross-signing key usages as stored.
const (
	UsageMaster      = "master"
	UsageSelfSigning = "self_signing"
	UsageUserSigning = "user_signing"
	// UsagePublicUserSigning is the MSC2882 public user-signing key (PUSK),
	// whose signatures over other users' keys everyone may see. Stored in
	// the same TEXT usage column as the others: no migration.
	UsagePublicUserSigning = "public_user_signing"
)

// CrossSigningKeyRecord is one cross-signing key: its canonical JSON without
// signatures and its unpadded base64 public key.
type CrossSigningKeyRecord struct {
	UserID    string
	Usage     string // UsageMaster, UsageSelfSigning, UsageUserSigning or UsagePublicUserSigning
	PublicKey string
	KeyJSON   []byte
}

// CrossSigningUpdate is one /keys/device_signing/upload after verification.
type CrossSigningUpdate struct {
	UserID string
	// ExpectMaster is the master public key the caller checked against ("" if
	// the user had none); ErrConflict if it changed meanwhile.
	ExpectMaster string
	// Keys replace the user's keys of the same usages.
	Keys []CrossSigningKeyRecord
	// Signatures are the verified signatures carried by Keys.
	Signatures []Signature
}

// CrossSigning stores cross-signing keys.
type CrossSigning interface {
	// GetCrossSigningKeys returns user → usage → key for the given users.
	GetCrossSigningKeys(ctx context.Context, userIDs []string) (map[string]map[string]CrossSigningKeyRecord, error)
	// PutCrossSigningKeys replaces keys in one transaction: it refuses public
	// keys equal to one of the user's device IDs (ErrDeviceIDCollision),
	// deletes every signature made by or over a replaced key, stores the new
	// keys and signatures and appends a device-list change. Keys identical to
	// the stored ones are left as they are. It reports whether anything changed.
	PutCrossSigningKeys(ctx context.Context, u CrossSigningUpdate) (changed bool, err error)
}

// KeyKind says which kind of key made or carries a signature.
type KeyKind int

// Key kinds.
const (
	KindDevice KeyKind = iota + 1
	KindMaster
	KindSelfSigning
	KindUserSigning
	// KindPublicUserSigning is the MSC2882 public user-signing key (stored
	// in the same INTEGER kind columns: no migration).
	KindPublicUserSigning
)

// Signature is one verified signature over a stored key.
type Signature struct {
	TargetUser string
	// TargetKey is the device ID for device keys, the unpadded base64 public
	// key for cross-signing keys.
	TargetKey   string
	TargetKind  KeyKind
	SignerUser  string
	SignerKeyID string // "ed25519:<device ID or public key>"
	SignerKind  KeyKind
	Signature   string // unpadded base64
}

// Signatures stores signatures over keys.
type Signatures interface {
	// PutSignatures stores verified signatures (replacing one by the same
	// signer key over the same target; a public user-signing-key signature
	// also replaces every other public user-signing-key signature its signer
	// user made over that target, MSC2882's one public signature per signer
	// per key) and appends a device-list change per
	// target user — visible to everyone for public signatures, only to the
	// signer for user-signing-key signatures — in one transaction. A target
	// key that no longer exists gives ErrNotFound and stores nothing.
	PutSignatures(ctx context.Context, sigs []Signature) error
	// GetSignatures returns every signature over keys of the given users.
	GetSignatures(ctx context.Context, targetUsers []string) ([]Signature, error)
	// DeleteSignatures deletes the signatures named by targets that
	// signerUser made, and appends a device-list change per target user
	// whose signatures went — visible to everyone interested in the target
	// user for public signatures, only to the signer for user-signing-key
	// signatures — in one transaction. References to signatures that do not
	// exist (or that another user made) are skipped. It returns the
	// signatures it deleted, with their kinds and values.
	DeleteSignatures(ctx context.Context, signerUser string, targets []SignatureRef) (deleted []Signature, err error)
}

// SignatureRef names one signature of a given signer user: the key it
// signs and the signer's key ID.
type SignatureRef struct {
	TargetUser  string
	TargetKey   string // device ID or unpadded base64 public key
	SignerKeyID string // "ed25519:<device ID or public key>"
}

// DeviceLists tracks the stream position and who must hear about changes.
type DeviceLists interface {
	// CurrentPosition returns the newest stream position (0 when empty).
	CurrentPosition(ctx context.Context) (int64, error)
	// AddInterest records that viewer wants device-list changes of targets.
	AddInterest(ctx context.Context, viewer string, targets []string) error
	// ChangedUsers returns the sorted users whose device lists changed at a
	// position in (from, to] and that viewer is interested in (viewer itself
	// included), plus changes addressed to viewer alone.
	ChangedUsers(ctx context.Context, viewer string, from, to int64) ([]string, error)
	// Watchers returns the sorted users interested in target (not target).
	Watchers(ctx context.Context, target string) ([]string, error)
}

// ToDeviceMessage is a message to one device ("*" for every device of the
// recipient when sending).
type ToDeviceMessage struct {
	Sender          string
	RecipientUser   string
	RecipientDevice string
	Type            string
	Content         []byte
	Position        int64 // set when read
}

// ToDevice stores to-device messages.
type ToDevice interface {
	// SendToDevice stores msgs under (sender, senderDevice, txnID) once:
	// a replay of the same transaction ID stores nothing and returns
	// duplicate=true, for as long as the ID is remembered (until
	// [Expiry.DeleteExpired] removes it). "*" devices expand to every
	// device of the recipient.
	SendToDevice(ctx context.Context, sender, senderDevice, txnID string, msgs []ToDeviceMessage) (duplicate bool, err error)
	// ToDeviceMessages deletes the device's messages at positions <= ack and
	// returns up to limit of the next ones at positions <= to, oldest first.
	ToDeviceMessages(ctx context.Context, userID, deviceID string, ack, to int64, limit int) ([]ToDeviceMessage, error)
}

// AccountData stores global account data.
type AccountData interface {
	// PutAccountData sets the user's account data of a type.
	PutAccountData(ctx context.Context, userID, typ string, content []byte) error
	// GetAccountData returns one type's content or ErrNotFound.
	GetAccountData(ctx context.Context, userID, typ string) ([]byte, error)
	// AccountDataSince returns type → content for data changed in (from, to].
	AccountDataSince(ctx context.Context, userID string, from, to int64) (map[string][]byte, error)
}

// UIASession is a user-interactive authentication session.
type UIASession struct {
	ID        string
	UserID    string
	Completed []string
	CreatedMs int64
}

// UIASessions stores user-interactive authentication sessions.
type UIASessions interface {
	// CreateUIASession stores a new session.
	CreateUIASession(ctx context.Context, s UIASession) error
	// GetUIASession returns a session or ErrNotFound.
	GetUIASession(ctx context.Context, id string) (UIASession, error)
	// CompleteUIAStage records a completed stage for a session.
	CompleteUIAStage(ctx context.Context, id, stage string) error
	// DeleteUIASession removes a session (after its request succeeded).
	DeleteUIASession(ctx context.Context, id string) error
}

// RegistrationNonces records the shared-secret registration nonces that
// have been used (POST /_synapse/admin/v1/register), until they expire, so
// that each is used once. The nonces themselves are issued and checked by
// the server without the store (they carry their expiry and a MAC); only a
// registration whose MAC is right writes here. Keeping the record in the
// store rather than in the process makes a nonce single-use across every
// instance that shares the database.
type RegistrationNonces interface {
	// UseRegistrationNonce records nonce as used until expiresMs (Unix
	// milliseconds); the expiry sweep deletes it afterwards. A nonce
	// already recorded gives ErrConflict and is left as it is. Atomic: of
	// several concurrent uses of one nonce, from one process or several
	// sharing the database, exactly one succeeds.
	UseRegistrationNonce(ctx context.Context, nonce string, expiresMs int64) error
}

// Expiry deletes the records that are kept only for a while: user-interactive
// authentication sessions (which an unauthenticated /register can create),
// to-device transaction IDs (kept so that a retried /sendToDevice is not
// delivered twice) and shared-secret registration nonces that were issued
// but never used. Without it these tables would grow without bound.
type Expiry interface {
	// DeleteExpired deletes the UIA sessions created before
	// uiaCreatedBeforeMs, the to-device transaction IDs recorded before
	// txnCreatedBeforeMs and the registration nonces expiring before
	// nonceExpiresBeforeMs (all Unix milliseconds, compared strictly) and
	// returns how many of each it deleted. It is idempotent: several
	// processes sharing a database may run it at the same time, each
	// counting only the rows it removed itself. A backend may delete in
	// several short transactions so that a large backlog does not hold up
	// other writes.
	DeleteExpired(ctx context.Context, uiaCreatedBeforeMs, txnCreatedBeforeMs, nonceExpiresBeforeMs int64) (uia, txns, nonces int, err error)
}
