package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"vouch/store"
	"vouch/store/sqlite"
	"vouch/store/storetest"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestConformanceUncached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenUncached(context.Background(), filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, sqlite.FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %o, want %o", path, got, want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccountData(ctx, "@a:x", "m.t", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	pos, _ := s.CurrentPosition(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pos2, err := s.CurrentPosition(ctx)
	if err != nil || pos2 != pos || pos == 0 {
		t.Fatalf("position after reopen %d (%v), want %d", pos2, err, pos)
	}
	if _, err := s.GetAccount(ctx, "@a:x"); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkGetDeviceKeys(b *testing.B) {
	s, err := sqlite.OpenUncached(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkKeysQueryReads(b, s)
}

// BenchmarkWrite measures one durable (synchronous=FULL) write transaction.
func BenchmarkWrite(b *testing.B) {
	s, err := sqlite.OpenUncached(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkWrite(b, s)
}

// BenchmarkUploadKeys measures group-committed one-time key uploads.
func BenchmarkUploadKeys(b *testing.B) {
	s, err := sqlite.OpenUncached(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkUploadKeys(b, s)
}

// TestOpenLocksDataDir checks that a second Open of a data directory fails
// with ErrInUse while the first store is open, that OpenUncached (vouch user
// add beside a running server) still works, and that Close releases the
// lock.
func TestOpenLocksDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, dir); !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	side, err := sqlite.OpenUncached(ctx, dir)
	if err != nil {
		t.Fatalf("OpenUncached beside the owner: %v", err)
	}
	if err := side.CreateAccount(ctx, store.Account{UserID: "@side:x", PasswordHash: "h", CreatedMs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := side.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer again.Close()
	if _, err := again.GetAccount(ctx, "@side:x"); err != nil {
		t.Errorf("account added beside the owner: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, sqlite.LockFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", fi, err)
	}
}
