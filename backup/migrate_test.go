package backup_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"vouch/backup"
)

var errInjected = errors.New("injected failure")

// memServer is an in-memory MigrationIO: a test double of our own
// interface. Call number failAt fails; with lost set, the call takes effect
// first and only its response is lost.
type memServer struct {
	versions map[string]map[backup.Cursor]backup.BackedUpKey
	authData map[string][]byte
	next     int
	current  string
	calls    int
	failAt   int
	lost     bool
}

func (s *memServer) clone() *memServer {
	c := &memServer{versions: map[string]map[backup.Cursor]backup.BackedUpKey{}, authData: maps.Clone(s.authData), next: s.next, current: s.current}
	for v, keys := range s.versions {
		c.versions[v] = maps.Clone(keys)
	}
	return c
}

func (s *memServer) call(apply func()) error {
	s.calls++
	if s.calls == s.failAt {
		if s.lost {
			apply()
		}
		return errInjected
	}
	apply()
	return nil
}

func (s *memServer) CreateVersion(_ context.Context, authData []byte) (string, error) {
	var v string
	err := s.call(func() {
		s.next++
		v = strconv.Itoa(s.next)
		s.versions[v] = map[backup.Cursor]backup.BackedUpKey{}
		s.authData[v] = authData
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

func (s *memServer) ListSessions(_ context.Context, version string, after backup.Cursor, limit int) ([]backup.BackedUpKey, error) {
	var out []backup.BackedUpKey
	err := s.call(func() {
		keys := slices.SortedFunc(maps.Keys(s.versions[version]), func(a, b backup.Cursor) int {
			switch {
			case a.Less(b):
				return -1
			case b.Less(a):
				return 1
			}
			return 0
		})
		for _, c := range keys {
			if after.Less(c) && len(out) < limit {
				out = append(out, s.versions[version][c])
			}
		}
	})
	return out, err
}

func (s *memServer) PutSessions(_ context.Context, version string, batch []backup.BackedUpKey) error {
	return s.call(func() {
		for _, k := range batch {
			old, ok := s.versions[version][k.Cursor()]
			if !ok || backup.ShouldReplace(old.KeyBackupDataMeta, k.KeyBackupDataMeta) {
				s.versions[version][k.Cursor()] = k
			}
		}
	})
}

func (s *memServer) SwitchVersion(_ context.Context, _, newVersion string) error {
	return s.call(func() { s.current = newVersion })
}

// migrationSetup is an old backup (version "1") of 23 keys: 10 signed
// authenticated with a trusted old signing key and is_verified, 10 unsigned
// but claiming is_verified, 3 that do not decrypt.
type migrationSetup struct {
	f        *fixture
	server   *memServer
	cfg      backup.MigrationConfig
	newTrust backup.AuthDataTrust
	newPriv  backup.PrivateKey
}

func newMigrationSetup(t testing.TB) *migrationSetup {
	t.Helper()
	f := newFixture(t)
	user := f.alice.UserID
	oldSigning := signingKeyFrom("old signing key")
	osp := oldSigning.PublicKey()
	oldAD, err := backup.NewAuthData(f.pub, &osp)
	if err != nil {
		t.Fatal(err)
	}
	oldAD, err = backup.SignAuthData(oldAD, user, backup.MasterSigner(f.alice.Master.Priv))
	if err != nil {
		t.Fatal(err)
	}
	oldTrust := backup.TrustAuthData(oldAD, f.viewer)
	if !oldTrust.SigningKeyTrusted() {
		t.Fatal(oldTrust.Reason)
	}
	srv := &memServer{versions: map[string]map[backup.Cursor]backup.BackedUpKey{"1": {}}, authData: map[string][]byte{"1": oldAD}, next: 1, current: "1"}
	put := func(room, sess string, meta backup.KeyBackupDataMeta, sd backup.EncryptedSessionData) {
		srv.versions["1"][backup.Cursor{RoomID: room, SessionID: sess}] = backup.BackedUpKey{RoomID: room, SessionID: sess, KeyBackupDataMeta: meta, SessionData: sd}
	}
	for i := range 20 {
		key := base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "migrated session %03d", i))
		pt := withMembers(t, f.session, map[string]any{"session_key": key})
		var sd backup.EncryptedSessionData
		if i%2 == 0 {
			sd, err = backup.EncryptSignedSession(f.pub, pt, user, oldSigning, backup.OlmRoomKey, nil)
		} else {
			sd, err = backup.Encrypt(f.pub, pt, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		put(fmt.Sprintf("!room%d:x", i%3), fmt.Sprintf("s%02d", i), backup.KeyBackupDataMeta{FirstMessageIndex: int64(i), ForwardedCount: 1, IsVerified: true}, sd)
	}
	otherPub, _ := backup.PrivateKey(signingKeyFrom("not this backup")).PublicKey()
	for i := range 3 {
		sd, err := backup.Encrypt(otherPub, f.session, nil)
		if err != nil {
			t.Fatal(err)
		}
		put("!room1:x", fmt.Sprintf("zz%d", i), backup.KeyBackupDataMeta{}, sd)
	}

	newPriv := backup.PrivateKey(signingKeyFrom("new backup key"))
	newPub, err := newPriv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	sp := f.signing.PublicKey()
	newAD, err := backup.NewAuthData(newPub, &sp)
	if err != nil {
		t.Fatal(err)
	}
	newAD, err = backup.SignAuthData(newAD, user, backup.MasterSigner(f.alice.Master.Priv))
	if err != nil {
		t.Fatal(err)
	}
	return &migrationSetup{
		f:      f,
		server: srv,
		cfg: backup.MigrationConfig{
			UserID: user, OldVersion: "1", OldKey: f.priv, OldTrust: oldTrust,
			NewAuthData: newAD, SigningKey: f.signing, BatchSize: 4,
		},
		newTrust: backup.TrustAuthData(newAD, f.viewer),
		newPriv:  newPriv,
	}
}

// restoredKey is what a client restores from the switched-to version.
type restoredKey struct {
	SessionKey    string
	Authenticated bool
	Meta          backup.KeyBackupDataMeta
}

// finalState opens every key of the server's current version.
func (ms *migrationSetup) finalState(t testing.TB, srv *memServer) map[backup.Cursor]restoredKey {
	t.Helper()
	if srv.current == "1" {
		t.Fatal("not switched")
	}
	out := map[backup.Cursor]restoredKey{}
	for c, k := range srv.versions[srv.current] {
		r, err := backup.OpenSession(k.SessionData, ms.newPriv, ms.newTrust, ms.cfg.UserID)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		out[c] = restoredKey{r.Session.SessionKey, r.Authenticated, k.KeyBackupDataMeta}
	}
	return out
}

func roundTripCheckpoint(t testing.TB, cp backup.MigrationCheckpoint) backup.MigrationCheckpoint {
	t.Helper()
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var back backup.MigrationCheckpoint
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return back
}

func TestMigrationUninterrupted(t *testing.T) {
	ms := newMigrationSetup(t)
	srv := ms.server.clone()
	m, err := backup.NewMigration(ms.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var states []backup.MigrationState
	if err := m.Run(context.Background(), srv, func(cp backup.MigrationCheckpoint) error {
		states = append(states, cp.State)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cp := m.Checkpoint()
	if cp.Copied != 20 || cp.Authenticated != 10 || cp.Skipped != 3 || cp.State != backup.MigrationSwitched || cp.NewVersion != "2" {
		t.Fatalf("checkpoint %+v", cp)
	}
	// 23 keys in batches of 4: 6 copy steps, then the empty listing.
	want := []backup.MigrationState{backup.MigrationVersionCreated}
	for range 6 {
		want = append(want, backup.MigrationCopying)
	}
	want = append(want, backup.MigrationCopied, backup.MigrationSwitched)
	if !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	got := ms.finalState(t, srv)
	if len(got) != 20 {
		t.Fatalf("%d keys in the new version, want 20", len(got))
	}
	for c, k := range got {
		i, _ := strconv.Atoi(c.SessionID[1:])
		wantAuth := i%2 == 0
		if k.Authenticated != wantAuth || k.Meta.IsVerified != wantAuth || k.Meta.FirstMessageIndex != int64(i) {
			t.Errorf("%v: %+v, want authenticated=is_verified=%v", c, k, wantAuth)
		}
	}
	if string(srv.authData[srv.current]) != string(ms.cfg.NewAuthData) {
		t.Error("new version created with other auth_data")
	}
	// Done is sticky: more steps do nothing.
	calls := srv.calls
	if err := m.Step(context.Background(), srv); err != nil || srv.calls != calls {
		t.Errorf("step after done: %v, %d calls", err, srv.calls-calls)
	}
}

// TestMigrationResumeEveryStep persists the checkpoint as JSON after every
// step and resumes a fresh Migration from it each time.
func TestMigrationResumeEveryStep(t *testing.T) {
	ms := newMigrationSetup(t)
	ref := ms.server.clone()
	m, _ := backup.NewMigration(ms.cfg)
	if err := m.Run(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	want := ms.finalState(t, ref)

	srv := ms.server.clone()
	cp := backup.MigrationCheckpoint{Format: backup.MigrationCheckpointVersion, OldVersion: "1"}
	for steps := 0; cp.State != backup.MigrationSwitched; steps++ {
		if steps > 50 {
			t.Fatal("no progress")
		}
		m, err := backup.ResumeMigration(ms.cfg, cp)
		if err != nil {
			t.Fatalf("resume at %+v: %v", cp, err)
		}
		if err := m.Step(context.Background(), srv); err != nil {
			t.Fatal(err)
		}
		cp = roundTripCheckpoint(t, m.Checkpoint())
	}
	if got := ms.finalState(t, srv); !maps.Equal(got, want) {
		t.Fatalf("final state differs:\n%v\n%v", got, want)
	}
	if cp != roundTripCheckpoint(t, m.Checkpoint()) {
		t.Errorf("counters differ: %+v vs %+v", cp, m.Checkpoint())
	}
}

// TestMigrationInterruptedEverywhere fails every I/O call in turn (before
// and after it takes effect), resumes from the checkpoint saved so far, and
// expects the same keys, flags and counters as an uninterrupted run.
func TestMigrationInterruptedEverywhere(t *testing.T) {
	ms := newMigrationSetup(t)
	ref := ms.server.clone()
	m, _ := backup.NewMigration(ms.cfg)
	if err := m.Run(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	want, wantCP := ms.finalState(t, ref), m.Checkpoint()
	for failAt := 1; failAt <= ref.calls; failAt++ {
		for _, lost := range []bool{false, true} {
			t.Run(fmt.Sprintf("call%d/lost=%v", failAt, lost), func(t *testing.T) {
				srv := ms.server.clone()
				srv.failAt, srv.lost = failAt, lost
				saved := backup.MigrationCheckpoint{Format: backup.MigrationCheckpointVersion, OldVersion: "1"}
				m, _ := backup.NewMigration(ms.cfg)
				err := m.Run(context.Background(), srv, func(cp backup.MigrationCheckpoint) error {
					saved = roundTripCheckpoint(t, cp)
					return nil
				})
				if !errors.Is(err, errInjected) {
					t.Fatalf("run: %v, want the injected failure", err)
				}
				if m.Checkpoint() != saved {
					t.Fatalf("failed step changed the checkpoint: %+v vs %+v", m.Checkpoint(), saved)
				}
				srv.failAt = 0
				m2, err := backup.ResumeMigration(ms.cfg, saved)
				if err != nil {
					t.Fatal(err)
				}
				if err := m2.Run(context.Background(), srv, nil); err != nil {
					t.Fatal(err)
				}
				if got := ms.finalState(t, srv); !maps.Equal(got, want) {
					t.Fatalf("final state differs")
				}
				got := m2.Checkpoint()
				if got.Copied != wantCP.Copied || got.Authenticated != wantCP.Authenticated || got.Skipped != wantCP.Skipped || got.State != backup.MigrationSwitched {
					t.Fatalf("checkpoint %+v, want %+v", got, wantCP)
				}
			})
		}
	}
}

// badIO wraps memServer with a ListSessions that misbehaves.
type badIO struct {
	*memServer
	list func(after backup.Cursor) []backup.BackedUpKey
}

func (b badIO) ListSessions(_ context.Context, _ string, after backup.Cursor, _ int) ([]backup.BackedUpKey, error) {
	return b.list(after), nil
}

func TestMigrationRefusesMisbehavingIO(t *testing.T) {
	ms := newMigrationSetup(t)
	var all []backup.BackedUpKey
	for _, k := range ms.server.versions["1"] {
		all = append(all, k)
	}
	slices.SortFunc(all, func(a, b backup.BackedUpKey) int {
		if a.Cursor().Less(b.Cursor()) {
			return -1
		}
		return 1
	})
	tests := []struct {
		name string
		list func(after backup.Cursor) []backup.BackedUpKey
	}{
		{"same keys again and again", func(backup.Cursor) []backup.BackedUpKey { return all[:2] }},
		{"out of order", func(backup.Cursor) []backup.BackedUpKey { return []backup.BackedUpKey{all[1], all[0]} }},
		{"more than asked", func(backup.Cursor) []backup.BackedUpKey { return all[:5] }},
		{"empty IDs", func(backup.Cursor) []backup.BackedUpKey { return []backup.BackedUpKey{{}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := backup.NewMigration(ms.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Run(context.Background(), badIO{ms.server.clone(), tt.list}, nil)
			if !errors.Is(err, backup.ErrMigration) {
				t.Fatalf("err %v, want ErrMigration", err)
			}
		})
	}
}

func TestMigrationConfigAndCheckpointChecks(t *testing.T) {
	ms := newMigrationSetup(t)
	mod := func(change func(*backup.MigrationConfig)) backup.MigrationConfig {
		c := ms.cfg
		change(&c)
		return c
	}
	unsignedNew, _ := backup.NewAuthData(ms.f.pub, nil)
	cfgs := []struct {
		name string
		cfg  backup.MigrationConfig
		want error
	}{
		{"no old version", mod(func(c *backup.MigrationConfig) { c.OldVersion = "" }), backup.ErrMigration},
		{"negative batch", mod(func(c *backup.MigrationConfig) { c.BatchSize = -1 }), backup.ErrMigration},
		{"huge batch", mod(func(c *backup.MigrationConfig) { c.BatchSize = backup.MaxMigrationBatch + 1 }), backup.ErrMigration},
		{"old key not the old auth_data's", mod(func(c *backup.MigrationConfig) { c.OldKey = ms.newPriv }), backup.ErrWrongBackupKey},
		{"new auth_data without signing key", mod(func(c *backup.MigrationConfig) { c.NewAuthData = unsignedNew }), backup.ErrMigration},
		{"new auth_data names another signing key", mod(func(c *backup.MigrationConfig) { c.SigningKey = signingKeyFrom("x") }), backup.ErrMigration},
		{"new auth_data malformed", mod(func(c *backup.MigrationConfig) { c.NewAuthData = []byte("{") }), backup.ErrAuthDataMalformed},
		{"other user", mod(func(c *backup.MigrationConfig) { c.UserID = ms.f.bob.UserID }), backup.ErrUserMismatch},
	}
	for _, tt := range cfgs {
		if _, err := backup.NewMigration(tt.cfg); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
	ok := backup.MigrationCheckpoint{Format: 1, OldVersion: "1", State: backup.MigrationCopying, NewVersion: "2", Cursor: backup.Cursor{RoomID: "!r:x", SessionID: "s"}, Copied: 3, Authenticated: 1}
	if _, err := backup.ResumeMigration(ms.cfg, ok); err != nil {
		t.Fatalf("valid checkpoint refused: %v", err)
	}
	cps := map[string]func(*backup.MigrationCheckpoint){
		"format":                func(c *backup.MigrationCheckpoint) { c.Format = 2 },
		"other old version":     func(c *backup.MigrationCheckpoint) { c.OldVersion = "7" },
		"unknown state":         func(c *backup.MigrationCheckpoint) { c.State = 9 },
		"no new version":        func(c *backup.MigrationCheckpoint) { c.NewVersion = "" },
		"new version in start":  func(c *backup.MigrationCheckpoint) { c.State = backup.MigrationStart },
		"new equals old":        func(c *backup.MigrationCheckpoint) { c.NewVersion = "1" },
		"negative count":        func(c *backup.MigrationCheckpoint) { c.Copied = -1 },
		"more authenticated":    func(c *backup.MigrationCheckpoint) { c.Authenticated = 4 },
		"cursor before copying": func(c *backup.MigrationCheckpoint) { c.State = backup.MigrationVersionCreated },
	}
	for name, change := range cps {
		cp := ok
		change(&cp)
		if _, err := backup.ResumeMigration(ms.cfg, cp); !errors.Is(err, backup.ErrMigration) {
			t.Errorf("checkpoint %s: err %v, want ErrMigration", name, err)
		}
	}
	var st backup.MigrationState
	if err := st.UnmarshalText([]byte("nonsense")); !errors.Is(err, backup.ErrMigration) {
		t.Errorf("UnmarshalText: %v", err)
	}
	if _, err := backup.MigrationState(42).MarshalText(); !errors.Is(err, backup.ErrMigration) {
		t.Errorf("MarshalText: %v", err)
	}
	b, _ := json.Marshal(ok)
	if want := `"state":"copying"`; !json.Valid(b) || !strings.Contains(string(b), want) {
		t.Errorf("checkpoint JSON %s lacks %s", b, want)
	}
}

func TestMigrationContextCancelled(t *testing.T) {
	ms := newMigrationSetup(t)
	m, _ := backup.NewMigration(ms.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := ms.server.clone()
	if err := m.Run(ctx, srv, nil); !errors.Is(err, context.Canceled) || srv.calls != 0 {
		t.Fatalf("err %v after %d calls", err, srv.calls)
	}
}
