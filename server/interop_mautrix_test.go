//go:build goolm

// The interoperability test drives the server with mautrix-go's OlmMachine
// (pure-Go olm, hence the build tag): go test -tags goolm -run Interop ./server

package server_test

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// noRooms is the room state store of a client that shares no rooms.
type noRooms struct{}

func (noRooms) IsEncrypted(context.Context, id.RoomID) (bool, error) { return false, nil }
func (noRooms) GetEncryptionEvent(context.Context, id.RoomID) (*event.EncryptionEventContent, error) {
	return nil, nil
}
func (noRooms) FindSharedRooms(context.Context, id.UserID) ([]id.RoomID, error) { return nil, nil }

type mautrixParty struct {
	cli  *mautrix.Client
	mach *crypto.OlmMachine
}

// newMautrixParty registers a user with mautrix's client, uploads its
// device keys and one-time keys, bootstraps cross-signing (keys in secret
// storage, published with user-interactive auth) and signs its own device
// and master key.
func newMautrixParty(t *testing.T, ctx context.Context, url, name string) *mautrixParty {
	t.Helper()
	cli, err := mautrix.NewClient(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	password := "pw-" + name
	resp, err := cli.RegisterDummy(ctx, &mautrix.ReqRegister{Username: name, Password: password})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	cli.UserID, cli.AccessToken, cli.DeviceID = resp.UserID, resp.AccessToken, resp.DeviceID
	mach := crypto.NewOlmMachine(cli, nil, crypto.NewMemoryStore(nil), noRooms{})
	if err := mach.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mach.ShareKeys(ctx, -1); err != nil {
		t.Fatalf("%s: share keys: %v", name, err)
	}
	if _, _, err := mach.GenerateAndUploadCrossSigningKeysWithPassword(ctx, password, ""); err != nil {
		t.Fatalf("%s: bootstrap cross-signing: %v", name, err)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		t.Fatalf("%s: sign own device: %v", name, err)
	}
	if err := mach.SignOwnMasterKey(ctx); err != nil {
		t.Fatalf("%s: sign own master key: %v", name, err)
	}
	return &mautrixParty{cli: cli, mach: mach}
}

// TestInteropMautrix: alice and bob use mautrix-go; alice signs bob's master
// key with her user-signing key and then sees bob, and bob's device, as
// verified through this server. Carol, also on mautrix, does not get
// alice's signature.
func TestInteropMautrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := newMautrixParty(t, ctx, e.srv.URL, "alice")
	bob := newMautrixParty(t, ctx, e.srv.URL, "bob")
	carol := newMautrixParty(t, ctx, e.srv.URL, "carol")
	bobID := bob.cli.UserID

	if _, err := alice.mach.FetchKeys(ctx, []id.UserID{bobID}, true); err != nil {
		t.Fatal(err)
	}
	if trusted, _ := alice.mach.IsUserTrusted(ctx, bobID); trusted {
		t.Fatal("bob trusted before alice signed him")
	}
	bobKeys, err := alice.mach.GetCrossSigningPublicKeys(ctx, bobID)
	if err != nil || bobKeys == nil {
		t.Fatalf("bob's cross-signing keys: %v", err)
	}
	if err := alice.mach.SignUser(ctx, bobID, bobKeys.MasterKey); err != nil {
		t.Fatalf("sign bob: %v", err)
	}
	// Alice's sync (mautrix's parser) tells her that bob's keys changed.
	res, err := alice.cli.FullSyncRequest(ctx, mautrix.ReqSync{Timeout: 0})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if res.NextBatch == "" {
		t.Fatal("sync without next_batch")
	}
	if _, err := alice.mach.FetchKeys(ctx, []id.UserID{bobID}, true); err != nil {
		t.Fatal(err)
	}
	trusted, err := alice.mach.IsUserTrusted(ctx, bobID)
	if err != nil || !trusted {
		t.Fatalf("alice does not see bob as verified (%v)", err)
	}
	dev, err := alice.mach.GetOrFetchDevice(ctx, bobID, bob.cli.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	// mautrix v0.26.0 calls a device of a user we signed, whose master key
	// is the first one it saw, "cross-signed-tofu" (ResolveTrustContext); it
	// needs the device's self-signing signature and the master's signature
	// on the self-signing key, both from this server.
	if state, err := alice.mach.ResolveTrustContext(ctx, dev); err != nil || state != id.TrustStateCrossSignedTOFU {
		t.Fatalf("bob's device trust %v (%v), want cross-signed (tofu)", state, err)
	}
	if !alice.mach.IsDeviceTrusted(ctx, dev) {
		t.Fatal("bob's device not trusted")
	}

	// Carol must not see alice's user-signing signature on bob's master key.
	if _, err := carol.mach.FetchKeys(ctx, []id.UserID{bobID, alice.cli.UserID}, true); err != nil {
		t.Fatal(err)
	}
	aliceKeys, err := carol.mach.GetCrossSigningPublicKeys(ctx, alice.cli.UserID)
	if err != nil || aliceKeys == nil {
		t.Fatalf("alice's keys for carol: %v", err)
	}
	if aliceKeys.UserSigningKey != "" {
		t.Fatal("carol received alice's user-signing key")
	}
	signed, err := carol.mach.CryptoStore.IsKeySignedBy(ctx, bobID, bobKeys.MasterKey, alice.cli.UserID, alice.mach.GetOwnCrossSigningPublicKeys(ctx).UserSigningKey)
	if err != nil || signed {
		t.Fatalf("carol sees alice's signature of bob (%v, %v)", signed, err)
	}
}
