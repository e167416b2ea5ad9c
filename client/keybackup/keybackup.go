package keybackup

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"vouch/backup"
	"vouch/client"
	"vouch/client/device"
	"vouch/client/secrets"
	"vouch/ssss"
	"vouch/trust"
)

// Keys are a backup's private keys: the decryption key and the backup
// signing key. Both types redact themselves when printed.
type Keys struct {
	// Private is the backup decryption key (m.megolm_backup.v1).
	Private backup.PrivateKey
	// Signing is the backup signing key (m.key_backup.signing).
	Signing backup.SigningKey
}

// SignAuthData returns authData signed as userID by the master key and,
// when dev is not nil, by the device (master first). master must be a
// 64-byte ed25519 private key.
func SignAuthData(authData []byte, userID string, master ed25519.PrivateKey, dev *device.Device) ([]byte, error) {
	if len(master) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: the master signing private key is needed to sign auth_data", ErrMissingKey)
	}
	signed, err := backup.SignAuthData(authData, userID, backup.MasterSigner(master))
	if err != nil {
		return nil, err
	}
	if dev != nil {
		if dev.UserID() != userID {
			return nil, fmt.Errorf("keybackup: device of %s signing auth_data of %s", dev.UserID(), userID)
		}
		if signed, err = dev.Sign(signed); err != nil {
			return nil, fmt.Errorf("keybackup: device signature on auth_data: %w", err)
		}
	}
	return signed, nil
}

// StoreKeys writes the backup decryption key (m.megolm_backup.v1) and the
// backup signing key (m.key_backup.signing) to secret storage under key.
func StoreKeys(ctx context.Context, st *secrets.Store, key *secrets.Key, k Keys, rand io.Reader) error {
	if st == nil || key == nil {
		return fmt.Errorf("%w: secret storage key", ErrMissingKey)
	}
	if err := st.Put(ctx, key, ssss.SecretMegolmBackup, k.Private.Encode(), rand); err != nil {
		return err
	}
	return st.Put(ctx, key, ssss.SecretKeyBackupSigning, k.Signing.Encode(), rand)
}

// LoadKeys reads the backup decryption key and, when stored, the backup
// signing key from secret storage; hasSigning is false when the latter is
// absent.
func LoadKeys(ctx context.Context, st *secrets.Store, key *secrets.Key) (k Keys, hasSigning bool, err error) {
	s, err := st.Get(ctx, key, ssss.SecretMegolmBackup)
	if err != nil {
		return k, false, err
	}
	if k.Private, err = backup.ParsePrivateKey(s); err != nil {
		return k, false, fmt.Errorf("%w: %s: %w", secrets.ErrBadSecret, ssss.SecretMegolmBackup, err)
	}
	s, err = st.Get(ctx, key, ssss.SecretKeyBackupSigning)
	if errors.Is(err, secrets.ErrSecretNotFound) {
		return k, false, nil
	}
	if err != nil {
		return k, false, err
	}
	if k.Signing, err = backup.ParseSigningKey(s); err != nil {
		return k, false, fmt.Errorf("%w: %s: %w", secrets.ErrBadSecret, ssss.SecretKeyBackupSigning, err)
	}
	return k, true, nil
}

// CreateOptions configure Create.
type CreateOptions struct {
	// UserID is the account.
	UserID string
	// Master is the master signing private key; it signs auth_data.
	Master ed25519.PrivateKey
	// Device, when not nil, also signs auth_data.
	Device *device.Device
	// Secrets and SecretKey are where the new private keys are stored
	// before the version is created, so a version never exists whose keys
	// are lost.
	Secrets   *secrets.Store
	SecretKey *secrets.Key
	// Keys, when not nil, are used instead of fresh keys (a new version for
	// an existing decryption key).
	Keys *Keys
	// Rand is the randomness source (crypto/rand.Reader in production).
	Rand io.Reader
}

// Created is the result of Create.
type Created struct {
	// Version is the new backup version, now the current one.
	Version string
	// Keys are the backup's private keys (also in secret storage).
	Keys Keys
	// AuthData is the signed auth_data as uploaded.
	AuthData []byte
}

// Create makes a new signed backup version: a backup key pair and a
// backup signing key (or o.Keys), auth_data naming both public keys and
// signed by the master key and the device, the private keys stored in
// secret storage, then POST /room_keys/version.
func Create(ctx context.Context, a *API, o CreateOptions) (*Created, error) {
	if o.Rand == nil {
		return nil, fmt.Errorf("keybackup: no randomness source")
	}
	if o.Secrets == nil || o.SecretKey == nil {
		return nil, fmt.Errorf("%w: secret storage key (the backup keys must be stored before the backup is created)", ErrMissingKey)
	}
	var k Keys
	if o.Keys != nil {
		k = *o.Keys
	} else {
		var err error
		if k.Private, err = backup.GenerateKey(o.Rand); err != nil {
			return nil, err
		}
		if k.Signing, err = backup.GenerateSigningKey(o.Rand); err != nil {
			return nil, err
		}
	}
	authData, err := newSignedAuthData(k, o.UserID, o.Master, o.Device)
	if err != nil {
		return nil, err
	}
	if err := StoreKeys(ctx, o.Secrets, o.SecretKey, k, o.Rand); err != nil {
		return nil, err
	}
	v, err := a.CreateVersion(ctx, authData)
	if err != nil {
		return nil, err
	}
	return &Created{Version: v, Keys: k, AuthData: authData}, nil
}

// newSignedAuthData builds and signs the auth_data of k.
func newSignedAuthData(k Keys, userID string, master ed25519.PrivateKey, dev *device.Device) ([]byte, error) {
	pub, err := k.Private.PublicKey()
	if err != nil {
		return nil, err
	}
	spub := k.Signing.PublicKey()
	ad, err := backup.NewAuthData(pub, &spub)
	if err != nil {
		return nil, err
	}
	return SignAuthData(ad, userID, master, dev)
}

// Viewer returns the trust viewer of userID from the published keys (POST
// /keys/query) and the master key this device trusts as its own ("" when
// none: then only the known-private-key path can hold).
func Viewer(ctx context.Context, c *client.Client, userID, trustedMaster string) (trust.Viewer, error) {
	own, _, err := secrets.FetchOwnKeys(ctx, c, userID)
	if err != nil {
		return trust.Viewer{}, err
	}
	return trust.Viewer{UserID: userID, TrustedMaster: trustedMaster, Own: own}, nil
}

// Status is a backup version as the server reports it, with the trust
// decision on its auth_data.
type Status struct {
	// Version, Algorithm, Count and Etag are the server's answer.
	Version   string `json:"version"`
	Algorithm string `json:"algorithm"`
	Count     int    `json:"count"`
	Etag      string `json:"etag"`
	// Trusted says whether auth_data is trusted; Path says how
	// (backup.TrustPath names), DeviceID which device signed it when Path
	// is verified_own_device.
	Trusted  bool   `json:"trusted"`
	Path     string `json:"trust_path"`
	DeviceID string `json:"device_id,omitempty"`
	// Reason explains the decision in words.
	Reason string `json:"reason"`
	// SigningKey is the backup signing public key named in auth_data, ""
	// if none; SigningKeyTrusted says whether restored keys can be
	// authenticated with it.
	SigningKey        string `json:"signing_public_key,omitempty"`
	SigningKeyTrusted bool   `json:"signing_key_trusted"`
	// PublicKey is auth_data.public_key, "" when auth_data is malformed.
	PublicKey string `json:"public_key,omitempty"`
	// Trust is the full decision, for Restore and Migrate.
	Trust backup.AuthDataTrust `json:"-"`
}

// GetStatus reads backup version ("" for the current one) and decides
// whether its auth_data is trusted by viewer (backup.TrustAuthData), with
// priv, when not nil, as a backup key from a trusted source.
func GetStatus(ctx context.Context, a *API, version string, viewer trust.Viewer, priv *backup.PrivateKey) (*Status, error) {
	v, err := a.Version(ctx, version)
	if err != nil {
		return nil, err
	}
	st := &Status{Version: v.Version, Algorithm: v.Algorithm, Count: v.Count, Etag: v.Etag}
	if v.Algorithm != backup.Algorithm {
		st.Path, st.Reason = backup.TrustNone.String(), fmt.Sprintf("algorithm %q is not supported", v.Algorithm)
		st.Trust = backup.AuthDataTrust{UserID: viewer.UserID, Cause: fmt.Errorf("%w: %q", ErrAlgorithm, v.Algorithm), Reason: st.Reason}
		return st, nil
	}
	var opts []backup.TrustOption
	if priv != nil {
		opts = append(opts, backup.KnownPrivateKey(*priv))
	}
	t := backup.TrustAuthData(v.AuthData, viewer, opts...)
	st.Trust = t
	st.Trusted, st.Path, st.DeviceID, st.Reason = t.Trusted, t.Path.String(), t.DeviceID, t.Reason
	st.SigningKeyTrusted = t.SigningKeyTrusted()
	if t.AuthData != nil {
		st.PublicKey = t.AuthData.PublicKey.Encode()
		if t.AuthData.SigningKey != nil {
			st.SigningKey = t.AuthData.SigningKey.Encode()
		}
	}
	return st, nil
}

// Session is one room key to back up: its place, metadata, plaintext
// (a BackedUpSession JSON object) and how this device came to hold it.
type Session struct {
	// RoomID and SessionID place the session in the backup.
	RoomID    string
	SessionID string
	// Meta is the cleartext metadata the server's replacement rule uses.
	Meta backup.KeyBackupDataMeta
	// Plaintext is the BackedUpSession JSON object (holds the session key).
	Plaintext []byte
	// Provenance decides the signed authenticated flag (seed 003).
	Provenance backup.Provenance
}

// UploadOptions configure Upload.
type UploadOptions struct {
	// BatchSize is the number of sessions per PUT; 0 means 1,000.
	BatchSize int
	// Rand is the source of ephemeral keys; nil means crypto/rand.Reader.
	// Sessions are encrypted in parallel, so it must be safe for
	// concurrent use.
	Rand io.Reader
	// Progress, when not nil, is called after each batch.
	Progress func(done, total int)
}

// UploadResult is the server's answer to the last batch.
type UploadResult struct {
	// Etag and Count are the version's etag and key count after the last
	// batch.
	Etag  string
	Count int
	// Uploaded is the number of sessions sent.
	Uploaded int
}

// DefaultUploadBatch is UploadOptions.BatchSize when 0.
const DefaultUploadBatch = 1000

// Upload signs every session with the backup signing key, encrypts it to
// the version's public key (backup.EncryptSignedSession) and uploads them
// in batches. st must be the Status of version with a trusted auth_data
// whose signing key is k.Signing's public key; otherwise nothing is
// uploaded (ErrUntrusted).
func Upload(ctx context.Context, a *API, st *Status, k Keys, sessions []Session, o UploadOptions) (*UploadResult, error) {
	if st == nil || !st.Trusted || st.Trust.AuthData == nil {
		return nil, fmt.Errorf("%w: refusing to upload keys", ErrUntrusted)
	}
	ad := st.Trust.AuthData
	if ad.SigningKey == nil || *ad.SigningKey != k.Signing.PublicKey() {
		return nil, fmt.Errorf("%w: auth_data does not name this backup signing key", ErrMissingKey)
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = DefaultUploadBatch
	}
	res := &UploadResult{}
	for start := 0; start < len(sessions); start += batch {
		end := min(start+batch, len(sessions))
		out := make([]backup.BackedUpKey, end-start)
		err := parallel(ctx, end-start, func(i int) error {
			s := sessions[start+i]
			sd, err := backup.EncryptSignedSession(ad.PublicKey, s.Plaintext, st.Trust.UserID, k.Signing, s.Provenance, o.Rand)
			if err != nil {
				return fmt.Errorf("keybackup: session %s in %s: %w", s.SessionID, s.RoomID, err)
			}
			out[i] = backup.BackedUpKey{RoomID: s.RoomID, SessionID: s.SessionID, KeyBackupDataMeta: s.Meta, SessionData: sd}
			return nil
		})
		if err != nil {
			return res, err
		}
		r, err := a.PutKeys(ctx, st.Version, out)
		if err != nil {
			return res, err
		}
		res.Etag, res.Count = r.Etag, r.Count
		res.Uploaded = end
		if o.Progress != nil {
			o.Progress(end, len(sessions))
		}
	}
	return res, nil
}

// RestoredKey is one key read back from a backup.
type RestoredKey struct {
	// RoomID and SessionID place the key in the backup.
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id"`
	// Meta is the server's cleartext metadata (unauthenticated).
	Meta backup.KeyBackupDataMeta `json:"meta"`
	// Restored is the decrypted session and whether it is authenticated.
	Restored backup.RestoredSession `json:"-"`
}

// Failure is a key that could not be opened.
type Failure struct {
	// RoomID and SessionID place the key in the backup.
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id"`
	// Error says why the key was refused.
	Error string `json:"error"`
}

// RestoreResult is the outcome of Restore.
type RestoreResult struct {
	// Version is the version restored.
	Version string `json:"version"`
	// Trusted, Path and Reason repeat the auth_data decision.
	Trusted bool   `json:"trusted"`
	Path    string `json:"trust_path"`
	Reason  string `json:"reason"`
	// Total is the number of keys downloaded.
	Total int `json:"total"`
	// Authenticated and Unauthenticated count the keys opened.
	Authenticated   int `json:"authenticated"`
	Unauthenticated int `json:"unauthenticated"`
	// Failed counts the keys that could not be opened (listed in Failures).
	Failed   int       `json:"failed"`
	Failures []Failure `json:"failures,omitempty"`
	// Keys are the restored keys in (room, session) order.
	Keys []RestoredKey `json:"-"`
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Workers opening sessions in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, when not nil, is called as keys are opened (from one
	// goroutine at a time).
	Progress func(done, total int)
}

// Restore downloads every key of st's version and opens each with priv
// under st's trust decision (backup.Opener): keys of an untrusted or
// unsigned backup, or of one trusted only through priv, are all
// unauthenticated. Keys that cannot be opened are counted in Failed, not
// returned as an error.
func Restore(ctx context.Context, a *API, st *Status, priv backup.PrivateKey, o RestoreOptions) (*RestoreResult, error) {
	if st == nil {
		return nil, fmt.Errorf("keybackup: no status")
	}
	if st.Algorithm != backup.Algorithm {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, st.Algorithm)
	}
	opener, err := backup.NewOpener(priv, st.Trust, st.Trust.UserID)
	if err != nil {
		return nil, fmt.Errorf("keybackup: %w", err)
	}
	if st.Trust.AuthData == nil {
		return nil, fmt.Errorf("keybackup: version %s: %s", st.Version, st.Reason)
	}
	keys, _, err := a.Keys(ctx, st.Version)
	if err != nil {
		return nil, err
	}
	res := &RestoreResult{Version: st.Version, Trusted: st.Trusted, Path: st.Path, Reason: st.Reason, Total: len(keys)}
	out := make([]RestoredKey, len(keys))
	errs := make([]error, len(keys))
	var mu sync.Mutex
	done := 0
	err = parallelN(ctx, len(keys), o.Workers, func(i int) error {
		k := keys[i]
		r, err := opener.Open(k.SessionData)
		out[i] = RestoredKey{RoomID: k.RoomID, SessionID: k.SessionID, Meta: k.KeyBackupDataMeta, Restored: r}
		errs[i] = err
		if o.Progress != nil {
			mu.Lock()
			done++
			o.Progress(done, len(keys))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Keys = make([]RestoredKey, 0, len(keys))
	for i, k := range out {
		switch {
		case errs[i] != nil:
			res.Failed++
			res.Failures = append(res.Failures, Failure{RoomID: k.RoomID, SessionID: k.SessionID, Error: errs[i].Error()})
			continue
		case k.Restored.Authenticated:
			res.Authenticated++
		default:
			res.Unauthenticated++
		}
		res.Keys = append(res.Keys, k)
	}
	return res, nil
}

// ExportedKey is a restored key in the shape written by the CLI's restore
// --output: the session plaintext and what vouch concluded about it.
type ExportedKey struct {
	// RoomID and SessionID place the key in the backup.
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id"`
	// Authenticated and Reason are backup.RestoredSession's verdict.
	Authenticated bool   `json:"authenticated"`
	Reason        string `json:"reason"`
	// Session is the decrypted BackedUpSession exactly as decrypted.
	Session json.RawMessage `json:"session"`
}

// Export returns the restored keys with their plaintexts (which hold the
// Megolm session keys: write them only where the user asked).
func (r *RestoreResult) Export() []ExportedKey {
	out := make([]ExportedKey, 0, len(r.Keys))
	for _, k := range r.Keys {
		out = append(out, ExportedKey{RoomID: k.RoomID, SessionID: k.SessionID,
			Authenticated: k.Restored.Authenticated, Reason: k.Restored.Reason, Session: k.Restored.Plaintext})
	}
	return out
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines.
func parallel(ctx context.Context, n int, f func(int) error) error {
	return parallelN(ctx, n, 0, f)
}

// parallelN runs f(0..n-1) on workers goroutines (0: GOMAXPROCS) and
// returns the first error; it stops handing out work once ctx is done or
// f failed.
func parallelN(ctx context.Context, n, workers int, f func(int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		next  int
		first error
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= n {
			return 0, false
		}
		if err := ctx.Err(); err != nil {
			first = err
			return 0, false
		}
		i := next
		next++
		return i, true
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
