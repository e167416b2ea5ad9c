// Package state is the local state of one vouch client account: an SQLite
// database (modernc.org/sqlite) holding the login (homeserver, user,
// device, access token), the device's private keys and unclaimed one-time
// key secrets, the cross-signing private keys when this device has them,
// the master key this device trusts as its own, the pinned master keys of
// other users, device verifications, the last known devices of tracked
// users and the /sync token.
//
// The database lives in <base>/<user ID>/state.db where base is
// $XDG_DATA_HOME/vouch (or ~/.local/share/vouch); the directory is created
// 0700 and the files are 0600, because private keys are stored unencrypted
// in them (see docs/client.md). Nothing here logs or prints a secret.
//
// What it is not: not the server's store, and it makes no trust decision;
// it only remembers what package trust and the client flows decided.
package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"vouch/client/device"
	"vouch/keys"
	"vouch/trust"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sentinel errors.
var (
	// ErrNoAccount means no login is stored (run vouch login).
	ErrNoAccount = errors.New("state: not logged in")
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("state: not found")
	// ErrNoHome means no data directory could be determined.
	ErrNoHome = errors.New("state: cannot determine the data directory; set XDG_DATA_HOME or VOUCH_STATE_DIR")
	// ErrPermissions means the state directory or file is readable by others.
	ErrPermissions = errors.New("state: state directory or file is accessible by other users")
)

// FileName is the database file inside an account directory.
const FileName = "state.db"

// DefaultBase returns $XDG_DATA_HOME/vouch, or ~/.local/share/vouch.
func DefaultBase() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "vouch"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", ErrNoHome
	}
	return filepath.Join(home, ".local", "share", "vouch"), nil
}

// AccountDir is the directory of userID's state under base. The user ID is
// checked so that it cannot name a path outside base.
func AccountDir(base, userID string) (string, error) {
	if _, err := keys.ParseUserID(userID); err != nil {
		return "", err
	}
	name := url.PathEscape(userID)
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: %q cannot name a directory", keys.ErrInvalidUserID, userID)
	}
	return filepath.Join(base, name), nil
}

// Accounts lists the user IDs with a state directory under base.
func Accounts(base string) ([]string, error) {
	ents, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: listing %s: %w", base, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		u, err := url.PathUnescape(e.Name())
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(base, e.Name(), FileName)); err != nil {
			continue
		}
		if _, err := keys.ParseUserID(u); err == nil {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Store is one account's state database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS one_time_keys (key_id TEXT PRIMARY KEY, private BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pins (user_id TEXT PRIMARY KEY, pin TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verified_devices (
	user_id TEXT NOT NULL, device_id TEXT NOT NULL, ed25519 TEXT NOT NULL,
	PRIMARY KEY (user_id, device_id));
CREATE TABLE IF NOT EXISTS known_users (user_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
`

// schemaVersion is stored in meta; later versions migrate from it.
const schemaVersion = "1"

// Open opens (creating if needed) the state database in dir, creating dir
// with mode 0700 and the database with mode 0600. It refuses a directory or
// file that other users can access.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: creating %s: %w", dir, err)
	}
	if err := checkPerm(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: creating %s: %w", path, err)
	}
	f.Close()
	if err := checkPerm(path); err != nil {
		return nil, err
	}
	// The path goes into a URI: escape what the URI syntax would interpret.
	uriPath := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + uriPath + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("state: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: creating schema in %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.setMeta(ctx, "schema_version", []byte(schemaVersion)); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func checkPerm(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %v; run chmod go-rwx %s", ErrPermissions, path, fi.Mode().Perm(), path)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) setMeta(ctx context.Context, k string, v []byte) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v); err != nil {
		return fmt.Errorf("state: saving %s: %w", k, err)
	}
	return nil
}

func (s *Store) meta(ctx context.Context, k string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	if err != nil {
		return nil, fmt.Errorf("state: reading %s: %w", k, err)
	}
	return v, nil
}

func (s *Store) deleteMeta(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM meta WHERE k = ?`, k); err != nil {
			return fmt.Errorf("state: deleting %s: %w", k, err)
		}
	}
	return nil
}

func (s *Store) putJSON(ctx context.Context, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: encoding %s: %w", k, err)
	}
	return s.setMeta(ctx, k, b)
}

func (s *Store) getJSON(ctx context.Context, k string, v any) error {
	b, err := s.meta(ctx, k)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("state: decoding %s: %w", k, err)
	}
	return nil
}

// Account is a stored login.
type Account struct {
	Homeserver  string `json:"homeserver"`
	UserID      string `json:"user_id"`
	DeviceID    string `json:"device_id"`
	AccessToken string `json:"access_token"`
}

// String describes the account without its access token.
func (a Account) String() string { return a.UserID + " (device " + a.DeviceID + ") on " + a.Homeserver }

// SaveAccount stores the login.
func (s *Store) SaveAccount(ctx context.Context, a Account) error {
	return s.putJSON(ctx, "account", a)
}

// Account returns the stored login, or ErrNoAccount.
func (s *Store) Account(ctx context.Context) (Account, error) {
	var a Account
	if err := s.getJSON(ctx, "account", &a); err != nil {
		if errors.Is(err, ErrNotFound) {
			return a, ErrNoAccount
		}
		return a, err
	}
	if a.AccessToken == "" {
		return a, ErrNoAccount
	}
	return a, nil
}

// ForgetLogin removes the access token, the device's keys and its one-time
// key secrets and the sync token (after logout the device is gone). Pins,
// verifications and cross-signing keys stay.
func (s *Store) ForgetLogin(ctx context.Context) error {
	if err := s.deleteMeta(ctx, "account", "device", "sync_token"); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM one_time_keys`); err != nil {
		return fmt.Errorf("state: deleting one-time keys: %w", err)
	}
	return nil
}

// SaveDevice stores the device's private keys.
func (s *Store) SaveDevice(ctx context.Context, d device.Secrets) error {
	return s.putJSON(ctx, "device", d)
}

// Device returns the device's private keys, or ErrNotFound.
func (s *Store) Device(ctx context.Context) (device.Secrets, error) {
	var d device.Secrets
	err := s.getJSON(ctx, "device", &d)
	return d, err
}

// SaveOneTimeKeys stores one-time key secrets with the device's new key
// counter in one transaction, so a crash cannot reuse a key ID.
func (s *Store) SaveOneTimeKeys(ctx context.Context, d device.Secrets, ks []device.OneTimeKey) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer tx.Rollback()
	for _, k := range ks {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO one_time_keys (key_id, private) VALUES (?, ?)`, k.KeyID, k.Private); err != nil {
			return fmt.Errorf("state: saving one-time key %s: %w", k.KeyID, err)
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("state: encoding device: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (k, v) VALUES ('device', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, b); err != nil {
		return fmt.Errorf("state: saving device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// OneTimeKeyCount is the number of one-time key secrets held.
func (s *Store) OneTimeKeyCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM one_time_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: %w", err)
	}
	return n, nil
}

// CrossSigning holds the 32-byte ed25519 seeds of the cross-signing keys
// this device has; a nil seed is a key it does not hold.
type CrossSigning struct {
	Master      []byte `json:"master,omitempty"`
	SelfSigning []byte `json:"self_signing,omitempty"`
	UserSigning []byte `json:"user_signing,omitempty"`
	// PublicUserSigning is the MSC2882 public user-signing key, made by
	// vouch pusk create; nil until then (and in state written before it
	// existed).
	PublicUserSigning []byte `json:"public_user_signing,omitempty"`
}

// SaveCrossSigning stores the cross-signing private keys.
func (s *Store) SaveCrossSigning(ctx context.Context, c CrossSigning) error {
	return s.putJSON(ctx, "cross_signing", c)
}

// CrossSigning returns the cross-signing private keys, or ErrNotFound.
func (s *Store) CrossSigning(ctx context.Context) (CrossSigning, error) {
	var c CrossSigning
	err := s.getJSON(ctx, "cross_signing", &c)
	return c, err
}

// SetOwnMaster records the master signing public key (unpadded base64)
// this device trusts as its user's own.
func (s *Store) SetOwnMaster(ctx context.Context, pub string) error {
	return s.setMeta(ctx, "own_master", []byte(pub))
}

// OwnMaster returns the trusted own master key, "" when there is none.
func (s *Store) OwnMaster(ctx context.Context) (string, error) {
	b, err := s.meta(ctx, "own_master")
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// SetSyncToken stores the next_batch of the last processed /sync.
func (s *Store) SetSyncToken(ctx context.Context, tok string) error {
	return s.setMeta(ctx, "sync_token", []byte(tok))
}

// SyncToken returns the stored sync token, "" when none.
func (s *Store) SyncToken(ctx context.Context) (string, error) {
	b, err := s.meta(ctx, "sync_token")
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// SavePin stores a pin (trust.Pin JSON).
func (s *Store) SavePin(ctx context.Context, p trust.Pin) error {
	if _, err := keys.ParseUserID(p.UserID); err != nil {
		return fmt.Errorf("state: pin: %w", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("state: encoding pin: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO pins (user_id, pin) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET pin = excluded.pin`, p.UserID, string(b)); err != nil {
		return fmt.Errorf("state: saving pin of %s: %w", p.UserID, err)
	}
	return nil
}

// Pin returns the pin of userID; a zero Pin (for that user) when none.
func (s *Store) Pin(ctx context.Context, userID string) (trust.Pin, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT pin FROM pins WHERE user_id = ?`, userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return trust.Pin{Version: trust.PinVersion, UserID: userID}, nil
	}
	if err != nil {
		return trust.Pin{}, fmt.Errorf("state: reading pin of %s: %w", userID, err)
	}
	return decodePin(userID, raw)
}

func decodePin(userID, raw string) (trust.Pin, error) {
	var p trust.Pin
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("state: decoding pin of %s: %w", userID, err)
	}
	if p.Version > trust.PinVersion {
		return p, fmt.Errorf("state: pin of %s has version %d, newer than this vouch (%d)", userID, p.Version, trust.PinVersion)
	}
	// Version 0 (none recorded) is read as version 1: same fields.
	p.Version = trust.PinVersion
	p.UserID = userID
	return p, nil
}

// Pins returns every pin, ordered by user ID.
func (s *Store) Pins(ctx context.Context) ([]trust.Pin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id, pin FROM pins ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("state: reading pins: %w", err)
	}
	defer rows.Close()
	var out []trust.Pin
	for rows.Next() {
		var u, raw string
		if err := rows.Scan(&u, &raw); err != nil {
			return nil, fmt.Errorf("state: reading pins: %w", err)
		}
		p, err := decodePin(u, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddVerifiedDevice records that the user verified userID's device with
// ed25519 key edKey (unpadded base64): a device verification, the input of
// the migration to cross-signing.
func (s *Store) AddVerifiedDevice(ctx context.Context, userID, deviceID, edKey string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO verified_devices (user_id, device_id, ed25519) VALUES (?, ?, ?)
		ON CONFLICT (user_id, device_id) DO UPDATE SET ed25519 = excluded.ed25519`, userID, deviceID, edKey); err != nil {
		return fmt.Errorf("state: saving verified device %s %s: %w", userID, deviceID, err)
	}
	return nil
}

// VerifiedDevices returns userID's verified devices: device ID → ed25519 key.
func (s *Store) VerifiedDevices(ctx context.Context, userID string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, ed25519 FROM verified_devices WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("state: reading verified devices: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var d, k string
		if err := rows.Scan(&d, &k); err != nil {
			return nil, fmt.Errorf("state: reading verified devices: %w", err)
		}
		out[d] = k
	}
	return out, rows.Err()
}

// SaveSnapshot stores what was last shown about userID (for `vouch watch`
// to report differences), as an opaque JSON document.
func (s *Store) SaveSnapshot(ctx context.Context, userID string, snapshot []byte) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO known_users (user_id, snapshot) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET snapshot = excluded.snapshot`, userID, string(snapshot)); err != nil {
		return fmt.Errorf("state: saving snapshot of %s: %w", userID, err)
	}
	return nil
}

// Snapshot returns the stored snapshot of userID, nil when none.
func (s *Store) Snapshot(ctx context.Context, userID string) ([]byte, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT snapshot FROM known_users WHERE user_id = ?`, userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: reading snapshot of %s: %w", userID, err)
	}
	return []byte(raw), nil
}

// TrackedUsers lists users with a pin or a snapshot: those whose key
// changes the account follows.
func (s *Store) TrackedUsers(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM pins UNION SELECT user_id FROM known_users ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("state: reading tracked users: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
