package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/client"
	"vouch/client/keybackup"
	"vouch/client/secrets"
	"vouch/client/state"
	"vouch/internal/testserver"
)

// libAccount opens a CLI account's state and gives the library objects
// for it, so a test can do what the CLI has no command for (uploading
// room keys, playing the attacker).
type libAccount struct {
	api    *keybackup.API
	userID string
	local  *secrets.Local
	master string
}

func openLib(t *testing.T, a *cliAccount, userID string) *libAccount {
	t.Helper()
	sa := openSaved(t, a.dir, userID)
	api, err := keybackup.NewAPI(sa.client)
	if err != nil {
		t.Fatal(err)
	}
	local, err := secrets.LoadLocal(sa.dir)
	if err != nil {
		t.Fatal(err)
	}
	return &libAccount{api: api, userID: userID, local: local, master: sa.ownMaster}
}

// savedAccount is what a CLI account's state holds, read back for a test.
type savedAccount struct {
	dir          string // the account's state directory
	client       *client.Client
	crossSigning state.CrossSigning // zero when the device holds none
	ownMaster    string
}

// openSaved reads the state of userID under the vouch state base dir.
func openSaved(t *testing.T, base, userID string) savedAccount {
	t.Helper()
	ctx := context.Background()
	dir, err := state.AccountDir(base, userID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	master, err := st.OwnMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := st.CrossSigning(ctx)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		t.Fatal(err)
	}
	c, err := client.New(acct.Homeserver, client.WithAccessToken(acct.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	return savedAccount{dir: dir, client: c, crossSigning: cs, ownMaster: master}
}

func (l *libAccount) status(t *testing.T) *keybackup.Status {
	t.Helper()
	ctx := context.Background()
	v, err := keybackup.Viewer(ctx, l.api.Client(), l.userID, l.master)
	if err != nil {
		t.Fatal(err)
	}
	st, err := keybackup.GetStatus(ctx, l.api, "", v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (l *libAccount) keys(t *testing.T) keybackup.Keys {
	t.Helper()
	var k keybackup.Keys
	var err error
	if k.Private, err = backup.ParsePrivateKey(l.local.BackupKey); err != nil {
		t.Fatal(err)
	}
	if l.local.BackupSigningKey != "" {
		if k.Signing, err = backup.ParseSigningKey(l.local.BackupSigningKey); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// fakeSessions makes n BackedUpSession plaintexts in rooms of 100.
func fakeSessions(n int, prov backup.Provenance) []keybackup.Session {
	b64 := func(k int) string {
		b := make([]byte, k)
		rand.Read(b)
		return base64.RawStdEncoding.EncodeToString(b)
	}
	out := make([]keybackup.Session, n)
	for i := range out {
		out[i] = keybackup.Session{
			RoomID: fmt.Sprintf("!r%03d:localhost", i/100), SessionID: fmt.Sprintf("s%05d", i),
			Plaintext: fmt.Appendf(nil, `{"algorithm":"m.megolm.v1.aes-sha2","forwarding_curve25519_key_chain":[],"sender_claimed_keys":{"ed25519":%q},"sender_key":%q,"session_key":%q}`,
				b64(32), b64(32), b64(229)),
			Provenance: prov,
		}
	}
	return out
}

// TestBackupCLIEndToEnd is issue 7's end-to-end test through the CLI over
// HTTP: device A sets up secret storage and a signed backup and uploads
// 1,000 sessions; device B, given only the recovery key, recovers the
// cross-signing keys, sees the backup trusted by the master key and
// restores all 1,000 as authenticated; after the server swaps the signing
// key in auth_data, B restores all 1,000 as unauthenticated.
func TestBackupCLIEndToEnd(t *testing.T) {
	const n = 1000
	t.Setenv("VOUCH_PASSWORD", "pw")
	t.Setenv("VOUCH_RECOVERY_KEY", "")
	t.Setenv("VOUCH_PASSPHRASE", "")
	ctx := context.Background()
	url := testserver.URL(t)
	const alice = "@alice:localhost"

	a := newCLIAccount(t)
	a.must("login", "--server", url, "--user", alice, "--register")
	a.must("bootstrap")
	a.fails("no key backup", "backup", "status")
	a.fails("not set up", "backup", "create")
	rk := recoveryKeyIn(t, a.must("secrets", "setup"))
	cr := a.json("backup", "create", "--json")
	version := cr["version"].(string)
	if version == "" || cr["signing_public_key"] == "" {
		t.Fatalf("create: %v", cr)
	}
	a.fails("already exists", "backup", "create")
	names := secretNames(t, a.json("secrets", "show-names", "--json"))
	if names["m.megolm_backup.v1"] != 1 || names["m.key_backup.signing"] != 1 {
		t.Fatalf("backup keys not in secret storage: %v", names)
	}
	// Replacing the default key carries the backup keys over: the new
	// recovery key is all device B gets.
	out := a.must("secrets", "setup", "--force")
	rk2 := recoveryKeyIn(t, out)
	if rk2 == rk || !strings.Contains(out, "m.key_backup.signing") {
		t.Fatalf("setup --force: %s", out)
	}
	names = secretNames(t, a.json("secrets", "show-names", "--json"))
	if names["m.megolm_backup.v1"] != 1 || names["m.key_backup.signing"] != 1 || names["m.cross_signing.master"] != 1 {
		t.Fatalf("after setup --force: %v", names)
	}
	a.fails("wrong recovery key", "secrets", "recover", "--recovery-key", rk)
	rk = rk2
	st := a.json("backup", "status", "--json")
	if st["trusted"] != true || st["trust_path"] != "master_signing_key" || st["signing_key_trusted"] != true || st["count"] != 0.0 {
		t.Fatalf("status on A: %v", st)
	}
	la := openLib(t, a, alice)
	if _, err := keybackup.Upload(ctx, la.api, la.status(t), la.keys(t), fakeSessions(n, backup.OlmRoomKey), keybackup.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if h := a.must("backup", "status"); !strings.Contains(h, "keys: 1000") || !strings.Contains(h, "trusted: yes, by master_signing_key") {
		t.Fatalf("human status: %s", h)
	}

	b := newCLIAccount(t)
	b.must("login", "--server", url, "--user", alice)
	b.fails("give --recovery-key", "backup", "restore")
	st = b.json("backup", "status", "--json")
	if st["trusted"] != false || st["count"] != float64(n) {
		t.Fatalf("status on B before recovery: %v", st)
	}
	b.must("secrets", "recover", "--recovery-key", rk)
	st = b.json("backup", "status", "--json")
	if st["trusted"] != true || st["trust_path"] != "master_signing_key" || st["signing_key_trusted"] != true || st["version"] != version {
		t.Fatalf("status on B: %v", st)
	}
	outFile := filepath.Join(t.TempDir(), "keys.json")
	code, out, errOut := acctRun(t, b.dir, "backup", "restore", "--json", "--output", outFile)
	if code != 0 {
		t.Fatalf("restore: %d %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res["authenticated"] != float64(n) || res["unauthenticated"] != 0.0 || res["failed"] != 0.0 || res["total"] != float64(n) {
		t.Fatalf("restore on B: %v", res)
	}
	if !strings.Contains(errOut, fmt.Sprintf("[%d/%d] keys opened", n, n)) {
		t.Fatalf("progress lines: %q", errOut)
	}
	if strings.Contains(out, "session_key") {
		t.Fatal("restore --json printed session keys")
	}
	fi, err := os.Stat(outFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("output file: %v %v", fi, err)
	}
	var exported []keybackup.ExportedKey
	raw, _ := os.ReadFile(outFile)
	if err := json.Unmarshal(raw, &exported); err != nil || len(exported) != n || !exported[0].Authenticated {
		t.Fatalf("exported: %d keys, %v", len(exported), err)
	}

	// The server swaps the signing key in auth_data for its own.
	lb := openLib(t, b, alice)
	v, err := lb.api.Version(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ad map[string]json.RawMessage
	if err := json.Unmarshal(v.AuthData, &ad); err != nil {
		t.Fatal(err)
	}
	evil, _ := backup.GenerateSigningKey(rand.Reader)
	ad[backup.UnstableSigningPublicKeyField], _ = json.Marshal(evil.PublicKey().Encode())
	swapped, _ := json.Marshal(ad)
	if err := lb.api.UpdateVersion(ctx, v.Version, swapped); err != nil {
		t.Fatal(err)
	}
	res = b.json("backup", "restore", "--json")
	if res["authenticated"] != 0.0 || res["unauthenticated"] != float64(n) || res["failed"] != 0.0 {
		t.Fatalf("restore of swapped backup: %v", res)
	}
	h := b.must("backup", "restore")
	if !strings.Contains(h, "0 authenticated, 1000 unauthenticated") || !strings.Contains(h, "every key is unauthenticated") {
		t.Fatalf("human restore of swapped backup: %s", h)
	}
	if h := b.must("backup", "status"); !strings.Contains(h, "IGNORED") {
		t.Fatalf("status of swapped backup: %s", h)
	}

	// A resets the identity; B's master key is stale and must not sign a
	// new backup.
	a.must("identity", "reset", "--yes")
	b.fails("not your published one", "backup", "create", "--force")
}

// TestBackupCLIMigrate migrates an old unsigned backup through the CLI,
// and refuses a damaged checkpoint with a message saying what to do.
func TestBackupCLIMigrate(t *testing.T) {
	const n = 120
	t.Setenv("VOUCH_PASSWORD", "pw")
	t.Setenv("VOUCH_RECOVERY_KEY", "")
	t.Setenv("VOUCH_PASSPHRASE", "")
	ctx := context.Background()
	url := testserver.URL(t)
	const bob = "@bob:localhost"
	a := newCLIAccount(t)
	a.must("login", "--server", url, "--user", bob, "--register")
	a.must("bootstrap")
	rk := recoveryKeyIn(t, a.must("secrets", "setup"))
	a.fails("no key backup", "backup", "migrate")

	// An old backup made by another client: no signing key, unsigned keys,
	// its decryption key in secret storage.
	la := openLib(t, a, bob)
	priv, _ := backup.GenerateKey(rand.Reader)
	pub, _ := priv.PublicKey()
	adata, _ := backup.NewAuthData(pub, nil)
	old, err := la.api.CreateVersion(ctx, adata)
	if err != nil {
		t.Fatal(err)
	}
	var keys []backup.BackedUpKey
	for _, s := range fakeSessions(n, 0) {
		sd, err := backup.Encrypt(pub, s.Plaintext, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, backup.BackedUpKey{RoomID: s.RoomID, SessionID: s.SessionID, SessionData: sd})
	}
	if _, err := la.api.PutKeys(ctx, old, keys); err != nil {
		t.Fatal(err)
	}
	ss, err := secrets.New(la.api.Client(), bob)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ss.Unlock(ctx, "", secrets.Credential{RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Put(ctx, key, "m.megolm_backup.v1", priv.Encode(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	// Unsigned and not signed by anyone: untrusted until this device knows
	// the key.
	if st := a.json("backup", "status", "--json"); st["trusted"] != false {
		t.Fatalf("status of foreign backup: %v", st)
	}
	if h := a.must("backup", "status"); !strings.Contains(h, "trusted: NO") {
		t.Fatalf("human status: %s", h)
	}

	// A damaged checkpoint is refused with advice.
	acctDir, _ := state.AccountDir(a.dir, bob)
	cp := filepath.Join(acctDir, migrationCheckpointFile)
	if err := os.WriteFile(cp, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.fails("delete it to start over", "backup", "migrate", "--recovery-key", rk)
	os.Remove(cp)

	code, out, errOut := acctRun(t, a.dir, "backup", "migrate", "--recovery-key", rk, "--batch", "50")
	if code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	if !strings.Contains(out, fmt.Sprintf("Migrated backup version %s", old)) || !strings.Contains(out, fmt.Sprintf("%d keys copied (0 authenticated)", n)) {
		t.Fatalf("migrate output: %s", out)
	}
	for _, want := range []string{"[0/120] version_created", "[50/120] copying", "[100/120] copying", "[120/120] copied", "[120/120] switched"} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("progress lacks %q: %q", want, errOut)
		}
	}
	if _, err := os.Stat(cp); !os.IsNotExist(err) {
		t.Fatal("checkpoint left behind")
	}
	st := a.json("backup", "status", "--json")
	if st["signing_key_trusted"] != true || st["count"] != float64(n) || st["version"] == old {
		t.Fatalf("status after migration: %v", st)
	}
	res := a.json("backup", "restore", "--json")
	if res["unauthenticated"] != float64(n) || res["authenticated"] != 0.0 {
		t.Fatalf("restore after migration: %v", res)
	}
	// The old version is kept and still readable, trusted only through
	// the key this device holds.
	st = a.json("backup", "status", "--json", "--version", old)
	if st["trust_path"] != "known_private_key" || st["signing_key_trusted"] != false || st["count"] != float64(n) {
		t.Fatalf("status of the old version: %v", st)
	}
	res = a.json("backup", "restore", "--json", "--version", old)
	if res["unauthenticated"] != float64(n) || res["version"] != old {
		t.Fatalf("restore of the old version: %v", res)
	}
	a.fails("no key backup", "backup", "status", "--version", "999")
	a.fails("nothing to migrate", "backup", "migrate")
}
