// Package secrets is secret storage (SSSS, "Secrets" module of the
// client-server API) on a Matrix account, for vouch clients: it creates the
// account's default secret storage key and stores its description in
// account data, unlocks a key from the raw key, a recovery key or a
// passphrase, stores and reads named secrets (cross-signing private keys,
// the MSC2882 public user-signing key, the key backup decryption key and the
// backup signing key), lists which secrets exist under which keys, and
// recovers the cross-signing private keys on a new device after checking
// them against the published public keys.
//
// The cryptography (m.secret_storage.v1.aes-hmac-sha2, key checks, PBKDF2,
// recovery keys) and the secret names are package ssss; this package only
// fetches and writes account data through a *client.Client and decides what
// to accept. Decisions are in docs/secrets-and-backup.md.
//
// What it is not: it does not share secrets between devices (m.secret.request
// / m.secret.send), never prints or logs a secret, and keeps no state of its
// own beyond the optional local cache file (Local) the CLI asks it to write.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"vouch/client"
	"vouch/keys"
	"vouch/ssss"
)

// Sentinel errors, wrapped with context; test with errors.Is.
var (
	// ErrNoDefaultKey: the account has no m.secret_storage.default_key.
	ErrNoDefaultKey = errors.New("secrets: no default secret storage key (run vouch secrets setup)")
	// ErrDefaultKeyExists: CreateDefaultKey found a default key already and
	// was not told to replace it.
	ErrDefaultKeyExists = errors.New("secrets: secret storage already has a default key")
	// ErrKeyNotFound: no description m.secret_storage.key.<id> for the key ID.
	ErrKeyNotFound = errors.New("secrets: secret storage key description not found")
	// ErrNoCredential: Unlock was given no key, recovery key or passphrase,
	// or more than one.
	ErrNoCredential = errors.New("secrets: give exactly one of a key, a recovery key or a passphrase")
	// ErrNoPassphrase: a passphrase was given for a key that was not made
	// from one.
	ErrNoPassphrase = errors.New("secrets: this secret storage key was not created from a passphrase; use the recovery key")
	// ErrSecretNotFound: the secret is not stored, or not encrypted with the
	// key in use.
	ErrSecretNotFound = errors.New("secrets: secret not stored under this key")
	// ErrBadSecret: a decrypted secret is not the key it should be (bad
	// base64 or length).
	ErrBadSecret = errors.New("secrets: stored secret is not a valid key")
	// ErrNoIdentity: the user has no published master signing key to check
	// recovered keys against.
	ErrNoIdentity = errors.New("secrets: no published cross-signing identity")
	// ErrKeyMismatch: a recovered private key does not match the published
	// public key (secret storage holds a stale or planted key).
	ErrKeyMismatch = errors.New("secrets: recovered private key does not match the published public key")
	// ErrBadAccountData: account data has the wrong shape.
	ErrBadAccountData = errors.New("secrets: malformed account data")
)

// Store is secret storage on one account, reached through a logged-in
// client. It is safe for concurrent use as far as the client is.
type Store struct {
	c      *client.Client
	userID string
}

// New returns the secret storage of userID, whose access token c holds.
func New(c *client.Client, userID string) (*Store, error) {
	if c == nil {
		return nil, fmt.Errorf("secrets: nil client")
	}
	if _, err := keys.ParseUserID(userID); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Store{c: c, userID: userID}, nil
}

// UserID is the account's user ID.
func (s *Store) UserID() string { return s.userID }

// Key is an unlocked secret storage key: its ID, raw bytes and description.
// String and GoString never show the raw key.
type Key struct {
	// ID is the key ID.
	ID string
	// Raw is the 32-byte secret storage key. Keep it secret.
	Raw []byte
	// Description is the stored m.secret_storage.key.<ID> content.
	Description ssss.KeyDescription
	// Checked is false when the description has no key check (iv/mac), so
	// the key could not be verified before use; a wrong key then shows up
	// as a MAC mismatch when a secret is read.
	Checked bool
}

// String describes k without the raw key.
func (k *Key) String() string { return fmt.Sprintf("secrets.Key{ID: %q}", k.ID) }

// GoString describes k without the raw key.
func (k *Key) GoString() string { return k.String() }

// RecoveryKey returns the key in recovery-key form, to show the user once.
func (k *Key) RecoveryKey() (string, error) { return ssss.EncodeRecoveryKey(k.Raw) }

// CreateOptions configure CreateDefaultKey.
type CreateOptions struct {
	// Name is the optional human-readable key name.
	Name string
	// Passphrase, when not empty, derives the key from it (m.pbkdf2, random
	// salt) instead of drawing it at random.
	Passphrase string
	// Iterations is the PBKDF2 iteration count for a passphrase key; 0
	// means ssss.DefaultIterations (500,000). Only tests pass less.
	Iterations int
	// Replace allows replacing an existing default key. Secrets stored
	// under the old key stay readable with the old key until they are
	// written again (Put keeps only the new key's copy).
	Replace bool
	// Rand is the randomness source (crypto/rand.Reader in production).
	Rand io.Reader
}

// CreateDefaultKey creates a new secret storage key, stores its
// description as m.secret_storage.key.<id> and makes it the default key
// (m.secret_storage.default_key), in that order, so the default never
// names a key without a description.
func (s *Store) CreateDefaultKey(ctx context.Context, o CreateOptions) (*Key, error) {
	if o.Rand == nil {
		return nil, fmt.Errorf("secrets: no randomness source")
	}
	if !o.Replace {
		id, err := s.DefaultKeyID(ctx)
		switch {
		case err == nil:
			return nil, fmt.Errorf("%w: %s", ErrDefaultKeyExists, id)
		case !errors.Is(err, ErrNoDefaultKey):
			return nil, err
		}
	}
	var (
		k   *ssss.Key
		err error
	)
	if o.Passphrase != "" {
		k, err = ssss.NewPassphraseKey(o.Rand, o.Name, o.Passphrase, o.Iterations)
	} else {
		k, err = ssss.NewKey(o.Rand, o.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: creating key: %w", err)
	}
	if err := s.c.PutAccountData(ctx, s.userID, ssss.KeyEventType(k.ID), k.Description); err != nil {
		return nil, fmt.Errorf("secrets: storing key description: %w", err)
	}
	if err := s.c.PutAccountData(ctx, s.userID, ssss.DefaultKeyEventType, ssss.DefaultKeyContent{Key: k.ID}); err != nil {
		return nil, fmt.Errorf("secrets: setting default key: %w", err)
	}
	return &Key{ID: k.ID, Raw: k.Key, Description: k.Description, Checked: true}, nil
}

// getAccountData reads account data of type typ into out; found is false
// on 404.
func (s *Store) getAccountData(ctx context.Context, typ string, out any) (found bool, err error) {
	err = s.c.GetAccountData(ctx, s.userID, typ, out)
	if client.IsCode(err, client.CodeNotFound) {
		return false, nil
	}
	if err != nil {
		var merr *client.Error
		if errors.As(err, &merr) || errors.Is(err, client.ErrNetwork) || errors.Is(err, client.ErrNotLoggedIn) {
			return false, fmt.Errorf("secrets: reading %s: %w", typ, err)
		}
		return false, fmt.Errorf("%w: %s: %w", ErrBadAccountData, typ, err)
	}
	return true, nil
}

// DefaultKeyID returns the ID of the default key, or ErrNoDefaultKey.
func (s *Store) DefaultKeyID(ctx context.Context) (string, error) {
	var d ssss.DefaultKeyContent
	found, err := s.getAccountData(ctx, ssss.DefaultKeyEventType, &d)
	if err != nil {
		return "", err
	}
	if !found || d.Key == "" {
		return "", ErrNoDefaultKey
	}
	return d.Key, nil
}

// KeyDescription returns the description of key id, or ErrKeyNotFound.
func (s *Store) KeyDescription(ctx context.Context, id string) (ssss.KeyDescription, error) {
	var d ssss.KeyDescription
	if id == "" {
		return d, fmt.Errorf("%w: empty key ID", ErrKeyNotFound)
	}
	found, err := s.getAccountData(ctx, ssss.KeyEventType(id), &d)
	if err != nil {
		return d, err
	}
	if !found {
		return d, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
	}
	return d, nil
}

// Credential is what the user gives to unlock a key: exactly one of the raw
// key, a recovery key or a passphrase.
type Credential struct {
	// Key is the raw 32-byte key.
	Key []byte
	// RecoveryKey is the key in recovery-key form (spaces ignored).
	RecoveryKey string
	// Passphrase is the passphrase the key was derived from.
	Passphrase string
}

// Unlock returns secret storage key keyID ("" means the default key),
// derived from cred and checked against the key's description. A wrong key
// fails with ssss.ErrWrongKey; a malformed recovery key with the ssss
// recovery-key errors.
func (s *Store) Unlock(ctx context.Context, keyID string, cred Credential) (*Key, error) {
	n := 0
	for _, set := range []bool{cred.Key != nil, cred.RecoveryKey != "", cred.Passphrase != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, ErrNoCredential
	}
	if keyID == "" {
		id, err := s.DefaultKeyID(ctx)
		if err != nil {
			return nil, err
		}
		keyID = id
	}
	desc, err := s.KeyDescription(ctx, keyID)
	if err != nil {
		return nil, err
	}
	var raw []byte
	switch {
	case cred.Key != nil:
		raw = slices.Clone(cred.Key)
	case cred.RecoveryKey != "":
		if raw, err = ssss.DecodeRecoveryKey(cred.RecoveryKey); err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
	default:
		if desc.Passphrase == nil {
			return nil, fmt.Errorf("%w (key %s)", ErrNoPassphrase, keyID)
		}
		if raw, err = desc.Passphrase.Key(cred.Passphrase); err != nil {
			return nil, fmt.Errorf("secrets: key %s: %w", keyID, err)
		}
	}
	if err := desc.Check(raw); err != nil {
		clear(raw)
		return nil, fmt.Errorf("secrets: key %s: %w", keyID, err)
	}
	return &Key{ID: keyID, Raw: raw, Description: desc, Checked: desc.Verifiable()}, nil
}

// Put stores secret under the name vouch writes for name (ssss.WriteName),
// encrypted with key only: copies under other keys are dropped. Another
// key's copy may hold an older value that this client cannot re-encrypt,
// and keeping it would let two keys give two answers — or let a replaced
// (perhaps leaked) key keep reading the new value's predecessor. Other
// clients write secrets the same way.
func (s *Store) Put(ctx context.Context, key *Key, name, secret string, rand io.Reader) error {
	if key == nil {
		return fmt.Errorf("secrets: nil key")
	}
	if rand == nil {
		return fmt.Errorf("secrets: no randomness source")
	}
	typ := ssss.WriteName(name)
	enc, err := ssss.Encrypt(key.Raw, typ, []byte(secret), rand)
	if err != nil {
		return fmt.Errorf("secrets: encrypting %s: %w", typ, err)
	}
	var content ssss.SecretContent
	content.Set(key.ID, enc)
	if err := s.c.PutAccountData(ctx, s.userID, typ, content); err != nil {
		return fmt.Errorf("secrets: storing %s: %w", typ, err)
	}
	return nil
}

// Get reads the secret called name with key, trying every name of
// ssss.ReadNames in order; the first name holding a copy for key.ID wins.
// It fails with ErrSecretNotFound when none does, and with
// ssss.ErrMACMismatch when the copy does not verify (tampered, or stored
// under another name).
func (s *Store) Get(ctx context.Context, key *Key, name string) (string, error) {
	if key == nil {
		return "", fmt.Errorf("secrets: nil key")
	}
	for _, typ := range ssss.ReadNames(name) {
		var content ssss.SecretContent
		found, err := s.getAccountData(ctx, typ, &content)
		if err != nil {
			return "", err
		}
		if !found {
			continue
		}
		enc, ok := content.Get(key.ID)
		if !ok {
			continue
		}
		out, err := ssss.DecryptString(key.Raw, typ, enc)
		if err != nil {
			return "", fmt.Errorf("secrets: %s: %w", typ, err)
		}
		return out, nil
	}
	return "", fmt.Errorf("%w: %s (key %s)", ErrSecretNotFound, name, key.ID)
}

// KnownNames lists every secret name vouch knows, including every spelling
// of the MSC2882 key that ssss.ReadNames tries, in a fixed order.
func KnownNames() []string {
	out := []string{
		ssss.SecretCrossSigningMaster,
		ssss.SecretCrossSigningSelfSigning,
		ssss.SecretCrossSigningUserSigning,
	}
	out = append(out, ssss.ReadNames(ssss.SecretPublicUserSigning)...)
	return append(out, ssss.SecretMegolmBackup, ssss.SecretKeyBackupSigning)
}

// KeyInfo describes one secret storage key in a Listing.
type KeyInfo struct {
	// ID is the key ID.
	ID string `json:"id"`
	// Name is the key's human-readable name, if any.
	Name string `json:"name,omitempty"`
	// Algorithm is the key's algorithm.
	Algorithm string `json:"algorithm,omitempty"`
	// Passphrase is true when the key can be derived from a passphrase.
	Passphrase bool `json:"passphrase"`
	// Default is true for the default key.
	Default bool `json:"default"`
	// Missing is true when a secret names the key but its description is
	// absent.
	Missing bool `json:"missing,omitempty"`
}

// SecretInfo says under which keys one secret is stored.
type SecretInfo struct {
	// Name is the account-data type the secret is stored under.
	Name string `json:"name"`
	// KeyIDs are the keys it is encrypted with, sorted.
	KeyIDs []string `json:"key_ids"`
}

// Listing is what secret storage holds: keys and known secrets. It holds
// no secret value.
type Listing struct {
	// DefaultKey is the default key ID, "" if none.
	DefaultKey string `json:"default_key"`
	// Keys are the default key and every key a secret is encrypted with.
	Keys []KeyInfo `json:"keys"`
	// Secrets are the known secrets that are stored, in KnownNames order.
	Secrets []SecretInfo `json:"secrets"`
}

// List reports which of the KnownNames secrets exist and under which keys,
// and describes those keys. The client-server API lists account data only
// through /sync, so only known names are looked up.
func (s *Store) List(ctx context.Context) (*Listing, error) {
	l := &Listing{Keys: []KeyInfo{}, Secrets: []SecretInfo{}}
	def, err := s.DefaultKeyID(ctx)
	if err != nil && !errors.Is(err, ErrNoDefaultKey) {
		return nil, err
	}
	l.DefaultKey = def
	ids := map[string]bool{}
	if def != "" {
		ids[def] = true
	}
	for _, name := range KnownNames() {
		var content ssss.SecretContent
		found, err := s.getAccountData(ctx, name, &content)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		info := SecretInfo{Name: name, KeyIDs: []string{}}
		for id := range content.Encrypted {
			info.KeyIDs = append(info.KeyIDs, id)
			ids[id] = true
		}
		sort.Strings(info.KeyIDs)
		l.Secrets = append(l.Secrets, info)
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		ki := KeyInfo{ID: id, Default: id == def}
		d, err := s.KeyDescription(ctx, id)
		switch {
		case errors.Is(err, ErrKeyNotFound):
			ki.Missing = true
		case err != nil:
			return nil, err
		default:
			ki.Name, ki.Algorithm, ki.Passphrase = d.Name, d.Algorithm, d.Passphrase != nil
		}
		l.Keys = append(l.Keys, ki)
	}
	return l, nil
}
