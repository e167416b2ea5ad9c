// Package storetest is the conformance suite of the store interfaces. Every
// backend's tests call [Run] with a constructor of fresh, empty stores, so all
// backends are held to the same behaviour. It is test support, not a fake
// store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"vouch/store"
)

// Run runs the whole suite; newStore must return an empty store that the
// test may use until it ends (the constructor registers its own cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Accounts", testAccounts},
		{"DevicesAndTokens", testDevices},
		{"UploadKeys", testUploadKeys},
		{"UnclaimedOneTimeKeyLimit", testUnclaimedLimit},
		{"UploadKeysAtomic", testUploadKeysAtomic},
		{"ClaimKeys", testClaimKeys},
		{"CrossSigning", testCrossSigning},
		{"CrossSigningReplaceDropsSignatures", testCrossSigningReplace},
		{"Signatures", testSignatures},
		{"SignaturesBatch", testSignaturesBatch},
		{"MSC2882PublicSignatures", testMSC2882},
		{"DeleteDevicesCascades", testDeleteDevices},
		{"DeviceListChanges", testDeviceLists},
		{"ToDevice", testToDevice},
		{"AccountData", testAccountData},
		{"UIASessions", testUIA},
		{"Expiry", testExpiry},
		{"RegistrationNonces", testRegistrationNonces},
		{"RegistrationNoncesConcurrentUse", testRegistrationNoncesConcurrent},
		{"RegistrationNoncesBacklog", testRegistrationNoncesBacklog},
		{"ConcurrentWrites", testConcurrent},
		{"ConcurrentFailuresIsolated", testConcurrentFailures},
		{"BackupVersions", testBackupVersions},
		{"BackupSessions", testBackupSessions},
		{"BackupLargeUpload", testBackupLarge},
		{"BackupAtomic", testBackupAtomic},
		{"BackupConcurrent", testBackupConcurrent},
		{"BackupConcurrentCreate", testBackupConcurrentCreate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// user creates an account with devices (each with a token "tok-<user>-<dev>").
func user(t *testing.T, s store.Store, id string, devices ...string) {
	t.Helper()
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{UserID: id, PasswordHash: "h", CreatedMs: 1}))
	for _, d := range devices {
		_, err := s.LoginDevice(ctx, store.Device{UserID: id, DeviceID: d, DisplayName: "dev " + d}, []byte("tok-"+id+"-"+d))
		must(t, err)
	}
}

func devKeys(user, dev string) *store.DeviceKeysRecord {
	return &store.DeviceKeysRecord{UserID: user, DeviceID: dev, KeyJSON: []byte(fmt.Sprintf(`{"device_id":%q,"user_id":%q}`, dev, user))}
}

func selfSig(user, dev string) *store.Signature {
	return &store.Signature{TargetUser: user, TargetKey: dev, TargetKind: store.KindDevice, SignerUser: user, SignerKeyID: "ed25519:" + dev, SignerKind: store.KindDevice, Signature: "sig-" + dev}
}

func uploadDevice(t *testing.T, s store.Store, user, dev string) {
	t.Helper()
	_, err := s.UploadKeys(context.Background(), store.KeysUpload{UserID: user, DeviceID: dev, DeviceKeys: devKeys(user, dev), SelfSignature: selfSig(user, dev)})
	must(t, err)
}

func csKey(user, usage, pub string) store.CrossSigningKeyRecord {
	return store.CrossSigningKeyRecord{UserID: user, Usage: usage, PublicKey: pub, KeyJSON: []byte(fmt.Sprintf(`{"keys":{"ed25519:%s":%q},"usage":[%q],"user_id":%q}`, pub, pub, usage, user))}
}

// crossSign gives user a master, self-signing and user-signing key named
// <prefix>M, <prefix>S, <prefix>U, with the master's signatures.
func crossSign(t *testing.T, s store.Store, user, expect, prefix string) {
	t.Helper()
	m, sk, uk := prefix+"M", prefix+"S", prefix+"U"
	_, err := s.PutCrossSigningKeys(context.Background(), store.CrossSigningUpdate{
		UserID: user, ExpectMaster: expect,
		Keys: []store.CrossSigningKeyRecord{csKey(user, store.UsageMaster, m), csKey(user, store.UsageSelfSigning, sk), csKey(user, store.UsageUserSigning, uk)},
		Signatures: []store.Signature{
			{TargetUser: user, TargetKey: sk, TargetKind: store.KindSelfSigning, SignerUser: user, SignerKeyID: "ed25519:" + m, SignerKind: store.KindMaster, Signature: "m-over-s"},
			{TargetUser: user, TargetKey: uk, TargetKind: store.KindUserSigning, SignerUser: user, SignerKeyID: "ed25519:" + m, SignerKind: store.KindMaster, Signature: "m-over-u"},
		},
	})
	must(t, err)
}

func sigSet(sigs []store.Signature) []string {
	out := []string{}
	for _, s := range sigs {
		out = append(out, fmt.Sprintf("%s/%s<-%s/%s", s.TargetUser, s.TargetKey, s.SignerUser, s.SignerKeyID))
	}
	sort.Strings(out)
	return out
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "ph", Admin: true, CreatedMs: 5}))
	wantErr(t, s.CreateAccount(ctx, store.Account{UserID: "@a:x", PasswordHash: "other"}), store.ErrUserExists)
	a, err := s.GetAccount(ctx, "@a:x")
	must(t, err)
	eq(t, "account", a, store.Account{UserID: "@a:x", PasswordHash: "ph", Admin: true, CreatedMs: 5})
	_, err = s.GetAccount(ctx, "@nobody:x")
	wantErr(t, err, store.ErrNotFound)
}

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	created, err := s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D1", DisplayName: "one"}, []byte("t1"))
	must(t, err)
	eq(t, "created", created, true)
	u, d, err := s.LookupToken(ctx, []byte("t1"))
	must(t, err)
	eq(t, "owner", u+"|"+d, "@a:x|D1")
	// Logging in again to the same device revokes the old token.
	created, err = s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D1", DisplayName: "ignored"}, []byte("t2"))
	must(t, err)
	eq(t, "created again", created, false)
	_, _, err = s.LookupToken(ctx, []byte("t1"))
	wantErr(t, err, store.ErrNotFound)
	dev, err := s.GetDevice(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "name kept", dev.DisplayName, "one")
	must(t, s.RenameDevice(ctx, "@a:x", "D1", "renamed"))
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", DeviceKeys: devKeys("@a:x", "D1")})
	must(t, err)
	dk, err := s.GetDeviceKeys(ctx, []string{"@a:x"})
	must(t, err)
	eq(t, "renamed in device keys", dk["@a:x"][0].DisplayName, "renamed")
	must(t, s.RenameDevice(ctx, "@a:x", "D1", "renamed2"))
	dk, _ = s.GetDeviceKeys(ctx, []string{"@a:x"})
	eq(t, "renamed again in device keys", dk["@a:x"][0].DisplayName, "renamed2")
	must(t, s.RenameDevice(ctx, "@a:x", "D1", "renamed"))
	wantErr(t, s.RenameDevice(ctx, "@a:x", "NOPE", "x"), store.ErrNotFound)
	_, err = s.GetDevice(ctx, "@a:x", "NOPE")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "D0"}, []byte("t0"))
	must(t, err)
	list, err := s.ListDevices(ctx, "@a:x")
	must(t, err)
	eq(t, "devices", []string{list[0].DeviceID + "=" + list[0].DisplayName, list[1].DeviceID + "=" + list[1].DisplayName}, []string{"D0=", "D1=renamed"})
	// A device may not take the ID of a cross-signing public key.
	crossSign(t, s, "@a:x", "", "PK")
	_, err = s.LoginDevice(ctx, store.Device{UserID: "@a:x", DeviceID: "PKS"}, []byte("t3"))
	wantErr(t, err, store.ErrDeviceIDCollision)
	_, _, err = s.LookupToken(ctx, []byte("t3"))
	wantErr(t, err, store.ErrNotFound)
	// Nor the other way round.
	_, err = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "PKM", Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsageSelfSigning, "D0")}})
	wantErr(t, err, store.ErrDeviceIDCollision)
}

func testUploadKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	counts, err := s.UploadKeys(ctx, store.KeysUpload{
		UserID: "@a:x", DeviceID: "D1", DeviceKeys: devKeys("@a:x", "D1"), SelfSignature: selfSig("@a:x", "D1"),
		OneTimeKeys: []store.OneTimeKey{
			{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a"}`)},
			{KeyID: "signed_curve25519:B", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"b"}`)},
			{KeyID: "curve25519:C", Algorithm: "curve25519", JSON: []byte(`"c"`)},
		},
		FallbackKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:F", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"f","fallback":true}`)}},
	})
	must(t, err)
	eq(t, "counts", counts, map[string]int{"signed_curve25519": 2, "curve25519": 1})
	// Identical re-upload is accepted and changes nothing.
	counts, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", DeviceKeys: devKeys("@a:x", "D1"),
		OneTimeKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"a"}`)}}})
	must(t, err)
	eq(t, "counts", counts["signed_curve25519"], 2)
	// Changed identity keys are refused.
	changed := devKeys("@a:x", "D1")
	changed.KeyJSON = []byte(`{"other":1}`)
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", DeviceKeys: changed})
	wantErr(t, err, store.ErrKeysChanged)
	// A one-time key ID reused with other content is refused.
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1",
		OneTimeKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{"key":"zz"}`)}}})
	wantErr(t, err, store.ErrOneTimeKeyExists)

	got, err := s.GetDeviceKeys(ctx, []string{"@a:x", "@none:x"})
	must(t, err)
	eq(t, "device keys", len(got["@a:x"]), 1)
	eq(t, "key json", string(got["@a:x"][0].KeyJSON), string(devKeys("@a:x", "D1").KeyJSON))
	eq(t, "display name", got["@a:x"][0].DisplayName, "dev D1")
	fb, err := s.UnusedFallbackKeyTypes(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "fallback", fb, []string{"signed_curve25519"})
	sigs, err := s.GetSignatures(ctx, []string{"@a:x"})
	must(t, err)
	eq(t, "self-signature", sigSet(sigs), []string{"@a:x/D1<-@a:x/ed25519:D1"})
}

// testUnclaimedLimit checks KeysUpload.MaxUnclaimed: new keys beyond it
// are refused and nothing of that upload is stored; re-uploads of stored
// keys are not new; a claim makes room again.
func testUnclaimedLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	key := func(alg, id string) store.OneTimeKey {
		return store.OneTimeKey{KeyID: alg + ":" + id, Algorithm: alg, JSON: []byte(`{"k":"` + id + `"}`)}
	}
	up := func(limit int, keys ...store.OneTimeKey) (map[string]int, error) {
		return s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", OneTimeKeys: keys, MaxUnclaimed: limit})
	}
	counts, err := up(4, key("signed_curve25519", "A"), key("signed_curve25519", "B"), key("curve25519", "C"))
	must(t, err)
	eq(t, "counts", counts, map[string]int{"signed_curve25519": 2, "curve25519": 1})
	_, err = up(4, key("signed_curve25519", "D"), key("signed_curve25519", "E"))
	wantErr(t, err, store.ErrTooManyOneTimeKeys)
	counts, err = s.OneTimeKeyCounts(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "counts after the refused upload", counts, map[string]int{"signed_curve25519": 2, "curve25519": 1})
	// Stored keys uploaded again are not new: accepted at the limit.
	_, err = up(3, key("signed_curve25519", "A"), key("curve25519", "C"))
	must(t, err)
	// One new key fits exactly.
	counts, err = up(4, key("curve25519", "F"))
	must(t, err)
	eq(t, "counts at the limit", counts, map[string]int{"signed_curve25519": 2, "curve25519": 2})
	_, err = up(4, key("curve25519", "G"))
	wantErr(t, err, store.ErrTooManyOneTimeKeys)
	_, err = s.ClaimKeys(ctx, map[string]map[string]string{"@a:x": {"D1": "curve25519"}})
	must(t, err)
	counts, err = up(4, key("curve25519", "G"))
	must(t, err)
	eq(t, "counts after a claim made room", counts, map[string]int{"signed_curve25519": 2, "curve25519": 2})
	// No limit without MaxUnclaimed.
	_, err = up(0, key("curve25519", "H"), key("curve25519", "I"))
	must(t, err)
}

func testUploadKeysAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	uploadDevice(t, s, "@a:x", "D1")
	pos0, err := s.CurrentPosition(ctx)
	must(t, err)
	changed := devKeys("@a:x", "D1")
	changed.KeyJSON = []byte(`{"other":1}`)
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", DeviceKeys: changed,
		OneTimeKeys:  []store.OneTimeKey{{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{}`)}},
		FallbackKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:F", Algorithm: "signed_curve25519", JSON: []byte(`{}`)}}})
	wantErr(t, err, store.ErrKeysChanged)
	counts, err := s.OneTimeKeyCounts(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "counts after failed upload", counts, map[string]int{})
	fb, err := s.UnusedFallbackKeyTypes(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "fallback after failed upload", fb, []string{})
	pos1, err := s.CurrentPosition(ctx)
	must(t, err)
	eq(t, "position after failed upload", pos1, pos0)
}

func testClaimKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1", "D2")
	_, err := s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1",
		OneTimeKeys:  []store.OneTimeKey{{KeyID: "signed_curve25519:A", Algorithm: "signed_curve25519", JSON: []byte(`{"k":"a"}`)}},
		FallbackKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:F", Algorithm: "signed_curve25519", JSON: []byte(`{"k":"f"}`)}}})
	must(t, err)
	req := map[string]map[string]string{"@a:x": {"D1": "signed_curve25519", "D2": "signed_curve25519"}, "@b:x": {"Z": "signed_curve25519"}}
	got, err := s.ClaimKeys(ctx, req)
	must(t, err)
	eq(t, "first claim", got, map[string]map[string]map[string][]byte{"@a:x": {"D1": {"signed_curve25519:A": []byte(`{"k":"a"}`)}}})
	counts, err := s.OneTimeKeyCounts(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "counts after claim", counts, map[string]int{})
	got, err = s.ClaimKeys(ctx, req)
	must(t, err)
	eq(t, "second claim (fallback)", got, map[string]map[string]map[string][]byte{"@a:x": {"D1": {"signed_curve25519:F": []byte(`{"k":"f"}`)}}})
	fb, err := s.UnusedFallbackKeyTypes(ctx, "@a:x", "D1")
	must(t, err)
	eq(t, "fallback used", fb, []string{})
	got, err = s.ClaimKeys(ctx, req)
	must(t, err)
	eq(t, "fallback stays", len(got["@a:x"]["D1"]), 1)
	// Re-uploading the same fallback key keeps it used; a new one is unused.
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", FallbackKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:F", Algorithm: "signed_curve25519", JSON: []byte(`{"k":"f"}`)}}})
	must(t, err)
	fb, _ = s.UnusedFallbackKeyTypes(ctx, "@a:x", "D1")
	eq(t, "same fallback", fb, []string{})
	_, err = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", FallbackKeys: []store.OneTimeKey{{KeyID: "signed_curve25519:G", Algorithm: "signed_curve25519", JSON: []byte(`{"k":"g"}`)}}})
	must(t, err)
	fb, _ = s.UnusedFallbackKeyTypes(ctx, "@a:x", "D1")
	eq(t, "new fallback", fb, []string{"signed_curve25519"})
}

func testCrossSigning(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	crossSign(t, s, "@a:x", "", "A")
	got, err := s.GetCrossSigningKeys(ctx, []string{"@a:x", "@b:x"})
	must(t, err)
	eq(t, "master", got["@a:x"][store.UsageMaster].PublicKey, "AM")
	eq(t, "usages", len(got["@a:x"]), 3)
	eq(t, "other user", len(got["@b:x"]), 0)
	// Identical re-upload changes nothing.
	changed, err := s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "AM", Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsageMaster, "AM")}})
	must(t, err)
	eq(t, "changed", changed, false)
	// A stale expectation is a conflict and stores nothing.
	_, err = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "", Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsageMaster, "ZZ")}})
	wantErr(t, err, store.ErrConflict)
	got, _ = s.GetCrossSigningKeys(ctx, []string{"@a:x"})
	eq(t, "master kept", got["@a:x"][store.UsageMaster].PublicKey, "AM")
	sigs, err := s.GetSignatures(ctx, []string{"@a:x"})
	must(t, err)
	eq(t, "signatures", sigSet(sigs), []string{"@a:x/AS<-@a:x/ed25519:AM", "@a:x/AU<-@a:x/ed25519:AM"})
}

func testCrossSigningReplace(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x", "E1")
	uploadDevice(t, s, "@a:x", "D1")
	crossSign(t, s, "@a:x", "", "A")
	crossSign(t, s, "@b:x", "", "B")
	must(t, s.PutSignatures(ctx, []store.Signature{
		{TargetUser: "@a:x", TargetKey: "D1", TargetKind: store.KindDevice, SignerUser: "@a:x", SignerKeyID: "ed25519:AS", SignerKind: store.KindSelfSigning, Signature: "s"},
		{TargetUser: "@a:x", TargetKey: "AM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:D1", SignerKind: store.KindDevice, Signature: "d"},
		{TargetUser: "@a:x", TargetKey: "AM", TargetKind: store.KindMaster, SignerUser: "@b:x", SignerKeyID: "ed25519:BU", SignerKind: store.KindUserSigning, Signature: "u"},
	}))
	pos, err := s.CurrentPosition(ctx)
	must(t, err)
	bsigs, _ := s.GetSignatures(ctx, []string{"@a:x", "@b:x"}) // prime caches
	eq(t, "before replace", len(bsigs), 8)
	// Replace only the master key: signatures over it and made by it go.
	_, err = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "AM", Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsageMaster, "A2M")}})
	must(t, err)
	sigs, err := s.GetSignatures(ctx, []string{"@a:x"})
	must(t, err)
	eq(t, "remaining", sigSet(sigs), []string{"@a:x/D1<-@a:x/ed25519:AS", "@a:x/D1<-@a:x/ed25519:D1"})
	// Bob, whose user-signing signature vanished, hears about it.
	changed, err := s.ChangedUsers(ctx, "@b:x", pos, pos+100)
	must(t, err)
	eq(t, "bob told", changed, []string{"@a:x"})
	// Replacing the self-signing key drops its signatures over devices.
	_, err = s.PutCrossSigningKeys(ctx, store.CrossSigningUpdate{UserID: "@a:x", ExpectMaster: "A2M", Keys: []store.CrossSigningKeyRecord{csKey("@a:x", store.UsageSelfSigning, "A2S")}})
	must(t, err)
	sigs, _ = s.GetSignatures(ctx, []string{"@a:x"})
	eq(t, "after ssk", sigSet(sigs), []string{"@a:x/D1<-@a:x/ed25519:D1"})
}

func testSignatures(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x")
	uploadDevice(t, s, "@a:x", "D1")
	crossSign(t, s, "@a:x", "", "A")
	crossSign(t, s, "@b:x", "", "B")
	before, err := s.GetSignatures(ctx, []string{"@a:x", "@b:x"})
	must(t, err)
	if _, err := s.GetCrossSigningKeys(ctx, []string{"@a:x", "@b:x"}); err != nil {
		t.Fatal(err)
	}
	pos, _ := s.CurrentPosition(ctx)
	// One missing target spoils the batch: nothing stored.
	err = s.PutSignatures(ctx, []store.Signature{
		{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "u"},
		{TargetUser: "@a:x", TargetKey: "NOPE", TargetKind: store.KindDevice, SignerUser: "@a:x", SignerKeyID: "ed25519:AS", SignerKind: store.KindSelfSigning, Signature: "s"},
	})
	wantErr(t, err, store.ErrNotFound)
	// A signer key that does not exist is refused too.
	err = s.PutSignatures(ctx, []store.Signature{{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:OLD", SignerKind: store.KindUserSigning, Signature: "u"}})
	wantErr(t, err, store.ErrNotFound)
	after, _ := s.GetSignatures(ctx, []string{"@a:x", "@b:x"})
	eq(t, "unchanged", sigSet(after), sigSet(before))
	pos2, _ := s.CurrentPosition(ctx)
	eq(t, "position unchanged", pos2, pos)

	must(t, s.PutSignatures(ctx, []store.Signature{{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "u1"}}))
	// Same signer over same target replaces.
	must(t, s.PutSignatures(ctx, []store.Signature{{TargetUser: "@b:x", TargetKey: "BM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "u2"}}))
	sigs, _ := s.GetSignatures(ctx, []string{"@b:x"})
	var found []string
	for _, g := range sigs {
		if g.SignerUser == "@a:x" {
			found = append(found, g.Signature)
			eq(t, "kinds", [2]store.KeyKind{g.TargetKind, g.SignerKind}, [2]store.KeyKind{store.KindMaster, store.KindUserSigning})
		}
	}
	eq(t, "replaced", found, []string{"u2"})
	// A user-signing signature is a change only the signer hears about.
	user(t, s, "@c:x")
	must(t, s.AddInterest(ctx, "@c:x", []string{"@b:x"}))
	c, _ := s.ChangedUsers(ctx, "@c:x", pos, pos+100)
	eq(t, "carol not told", c, []string(nil))
	a, _ := s.ChangedUsers(ctx, "@a:x", pos, pos+100)
	eq(t, "alice told", a, []string{"@b:x"})
}

func testDeleteDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1", "D2")
	uploadDevice(t, s, "@a:x", "D1")
	uploadDevice(t, s, "@a:x", "D2")
	crossSign(t, s, "@a:x", "", "A")
	_, err := s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: "D1", OneTimeKeys: []store.OneTimeKey{{KeyID: "c:A", Algorithm: "c", JSON: []byte(`1`)}}})
	must(t, err)
	must(t, s.PutSignatures(ctx, []store.Signature{
		{TargetUser: "@a:x", TargetKey: "D1", TargetKind: store.KindDevice, SignerUser: "@a:x", SignerKeyID: "ed25519:AS", SignerKind: store.KindSelfSigning, Signature: "s"},
		{TargetUser: "@a:x", TargetKey: "AM", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:D1", SignerKind: store.KindDevice, Signature: "d"},
	}))
	_, err = s.SendToDevice(ctx, "@a:x", "D2", "t", []store.ToDeviceMessage{{RecipientUser: "@a:x", RecipientDevice: "D1", Type: "m", Content: []byte(`{}`)}})
	must(t, err)
	pos, _ := s.CurrentPosition(ctx)
	// Read everything first, so that a caching store has it cached.
	if _, _, err := s.LookupToken(ctx, []byte("tok-@a:x-D1")); err != nil {
		t.Fatal(err)
	}
	keys0, _ := s.GetDeviceKeys(ctx, []string{"@a:x"})
	eq(t, "keys before", len(keys0["@a:x"]), 2)
	sigs0, _ := s.GetSignatures(ctx, []string{"@a:x"})
	eq(t, "sigs before", len(sigs0), 6)
	n, err := s.DeleteDevices(ctx, "@a:x", []string{"D1", "GONE"})
	must(t, err)
	eq(t, "deleted", n, 1)
	_, _, err = s.LookupToken(ctx, []byte("tok-@a:x-D1"))
	wantErr(t, err, store.ErrNotFound)
	keys, _ := s.GetDeviceKeys(ctx, []string{"@a:x"})
	eq(t, "keys left", len(keys["@a:x"]), 1)
	sigs, _ := s.GetSignatures(ctx, []string{"@a:x"})
	eq(t, "sigs left", sigSet(sigs), []string{"@a:x/AS<-@a:x/ed25519:AM", "@a:x/AU<-@a:x/ed25519:AM", "@a:x/D2<-@a:x/ed25519:D2"})
	counts, _ := s.OneTimeKeyCounts(ctx, "@a:x", "D1")
	eq(t, "otks", counts, map[string]int{})
	ch, _ := s.ChangedUsers(ctx, "@a:x", pos, pos+100)
	eq(t, "changed", ch, []string{"@a:x"})
	n, err = s.DeleteDevices(ctx, "@a:x", nil)
	must(t, err)
	eq(t, "deleted all", n, 1)
	list, _ := s.ListDevices(ctx, "@a:x")
	eq(t, "none left", len(list), 0)
}

func testDeviceLists(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x", "E1")
	user(t, s, "@c:x", "F1")
	p0, _ := s.CurrentPosition(ctx)
	uploadDevice(t, s, "@b:x", "E1")
	uploadDevice(t, s, "@c:x", "F1")
	p1, _ := s.CurrentPosition(ctx)
	if p1 <= p0 {
		t.Fatalf("position did not advance: %d <= %d", p1, p0)
	}
	got, _ := s.ChangedUsers(ctx, "@a:x", p0, p1)
	eq(t, "not interested yet", got, []string(nil))
	must(t, s.AddInterest(ctx, "@a:x", []string{"@b:x", "@a:x"}))
	must(t, s.AddInterest(ctx, "@a:x", []string{"@b:x"}))
	got, _ = s.ChangedUsers(ctx, "@a:x", p0, p1)
	eq(t, "interested", got, []string{"@b:x"})
	w, err := s.Watchers(ctx, "@b:x")
	must(t, err)
	eq(t, "watchers", w, []string{"@a:x"})
	w, _ = s.Watchers(ctx, "@a:x")
	eq(t, "no self-interest", w, []string(nil))
	got, _ = s.ChangedUsers(ctx, "@a:x", p1, p1+100)
	eq(t, "nothing newer", got, []string(nil))
	uploadDevice(t, s, "@a:x", "D1")
	got, _ = s.ChangedUsers(ctx, "@a:x", p1, p1+100)
	eq(t, "own change", got, []string{"@a:x"})
}

func testToDevice(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	user(t, s, "@b:x", "E1", "E2")
	msgs := []store.ToDeviceMessage{
		{RecipientUser: "@b:x", RecipientDevice: "*", Type: "m.x", Content: []byte(`{"n":1}`)},
		{RecipientUser: "@b:x", RecipientDevice: "E1", Type: "m.x", Content: []byte(`{"n":2}`)},
		{RecipientUser: "@b:x", RecipientDevice: "NOPE", Type: "m.x", Content: []byte(`{"n":3}`)},
	}
	dup, err := s.SendToDevice(ctx, "@a:x", "D1", "txn1", msgs)
	must(t, err)
	eq(t, "dup", dup, false)
	dup, err = s.SendToDevice(ctx, "@a:x", "D1", "txn1", msgs)
	must(t, err)
	eq(t, "replay", dup, true)
	to, _ := s.CurrentPosition(ctx)
	got, err := s.ToDeviceMessages(ctx, "@b:x", "E1", 0, to, 100)
	must(t, err)
	eq(t, "E1 gets one", len(got), 1)
	eq(t, "content", string(got[0].Content)+got[0].Sender+got[0].Type, `{"n":1}@a:xm.x`)
	got2, _ := s.ToDeviceMessages(ctx, "@b:x", "E2", 0, to, 100)
	eq(t, "E2 gets one", len(got2), 1)
	// Acknowledging deletes.
	got, _ = s.ToDeviceMessages(ctx, "@b:x", "E1", got[0].Position, to, 100)
	eq(t, "after ack", len(got), 0)
	got, _ = s.ToDeviceMessages(ctx, "@b:x", "E1", 0, to, 100)
	eq(t, "deleted", len(got), 0)
	// Limit and upper bound.
	for i := 0; i < 3; i++ {
		_, err := s.SendToDevice(ctx, "@a:x", "D1", fmt.Sprint("more", i), []store.ToDeviceMessage{{RecipientUser: "@b:x", RecipientDevice: "E1", Type: "m.x", Content: []byte(`{}`)}})
		must(t, err)
	}
	to2, _ := s.CurrentPosition(ctx)
	got, _ = s.ToDeviceMessages(ctx, "@b:x", "E1", to, to2, 2)
	eq(t, "limited", len(got), 2)
	got, _ = s.ToDeviceMessages(ctx, "@b:x", "E1", to, to, 10)
	eq(t, "bounded", len(got), 0)
}

func testAccountData(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x")
	_, err := s.GetAccountData(ctx, "@a:x", "m.t")
	wantErr(t, err, store.ErrNotFound)
	p0, _ := s.CurrentPosition(ctx)
	must(t, s.PutAccountData(ctx, "@a:x", "m.t", []byte(`{"v":1}`)))
	must(t, s.PutAccountData(ctx, "@a:x", "m.t", []byte(`{"v":2}`)))
	p1, _ := s.CurrentPosition(ctx)
	must(t, s.PutAccountData(ctx, "@a:x", "m.u", []byte(`{}`)))
	c, err := s.GetAccountData(ctx, "@a:x", "m.t")
	must(t, err)
	eq(t, "content", string(c), `{"v":2}`)
	since, err := s.AccountDataSince(ctx, "@a:x", p0, p1)
	must(t, err)
	eq(t, "since", since, map[string][]byte{"m.t": []byte(`{"v":2}`)})
	other, _ := s.AccountDataSince(ctx, "@b:x", 0, p1+10)
	eq(t, "other user", other, map[string][]byte{})
}

func testUIA(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateUIASession(ctx, store.UIASession{ID: "s1", UserID: "@a:x", CreatedMs: 7}))
	must(t, s.CompleteUIAStage(ctx, "s1", "m.login.password"))
	must(t, s.CompleteUIAStage(ctx, "s1", "m.login.password"))
	got, err := s.GetUIASession(ctx, "s1")
	must(t, err)
	eq(t, "session", got, store.UIASession{ID: "s1", UserID: "@a:x", Completed: []string{"m.login.password"}, CreatedMs: 7})
	wantErr(t, s.CompleteUIAStage(ctx, "nope", "x"), store.ErrNotFound)
	must(t, s.DeleteUIASession(ctx, "s1"))
	_, err = s.GetUIASession(ctx, "s1")
	wantErr(t, err, store.ErrNotFound)
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.PutAccountData(ctx, "@a:x", fmt.Sprint("t", i), []byte(`{}`))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	pos, _ := s.CurrentPosition(ctx)
	all, _ := s.AccountDataSince(ctx, "@a:x", 0, pos)
	eq(t, "all stored", len(all), 40)
	if !bytes.Equal(all["t0"], []byte(`{}`)) {
		t.Fatalf("content %q", all["t0"])
	}
}

// testConcurrentFailures runs failing and succeeding writes at once: a
// backend that commits concurrent writes together must still fail exactly
// the failing ones and keep nothing of them.
func testConcurrentFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	var devs []string
	for i := 0; i < 20; i++ {
		devs = append(devs, fmt.Sprint("D", i))
	}
	user(t, s, "@a:x", devs...)
	for _, d := range devs[:10] {
		uploadDevice(t, s, "@a:x", d)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(devs))
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := devKeys("@a:x", d)
			if i < 10 {
				k.KeyJSON = []byte(`{"changed":true}`) // refused: keys exist
			}
			_, errs[i] = s.UploadKeys(ctx, store.KeysUpload{UserID: "@a:x", DeviceID: d, DeviceKeys: k,
				OneTimeKeys: []store.OneTimeKey{{KeyID: "c:" + d, Algorithm: "c", JSON: []byte(`1`)}}})
		}()
	}
	wg.Wait()
	for i, d := range devs {
		counts, err := s.OneTimeKeyCounts(ctx, "@a:x", d)
		must(t, err)
		if i < 10 {
			wantErr(t, errs[i], store.ErrKeysChanged)
			eq(t, "otks of failed upload "+d, counts, map[string]int{})
		} else {
			must(t, errs[i])
			eq(t, "otks of good upload "+d, counts, map[string]int{"c": 1})
		}
	}
	got, err := s.GetDeviceKeys(ctx, []string{"@a:x"})
	must(t, err)
	for _, r := range got["@a:x"] {
		if !bytes.Equal(r.KeyJSON, devKeys("@a:x", r.DeviceID).KeyJSON) {
			t.Fatalf("device %s keys %s", r.DeviceID, r.KeyJSON)
		}
	}
	eq(t, "devices with keys", len(got["@a:x"]), 20)
}

// testSignaturesBatch stores many signatures in one call: more than one
// statement's worth of targets of two kinds, a signature repeated in the
// call (the last value wins), and a call whose one missing target stores
// nothing at all.
func testSignaturesBatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	user(t, s, "@a:x", "D1", "D2")
	uploadDevice(t, s, "@a:x", "D1")
	uploadDevice(t, s, "@a:x", "D2")
	crossSign(t, s, "@a:x", "", "A")
	const others = 150 // beyond any one statement's chunk
	var batch []store.Signature
	var viewers []string
	for i := range others {
		u := fmt.Sprintf("@o%03d:x", i)
		viewers = append(viewers, u)
		user(t, s, u)
		crossSign(t, s, u, "", fmt.Sprintf("O%03d", i))
		batch = append(batch, store.Signature{TargetUser: u, TargetKey: fmt.Sprintf("O%03dM", i), TargetKind: store.KindMaster,
			SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "first"})
	}
	for _, d := range []string{"D1", "D2"} {
		batch = append(batch, store.Signature{TargetUser: "@a:x", TargetKey: d, TargetKind: store.KindDevice,
			SignerUser: "@a:x", SignerKeyID: "ed25519:AS", SignerKind: store.KindSelfSigning, Signature: "ssk-" + d})
	}
	// The first signature again, with another value: the last one stays.
	repeat := batch[0]
	repeat.Signature = "second"
	batch = append(batch, repeat)
	before, err := s.CurrentPosition(ctx)
	must(t, err)
	must(t, s.PutSignatures(ctx, batch))

	sigs, err := s.GetSignatures(ctx, append([]string{"@a:x"}, viewers...))
	must(t, err)
	byAlice := map[string]string{}
	for _, sg := range sigs {
		if sg.SignerUser == "@a:x" && sg.SignerKeyID != "ed25519:AM" && sg.SignerKeyID != "ed25519:D1" && sg.SignerKeyID != "ed25519:D2" {
			byAlice[sg.TargetUser+"/"+sg.TargetKey] = sg.Signature
		}
	}
	eq(t, "signatures stored by alice's keys", len(byAlice), others+2)
	eq(t, "repeated signature", byAlice["@o000:x/O000M"], "second")
	eq(t, "another user's", byAlice["@o149:x/O149M"], "first")
	eq(t, "self-signing over D2", byAlice["@a:x/D2"], "ssk-D2")

	// Device-list changes: alice's own (public), and each other user's
	// visible to alice alone.
	after, err := s.CurrentPosition(ctx)
	must(t, err)
	changed, err := s.ChangedUsers(ctx, "@a:x", before, after)
	must(t, err)
	eq(t, "users changed for alice", len(changed), others+1)
	changed, err = s.ChangedUsers(ctx, "@o007:x", before, after)
	must(t, err)
	for _, u := range changed {
		if u != "@a:x" {
			t.Fatalf("@o007:x sees a change of %s made by alice's user-signing key", u)
		}
	}
	// A third user interested in both alice and @o007:x sees alice's public
	// change (her self-signing key over her devices) but not the one her
	// user-signing key made to @o007:x.
	must(t, s.AddInterest(ctx, "@o008:x", []string{"@a:x", "@o007:x"}))
	changed, err = s.ChangedUsers(ctx, "@o008:x", before, after)
	must(t, err)
	eq(t, "changes seen by an onlooker", changed, []string{"@a:x"})

	// One missing target among many: nothing of the call is stored.
	bad := []store.Signature{
		{TargetUser: "@o001:x", TargetKey: "O001M", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "third"},
		{TargetUser: "@o002:x", TargetKey: "NOPE", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:AU", SignerKind: store.KindUserSigning, Signature: "third"},
	}
	wantErr(t, s.PutSignatures(ctx, bad), store.ErrNotFound)
	// A device target that does not exist, and a signer key that does not.
	wantErr(t, s.PutSignatures(ctx, []store.Signature{{TargetUser: "@a:x", TargetKey: "D9", TargetKind: store.KindDevice, SignerUser: "@a:x", SignerKeyID: "ed25519:AS", SignerKind: store.KindSelfSigning, Signature: "x"}}), store.ErrNotFound)
	wantErr(t, s.PutSignatures(ctx, []store.Signature{{TargetUser: "@o003:x", TargetKey: "O003M", TargetKind: store.KindMaster, SignerUser: "@a:x", SignerKeyID: "ed25519:GONE", SignerKind: store.KindUserSigning, Signature: "x"}}), store.ErrNotFound)
	sigs, err = s.GetSignatures(ctx, []string{"@o001:x", "@o003:x"})
	must(t, err)
	for _, sg := range sigs {
		if sg.Signature == "third" || sg.Signature == "x" {
			t.Fatalf("a refused call stored %+v", sg)
		}
	}
	end, err := s.CurrentPosition(ctx)
	must(t, err)
	eq(t, "stream position after refused calls", end, after)
}
