// Package cache is a read-through, write-invalidated in-memory cache in front
// of a store.Store, for the reads on the hot path of the key server: access
// tokens, device keys, cross-signing keys, signatures and the "interested
// in" pairs of /keys/query.
//
// It is correct only when every write goes through this process's cache
// (the embedded SQLite deployment): a write made by another process is not
// seen until the entry is invalidated here. Do not put it in front of a
// database shared by several server processes.
//
// Values returned from the cache are shared: callers must not modify them.
package cache

import (
	"context"
	"sync"

	"vouch/store"
)

// maxEntries bounds each table; when full it is emptied (simple and enough
// for the working sets this server targets).
const maxEntries = 100_000

// table is one cache map with a generation counter. A fill carries the
// generation read before the database read; it is dropped when an
// invalidation happened in between, so a stale read never lands after the
// invalidation that should have removed it.
type table[V any] struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]V
}

func newTable[V any]() *table[V] { return &table[V]{m: map[string]V{}} }

func (t *table[V]) get(k string) (V, bool) {
	t.mu.RLock()
	v, ok := t.m[k]
	t.mu.RUnlock()
	return v, ok
}

// getMany looks keys up under one read lock (one lock per request rather
// than per user: the lock's counter is shared by every core). It calls hit
// for each key found, in order, and returns the keys not found.
func (t *table[V]) getMany(keys []string, hit func(k string, v V)) (miss []string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, k := range keys {
		if v, ok := t.m[k]; ok {
			hit(k, v)
			continue
		}
		miss = append(miss, k)
	}
	return miss
}

func (t *table[V]) generation() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.gen
}

func (t *table[V]) fill(gen uint64, k string, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen {
		return
	}
	if len(t.m) >= maxEntries {
		t.m = map[string]V{}
	}
	t.m[k] = v
}

func (t *table[V]) invalidate(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for _, k := range keys {
		delete(t.m, k)
	}
}

func (t *table[V]) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	t.m = map[string]V{}
}

type owner struct{ user, device string }

// Store wraps a store.Store with the cache. It implements store.Store.
type Store struct {
	store.Store
	tokens   *table[owner]
	devKeys  *table[[]store.DeviceKeysRecord]
	csKeys   *table[map[string]store.CrossSigningKeyRecord]
	sigs     *table[[]store.Signature]
	interest *table[struct{}] // "viewer\x00target"
}

// Unwrap implements store.Unwrapper: the store under the cache.
func (s *Store) Unwrap() store.Store { return s.Store }

// New returns the cached store over inner. Closing it closes inner.
func New(inner store.Store) *Store {
	return &Store{
		Store:    inner,
		tokens:   newTable[owner](),
		devKeys:  newTable[[]store.DeviceKeysRecord](),
		csKeys:   newTable[map[string]store.CrossSigningKeyRecord](),
		sigs:     newTable[[]store.Signature](),
		interest: newTable[struct{}](),
	}
}

var _ store.Store = (*Store)(nil)

// LookupToken implements store.Devices, cached.
func (s *Store) LookupToken(ctx context.Context, tokenHash []byte) (string, string, error) {
	k := string(tokenHash)
	if o, ok := s.tokens.get(k); ok {
		return o.user, o.device, nil
	}
	gen := s.tokens.generation()
	u, d, err := s.Store.LookupToken(ctx, tokenHash)
	if err != nil {
		return "", "", err
	}
	s.tokens.fill(gen, k, owner{u, d})
	return u, d, nil
}

// LoginDevice implements store.Devices; it forgets every cached token
// (the device's previous tokens are revoked).
func (s *Store) LoginDevice(ctx context.Context, d store.Device, tokenHash []byte) (bool, error) {
	created, err := s.Store.LoginDevice(ctx, d, tokenHash)
	s.tokens.clear()
	return created, err
}

// RenameDevice implements store.Devices (the name is in device keys).
func (s *Store) RenameDevice(ctx context.Context, userID, deviceID, name string) error {
	err := s.Store.RenameDevice(ctx, userID, deviceID, name)
	s.devKeys.invalidate(userID)
	return err
}

// DeleteDevices implements store.Devices.
func (s *Store) DeleteDevices(ctx context.Context, userID string, deviceIDs []string) (int, error) {
	n, err := s.Store.DeleteDevices(ctx, userID, deviceIDs)
	s.tokens.clear()
	s.devKeys.invalidate(userID)
	s.sigs.invalidate(userID)
	return n, err
}

// UploadKeys implements store.DeviceKeys.
func (s *Store) UploadKeys(ctx context.Context, u store.KeysUpload) (map[string]int, error) {
	counts, err := s.Store.UploadKeys(ctx, u)
	if u.DeviceKeys != nil {
		s.devKeys.invalidate(u.UserID)
		s.sigs.invalidate(u.UserID)
	}
	return counts, err
}

// GetDeviceKeys implements store.DeviceKeys, cached per user.
func (s *Store) GetDeviceKeys(ctx context.Context, userIDs []string) (map[string][]store.DeviceKeysRecord, error) {
	out := make(map[string][]store.DeviceKeysRecord, len(userIDs))
	miss := s.devKeys.getMany(userIDs, func(u string, v []store.DeviceKeysRecord) {
		if v != nil {
			out[u] = v
		}
	})
	if len(miss) == 0 {
		return out, nil
	}
	gen := s.devKeys.generation()
	got, err := s.Store.GetDeviceKeys(ctx, miss)
	if err != nil {
		return nil, err
	}
	for _, u := range miss {
		v := got[u]
		s.devKeys.fill(gen, u, v)
		if v != nil {
			out[u] = v
		}
	}
	return out, nil
}

// GetCrossSigningKeys implements store.CrossSigning, cached per user.
func (s *Store) GetCrossSigningKeys(ctx context.Context, userIDs []string) (map[string]map[string]store.CrossSigningKeyRecord, error) {
	out := make(map[string]map[string]store.CrossSigningKeyRecord, len(userIDs))
	miss := s.csKeys.getMany(userIDs, func(u string, v map[string]store.CrossSigningKeyRecord) {
		if v != nil {
			out[u] = v
		}
	})
	if len(miss) == 0 {
		return out, nil
	}
	gen := s.csKeys.generation()
	got, err := s.Store.GetCrossSigningKeys(ctx, miss)
	if err != nil {
		return nil, err
	}
	for _, u := range miss {
		v := got[u]
		s.csKeys.fill(gen, u, v)
		if v != nil {
			out[u] = v
		}
	}
	return out, nil
}

// PutCrossSigningKeys implements store.CrossSigning. Replaced keys take
// their signatures over other users' keys with them, so every cached
// signature list is dropped.
func (s *Store) PutCrossSigningKeys(ctx context.Context, u store.CrossSigningUpdate) (bool, error) {
	changed, err := s.Store.PutCrossSigningKeys(ctx, u)
	s.csKeys.invalidate(u.UserID)
	s.sigs.clear()
	return changed, err
}

// PutSignatures implements store.Signatures.
func (s *Store) PutSignatures(ctx context.Context, sigs []store.Signature) error {
	err := s.Store.PutSignatures(ctx, sigs)
	users := make([]string, 0, len(sigs))
	for _, g := range sigs {
		users = append(users, g.TargetUser)
	}
	s.sigs.invalidate(users...)
	return err
}

// DeleteSignatures implements store.Signatures. The signatures' target
// users are invalidated whatever the outcome (a failed call may have
// reached the database before failing), as PutSignatures does.
func (s *Store) DeleteSignatures(ctx context.Context, signerUser string, targets []store.SignatureRef) ([]store.Signature, error) {
	deleted, err := s.Store.DeleteSignatures(ctx, signerUser, targets)
	users := make([]string, 0, len(targets))
	for _, r := range targets {
		users = append(users, r.TargetUser)
	}
	s.sigs.invalidate(users...)
	return deleted, err
}

// GetSignatures implements store.Signatures, cached per target user.
func (s *Store) GetSignatures(ctx context.Context, targetUsers []string) ([]store.Signature, error) {
	// Look every user up first, so that the answer is allocated once at its
	// final size (appending cached lists one by one regrew it several times).
	hits := make([][]store.Signature, 0, len(targetUsers))
	n := 0
	miss := s.sigs.getMany(targetUsers, func(_ string, v []store.Signature) {
		hits = append(hits, v)
		n += len(v)
	})
	var out []store.Signature
	if n > 0 {
		out = make([]store.Signature, 0, n)
	}
	for _, v := range hits {
		out = append(out, v...)
	}
	if len(miss) == 0 {
		return out, nil
	}
	gen := s.sigs.generation()
	got, err := s.Store.GetSignatures(ctx, miss)
	if err != nil {
		return nil, err
	}
	byUser := make(map[string][]store.Signature, len(miss))
	for _, g := range got {
		byUser[g.TargetUser] = append(byUser[g.TargetUser], g)
	}
	for _, u := range miss {
		s.sigs.fill(gen, u, byUser[u])
	}
	return append(out, got...), nil
}

// AddInterest implements store.DeviceLists; pairs already recorded cost
// nothing.
func (s *Store) AddInterest(ctx context.Context, viewer string, targets []string) error {
	var missing []string
	var key []byte
	s.interest.mu.RLock()
	for _, t := range targets {
		// Looked up with the key in a reused byte slice: no string per pair.
		key = append(append(append(key[:0], viewer...), 0), t...)
		if _, ok := s.interest.m[string(key)]; !ok {
			missing = append(missing, t)
		}
	}
	s.interest.mu.RUnlock()
	if len(missing) == 0 {
		return nil
	}
	gen := s.interest.generation()
	if err := s.Store.AddInterest(ctx, viewer, missing); err != nil {
		return err
	}
	for _, t := range missing {
		s.interest.fill(gen, viewer+"\x00"+t, struct{}{})
	}
	return nil
}

// DeleteExpired implements store.Expiry by passing through: UIA sessions,
// to-device transaction IDs and registration nonces are never cached, so
// nothing is invalidated.
func (s *Store) DeleteExpired(ctx context.Context, uiaCreatedBeforeMs, txnCreatedBeforeMs, nonceExpiresBeforeMs int64) (uia, txns, nonces int, err error) {
	return s.Store.DeleteExpired(ctx, uiaCreatedBeforeMs, txnCreatedBeforeMs, nonceExpiresBeforeMs)
}

// UseRegistrationNonce implements store.RegistrationNonces by passing
// through: used nonces are not cached.
func (s *Store) UseRegistrationNonce(ctx context.Context, nonce string, expiresMs int64) error {
	return s.Store.UseRegistrationNonce(ctx, nonce, expiresMs)
}
