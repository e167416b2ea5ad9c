package backup_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"vouch/backup"
	"vouch/canonicaljson"
	"vouch/internal/testidentity"
	"vouch/keys"
	"vouch/signedjson"
	"vouch/trust"
)

// vectorFile mirrors the parts of testdata/vectors/backup.json used here.
type vectorFile struct {
	Sessions []struct {
		PrivateKey  string                      `json:"private_key"`
		PublicKey   string                      `json:"public_key"`
		Plaintext   string                      `json:"plaintext"`
		SessionData backup.EncryptedSessionData `json:"session_data"`
	} `json:"sessions"`
	Invalid []struct {
		PrivateKey  string                      `json:"private_key"`
		SessionData backup.EncryptedSessionData `json:"session_data"`
		Reason      string                      `json:"reason"`
	} `json:"invalid"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors/backup.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Sessions) == 0 || len(v.Invalid) == 0 {
		t.Fatal("backup.json: no cases")
	}
	return v
}

// fixture is alice with two devices (A1 cross-signed, A2 not), a backup key
// pair from the vectors and a deterministic backup signing key.
type fixture struct {
	alice   *testidentity.Identity
	bob     *testidentity.Identity
	viewer  trust.Viewer
	priv    backup.PrivateKey
	pub     backup.PublicKey
	signing backup.SigningKey
	session []byte // vector 0's plaintext
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	v := loadVectors(t)
	alice := testidentity.New("@alice:example.org", "A1", "A2")
	bob := testidentity.New("@bob:example.org", "B1")
	priv, err := backup.ParsePrivateKey(v.Sessions[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		alice:   alice,
		bob:     bob,
		viewer:  trust.Viewer{UserID: alice.UserID, TrustedMaster: alice.Master.B64, Own: published(t, alice, "A2")},
		priv:    priv,
		pub:     pub,
		signing: signingKeyFrom("alice backup signing"),
		session: []byte(v.Sessions[0].Plaintext),
	}
}

func signingKeyFrom(label string) backup.SigningKey {
	return backup.SigningKey(sha256.Sum256([]byte(label)))
}

// published is what /keys/query shows of id: all devices cross-signed except
// those listed in unsigned.
func published(t testing.TB, id *testidentity.Identity, unsigned ...string) *trust.UserKeys {
	t.Helper()
	cs := func(raw []byte) *keys.CrossSigningKey {
		k, err := keys.ParseCrossSigningKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	u := &trust.UserKeys{
		UserID:      id.UserID,
		Master:      cs(id.MasterKey()),
		SelfSigning: cs(id.SubKey(keys.UsageSelfSigning)),
		UserSigning: cs(id.SubKey(keys.UsageUserSigning)),
		Devices:     map[string]*keys.DeviceKeys{},
	}
	for dev := range id.Devices {
		raw := id.DeviceKeysCrossSigned(dev)
		for _, n := range unsigned {
			if n == dev {
				raw = id.DeviceKeys(dev)
			}
		}
		d, err := keys.ParseDeviceKeys(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.Devices[dev] = d
	}
	return u
}

func (f *fixture) authData(t testing.TB) []byte {
	t.Helper()
	sp := f.signing.PublicKey()
	ad, err := backup.NewAuthData(f.pub, &sp)
	if err != nil {
		t.Fatal(err)
	}
	return ad
}

func sign(t testing.TB, obj []byte, userID, keyID string, k testidentity.Key) []byte {
	t.Helper()
	out, err := signedjson.Sign(obj, userID, keyID, k.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withMembers returns obj (a JSON object) with members set (a nil value
// deletes the member), in canonical JSON.
func withMembers(t testing.TB, obj []byte, members map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range members {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := canonicaljson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTrustAuthData(t *testing.T) {
	f := newFixture(t)
	a := f.alice
	ad := f.authData(t)
	sp := f.signing.PublicKey()
	other := signingKeyFrom("mallory").PublicKey()
	bySelf := func(obj []byte) []byte { return sign(t, obj, a.UserID, a.Master.KeyID(), a.Master) }
	byDevice := func(obj []byte, dev string) []byte {
		return sign(t, obj, a.UserID, "ed25519:"+dev, a.Devices[dev].Ed25519)
	}
	wrongPriv := signingKeyFrom("another backup") // any 32 bytes are an X25519 scalar
	otherViewer := f.viewer
	otherViewer.TrustedMaster = testidentity.NewKey("someone else").B64
	noMaster := f.viewer
	noMaster.TrustedMaster = ""

	tests := []struct {
		name    string
		data    []byte
		viewer  trust.Viewer
		opts    []backup.TrustOption
		trusted bool
		path    backup.TrustPath
		device  string
		signing *backup.SigningPublicKey
		cause   error
		chain   int
	}{
		{name: "signed by master signing key", data: bySelf(ad), viewer: f.viewer,
			trusted: true, path: backup.TrustMasterKey, signing: &sp, chain: 1},
		{name: "signed by verified own device", data: byDevice(ad, "A1"), viewer: f.viewer,
			trusted: true, path: backup.TrustOwnDevice, device: "A1", signing: &sp, chain: 3},
		{name: "signed by unverified own device: ignored", data: byDevice(ad, "A2"), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "signed by verified device but viewer trusts no master", data: byDevice(ad, "A1"), viewer: noMaster,
			cause: backup.ErrAuthDataUntrusted},
		{name: "signed by master the viewer does not trust", data: bySelf(ad), viewer: otherViewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "signed by another user's master key: ignored",
			data: sign(t, ad, f.bob.UserID, f.bob.Master.KeyID(), f.bob.Master), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "another user's key posing as alice's master",
			data: sign(t, ad, a.UserID, a.Master.KeyID(), f.bob.Master), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "another user's device: ignored",
			data: sign(t, ad, f.bob.UserID, "ed25519:B1", f.bob.Devices["B1"].Ed25519), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "unsigned: ignored", data: ad, viewer: f.viewer, cause: backup.ErrAuthDataUntrusted},
		{name: "unsigned, known private key: trusted, signing key ignored", data: ad, viewer: f.viewer,
			opts: []backup.TrustOption{backup.KnownPrivateKey(f.priv)}, trusted: true, path: backup.TrustKnownPrivateKey},
		{name: "unsigned, another private key", data: ad, viewer: f.viewer,
			opts: []backup.TrustOption{backup.KnownPrivateKey(backup.PrivateKey(wrongPriv))}, cause: backup.ErrAuthDataUntrusted},
		{name: "master signature wins over known private key", data: bySelf(ad), viewer: f.viewer,
			opts: []backup.TrustOption{backup.KnownPrivateKey(f.priv)}, trusted: true, path: backup.TrustMasterKey, signing: &sp, chain: 1},
		{name: "tampered: signing key swapped after signing",
			data: withMembers(t, bySelf(ad), map[string]any{backup.UnstableSigningPublicKeyField: other.Encode()}), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "tampered: final-name signing key added after signing",
			data: withMembers(t, bySelf(ad), map[string]any{backup.SigningPublicKeyField: sp.Encode()}), viewer: f.viewer,
			cause: backup.ErrAuthDataUntrusted},
		{name: "both names, different keys: ambiguous",
			data: bySelf(withMembers(t, ad, map[string]any{backup.SigningPublicKeyField: other.Encode()})), viewer: f.viewer,
			cause: backup.ErrAmbiguousSigningKey},
		{name: "both names, same key",
			data: bySelf(withMembers(t, ad, map[string]any{backup.SigningPublicKeyField: sp.Encode()})), viewer: f.viewer,
			trusted: true, path: backup.TrustMasterKey, signing: &sp, chain: 1},
		{name: "final name only",
			data:   bySelf(withMembers(t, ad, map[string]any{backup.UnstableSigningPublicKeyField: nil, backup.SigningPublicKeyField: sp.Encode()})),
			viewer: f.viewer, trusted: true, path: backup.TrustMasterKey, signing: &sp, chain: 1},
		{name: "signed, no signing key", data: bySelf(withMembers(t, ad, map[string]any{backup.UnstableSigningPublicKeyField: nil})),
			viewer: f.viewer, trusted: true, path: backup.TrustMasterKey, chain: 1},
		{name: "unknown members stay covered",
			data: bySelf(withMembers(t, ad, map[string]any{"x.extra": "1"})), viewer: f.viewer,
			trusted: true, path: backup.TrustMasterKey, signing: &sp, chain: 1},
		{name: "malformed: no public_key", data: bySelf(withMembers(t, ad, map[string]any{"public_key": nil})),
			viewer: f.viewer, cause: backup.ErrAuthDataMalformed},
		{name: "malformed: signing key too short",
			data:   bySelf(withMembers(t, ad, map[string]any{backup.UnstableSigningPublicKeyField: "AAAA"})),
			viewer: f.viewer, cause: backup.ErrAuthDataMalformed},
		{name: "malformed: duplicate member",
			data:   []byte(`{"public_key":"` + f.pub.Encode() + `","public_key":"` + f.pub.Encode() + `"}`),
			viewer: f.viewer, cause: backup.ErrAuthDataMalformed},
		{name: "malformed: not JSON", data: []byte(`nope`), viewer: f.viewer, cause: backup.ErrAuthDataMalformed},
		{name: "invalid viewer user ID", data: bySelf(ad), viewer: trust.Viewer{UserID: "alice", TrustedMaster: a.Master.B64},
			cause: backup.ErrAuthDataUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backup.TrustAuthData(tt.data, tt.viewer, tt.opts...)
			if got.Trusted != tt.trusted || got.Path != tt.path {
				t.Fatalf("trusted=%v path=%v, want %v %v (%s)", got.Trusted, got.Path, tt.trusted, tt.path, got.Reason)
			}
			if got.DeviceID != tt.device {
				t.Errorf("device %q, want %q", got.DeviceID, tt.device)
			}
			switch {
			case tt.signing == nil && got.SigningKey != nil:
				t.Errorf("signing key %v used, want it ignored", got.SigningKey)
			case tt.signing != nil && (got.SigningKey == nil || *got.SigningKey != *tt.signing):
				t.Errorf("signing key %v, want %v", got.SigningKey, tt.signing)
			}
			if got.SigningKeyTrusted() != (tt.signing != nil) {
				t.Errorf("SigningKeyTrusted()=%v", got.SigningKeyTrusted())
			}
			if tt.cause != nil && !errors.Is(got.Cause, tt.cause) {
				t.Errorf("cause %v, want %v", got.Cause, tt.cause)
			}
			if tt.trusted && got.Cause != nil {
				t.Errorf("trusted with cause %v", got.Cause)
			}
			if len(got.Chain) != tt.chain {
				t.Errorf("chain %v, want %d steps", got.Chain, tt.chain)
			}
			if got.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

func TestParseAuthData(t *testing.T) {
	f := newFixture(t)
	ad := f.authData(t)
	got, err := backup.ParseAuthData(ad)
	if err != nil {
		t.Fatal(err)
	}
	if got.PublicKey != f.pub || got.SigningKey == nil || *got.SigningKey != f.signing.PublicKey() ||
		got.SigningKeyField != backup.UnstableSigningPublicKeyField || !bytes.Equal(got.Raw, ad) {
		t.Fatalf("parsed %+v", got)
	}
	// What NewAuthData writes: the unstable name only, as the seed spells it.
	if !strings.Contains(string(ad), `"org.matrix.mscxxxx.signing_public_key":`) || strings.Contains(string(ad), `"signing_public_key"`) {
		t.Errorf("auth_data %s", ad)
	}
	none, err := backup.NewAuthData(f.pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := backup.ParseAuthData(none); err != nil || got.SigningKey != nil || got.SigningKeyField != "" {
		t.Errorf("no signing key: %+v %v", got, err)
	}
	bad := []string{
		`{"public_key":1}`,
		`{"public_key":null}`,
		`{"public_key":"` + f.pub.Encode() + `","signatures":[]}`,
		`{"public_key":"` + f.pub.Encode() + `","org.matrix.mscxxxx.signing_public_key":7}`,
		`{"public_key":"` + f.pub.Encode() + `","signing_public_key":null}`,
		`{"public_key":"` + f.pub.Encode() + `","n":1.5}`,
		`[]`,
		`{"public_key":"` + f.pub.Encode() + `"} x`,
		`{"public_key":"` + strings.Repeat("A", backup.MaxAuthDataSize) + `"}`,
	}
	for _, b := range bad {
		if _, err := backup.ParseAuthData([]byte(b)); !errors.Is(err, backup.ErrAuthDataMalformed) {
			t.Errorf("%.80s: err %v, want ErrAuthDataMalformed", b, err)
		}
	}
}

func TestSignAuthData(t *testing.T) {
	f := newFixture(t)
	a := f.alice
	ad := f.authData(t)
	signed, err := backup.SignAuthData(ad, a.UserID, backup.MasterSigner(a.Master.Priv), backup.DeviceSigner("A1", a.Devices["A1"].Ed25519.Priv))
	if err != nil {
		t.Fatal(err)
	}
	if err := signedjson.Verify(signed, a.UserID, a.Master.KeyID(), a.Master.Pub); err != nil {
		t.Errorf("master signature: %v", err)
	}
	if err := signedjson.Verify(signed, a.UserID, "ed25519:A1", a.Devices["A1"].Ed25519.Pub); err != nil {
		t.Errorf("device signature: %v", err)
	}
	if got := backup.TrustAuthData(signed, f.viewer); got.Path != backup.TrustMasterKey {
		t.Errorf("path %v", got.Path)
	}
	// Without a master signature, the device signature alone carries it.
	devOnly, err := backup.SignAuthData(ad, a.UserID, backup.DeviceSigner("A1", a.Devices["A1"].Ed25519.Priv))
	if err != nil {
		t.Fatal(err)
	}
	if got := backup.TrustAuthData(devOnly, f.viewer); got.Path != backup.TrustOwnDevice {
		t.Errorf("device only: path %v (%s)", got.Path, got.Reason)
	}

	errCases := []struct {
		name    string
		data    []byte
		user    string
		signers []backup.AuthDataSigner
		want    error
	}{
		{"no signer", ad, a.UserID, nil, backup.ErrSigningKeyInvalid},
		{"short key", ad, a.UserID, []backup.AuthDataSigner{backup.MasterSigner(a.Master.Priv[:10])}, backup.ErrSigningKeyInvalid},
		{"empty device ID", ad, a.UserID, []backup.AuthDataSigner{backup.DeviceSigner("", a.Master.Priv)}, backup.ErrSigningKeyInvalid},
		{"bad user ID", ad, "alice", []backup.AuthDataSigner{backup.MasterSigner(a.Master.Priv)}, backup.ErrInvalidUserID},
		{"ambiguous auth_data is not signed",
			withMembers(t, ad, map[string]any{backup.SigningPublicKeyField: signingKeyFrom("x").PublicKey().Encode()}),
			a.UserID, []backup.AuthDataSigner{backup.MasterSigner(a.Master.Priv)}, backup.ErrAmbiguousSigningKey},
	}
	for _, tt := range errCases {
		if _, err := backup.SignAuthData(tt.data, tt.user, tt.signers...); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}
