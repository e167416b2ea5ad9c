package keybackup_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/client"
	"vouch/client/keybackup"
	"vouch/client/secrets"
	"vouch/internal/testserver"
	"vouch/signedjson"
	"vouch/trust"
)

// setUp gives a first device with secret storage and a signed backup
// holding n sessions; it returns the device, the recovery key and the
// created backup.
func setUp(t testing.TB, url string, n int) (*dev, string, *keybackup.Created) {
	t.Helper()
	ctx := context.Background()
	d := firstDevice(t, url, "alice")
	key, err := d.ss.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	rk, err := key.RecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ss.StoreCrossSigning(ctx, key, d.keys, rand.Reader); err != nil {
		t.Fatal(err)
	}
	cr, err := keybackup.Create(ctx, d.api, keybackup.CreateOptions{
		UserID: d.userID(), Master: d.keys.Master, Device: d.dev, Secrets: d.ss, SecretKey: key, Rand: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, d, nil)
	if !st.SigningKeyTrusted || st.Path != "master_signing_key" {
		t.Fatalf("first device's own backup: %+v", st)
	}
	if n > 0 {
		res, err := keybackup.Upload(ctx, d.api, st, cr.Keys, sessions(n, backup.OlmRoomKey), keybackup.UploadOptions{BatchSize: 400})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != n || res.Uploaded != n || res.Etag == "" {
			t.Fatalf("upload: %+v", res)
		}
	}
	return d, rk, cr
}

// recoverOn unlocks secret storage on d with the recovery key, recovers
// the cross-signing keys and the backup keys, and returns the backup
// status as d now sees it.
func recoverOn(t *testing.T, d *dev, rk string) (*keybackup.Status, keybackup.Keys) {
	t.Helper()
	ctx := context.Background()
	key, err := d.ss.Unlock(ctx, "", secrets.Credential{RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := secrets.FetchOwnKeys(ctx, d.c, d.userID())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := d.ss.RecoverCrossSigning(ctx, key, pub)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Missing) != 0 || rec.Keys.SelfSigning == nil || rec.Keys.UserSigning == nil {
		t.Fatalf("recovered %+v", rec)
	}
	d.master, d.keys = rec.Master, rec.Keys
	k, has, err := keybackup.LoadKeys(ctx, d.ss, key)
	if err != nil || !has {
		t.Fatalf("backup keys: has %v, %v", has, err)
	}
	st := mustStatus(t, d, &k.Private)
	return st, k
}

// TestEndToEndSignedBackup is issue 7's end-to-end test over HTTP: a first
// device sets up secret storage and a signed backup with 1,000 sessions; a
// second device given only the recovery key recovers the cross-signing
// keys, trusts the backup and restores all 1,000 as authenticated; after
// the server swaps auth_data's signing key (re-signing nothing it cannot),
// all 1,000 restore as unauthenticated.
func TestEndToEndSignedBackup(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	url := testserver.URL(t)
	first, rk, cr := setUp(t, url, n)
	if master := client.PublicKey(first.keys.Master); master != first.master {
		t.Fatal("test setup: master mismatch")
	}

	second := secondDevice(t, url, first.userID())
	st, k := recoverOn(t, second, rk)
	if second.master != first.master {
		t.Fatalf("recovered master %s, published %s", second.master, first.master)
	}
	if k.Private != cr.Keys.Private || k.Signing != cr.Keys.Signing {
		t.Fatal("backup keys from secret storage differ from the created ones")
	}
	if !st.Trusted || st.Path != "master_signing_key" || !st.SigningKeyTrusted || st.Count != n || st.Version != cr.Version {
		t.Fatalf("status on the second device: %+v", st)
	}
	res, err := keybackup.Restore(ctx, second.api, st, k.Private, keybackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != n || res.Authenticated != n || res.Unauthenticated != 0 || res.Failed != 0 || len(res.Keys) != n {
		t.Fatalf("restore: total %d auth %d unauth %d failed %d", res.Total, res.Authenticated, res.Unauthenticated, res.Failed)
	}

	// The server (or anyone with the token) swaps the signing key in
	// auth_data for its own and keeps the old signatures, which no longer
	// verify; it cannot produce a master-key signature.
	var ad map[string]json.RawMessage
	if err := json.Unmarshal(cr.AuthData, &ad); err != nil {
		t.Fatal(err)
	}
	evil, _ := backup.GenerateSigningKey(rand.Reader)
	ad[backup.UnstableSigningPublicKeyField], _ = json.Marshal(evil.PublicKey().Encode())
	swapped, _ := json.Marshal(ad)
	if err := second.api.UpdateVersion(ctx, cr.Version, swapped); err != nil {
		t.Fatal(err)
	}
	st = mustStatus(t, second, &k.Private)
	if st.SigningKeyTrusted || st.Path != "known_private_key" {
		t.Fatalf("swapped auth_data: %+v", st)
	}
	res, err = keybackup.Restore(ctx, second.api, st, k.Private, keybackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Authenticated != 0 || res.Unauthenticated != n || res.Failed != 0 {
		t.Fatalf("restore of swapped backup: auth %d unauth %d failed %d", res.Authenticated, res.Unauthenticated, res.Failed)
	}
	// Without the private key as a trust source the swapped backup is
	// simply untrusted, and uploading to it is refused.
	st = mustStatus(t, second, nil)
	if st.Trusted || st.Path != "none" {
		t.Fatalf("swapped auth_data without the key: %+v", st)
	}
	if _, err := keybackup.Upload(ctx, second.api, st, k, sessions(1, backup.OlmRoomKey), keybackup.UploadOptions{}); !errors.Is(err, keybackup.ErrUntrusted) {
		t.Fatalf("upload to untrusted backup: %v", err)
	}
	res, err = keybackup.Restore(ctx, second.api, st, k.Private, keybackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Authenticated != 0 || res.Unauthenticated != n {
		t.Fatalf("restore of untrusted backup: auth %d unauth %d", res.Authenticated, res.Unauthenticated)
	}
}

// mustStatus is the current backup version as d sees it (with priv, when
// not nil, to check the backup key).
func mustStatus(t testing.TB, d *dev, priv *backup.PrivateKey) *keybackup.Status {
	t.Helper()
	st, err := keybackup.GetStatus(context.Background(), d.api, "", mustViewer(t, d), priv)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustViewer(t testing.TB, d *dev) trust.Viewer {
	t.Helper()
	v, err := keybackup.Viewer(context.Background(), d.c, d.userID(), d.master)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRestoreCounts checks the authenticated flag per provenance and that
// keys planted by someone who knows only the public key restore as
// unauthenticated, and that a mangled session counts as failed.
func TestRestoreCounts(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	d, _, cr := setUp(t, url, 0)
	viewer := mustViewer(t, d)
	st, err := keybackup.GetStatus(ctx, d.api, "", viewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := sessions(30, backup.OlmRoomKey)
	for i := 10; i < 20; i++ {
		ss[i].Provenance = backup.Unauthenticated
	}
	if _, err := keybackup.Upload(ctx, d.api, st, cr.Keys, ss, keybackup.UploadOptions{BatchSize: 7}); err != nil {
		t.Fatal(err)
	}
	// An attacker who knows the public key plants unsigned keys, and a
	// key signed by its own signing key, in a new room.
	pub, _ := cr.Keys.Private.PublicKey()
	planted := sessions(5, backup.OlmRoomKey)
	evil, _ := backup.GenerateSigningKey(rand.Reader)
	var keys []backup.BackedUpKey
	for i, s := range planted {
		var sd backup.EncryptedSessionData
		if i == 0 {
			sd, err = backup.EncryptSignedSession(pub, s.Plaintext, d.userID(), evil, backup.OlmRoomKey, nil)
		} else {
			sd, err = backup.Encrypt(pub, s.Plaintext, rand.Reader)
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, backup.BackedUpKey{RoomID: "!planted:localhost", SessionID: s.SessionID, SessionData: sd})
	}
	// And one key whose ciphertext is cut short.
	bad := keys[1]
	bad.SessionID, bad.SessionData.Ciphertext = "broken", bad.SessionData.Ciphertext[:16]
	keys = append(keys, bad)
	if _, err := d.api.PutKeys(ctx, cr.Version, keys); err != nil {
		t.Fatal(err)
	}
	st, err = keybackup.GetStatus(ctx, d.api, "", viewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := keybackup.Restore(ctx, d.api, st, cr.Keys.Private, keybackup.RestoreOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 36 || res.Authenticated != 20 || res.Unauthenticated != 15 || res.Failed != 1 {
		t.Fatalf("total %d auth %d unauth %d failed %d", res.Total, res.Authenticated, res.Unauthenticated, res.Failed)
	}
	if f := res.Failures[0]; f.SessionID != "broken" || f.Error == "" {
		t.Fatalf("failure %+v", f)
	}
	for _, k := range res.Keys {
		want := k.RoomID != "!planted:localhost" && (k.SessionID < "session000010" || k.SessionID >= "session000020")
		if k.Restored.Authenticated != want {
			t.Fatalf("%s/%s authenticated %v, want %v (%s)", k.RoomID, k.SessionID, k.Restored.Authenticated, want, k.Restored.Reason)
		}
	}
	if got := len(res.Export()); got != 35 {
		t.Fatalf("export has %d keys", got)
	}
}

// TestAPIErrors covers the answers the client must understand: no backup,
// a stale version, a foreign user's token.
func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	d := firstDevice(t, url, "bob")
	if _, err := d.api.Version(ctx, ""); !errors.Is(err, keybackup.ErrNoBackup) {
		t.Fatalf("no backup: %v", err)
	}
	if _, err := keybackup.GetStatus(ctx, d.api, "", mustViewer(t, d), nil); !errors.Is(err, keybackup.ErrNoBackup) {
		t.Fatalf("status without backup: %v", err)
	}
	priv, _ := backup.GenerateKey(rand.Reader)
	pub, _ := priv.PublicKey()
	ad, _ := backup.NewAuthData(pub, nil)
	v1, err := d.api.CreateVersion(ctx, ad)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := d.api.CreateVersion(ctx, ad)
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := backup.Encrypt(pub, sessions(1, 0)[0].Plaintext, rand.Reader)
	_, err = d.api.PutKeys(ctx, v1, []backup.BackedUpKey{{RoomID: "!r:localhost", SessionID: "s", SessionData: sd}})
	var merr *client.Error
	if !errors.As(err, &merr) || merr.Code != "M_WRONG_ROOM_KEYS_VERSION" || merr.CurrentVersion != v2 {
		t.Fatalf("stale version: %v", err)
	}
	// Unsigned auth_data: not trusted without the key, trusted for upload
	// with it, but never with a signing key.
	st, err := keybackup.GetStatus(ctx, d.api, "", mustViewer(t, d), nil)
	if err != nil || st.Trusted {
		t.Fatalf("unsigned backup: %+v %v", st, err)
	}
	st, err = keybackup.GetStatus(ctx, d.api, v2, mustViewer(t, d), &priv)
	if err != nil || !st.Trusted || st.SigningKeyTrusted || st.Path != "known_private_key" {
		t.Fatalf("unsigned backup with key: %+v %v", st, err)
	}
	if _, err := keybackup.Upload(ctx, d.api, st, keybackup.Keys{Private: priv}, sessions(1, 0), keybackup.UploadOptions{}); !errors.Is(err, keybackup.ErrMissingKey) {
		t.Fatalf("upload without signing key in auth_data: %v", err)
	}
	if _, err := d.api.Version(ctx, "999"); !errors.Is(err, keybackup.ErrNoBackup) {
		t.Fatalf("unknown version: %v", err)
	}
	if err := d.api.DeleteVersion(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if v, err := d.api.Version(ctx, ""); err != nil || v.Version != v1 {
		t.Fatalf("after delete: %+v %v", v, err)
	}
	// Logged out: no request is sent.
	d.c.SetAccessToken("")
	if _, err := d.api.Version(ctx, ""); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Fatalf("logged out: %v", err)
	}
}

// TestMigrateResumable migrates an old unsigned backup of 250 keys to a
// signed one, interrupting after the first copy step and resuming from
// the checkpoint file.
func TestMigrateResumable(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	d := firstDevice(t, url, "carol")
	key, err := d.ss.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	// An old-style backup: auth_data without a signing key, signed by the
	// device only, keys encrypted without a signature.
	priv, _ := backup.GenerateKey(rand.Reader)
	pub, _ := priv.PublicKey()
	ad, _ := backup.NewAuthData(pub, nil)
	ad, err = d.dev.Sign(ad)
	if err != nil {
		t.Fatal(err)
	}
	old, err := d.api.CreateVersion(ctx, ad)
	if err != nil {
		t.Fatal(err)
	}
	const n = 250
	var keys []backup.BackedUpKey
	for _, s := range sessions(n, 0) {
		sd, err := backup.Encrypt(pub, s.Plaintext, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, backup.BackedUpKey{RoomID: s.RoomID, SessionID: s.SessionID, KeyBackupDataMeta: s.Meta, SessionData: sd})
	}
	if _, err := d.api.PutKeys(ctx, old, keys); err != nil {
		t.Fatal(err)
	}
	cpPath := filepath.Join(t.TempDir(), "migration.json")
	opts := keybackup.MigrateOptions{
		Viewer: mustViewer(t, d), Master: d.keys.Master, Device: d.dev, OldKey: priv,
		Secrets: d.ss, SecretKey: key, CheckpointPath: cpPath, BatchSize: 100, Rand: rand.Reader,
	}
	// Without the right key: refused before anything is created.
	wrong := opts
	wrong.OldKey, _ = backup.GenerateKey(rand.Reader)
	if _, err := keybackup.Migrate(ctx, d.api, wrong); err == nil {
		t.Fatal("migration with a wrong key accepted")
	}
	if _, err := os.Stat(cpPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("checkpoint written by a refused migration")
	}

	cctx, cancel := context.WithCancel(ctx)
	first := opts
	var seen []backup.MigrationState
	first.Progress = func(cp backup.MigrationCheckpoint, total int) {
		seen = append(seen, cp.State)
		if total != n {
			t.Errorf("total %d", total)
		}
		if cp.State == backup.MigrationCopying {
			cancel()
		}
	}
	res, err := keybackup.Migrate(cctx, d.api, first)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if res.Copied != 100 || res.Resumed {
		t.Fatalf("interrupted run: %+v", res)
	}
	fi, err := os.Stat(cpPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint file: %v %v", fi, err)
	}
	var progress []backup.MigrationState
	opts.Progress = func(cp backup.MigrationCheckpoint, _ int) { progress = append(progress, cp.State) }
	res, err = keybackup.Migrate(ctx, d.api, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Copied != n || res.Skipped != 0 || res.Authenticated != 0 || res.OldVersion != old {
		t.Fatalf("resumed run: %+v", res)
	}
	if _, err := os.Stat(cpPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("checkpoint left after success")
	}
	if len(seen) != 2 || progress[len(progress)-1] != backup.MigrationSwitched {
		t.Fatalf("progress %v then %v", seen, progress)
	}
	st := mustStatus(t, d, nil)
	if st.Version != res.NewVersion || !st.SigningKeyTrusted || st.Count != n {
		t.Fatalf("new version: %+v", st)
	}
	if st.SigningKey != res.Signing.PublicKey().Encode() {
		t.Fatal("new auth_data names another signing key")
	}
	k, has, err := keybackup.LoadKeys(ctx, d.ss, key)
	if err != nil || !has || k.Signing != res.Signing || k.Private != priv {
		t.Fatalf("secret storage after migration: has %v %v", has, err)
	}
	// Old keys were unauthenticated; they are signed now but stay so.
	r, err := keybackup.Restore(ctx, d.api, st, priv, keybackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Unauthenticated != n || r.Authenticated != 0 {
		t.Fatalf("restore after migration: %+v", r)
	}
	spub := res.Signing.PublicKey()
	for _, k := range r.Keys[:3] {
		if err := signedjson.Verify(k.Restored.Plaintext, d.userID(), spub.KeyID(), spub[:]); err != nil {
			t.Fatalf("migrated key not signed: %v", err)
		}
	}
	// The old version is still there (not deleted by default).
	if _, err := d.api.Version(ctx, old); err != nil {
		t.Fatal(err)
	}
	// A second migration of a signed backup is refused.
	if _, err := keybackup.Migrate(ctx, d.api, opts); !errors.Is(err, keybackup.ErrAlreadySigned) {
		t.Fatalf("second migration: %v", err)
	}
}

// TestTrustPathOwnDevice: auth_data signed only by a device that the
// master key's chain verifies is trusted by that path on another device,
// sessions restore authenticated; signed by an unverified device, it is not.
func TestTrustPathOwnDevice(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	first, rk, _ := setUp(t, url, 0)
	k := keybackup.Keys{}
	k.Private, _ = backup.GenerateKey(rand.Reader)
	k.Signing, _ = backup.GenerateSigningKey(rand.Reader)
	pub, _ := k.Private.PublicKey()
	spub := k.Signing.PublicKey()
	ad, _ := backup.NewAuthData(pub, &spub)
	byDevice, err := first.dev.Sign(ad)
	if err != nil {
		t.Fatal(err)
	}
	v, err := first.api.CreateVersion(ctx, byDevice)
	if err != nil {
		t.Fatal(err)
	}
	second := secondDevice(t, url, first.userID())
	recoverOn(t, second, rk)
	st := mustStatus(t, second, nil)
	if st.Version != v || st.Path != "verified_own_device" || st.DeviceID != first.dev.DeviceID() || !st.SigningKeyTrusted {
		t.Fatalf("device-signed backup: %+v", st)
	}
	if _, err := keybackup.Upload(ctx, second.api, st, k, sessions(20, backup.TrustedForward), keybackup.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := keybackup.Restore(ctx, second.api, st, k.Private, keybackup.RestoreOptions{})
	if err != nil || res.Authenticated != 20 {
		t.Fatalf("restore: %+v %v", res, err)
	}
	// The second device is not signed by the self-signing key: auth_data
	// signed by it alone is not trusted.
	bySecond, err := second.dev.Sign(ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.api.UpdateVersion(ctx, v, bySecond); err != nil {
		t.Fatal(err)
	}
	st = mustStatus(t, first, nil)
	if st.Trusted || !strings.Contains(st.Reason, "not verified") {
		t.Fatalf("unverified device's auth_data: %+v", st)
	}
	res, err = keybackup.Restore(ctx, first.api, st, k.Private, keybackup.RestoreOptions{})
	if err != nil || res.Authenticated != 0 || res.Unauthenticated != 20 {
		t.Fatalf("restore: %+v %v", res, err)
	}
}
