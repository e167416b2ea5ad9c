package state_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vouch/client/device"
	"vouch/client/state"
	"vouch/trust"
)

func open(t *testing.T) (*state.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acct")
	s, err := state.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestPermissions(t *testing.T) {
	_, dir := open(t)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	fi, err = os.Stat(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Open(context.Background(), open); !errors.Is(err, state.ErrPermissions) {
		t.Fatalf("world-readable dir: %v", err)
	}
}

func TestAccount(t *testing.T) {
	ctx := context.Background()
	s, dir := open(t)
	if _, err := s.Account(ctx); !errors.Is(err, state.ErrNoAccount) {
		t.Fatalf("empty store: %v", err)
	}
	a := state.Account{Homeserver: "http://x", UserID: "@alice:localhost", DeviceID: "D1", AccessToken: "secret-token"}
	if err := s.SaveAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.String(), "secret-token") {
		t.Error("String() shows the access token")
	}
	d, err := device.New(a.UserID, a.DeviceID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := d.GenerateOneTimeKeys(rand.Reader, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOneTimeKeys(ctx, d.Secrets(), ks); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSyncToken(ctx, "s42"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCrossSigning(ctx, state.CrossSigning{Master: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Everything survives reopening.
	s2, err := state.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Account(ctx)
	if err != nil || got != a {
		t.Fatalf("account %+v, %v", got, err)
	}
	sec, err := s2.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := device.FromSecrets(sec)
	if err != nil || d2.Ed25519() != d.Ed25519() {
		t.Fatalf("device not restored: %v", err)
	}
	if sec.NextKeyID != 3 {
		t.Errorf("key counter %d, want 3", sec.NextKeyID)
	}
	if n, err := s2.OneTimeKeyCount(ctx); err != nil || n != 2 {
		t.Errorf("one-time keys %d, %v", n, err)
	}
	if tok, _ := s2.SyncToken(ctx); tok != "s42" {
		t.Errorf("sync token %q", tok)
	}
	if err := s2.ForgetLogin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Account(ctx); !errors.Is(err, state.ErrNoAccount) {
		t.Errorf("after logout: %v", err)
	}
	if _, err := s2.Device(ctx); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("device after logout: %v", err)
	}
	if n, _ := s2.OneTimeKeyCount(ctx); n != 0 {
		t.Errorf("one-time keys after logout: %d", n)
	}
	if cs, err := s2.CrossSigning(ctx); err != nil || len(cs.Master) != 32 {
		t.Errorf("cross-signing keys lost on logout: %v", err)
	}
}

func TestPinsAndVerifications(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	p, err := s.Pin(ctx, "@bob:localhost")
	if err != nil || p.Master != "" || p.UserID != "@bob:localhost" {
		t.Fatalf("empty pin %+v %v", p, err)
	}
	p, _ = p.Observe("@bob:localhost", "KEY1")
	p = p.MarkVerified("KEY1")
	if err := s.SavePin(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePin(ctx, trust.Pin{UserID: "carol"}); err == nil {
		t.Error("pin with bad user ID saved")
	}
	got, err := s.Pin(ctx, "@bob:localhost")
	if err != nil || got != p {
		t.Fatalf("pin %+v, want %+v (%v)", got, p, err)
	}
	if err := s.SaveSnapshot(ctx, "@carol:localhost", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	users, err := s.TrackedUsers(ctx)
	if err != nil || strings.Join(users, ",") != "@bob:localhost,@carol:localhost" {
		t.Fatalf("tracked %v %v", users, err)
	}
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 1 {
		t.Fatalf("pins %v %v", pins, err)
	}
	if err := s.AddVerifiedDevice(ctx, "@bob:localhost", "B1", "ED1"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddVerifiedDevice(ctx, "@bob:localhost", "B1", "ED2"); err != nil {
		t.Fatal(err)
	}
	vd, err := s.VerifiedDevices(ctx, "@bob:localhost")
	if err != nil || len(vd) != 1 || vd["B1"] != "ED2" {
		t.Fatalf("verified devices %v %v", vd, err)
	}
	if snap, _ := s.Snapshot(ctx, "@nobody:localhost"); snap != nil {
		t.Error("snapshot of unknown user")
	}
	if om, _ := s.OwnMaster(ctx); om != "" {
		t.Error("own master set")
	}
}

func TestAccountDir(t *testing.T) {
	tests := []struct {
		user string
		ok   bool
	}{
		{"@alice:localhost", true},
		{"@a/../b:localhost", true}, // escaped, stays inside base
		{"@alice:localhost:8448", true},
		{"alice", false},
		{"@..:x", true},
		{"", false},
	}
	base := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			dir, err := state.AccountDir(base, tt.user)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if err == nil && filepath.Dir(dir) != base {
				t.Fatalf("%q escapes base: %s", tt.user, dir)
			}
		})
	}
	ctx := context.Background()
	for _, u := range []string{"@alice:localhost", "@a/../b:localhost"} {
		dir, _ := state.AccountDir(base, u)
		s, err := state.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	got, err := state.Accounts(base)
	if err != nil || strings.Join(got, ",") != "@a/../b:localhost,@alice:localhost" {
		t.Fatalf("accounts %v %v", got, err)
	}
}

func FuzzAccountDir(f *testing.F) {
	for _, s := range []string{"@alice:localhost", "@a/../b:x", "@..:x", "@%2e%2e:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		dir, err := state.AccountDir("/base", user)
		if err != nil {
			return
		}
		if filepath.Dir(dir) != "/base" || filepath.Base(dir) == ".." || filepath.Base(dir) == "." {
			t.Fatalf("%q maps to %q outside /base", user, dir)
		}
	})
}

func BenchmarkSavePin(b *testing.B) {
	ctx := context.Background()
	s, err := state.Open(ctx, filepath.Join(b.TempDir(), "acct"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := trust.Pin{UserID: "@bob:localhost", Master: "KEY"}
	for b.Loop() {
		if err := s.SavePin(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPublicUserSigningKey: the MSC2882 key is kept beside the other
// cross-signing seeds, and state without it loads with it nil.
func TestPublicUserSigningKey(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	seed := func(b byte) []byte {
		out := make([]byte, 32)
		out[0] = b
		return out
	}
	if err := s.SaveCrossSigning(ctx, state.CrossSigning{Master: seed(1), SelfSigning: seed(2), UserSigning: seed(3)}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.CrossSigning(ctx)
	if err != nil || cs.PublicUserSigning != nil || cs.Master[0] != 1 {
		t.Fatalf("without a public user-signing key: %+v, %v", cs, err)
	}
	cs.PublicUserSigning = seed(4)
	if err := s.SaveCrossSigning(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got, err := s.CrossSigning(ctx)
	if err != nil || len(got.PublicUserSigning) != 32 || got.PublicUserSigning[0] != 4 || got.UserSigning[0] != 3 {
		t.Fatalf("with one: %+v, %v", got, err)
	}
}
