package secrets_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vouch/client"
	"vouch/client/device"
	"vouch/client/secrets"
	"vouch/client/state"
	"vouch/internal/testserver"
	"vouch/internal/testvectors"
	"vouch/ssss"
)

// The tests run against the real key server over HTTP.

type memSaver struct{}

func (memSaver) SaveOneTimeKeys(context.Context, device.Secrets, []device.OneTimeKey) error {
	return nil
}
func (memSaver) SaveCrossSigningKeys(context.Context, *client.CrossSigningKeys) error { return nil }

// account registers a user and returns its client and secret storage.
func account(t *testing.T, url, name string) (*client.Client, *secrets.Store, *device.Device) {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := c.Register(context.Background(), client.RegisterRequest{Username: name, Password: "pw-" + name}, client.DummyAuthFunc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secrets.New(c, lr.UserID)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := device.New(lr.UserID, lr.DeviceID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c, s, dev
}

// putKey stores a description with a key check for raw under id.
func putKey(t *testing.T, c *client.Client, userID, id string, raw []byte) {
	t.Helper()
	iv := make([]byte, ssss.IVSize)
	rand.Read(iv)
	iv[8] &= 0x7f
	chk, err := ssss.EncryptWithIV(raw, "", make([]byte, 32), iv)
	if err != nil {
		t.Fatal(err)
	}
	d := ssss.KeyDescription{Algorithm: ssss.AlgorithmAESHMACSHA2, IV: chk.IV, MAC: chk.MAC}
	if err := c.PutAccountData(context.Background(), userID, ssss.KeyEventType(id), d); err != nil {
		t.Fatal(err)
	}
}

// putVectorSecret stores a key description for the vector key keyHex under
// id, stores enc as secret name encrypted with it, and unlocks the key. It
// serves the valid and the tampered vectors of
// TestVectorSecretsThroughAccountData.
func putVectorSecret(t *testing.T, c *client.Client, s *secrets.Store, id, name, keyHex string, enc ssss.EncryptedSecret) *secrets.Key {
	t.Helper()
	raw := testvectors.Hex(t, keyHex)
	putKey(t, c, s.UserID(), id, raw)
	content := ssss.SecretContent{}
	content.Set(id, enc)
	if err := c.PutAccountData(context.Background(), s.UserID(), name, content); err != nil {
		t.Fatal(err)
	}
	key, err := s.Unlock(context.Background(), id, secrets.Credential{Key: raw})
	if err != nil {
		t.Fatalf("%s: unlock: %v", id, err)
	}
	return key
}

// TestVectorSecretsThroughAccountData stores every vector's encrypted
// secret as account data and reads it back through Unlock and Get; every
// tampered one fails with a MAC mismatch.
func TestVectorSecretsThroughAccountData(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	c, s, _ := account(t, url, "vectors")
	v := testvectors.LoadSSSS(t)
	for i, vs := range v.Secrets {
		id := "vec" + string(rune('A'+i))
		key := putVectorSecret(t, c, s, id, vs.Name, vs.KeyHex, ssss.EncryptedSecret{IV: vs.IV, Ciphertext: vs.Ciphertext, MAC: vs.MAC})
		got, err := s.Get(ctx, key, vs.Name)
		if err != nil || got != vs.Plaintext {
			t.Fatalf("vector %d (%s): got %q, %v", i, vs.Name, got, err)
		}
	}
	for i, ts := range v.TamperedSecrets {
		id := "tam" + string(rune('A'+i))
		name := "org.example.tampered." + id
		key := putVectorSecret(t, c, s, id, name, ts.KeyHex, ssss.EncryptedSecret{IV: ts.IV, Ciphertext: ts.Ciphertext, MAC: ts.MAC})
		// The vector's MAC was computed for ts.Name; under any name the
		// tampered copy must be refused.
		if _, err := s.Get(ctx, key, name); err == nil {
			t.Fatalf("tampered vector %d (%s) accepted", i, ts.Reason)
		}
	}
}

// TestUnlock covers every way to give a key, with the vectors' recovery
// keys (valid and invalid).
func TestUnlock(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	c, s, _ := account(t, url, "unlock")
	if _, err := s.Unlock(ctx, "", secrets.Credential{Key: make([]byte, 32)}); !errors.Is(err, secrets.ErrNoDefaultKey) {
		t.Fatalf("no default key: %v", err)
	}
	pk, err := s.CreateDefaultKey(ctx, secrets.CreateOptions{Passphrase: "hunter2 but longer", Iterations: 1000, Rand: rand.Reader, Name: "pp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader}); !errors.Is(err, secrets.ErrDefaultKeyExists) {
		t.Fatalf("second default key: %v", err)
	}
	if strings.Contains(pk.String()+pk.GoString(), hex.EncodeToString(pk.Raw)) {
		t.Fatal("key printed")
	}
	pkRecovery, _ := pk.RecoveryKey()
	v := testvectors.LoadSSSS(t)
	vk := testvectors.Hex(t, v.RecoveryKeys[1].KeyHex)
	putKey(t, c, s.UserID(), "vectorkey", vk)

	tests := []struct {
		name  string
		id    string
		cred  secrets.Credential
		want  error
		check []byte
	}{
		{"passphrase", "", secrets.Credential{Passphrase: "hunter2 but longer"}, nil, pk.Raw},
		{"recovery key of passphrase key", "", secrets.Credential{RecoveryKey: pkRecovery}, nil, pk.Raw},
		{"raw key", pk.ID, secrets.Credential{Key: pk.Raw}, nil, pk.Raw},
		{"wrong passphrase", "", secrets.Credential{Passphrase: "hunter3 but longer"}, ssss.ErrWrongKey, nil},
		{"vector recovery key", "vectorkey", secrets.Credential{RecoveryKey: v.RecoveryKeys[1].Encoded}, nil, vk},
		{"vector recovery key, no spaces", "vectorkey", secrets.Credential{RecoveryKey: strings.ReplaceAll(v.RecoveryKeys[1].Encoded, " ", "")}, nil, vk},
		{"other recovery key", "vectorkey", secrets.Credential{RecoveryKey: v.RecoveryKeys[0].Encoded}, ssss.ErrWrongKey, nil},
		{"passphrase for random key", "vectorkey", secrets.Credential{Passphrase: "x"}, secrets.ErrNoPassphrase, nil},
		{"no credential", "", secrets.Credential{}, secrets.ErrNoCredential, nil},
		{"two credentials", "", secrets.Credential{Passphrase: "x", RecoveryKey: "y"}, secrets.ErrNoCredential, nil},
		{"short raw key", "vectorkey", secrets.Credential{Key: make([]byte, 31)}, ssss.ErrKeyLength, nil},
		{"unknown key ID", "nope", secrets.Credential{Key: vk}, secrets.ErrKeyNotFound, nil},
	}
	for _, inv := range v.InvalidRecoveryKeys {
		tests = append(tests, struct {
			name  string
			id    string
			cred  secrets.Credential
			want  error
			check []byte
		}{"invalid vector: " + inv.Reason, "vectorkey", secrets.Credential{RecoveryKey: inv.Encoded}, nil, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := s.Unlock(ctx, tt.id, tt.cred)
			switch {
			case tt.check == nil && err == nil:
				t.Fatal("accepted")
			case tt.check == nil && tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			case tt.check != nil && err != nil:
				t.Fatal(err)
			case tt.check != nil && (!slices.Equal(k.Raw, tt.check) || !k.Checked):
				t.Fatal("wrong key returned")
			}
		})
	}
}

// TestPutGetList stores secrets, reads them under every spelling, detects
// tampering, and lists names and keys without values.
func TestPutGetList(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	c, s, _ := account(t, url, "putget")
	l, err := s.List(ctx)
	if err != nil || l.DefaultKey != "" || len(l.Secrets) != 0 {
		t.Fatalf("empty listing: %+v %v", l, err)
	}
	k1, err := s.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader, Replace: true, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, k1, ssss.SecretMegolmBackup, "backup-key-0", rand.Reader); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, k1, ssss.SecretMegolmBackup); err != nil || got != "backup-key-0" {
		t.Fatalf("Get with %s: %q, %v", k1.ID, got, err)
	}
	// Written again under k2, the secret keeps no copy under k1 (which
	// would still hold the old value).
	if err := s.Put(ctx, k2, ssss.SecretMegolmBackup, "backup-key-1", rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k1, ssss.SecretMegolmBackup); !errors.Is(err, secrets.ErrSecretNotFound) {
		t.Fatalf("stale copy under the old key: %v", err)
	}
	// A copy under two keys, as another client may write it.
	encK1, _ := ssss.Encrypt(k1.Raw, ssss.SecretMegolmBackup, []byte("backup-key-1"), rand.Reader)
	encK2, _ := ssss.Encrypt(k2.Raw, ssss.SecretMegolmBackup, []byte("backup-key-1"), rand.Reader)
	both := ssss.SecretContent{}
	both.Set(k1.ID, encK1)
	both.Set(k2.ID, encK2)
	if err := c.PutAccountData(ctx, s.UserID(), ssss.SecretMegolmBackup, both); err != nil {
		t.Fatal(err)
	}
	// Written under any spelling, the MSC2882 key lands under vouch's name.
	if err := s.Put(ctx, k2, ssss.SecretPublicUserSigningMSC, "pusk", rand.Reader); err != nil {
		t.Fatal(err)
	}
	for _, name := range ssss.ReadNames(ssss.SecretPublicUserSigning) {
		if got, err := s.Get(ctx, k2, name); err != nil || got != "pusk" {
			t.Fatalf("Get(%s) = %q, %v", name, got, err)
		}
	}
	// A copy another client wrote under the seed's misspelling is found.
	enc, _ := ssss.Encrypt(k1.Raw, ssss.SecretPublicUserSigningMSC, []byte("typo"), rand.Reader)
	content := ssss.SecretContent{}
	content.Set(k1.ID, enc)
	if err := c.PutAccountData(ctx, s.UserID(), ssss.SecretPublicUserSigningMSC, content); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, k1, ssss.SecretPublicUserSigning); err != nil || got != "typo" {
		t.Fatalf("misspelled copy: %q, %v", got, err)
	}
	for _, k := range []*secrets.Key{k1, k2} {
		if got, err := s.Get(ctx, k, ssss.SecretMegolmBackup); err != nil || got != "backup-key-1" {
			t.Fatalf("Get with %s: %q, %v", k.ID, got, err)
		}
	}
	if _, err := s.Get(ctx, k1, ssss.SecretKeyBackupSigning); !errors.Is(err, secrets.ErrSecretNotFound) {
		t.Fatalf("absent secret: %v", err)
	}
	// Flip one byte of the stored ciphertext: refused.
	var stored ssss.SecretContent
	if err := c.GetAccountData(ctx, s.UserID(), ssss.SecretMegolmBackup, &stored); err != nil {
		t.Fatal(err)
	}
	e := stored.Encrypted[k1.ID]
	e.Ciphertext = flipB64(e.Ciphertext)
	stored.Encrypted[k1.ID] = e
	if err := c.PutAccountData(ctx, s.UserID(), ssss.SecretMegolmBackup, stored); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k1, ssss.SecretMegolmBackup); !errors.Is(err, ssss.ErrMACMismatch) {
		t.Fatalf("tampered: %v", err)
	}
	if got, err := s.Get(ctx, k2, ssss.SecretMegolmBackup); err != nil || got != "backup-key-1" {
		t.Fatalf("untouched copy: %q, %v", got, err)
	}

	l, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.DefaultKey != k2.ID || len(l.Keys) != 2 {
		t.Fatalf("listing keys: %+v", l)
	}
	names := map[string][]string{}
	for _, si := range l.Secrets {
		names[si.Name] = si.KeyIDs
	}
	wantBoth := []string{k1.ID, k2.ID}
	slices.Sort(wantBoth)
	if !slices.Equal(names[ssss.SecretMegolmBackup], wantBoth) ||
		!slices.Equal(names[ssss.SecretPublicUserSigning], []string{k2.ID}) ||
		!slices.Equal(names[ssss.SecretPublicUserSigningMSC], []string{k1.ID}) || len(names) != 3 {
		t.Fatalf("listing secrets: %v", names)
	}
	out, _ := json.Marshal(l)
	if strings.Contains(string(out), "backup-key-1") {
		t.Fatal("listing shows a secret value")
	}
}

// flipB64 changes one character of a base64 string.
func flipB64(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

// TestRecoverCrossSigning recovers the keys on a second device, imports
// them into local state, and refuses keys that do not match what is
// published.
func TestRecoverCrossSigning(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	c, s, dev := account(t, url, "recover")
	res, err := client.Bootstrap(ctx, c, dev, client.BootstrapOptions{Rand: rand.Reader, Save: memSaver{}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.CreateDefaultKey(ctx, secrets.CreateOptions{Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := secrets.FetchOwnKeys(ctx, c, s.UserID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecoverCrossSigning(ctx, key, pub); !errors.Is(err, secrets.ErrSecretNotFound) {
		t.Fatalf("nothing stored: %v", err)
	}
	if _, err := s.StoreCrossSigning(ctx, key, &client.CrossSigningKeys{}, rand.Reader); !errors.Is(err, client.ErrMissingPrivateKey) {
		t.Fatalf("storing no keys: %v", err)
	}
	written, err := s.StoreCrossSigning(ctx, key, res.Keys, rand.Reader)
	if err != nil || len(written) != 3 {
		t.Fatalf("stored %v, %v", written, err)
	}
	rec, err := s.RecoverCrossSigning(ctx, key, pub)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Master != res.Master || !rec.Keys.Master.Equal(res.Keys.Master) || !rec.Keys.SelfSigning.Equal(res.Keys.SelfSigning) || !rec.Keys.UserSigning.Equal(res.Keys.UserSigning) {
		t.Fatal("recovered keys differ")
	}
	st, err := state.Open(ctx, filepath.Join(t.TempDir(), "acct"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := secrets.ImportCrossSigning(ctx, st, rec); err != nil {
		t.Fatal(err)
	}
	if m, _ := st.OwnMaster(ctx); m != res.Master {
		t.Fatalf("own master %q", m)
	}
	if cs, err := st.CrossSigning(ctx); err != nil || !slices.Equal(cs.Master, res.Keys.Master.Seed()) {
		t.Fatalf("saved keys: %v", err)
	}

	// Planted keys: the server replaces each stored key by another one.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, name := range []string{ssss.SecretCrossSigningMaster, ssss.SecretCrossSigningSelfSigning, ssss.SecretCrossSigningUserSigning} {
		t.Run("planted "+name, func(t *testing.T) {
			good, err := s.Get(ctx, key, name)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, key, name, secrets.EncodeKeySecret(other.Seed()), rand.Reader); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecoverCrossSigning(ctx, key, pub); !errors.Is(err, secrets.ErrKeyMismatch) {
				t.Fatalf("planted key: %v", err)
			}
			if err := s.Put(ctx, key, name, "not base64!", rand.Reader); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecoverCrossSigning(ctx, key, pub); !errors.Is(err, secrets.ErrBadSecret) {
				t.Fatalf("garbage key: %v", err)
			}
			if err := s.Put(ctx, key, name, good, rand.Reader); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := s.RecoverCrossSigning(ctx, key, pub); err != nil {
		t.Fatalf("after restoring the good keys: %v", err)
	}
	// Published keys of someone else, or none.
	other2 := *pub
	other2.UserID = "@mallory:localhost"
	if _, err := s.RecoverCrossSigning(ctx, key, &other2); !errors.Is(err, secrets.ErrKeyMismatch) {
		t.Fatalf("other user's keys: %v", err)
	}
	noMaster := *pub
	noMaster.Master = nil
	if _, err := s.RecoverCrossSigning(ctx, key, &noMaster); !errors.Is(err, secrets.ErrNoIdentity) {
		t.Fatalf("no master: %v", err)
	}
}

// TestLocal round-trips the local cache, refuses a file others can read,
// and never prints its contents.
func TestLocal(t *testing.T) {
	dir := t.TempDir()
	l, err := secrets.LoadLocal(dir)
	if err != nil || l.SSSS() != nil {
		t.Fatalf("missing file: %+v %v", l, err)
	}
	want := &secrets.Local{SSSSKeyID: "abc", SSSSKey: []byte("0123456789abcdef0123456789abcdef"), BackupKey: "bk", BackupSigningKey: "sk"}
	if err := secrets.SaveLocal(dir, want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, secrets.LocalFileName)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	got, err := secrets.LoadLocal(dir)
	if err != nil || got.SSSSKeyID != "abc" || got.BackupKey != "bk" || got.BackupSigningKey != "sk" || string(got.SSSS().Raw) != string(want.SSSSKey) {
		t.Fatalf("round trip: %v", err)
	}
	for _, s := range []string{got.String(), got.GoString()} {
		if strings.Contains(s, "bk") || strings.Contains(s, "0123") {
			t.Fatalf("printed: %s", s)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadLocal(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"ssss_key_id":"a","extra":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	if _, err := secrets.LoadLocal(dir); err == nil {
		t.Fatal("unknown member accepted")
	}
}

// TestNewErrors: bad construction fails rather than panicking.
func TestNewErrors(t *testing.T) {
	if _, err := secrets.New(nil, "@a:b"); err == nil {
		t.Fatal("nil client accepted")
	}
	c, _ := client.New("http://127.0.0.1:1")
	if _, err := secrets.New(c, "alice"); err == nil {
		t.Fatal("bad user ID accepted")
	}
}
