package keybackup_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"vouch/backup"
	"vouch/client"
	"vouch/client/device"
	"vouch/client/keybackup"
	"vouch/client/secrets"
)

// These tests run against the real key server (package server on SQLite in
// a temp dir) over real HTTP.

// memSaver keeps secrets in memory.
type memSaver struct{ cs *client.CrossSigningKeys }

func (m *memSaver) SaveOneTimeKeys(context.Context, device.Secrets, []device.OneTimeKey) error {
	return nil
}

func (m *memSaver) SaveCrossSigningKeys(_ context.Context, k *client.CrossSigningKeys) error {
	m.cs = k
	return nil
}

// dev is one logged-in device of the test user.
type dev struct {
	c      *client.Client
	dev    *device.Device
	keys   *client.CrossSigningKeys
	master string
	api    *keybackup.API
	ss     *secrets.Store
}

const password = "correct horse battery staple"

// firstDevice registers name and bootstraps cross-signing.
func firstDevice(tb testing.TB, url, name string) *dev {
	tb.Helper()
	ctx := context.Background()
	c, err := client.New(url)
	if err != nil {
		tb.Fatal(err)
	}
	lr, err := c.Register(ctx, client.RegisterRequest{Username: name, Password: password}, client.DummyAuthFunc)
	if err != nil {
		tb.Fatalf("register: %v", err)
	}
	d := newDev(tb, c, lr.UserID, lr.DeviceID)
	res, err := client.Bootstrap(ctx, c, d.dev, client.BootstrapOptions{Rand: rand.Reader, Save: &memSaver{}})
	if err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	d.keys, d.master = res.Keys, res.Master
	return d
}

// secondDevice logs in userID again: a new device that knows nothing.
func secondDevice(tb testing.TB, url, userID string) *dev {
	tb.Helper()
	ctx := context.Background()
	c, err := client.New(url)
	if err != nil {
		tb.Fatal(err)
	}
	lr, err := c.Login(ctx, userID, password, "", "second")
	if err != nil {
		tb.Fatalf("login: %v", err)
	}
	d := newDev(tb, c, lr.UserID, lr.DeviceID)
	if _, err := client.UploadDeviceKeys(ctx, c, d.dev, rand.Reader, &memSaver{}, true, nil, nil, false); err != nil {
		tb.Fatal(err)
	}
	return d
}

func newDev(tb testing.TB, c *client.Client, userID, deviceID string) *dev {
	tb.Helper()
	dv, err := device.New(userID, deviceID, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := keybackup.NewAPI(c)
	if err != nil {
		tb.Fatal(err)
	}
	ss, err := secrets.New(c, userID)
	if err != nil {
		tb.Fatal(err)
	}
	return &dev{c: c, dev: dv, api: a, ss: ss}
}

func (d *dev) userID() string { return d.dev.UserID() }

// randB64 is n random bytes in unpadded base64.
func randB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// sessions makes n fake Megolm sessions, as an Olm room key would give
// them (authenticated provenance), in rooms of 100 sessions.
func sessions(n int, prov backup.Provenance) []keybackup.Session {
	out := make([]keybackup.Session, n)
	for i := range out {
		pt := fmt.Sprintf(`{"algorithm":"m.megolm.v1.aes-sha2","forwarding_curve25519_key_chain":[],"sender_claimed_keys":{"ed25519":%q},"sender_key":%q,"session_key":%q}`,
			randB64(32), randB64(32), randB64(229))
		out[i] = keybackup.Session{
			RoomID:     fmt.Sprintf("!room%03d:localhost", i/100),
			SessionID:  fmt.Sprintf("session%06d", i),
			Meta:       backup.KeyBackupDataMeta{FirstMessageIndex: int64(i % 7)},
			Plaintext:  []byte(pt),
			Provenance: prov,
		}
	}
	return out
}
