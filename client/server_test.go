package client_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vouch/client"
	"vouch/client/device"
	"vouch/internal/testserver"
	"vouch/trust"
)

// These tests run the client and its flows over real HTTP against the real
// key server (package server on an SQLite store in a temp dir).

// memSaver keeps secrets in memory for tests.
type memSaver struct {
	mu  sync.Mutex
	otk int
	cs  *client.CrossSigningKeys
}

func (m *memSaver) SaveOneTimeKeys(_ context.Context, _ device.Secrets, ks []device.OneTimeKey) error {
	m.mu.Lock()
	m.otk += len(ks)
	m.mu.Unlock()
	return nil
}

func (m *memSaver) SaveCrossSigningKeys(_ context.Context, k *client.CrossSigningKeys) error {
	m.mu.Lock()
	m.cs = k
	m.mu.Unlock()
	return nil
}

// person is one logged-in device of a test user.
type person struct {
	c      *client.Client
	dev    *device.Device
	save   *memSaver
	keys   *client.CrossSigningKeys
	master string
	pins   map[string]trust.Pin
}

func register(t testing.TB, url, name, password string) *person {
	t.Helper()
	ctx := context.Background()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := c.Register(ctx, client.RegisterRequest{Username: name, Password: password}, client.DummyAuthFunc)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	dev, err := device.New(lr.UserID, lr.DeviceID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &person{c: c, dev: dev, save: &memSaver{}, pins: map[string]trust.Pin{}}
}

func (p *person) bootstrap(t testing.TB) {
	t.Helper()
	res, err := client.Bootstrap(context.Background(), p.c, p.dev, client.BootstrapOptions{Rand: rand.Reader, Save: p.save})
	if err != nil {
		t.Fatalf("bootstrap %s: %v", p.dev.UserID(), err)
	}
	if p.save.cs != res.Keys {
		t.Fatal("cross-signing keys not saved before use")
	}
	p.keys, p.master = res.Keys, res.Master
}

func (p *person) in() client.TrustInputs {
	return client.TrustInputs{UserID: p.dev.UserID(), OwnMaster: p.master, Pins: p.pins}
}

func (p *person) view(t *testing.T, user string) *client.UserReport {
	t.Helper()
	tv, err := client.BuildTrustView(context.Background(), p.c, p.in(), user)
	if err != nil {
		t.Fatal(err)
	}
	r := tv.Users[user]
	p.pins[user] = r.Pin
	return r
}

func deviceTrusted(r *client.UserReport, id string) bool {
	for _, d := range r.Devices {
		if d.DeviceID == id {
			return d.Trusted
		}
	}
	return false
}

func TestJourneyAgainstServer(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	alice := register(t, url, "alice", "alice-pw")
	bob := register(t, url, "bob", "bob-pw")
	alice.bootstrap(t)
	bob.bootstrap(t)

	// A second bootstrap is refused: the identity exists.
	if _, err := client.Bootstrap(ctx, alice.c, alice.dev, client.BootstrapOptions{Rand: rand.Reader, Save: &memSaver{}}); !errors.Is(err, client.ErrIdentityExists) {
		t.Fatalf("second bootstrap: %v", err)
	}
	// Alice's own device is trusted through her self-signing key.
	if r := alice.view(t, "@alice:localhost"); !r.Verified || !deviceTrusted(r, alice.dev.DeviceID()) {
		t.Fatalf("own view %+v", r)
	}

	// Alice looks at bob (first sight pins his key), then verifies him.
	r := alice.view(t, "@bob:localhost")
	if r.Verified || r.Change.Kind != trust.FirstSeen || r.Master != bob.master {
		t.Fatalf("bob before verification: %+v", r)
	}
	wrong := client.FormatFingerprint(alice.master)
	if _, err := client.VerifyUser(ctx, alice.c, alice.in(), alice.keys, "@bob:localhost", wrong); !errors.Is(err, client.ErrFingerprintMismatch) {
		t.Fatalf("wrong fingerprint: %v", err)
	}
	res, err := client.VerifyUser(ctx, alice.c, alice.in(), alice.keys, "@bob:localhost", client.FormatFingerprint(bob.master))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Trusted || len(res.Decision.Path) != 3 {
		t.Fatalf("verify decision %+v", res.Decision)
	}
	r = alice.view(t, "@bob:localhost")
	if !r.Verified || !deviceTrusted(r, bob.dev.DeviceID()) || !r.Pin.WasVerified {
		t.Fatalf("bob after verification: %+v", r)
	}
	// Bob cannot see alice's user-signing signature (seed 002 privacy).
	q, err := bob.c.QueryKeys(ctx, "@bob:localhost")
	if err != nil {
		t.Fatal(err)
	}
	if sigs := string(q.MasterKeys["@bob:localhost"]); strings.Contains(sigs, "@alice:localhost") {
		t.Fatalf("bob sees alice's private signature: %s", sigs)
	}

	// Bob logs in a second device; alice does not trust it until bob signs it.
	bob2c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob2c.Login(ctx, "@bob:localhost", "wrong", "", ""); !client.IsCode(err, client.CodeForbidden) {
		t.Fatalf("wrong password login: %v", err)
	}
	lr, err := bob2c.Login(ctx, "@bob:localhost", "bob-pw", "", "second")
	if err != nil {
		t.Fatal(err)
	}
	bob2, err := device.New(lr.UserID, lr.DeviceID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := client.UploadDeviceKeys(ctx, bob2c, bob2, rand.Reader, &memSaver{}, true, nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if counts[device.AlgSignedCurve25519] != device.MaxOneTimeKeys {
		t.Errorf("one-time key counts %v", counts)
	}
	if r := alice.view(t, "@bob:localhost"); deviceTrusted(r, lr.DeviceID) || !r.Verified {
		t.Fatalf("unsigned second device trusted: %+v", r)
	}
	if _, err := client.VerifyOwnDevice(ctx, bob.c, bob.in(), bob.keys, "NOPE"); !errors.Is(err, client.ErrUnknownDevice) {
		t.Fatalf("unknown device: %v", err)
	}
	vr, err := client.VerifyOwnDevice(ctx, bob.c, bob.in(), bob.keys, lr.DeviceID)
	if err != nil || !vr.Decision.Trusted {
		t.Fatalf("sign second device: %+v %v", vr, err)
	}
	if r := alice.view(t, "@bob:localhost"); !deviceTrusted(r, lr.DeviceID) {
		t.Fatalf("signed second device not trusted: %+v", r)
	}

	// Alice claims one of the second device's one-time keys and checks it.
	claim, err := alice.c.ClaimKeys(ctx, map[string]map[string]string{"@bob:localhost": {lr.DeviceID: device.AlgSignedCurve25519}})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range claim.OneTimeKeys["@bob:localhost"][lr.DeviceID] {
		if err := device.VerifyOneTimeKey(obj, "@bob:localhost", lr.DeviceID, bob2.Ed25519()); err != nil {
			t.Errorf("claimed key: %v", err)
		}
	}
	if len(claim.OneTimeKeys["@bob:localhost"][lr.DeviceID]) != 1 {
		t.Errorf("claimed %v", claim.OneTimeKeys)
	}
	// The second device sees the lower count on /sync and tops up.
	bs, err := bob2c.Sync(ctx, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := bs.DeviceOneTimeKeysCount[device.AlgSignedCurve25519]; n != device.MaxOneTimeKeys-1 {
		t.Fatalf("count after a claim: %d", n)
	}
	saved := &memSaver{}
	counts, err = client.UploadDeviceKeys(ctx, bob2c, bob2, rand.Reader, saved, false, bs.DeviceOneTimeKeysCount, bs.DeviceUnusedFallbackKeyTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if counts[device.AlgSignedCurve25519] != device.MaxOneTimeKeys || saved.otk != 1 {
		t.Fatalf("top-up: counts %v, %d keys generated", counts, saved.otk)
	}

	// Alice long-polls /sync; bob resets his identity; alice wakes up with
	// bob in device_lists.changed.
	first, err := alice.c.Sync(ctx, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan *client.SyncResponse, 1)
	wokeCopy := make(chan *client.SyncResponse, 1)
	go func() {
		resp, err := alice.c.Sync(ctx, client.SyncOptions{Since: first.NextBatch, TimeoutMs: 10000})
		if err != nil {
			t.Error(err)
		}
		woke <- resp
	}()
	time.Sleep(100 * time.Millisecond)
	// Replacing the identity needs the password (MSC3967).
	if _, err := client.ResetIdentity(ctx, bob.c, bob.dev, client.BootstrapOptions{Rand: rand.Reader, Save: &memSaver{}}); !errors.Is(err, client.ErrAuthRequired) {
		t.Fatalf("reset without auth: %v", err)
	}
	bad := client.PasswordAuthFunc("@bob:localhost", func(context.Context) (string, error) { return "nope", nil })
	if _, err := client.ResetIdentity(ctx, bob.c, bob.dev, client.BootstrapOptions{Rand: rand.Reader, Save: &memSaver{}, Auth: bad}); !client.IsCode(err, client.CodeForbidden) {
		t.Fatalf("reset with a wrong password: %v", err)
	}
	good := client.PasswordAuthFunc("@bob:localhost", func(context.Context) (string, error) { return "bob-pw", nil })
	var steps []int
	reset, err := client.ResetIdentity(ctx, bob.c, bob.dev, client.BootstrapOptions{Rand: rand.Reader, Save: bob.save, Auth: good,
		Progress: func(n, total int, _ string) { steps = append(steps, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []int{1, 2, 3, 4, 5}) {
		t.Errorf("progress steps %v", steps)
	}
	select {
	case resp := <-woke:
		if resp == nil || !slices.Contains(resp.DeviceLists.Changed, "@bob:localhost") {
			t.Fatalf("alice's sync: %+v", resp)
		}
		wokeCopy <- resp
	case <-time.After(8 * time.Second):
		t.Fatal("alice's /sync did not wake up after bob's reset")
	}
	// The sync response drives a refresh of alice's view.
	tv := &client.TrustView{}
	var woken *client.SyncResponse
	select {
	case woken = <-wokeCopy:
	default:
	}
	refreshed, err := client.RefreshTrustView(ctx, alice.c, alice.in(), tv, woken)
	if err != nil || len(refreshed) != 1 || refreshed[0].UserID != "@bob:localhost" || !refreshed[0].NeedsApproval {
		t.Fatalf("refresh after sync: %+v %v", refreshed, err)
	}
	r = alice.view(t, "@bob:localhost")
	if r.Verified || !r.NeedsApproval || r.Change.Kind != trust.IdentityChanged || !r.Change.WasVerified || r.Master != reset.Master {
		t.Fatalf("after reset: %+v", r)
	}
	// Re-verifying the new key ends the warning.
	if _, err := client.VerifyUser(ctx, alice.c, alice.in(), alice.keys, "@bob:localhost", reset.Master); err != nil {
		t.Fatal(err)
	}
	if r := alice.view(t, "@bob:localhost"); !r.Verified || r.NeedsApproval {
		t.Fatalf("after re-verification: %+v", r)
	}
}

func TestAccountEndpointsAgainstServer(t *testing.T) {
	ctx := context.Background()
	url := testserver.URL(t)
	alice := register(t, url, "alice", "pw")
	v, err := alice.c.Versions(ctx)
	if err != nil || len(v.Versions) == 0 || !v.UnstableFeatures["org.matrix.e2e_cross_signing"] {
		t.Fatalf("versions %+v %v", v, err)
	}
	flows, err := alice.c.LoginFlows(ctx)
	if err != nil || !slices.Contains(flows, client.LoginPassword) {
		t.Fatalf("login flows %v %v", flows, err)
	}
	for name, want := range map[string]bool{"alice": false, "zed": true} {
		if ok, err := alice.c.RegisterAvailable(ctx, name); err != nil || ok != want {
			t.Errorf("register/available %s: %v %v", name, ok, err)
		}
	}
	who, err := alice.c.WhoAmI(ctx)
	if err != nil || who.UserID != "@alice:localhost" || who.DeviceID != alice.dev.DeviceID() {
		t.Fatalf("whoami %+v %v", who, err)
	}
	if _, err := client.New(url); err != nil {
		t.Fatal(err)
	}
	c2, _ := client.New(url)
	if _, err := c2.Register(ctx, client.RegisterRequest{Username: "alice", Password: "x"}, client.DummyAuthFunc); !client.IsCode(err, client.CodeUserInUse) {
		t.Fatalf("duplicate registration: %v", err)
	}
	lr, err := c2.Login(ctx, "@alice:localhost", "pw", "", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.c.RenameDevice(ctx, lr.DeviceID, "renamed"); err != nil {
		t.Fatal(err)
	}
	d, err := alice.c.Device(ctx, lr.DeviceID)
	if err != nil || d.DisplayName != "renamed" {
		t.Fatalf("device %+v %v", d, err)
	}
	devs, err := alice.c.Devices(ctx)
	if err != nil || len(devs) != 2 {
		t.Fatalf("devices %+v %v", devs, err)
	}
	if err := alice.c.RenameDevice(ctx, "NOPE", "x"); !client.IsCode(err, client.CodeNotFound) {
		t.Fatalf("rename unknown: %v", err)
	}
	// Account data round trip.
	if err := alice.c.PutAccountData(ctx, "@alice:localhost", "m.test", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := alice.c.GetAccountData(ctx, "@alice:localhost", "m.test", &got); err != nil || got["a"] != "b" {
		t.Fatalf("account data %v %v", got, err)
	}
	if err := alice.c.PutAccountData(ctx, "@bob:localhost", "m.test", map[string]string{}); err == nil {
		t.Fatal("wrote another user's account data")
	}
	// To-device: the laptop gets a message on its next sync.
	s0, err := c2.Sync(ctx, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := client.SendToDeviceRequest{Messages: map[string]map[string]json.RawMessage{"@alice:localhost": {lr.DeviceID: json.RawMessage(`{"hello":1}`)}}}
	if err := alice.c.SendToDevice(ctx, "m.test", "txn1", msg); err != nil {
		t.Fatal(err)
	}
	s1, err := c2.Sync(ctx, client.SyncOptions{Since: s0.NextBatch, TimeoutMs: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.ToDevice.Events) != 1 || s1.ToDevice.Events[0].Type != "m.test" {
		t.Fatalf("to-device %+v", s1.ToDevice)
	}
	// Deleting a device needs the password.
	if err := alice.c.DeleteDevice(ctx, lr.DeviceID, nil); !errors.Is(err, client.ErrAuthRequired) {
		t.Fatalf("delete without auth: %v", err)
	}
	auth := client.PasswordAuthFunc("@alice:localhost", func(context.Context) (string, error) { return "pw", nil })
	if err := alice.c.DeleteDevice(ctx, lr.DeviceID, auth); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.WhoAmI(ctx); !client.IsCode(err, client.CodeUnknownToken) {
		t.Fatalf("deleted device's token: %v", err)
	}
	if _, err := alice.c.KeyChanges(ctx, s0.NextBatch, s1.NextBatch); err != nil {
		t.Fatalf("keys/changes: %v", err)
	}
	// Two more devices, deleted at once; then every token is revoked.
	var extra []string
	for range 2 {
		c3, _ := client.New(url)
		lr3, err := c3.Login(ctx, "@alice:localhost", "pw", "", "")
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, lr3.DeviceID)
	}
	if err := alice.c.DeleteDevices(ctx, extra, auth); err != nil {
		t.Fatal(err)
	}
	if devs, _ := alice.c.Devices(ctx); len(devs) != 1 {
		t.Fatalf("devices after bulk delete: %+v", devs)
	}
	c4, _ := client.New(url)
	if _, err := c4.Login(ctx, "@alice:localhost", "pw", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := c4.LogoutAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.Logout(ctx); !client.IsCode(err, client.CodeUnknownToken) {
		t.Fatalf("logout after logout/all: %v", err)
	}
	alice.c.SetAccessToken("")
	if _, err := alice.c.WhoAmI(ctx); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Fatalf("after logout: %v", err)
	}
}

// TestBootstrapAfterLoginKeepsKeyCount: a device that already published
// its keys (vouch login) is not given a second batch of one-time keys.
func TestBootstrapAfterLoginKeepsKeyCount(t *testing.T) {
	ctx := context.Background()
	carol := register(t, testserver.URL(t), "carol", "pw")
	if _, err := client.UploadDeviceKeys(ctx, carol.c, carol.dev, rand.Reader, carol.save, true, nil, nil, true); err != nil {
		t.Fatal(err)
	}
	res, err := client.Bootstrap(ctx, carol.c, carol.dev, client.BootstrapOptions{Rand: rand.Reader, Save: carol.save})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.OneTimeKeyCounts[device.AlgSignedCurve25519]; n != device.MaxOneTimeKeys {
		t.Fatalf("%d one-time keys on the server, want %d", n, device.MaxOneTimeKeys)
	}
	if carol.save.otk != device.MaxOneTimeKeys+1 {
		t.Fatalf("%d keys generated, want %d one-time + 1 fallback", carol.save.otk, device.MaxOneTimeKeys)
	}
}

// benchView builds alice's view of ten users she verified, each with two
// devices, on a real server; baseline is the bare /keys/query.
func benchView(b *testing.B, evaluate bool) {
	ctx := context.Background()
	url := testserver.URL(b)
	alice := register(b, url, "alice", "pw")
	alice.bootstrap(b)
	var users []string
	for i := range 10 {
		u := register(b, url, fmt.Sprintf("user%d", i), "pw")
		u.bootstrap(b)
		c2, _ := client.New(url)
		lr, err := c2.Login(ctx, u.dev.UserID(), "pw", "", "")
		if err != nil {
			b.Fatal(err)
		}
		d2, _ := device.New(lr.UserID, lr.DeviceID, rand.Reader)
		if _, err := client.UploadDeviceKeys(ctx, c2, d2, rand.Reader, &memSaver{}, true, map[string]int{device.AlgSignedCurve25519: 50}, nil, false); err != nil {
			b.Fatal(err)
		}
		if _, err := client.VerifyOwnDevice(ctx, u.c, u.in(), u.keys, lr.DeviceID); err != nil {
			b.Fatal(err)
		}
		if _, err := client.VerifyUser(ctx, alice.c, alice.in(), alice.keys, u.dev.UserID(), u.master); err != nil {
			b.Fatal(err)
		}
		users = append(users, u.dev.UserID())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !evaluate {
			if _, err := alice.c.QueryKeys(ctx, append([]string{alice.dev.UserID()}, users...)...); err != nil {
				b.Fatal(err)
			}
			continue
		}
		tv, err := client.BuildTrustView(ctx, alice.c, alice.in(), users...)
		if err != nil {
			b.Fatal(err)
		}
		if r := tv.Users[users[9]]; !r.Verified || len(r.Devices) != 2 || !r.Devices[1].Trusted {
			b.Fatalf("view %+v", r)
		}
	}
}

// BenchmarkBuildTrustView: /keys/query of 11 users plus every decision.
func BenchmarkBuildTrustView(b *testing.B) { benchView(b, true) }

// BenchmarkQueryKeysBaseline: the same /keys/query alone.
func BenchmarkQueryKeysBaseline(b *testing.B) { benchView(b, false) }
