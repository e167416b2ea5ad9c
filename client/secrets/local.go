package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LocalFileName is the name of the local secrets cache inside an account's
// state directory (next to client/state's state.db).
const LocalFileName = "secrets.json"

// maxLocalFile bounds the cache file read.
const maxLocalFile = 64 << 10

// Local is the device's cache of secrets it may use without asking the
// user again: the unlocked secret storage key, the key backup decryption
// key and the backup signing key. It lives in the account's state
// directory with mode 0600, like the cross-signing private keys in
// state.db, and is equally sensitive (docs/secrets-and-backup.md). Its
// String and GoString methods redact everything.
type Local struct {
	// SSSSKeyID is the ID of the cached default secret storage key.
	SSSSKeyID string `json:"ssss_key_id,omitempty"`
	// SSSSKey is the cached raw secret storage key.
	SSSSKey []byte `json:"ssss_key,omitempty"`
	// BackupKey is the key backup decryption key (unpadded base64).
	BackupKey string `json:"backup_key,omitempty"`
	// BackupSigningKey is the backup signing key seed (unpadded base64).
	BackupSigningKey string `json:"backup_signing_key,omitempty"`
}

// String redacts the cache.
func (l Local) String() string { return "secrets.Local(REDACTED)" }

// GoString redacts the cache.
func (l Local) GoString() string { return l.String() }

// SSSS returns the cached secret storage key as a Key (nil when none); its
// description is not known, so Checked is false until the caller checks it.
func (l Local) SSSS() *Key {
	if l.SSSSKeyID == "" || len(l.SSSSKey) == 0 {
		return nil
	}
	return &Key{ID: l.SSSSKeyID, Raw: append([]byte(nil), l.SSSSKey...)}
}

// LoadLocal reads the cache in dir; a missing file is an empty cache. A
// file readable by other users is refused.
func LoadLocal(dir string) (*Local, error) {
	path := filepath.Join(dir, LocalFileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Local{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets: %s is accessible by other users (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	if fi.Size() > maxLocalFile {
		return nil, fmt.Errorf("secrets: %s is too large", path)
	}
	var l Local
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("secrets: %s is damaged: %w", path, err)
	}
	return &l, nil
}

// SaveLocal writes l to dir atomically with mode 0600.
func SaveLocal(dir string, l *Local) error {
	if l == nil {
		return fmt.Errorf("secrets: nil cache")
	}
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("secrets: encoding cache: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, LocalFileName), b)
}

// WriteFileAtomic writes data to path through a 0600 temporary file in the
// same directory, synced and renamed over path.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", path, err)
	}
	ok = true
	return nil
}
